// The AMI connection against a loopback AMI server: dead-peer detection by Ping, login refusal,
// reconnects logged once.

import { expect } from 'chai';
import { AmiSource } from '../../src/asterisk/ami-source';
import { AmiReplayServer } from '../../src/demo/ami-replay';
import { testLogger, waitFor } from '../support/harness';

describe('AMI connection', function () {
  this.timeout(20_000);

  it('reconnects when the PBX stops answering Ping (socket open, peer dead)', async () => {
    const server = new AmiReplayServer({ ignorePing: true });
    const port = await server.listen();
    const { logger, lines } = testLogger();
    const source = new AmiSource({ host: '127.0.0.1', port, username: 'mctb', secret: 'x', ping_interval_ms: 300, check_presentation: false }, logger);
    let logins = 0;
    server.on('login', () => logins++);
    source.start();
    try {
      await waitFor('a second login after the Ping timeout', () => logins >= 2, 10_000);
      expect(lines.some((l) => /did not answer Ping/.test(l))).to.equal(true);
      expect(server.actions.filter((a) => a.action.toLowerCase() === 'ping').length).to.be.at.least(1);
    } finally {
      await source.stop();
      await server.close();
    }
  });

  it('logs a refused login clearly, and does not flood the log while it keeps failing', async () => {
    const server = new AmiReplayServer({ username: 'mctb', secret: 'right' });
    const port = await server.listen();
    const { logger, lines } = testLogger();
    const source = new AmiSource({ host: '127.0.0.1', port, username: 'mctb', secret: 'wrong', ping_interval_ms: 5000, check_presentation: false }, logger);
    source.start();
    try {
      await waitFor('the refusal', () => lines.some((l) => /AMI login rejected/.test(l)));
      expect(source.connected).to.equal(false);
      expect(lines.filter((l) => /AMI connection down/.test(l))).to.have.length(1);
    } finally {
      await source.stop();
      await server.close();
    }
  });

  it('keeps retrying while the PBX is down and connects when it comes up, logging the outage once', async () => {
    const probe = new AmiReplayServer();
    const port = await probe.listen();
    await probe.close();
    const { logger, lines } = testLogger();
    const source = new AmiSource({ host: '127.0.0.1', port, username: 'mctb', secret: 'x', ping_interval_ms: 5000, check_presentation: false }, logger);
    source.start();
    const server = new AmiReplayServer();
    try {
      await waitFor('first failure', () => lines.some((l) => /AMI connection down/.test(l)));
      await new Promise((r) => setTimeout(r, 2500));
      await server.listen(port);
      await waitFor('connected', () => source.connected, 10_000);
      expect(lines.filter((l) => /AMI connection down/.test(l))).to.have.length(1);
      expect(lines.filter((l) => /AMI connected/.test(l))).to.have.length(1);
    } finally {
      await source.stop();
      await server.close();
    }
  });
});
