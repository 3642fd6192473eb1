// The AMI connection against a loopback AMI server: dead-peer detection by Ping, login refusal,
// reconnects logged once, and pause/resume (the daemon's back-pressure): nothing read, nothing
// lost, no false Ping timeout and no Getvar given up while paused.

import { expect } from 'chai';
import { toCallEvent } from '../../src/asterisk/ami/events';
import { AmiFrameReader } from '../../src/asterisk/ami/reader';
import { AmiSource } from '../../src/asterisk/ami/source';
import type { CallEvent } from '../../src/calls/types';
import { AmiReplayServer, loadCapture, rewriteCapture } from '../../src/demo/ami-replay';
import type { LinkState } from '../../src/link/lifecycle';
import { sleep, testLogger, waitFor } from '../support/harness';

/**
 * The call events a client should get from `text`: read by the same reader, translated as the
 * source does. Without their times: the captures carry no Timestamp, so `at` is the arrival.
 */
function eventsOf(text: string): CallEvent[] {
  const out: CallEvent[] = [];
  new AmiFrameReader((f) => {
    const ev = f.event !== undefined ? toCallEvent(f, 0) : undefined;
    if (ev) out.push(ev);
  }).push(text);
  return out.map(timeless);
}

const timeless = (ev: CallEvent): CallEvent => ({ ...ev, at: 0 });

describe('AMI connection', function () {
  this.timeout(20_000);

  /** A PBX that never answers Ping, and a source connected to it (Ping every 300 ms). */
  async function pingless() {
    const server = new AmiReplayServer({ ignorePing: true });
    const port = await server.listen();
    const { logger, lines } = testLogger();
    const source = new AmiSource({ host: '127.0.0.1', port, username: 'mctb', secret: 'x', ping_interval_ms: 300, check_presentation: false }, logger);
    const seen = { logins: 0 };
    server.on('login', () => seen.logins++);
    source.start();
    const close = async () => {
      await source.stop();
      await server.close();
    };
    return { server, lines, seen, close };
  }

  it('reconnects when the PBX stops answering Ping (socket open, peer dead)', async () => {
    const { server, lines, seen, close } = await pingless();
    try {
      await waitFor('a second login after the Ping timeout', () => seen.logins >= 2, 10_000);
      expect(lines.some((l) => /did not answer Ping/.test(l))).to.equal(true);
      expect(server.actions.filter((a) => a.action.toLowerCase() === 'ping').length).to.be.at.least(1);
    } finally {
      await close();
    }
  });

  it('a PBX that sends events but whose Ping answer is late stays connected (what it sends counts); once silent, it is dropped', async () => {
    const { server, lines, seen, close } = await pingless();
    try {
      await server.waitForLogin();
      // An event the source has no use for every 50 ms for 6 Ping intervals: a backlog being read.
      const until = Date.now() + 1800;
      while (Date.now() < until) {
        await server.play('Event: FullyBooted\r\nPrivilege: system,all\r\nStatus: Fully Booted\r\n\r\n');
        await sleep(50);
      }
      expect(seen.logins, 'no reconnect while events arrive').to.equal(1);
      expect(lines.filter((l) => /did not answer Ping/.test(l))).to.deep.equal([]);
      await waitFor('a second login once the PBX falls silent', () => seen.logins >= 2, 10_000);
      expect(lines.some((l) => /did not answer Ping/.test(l))).to.equal(true);
    } finally {
      await close();
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
      // Never up: named as a failure to connect, with the reason, not as a connection "down".
      expect(lines.filter((l) => /could not connect to AMI at 127\.0\.0\.1:\d+: login rejected \(Authentication failed\)/.test(l))).to.have.length(1);
      expect(lines.filter((l) => /AMI connection down/.test(l))).to.have.length(0);
    } finally {
      await source.stop();
      await server.close();
    }
  });

  it('the PBX is not there at start-up: "could not connect ... connection refused (ECONNREFUSED)" once, never "down"; connects when it comes up', async () => {
    const probe = new AmiReplayServer();
    const port = await probe.listen();
    await probe.close();
    const { logger, lines } = testLogger();
    const source = new AmiSource({ host: '127.0.0.1', port, username: 'mctb', secret: 'x', ping_interval_ms: 5000, check_presentation: false }, logger);
    source.start();
    const server = new AmiReplayServer();
    try {
      await waitFor('first failure', () => lines.some((l) => /could not connect to AMI/.test(l)));
      await new Promise((r) => setTimeout(r, 2500));
      await server.listen(port);
      await waitFor('connected', () => source.connected, 10_000);
      const failures = lines.filter((l) => /could not connect to AMI/.test(l));
      expect(failures).to.have.length(1);
      expect(failures[0]).to.match(new RegExp(`could not connect to AMI at 127\\.0\\.0\\.1:${port}: connection refused: nothing listens on that port \\(ECONNREFUSED\\)`));
      expect(lines.filter((l) => /AMI connection down/.test(l))).to.have.length(0);
      expect(lines.filter((l) => /AMI connected/.test(l))).to.have.length(1);
    } finally {
      await source.stop();
      await server.close();
    }
  });

  describe('pause and resume (back-pressure)', () => {
    const PING_MS = 200;

    it('paused for many Ping intervals: no reconnect, nothing read; after resume every event written meanwhile arrives, in order', async () => {
      const server = new AmiReplayServer();
      const port = await server.listen();
      const { logger, lines } = testLogger();
      const source = new AmiSource({ host: '127.0.0.1', port, username: 'mctb', secret: 'x', ping_interval_ms: PING_MS, check_presentation: false }, logger);
      const states: LinkState[] = [];
      const got: CallEvent[] = [];
      source.on('state', (s) => states.push(s));
      source.on('event', (ev) => got.push(timeless(ev)));
      let logins = 0;
      server.on('login', () => logins++);
      const pings = () => server.actions.filter((a) => a.action.toLowerCase() === 'ping').length;
      source.start();
      try {
        await waitFor('connected', () => source.connected);
        // Before the pause: a call goes through, and Pings are answered.
        const first = rewriteCapture(loadCapture('noanswer'), 100);
        await server.play(first);
        await waitFor('the first call read', () => got.length === eventsOf(first).length);
        await waitFor('a Ping answered', () => pings() >= 2, 5000);

        source.pause();
        const pausedAt = Date.now();
        // 30 calls (~1,400 events, ~550 KB, held by the kernel's socket buffers), written in six
        // bursts while the client reads nothing.
        const calls = Array.from({ length: 30 }, (_, i) => rewriteCapture(loadCapture(i % 2 ? 'busy' : 'noanswer'), (i + 2) * 100));
        const writes: Promise<void>[] = [];
        for (let burst = 0; burst < 6; burst++) {
          writes.push(server.play(calls.slice(burst * 5, burst * 5 + 5).join('')));
          await sleep(PING_MS);
        }
        await sleep(Math.max(0, pausedAt + 8 * PING_MS - Date.now())); // 8 Ping intervals paused
        expect(got.length, 'nothing is read while paused').to.equal(eventsOf(first).length);
        expect(states, 'no reconnect while paused').to.deep.equal(['connecting', 'connected']);
        expect(source.connected).to.equal(true);

        source.resume();
        const expected = [...eventsOf(first), ...eventsOf(calls.join(''))];
        await waitFor('every event written during the pause', () => got.length >= expected.length, 10_000);
        await Promise.all(writes);
        expect(got).to.deep.equal(expected);
        // Still the same connection, and the Ping watchdog works again.
        const before = pings();
        await sleep(4 * PING_MS);
        expect(pings(), 'Pings sent after resume').to.be.at.least(before + 2);
        expect(states).to.deep.equal(['connecting', 'connected']);
        expect(logins).to.equal(1);
        expect(lines.filter((l) => /did not answer Ping|AMI connection down/.test(l))).to.deep.equal([]);
      } finally {
        await source.stop();
        await server.close();
      }
    });

    it('a Getvar asked just before a pause longer than its 5 s timeout gets the PBX\'s real answer after resume', async () => {
      const server = new AmiReplayServer({ getvar: (channel, variable) => (variable === 'CALLERID(pres)' ? `prohib_passed_screen/${channel}` : undefined) });
      const port = await server.listen();
      const { logger } = testLogger();
      const source = new AmiSource({ host: '127.0.0.1', port, username: 'mctb', secret: 'x', ping_interval_ms: PING_MS, check_presentation: true }, logger);
      const states: LinkState[] = [];
      source.on('state', (s) => states.push(s));
      source.start();
      try {
        await waitFor('connected', () => source.connected);
        // Sanity: answered at once when not paused.
        expect(await source.getPresentation('PJSIP/trunk-00000001')).to.equal('prohib_passed_screen/PJSIP/trunk-00000001');

        let settled: { value: string | undefined } | undefined;
        const asked = source.getPresentation('PJSIP/trunk-00000002').then((value) => (settled = { value }));
        source.pause(); // the answer comes back at once, and sits unread in the socket
        await waitFor('the PBX answered', () => server.actions.some((a) => a.action.toLowerCase() === 'getvar' && a.channel === 'PJSIP/trunk-00000002'));
        await sleep(5600);
        expect(settled, 'not given up while paused').to.equal(undefined);
        source.resume();
        await asked;
        expect(settled).to.deep.equal({ value: 'prohib_passed_screen/PJSIP/trunk-00000002' });
        expect(states).to.deep.equal(['connecting', 'connected']);
      } finally {
        await source.stop();
        await server.close();
      }
    });
  });
});
