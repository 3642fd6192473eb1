// Issue 5 end to end: the ARI event source with the SMPP transport texts a missed caller once
// and stores their STOP as an opt-out; same daemon, same rules as over AMI.

import { expect } from 'chai';
import { Daemon, type CallDecided } from '../../src/daemon';
import { AriReplayServer, loadAriCapture } from '../../src/demo/ari-replay';
import { LoopbackSmsc } from '../../src/demo/loopback-smsc';
import { AmiReplayServer, loadCapture } from '../../src/demo/ami-replay';
import { ModemSimulator } from '../../src/demo/modem-sim';
import { sleep, tempDir, testConfig, testLogger, waitFor } from '../support/harness';

const JANE = '+14155550123';

describe('ARI source end to end (loopback ARI + loopback SMPP)', function () {
  this.timeout(30_000);

  it('texts the missed caller once, not the answered one, and stores a STOP reply as an opt-out', async () => {
    const { dir, cleanup } = tempDir();
    const ari = new AriReplayServer({ username: 'mctb', password: 'pw', getVariable: () => 'allowed_not_screened' });
    const smsc = new LoopbackSmsc({ receiptDelayMs: 20 });
    const ariPort = await ari.listen();
    const smppPort = await smsc.listen();
    const config = testConfig({
      dir,
      amiPort: 1,
      smppPort,
      top: {
        asterisk: {
          source: 'ari',
          ari: { url: `http://127.0.0.1:${ariPort}`, username: 'mctb', password: 'pw', app: 'mctb' },
          inbound_contexts: ['from-trunk'],
          decision_grace: '300ms',
        },
      },
    });
    const { logger } = testLogger();
    const daemon = new Daemon(config, logger);
    const decided: CallDecided[] = [];
    daemon.events.on('call.decided', (d) => decided.push(d));
    try {
      await daemon.start();
      await ari.waitForClient();
      await ari.play(loadAriCapture('noanswer'));
      await ari.play(loadAriCapture('answered'));
      await waitFor('two decisions', () => decided.length === 2);
      expect(decided.map((d) => [d.call.outcome, d.decision])).to.deep.equal([
        ['noanswer', 'text'],
        ['answered', 'no_text'],
      ]);
      await waitFor('one text', () => smsc.submits.length === 1);
      expect(smsc.submits[0]).to.include({ destination: JANE, text: 'Hi Jane, this is Brightside Dental. Sorry we missed your call! How can we help?' });
      expect(ari.connections[0]).to.include({ app: 'mctb', subscribeAll: 'true' });

      smsc.sendText(JANE, '+15550001000', 'STOP');
      await waitFor('opt-out stored', () => daemon.ledgerHandle.optOuts.has(JANE, 'Brightside Dental'));
      await waitFor('confirmation', () => smsc.submits.length === 2);
    } finally {
      await daemon.stop(1000);
      await ari.close();
      await smsc.close();
      cleanup();
    }
  });

});

describe('AMI source with the GSM modem transport end to end (simulated modem on a real pty)', function () {
  this.timeout(60_000);

  it('texts a missed caller once, stores a STOP as an opt-out, rides out +CMS ERROR: 38 and an unplug', async () => {
    const { dir, cleanup } = tempDir();
    const sim = new ModemSimulator({ pin: '1234' });
    const pbx = new AmiReplayServer({ getvar: () => 'allowed_not_screened' });
    try {
      const device = await sim.start();
      const amiPort = await pbx.listen();
      const config = testConfig({ dir, amiPort, top: { sms: { transport: 'modem', modem: { device, pin: '1234' } } } });
      const { logger } = testLogger();
      const daemon = new Daemon(config, logger);
      const decided: CallDecided[] = [];
      daemon.events.on('call.decided', (d) => decided.push(d));
      await daemon.start();
      try {
        await pbx.waitForLogin();
        // The first submit is refused with a transient network error, then accepted.
        await sim.cmsError(38, 1);
        await pbx.play(loadCapture('noanswer'));
        await waitFor('decided', () => decided.length === 1);
        await sim.received(1, 20_000);
        const sent = sim.texts();
        expect(sent).to.have.length(1);
        expect(sent[0]).to.include({ to: JANE, text: 'Hi Jane, this is Brightside Dental. Sorry we missed your call! How can we help?' });
        const row = await waitFor('submitted', async () => {
          const r = await daemon.ledgerHandle.sends.get(decided[0].sendId!);
          return r?.state === 'submitted' && r;
        });
        expect(row.attempts).to.equal(2);

        await sim.deliver(JANE, 'Stop');
        await waitFor('opt-out stored', () => daemon.ledgerHandle.optOuts.has(JANE, 'Brightside Dental'), 20_000);

        // Unplugged: a missed call's text waits in the ledger, and goes out once after replug.
        await sim.unplug();
        await pbx.play(loadCapture('busy'));
        await waitFor('second decision', () => decided.length === 2);
        await sleep(1500);
        await sim.replug();
        await waitFor('text after replug', () => sim.texts().some((t) => t.to === '+13125550147'), 30_000);
        await sleep(1500);
        expect(sim.texts().filter((t) => t.to === '+13125550147')).to.have.length(1);
        expect(sim.texts().filter((t) => t.to === JANE)).to.have.length(2); // the text-back and the STOP confirmation
      } finally {
        await daemon.stop(1000);
      }
    } finally {
      await pbx.close();
      await sim.stop();
      cleanup();
    }
  });
});
