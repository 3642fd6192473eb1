// The GSM modem transport through the real serial code (serialport) on a real pseudo-terminal,
// with the simulated modem (tools/modem-sim.py) at the other end.

import { expect } from 'chai';
import { ModemSimulator, type ModemSimOptions } from '../../src/demo/modem-sim';
import type { LinkState } from '../../src/link/lifecycle';
import { cmsError } from '../../src/sms/modem/cms';
import { ModemTransport, type ModemOptions } from '../../src/sms/modem/transport';
import type { DeliveryReceipt, IncomingSms, OutgoingSms } from '../../src/sms/transport';
import { sleep, testLogger, waitFor } from '../support/harness';

const FAST: ModemOptions = {
  reopenMinMs: 100,
  reopenMaxMs: 400,
  probeTimeoutMs: 300,
  commandTimeoutMs: 2000,
  sendTimeoutMs: 3000,
  registrationMinMs: 100,
  registrationMaxMs: 300,
  pollMs: 60_000,
  tps: 100,
};

function sms(text: string, to = '+14155550123', reference = 1): OutgoingSms {
  return { to, from: '', text, reference };
}

describe('GSM modem transport', function () {
  this.timeout(60_000);
  const sims: ModemSimulator[] = [];
  const transports: ModemTransport[] = [];

  afterEach(async () => {
    for (const t of transports.splice(0)) await t.stop(100);
    for (const s of sims.splice(0)) await s.stop();
  });

  async function simulator(opts: ModemSimOptions = {}): Promise<ModemSimulator> {
    const sim = new ModemSimulator({ pin: '1234', number: '+15550009999', ...opts });
    sims.push(sim);
    await sim.start();
    return sim;
  }

  function transport(sim: ModemSimulator, cfg: { pin?: string; smsc?: string } = { pin: '1234' }, opts: ModemOptions = {}) {
    const { logger, lines } = testLogger();
    const t = new ModemTransport({ device: sim.path, baud_rate: 115200, ...cfg }, logger, { ...FAST, ...opts });
    const states: [LinkState, string][] = [];
    t.events.on('state', (s, detail) => states.push([s, detail]));
    transports.push(t);
    return { t, lines, states };
  }

  async function readyModem(simOpts: ModemSimOptions = {}, opts: ModemOptions = {}) {
    const sim = await simulator(simOpts);
    const m = transport(sim, { pin: '1234' }, opts);
    m.t.start();
    await waitFor('modem ready', () => m.t.ready);
    return { sim, ...m };
  }

  describe('init', () => {
    it('unlocks the SIM with its PIN, sets PDU mode and indications, and is ready once registered', async () => {
      const { sim, t, lines } = await readyModem();
      const cmds = sim.commands();
      const order = ['AT', 'ATE0', 'AT+CMEE=2', 'AT+CPIN?', 'AT+CPIN="****"', 'AT+CMGF=0', 'AT+CNMI=2,1,0,1,0', 'AT+CREG?'];
      let at = -1;
      for (const c of order) {
        const i = cmds.indexOf(c, at + 1);
        expect(i, `${c} after ${order[order.indexOf(c) - 1]} in ${cmds.join(' | ')}`).to.be.greaterThan(at);
        at = i;
      }
      expect(sim.history.some((e) => e.event === 'pin_ok')).to.equal(true);
      expect(t.ready).to.equal(true);
      expect(lines.some((l) => /GSM modem ready/.test(l) && /network=home/.test(l))).to.equal(true);
      expect(lines.join('\n')).not.to.contain('1234'); // the PIN is never logged
    });

    it('stops at a wrong PIN and never sends it again (three wrong PINs would lock the SIM)', async () => {
      const sim = await simulator();
      const { t, lines } = transport(sim, { pin: '0000' }, { reopenMinMs: 50, reopenMaxMs: 100 });
      t.start();
      await waitFor('refusal', () => lines.some((l) => /refused the PIN/.test(l)));
      // It keeps checking the SIM (someone may unlock it) but does not try the PIN again.
      await waitFor('a second look at the SIM', () => sim.commands().filter((c) => c === 'AT+CPIN?').length >= 3);
      expect(sim.history.filter((e) => e.event === 'pin_wrong')).to.have.length(1);
      expect(sim.commands().filter((c) => c.startsWith('AT+CPIN='))).to.have.length(1);
      expect(lines.some((l) => /not tried again/.test(l))).to.equal(true);
      expect(t.ready).to.equal(false);
      expect(await t.submit(sms('x'))).to.deep.equal({ kind: 'retry', error: 'modem_not_ready' });
    });

    it('says clearly when the SIM wants a PIN and none is configured', async () => {
      const sim = await simulator();
      const { t, lines } = transport(sim, {});
      t.start();
      await waitFor('error', () => lines.some((l) => /error/.test(l) && /asks for a PIN: set sms\.modem\.pin/.test(l)));
      expect(t.ready).to.equal(false);
    });

    it('is not ready until the modem is registered, then ready when roaming', async () => {
      const sim = await simulator({ creg: 2 });
      const { t, states, lines } = transport(sim);
      t.start();
      await waitFor('searching', () => states.some(([s, detail]) => s === 'connecting' && /^searching/.test(detail)));
      await sleep(400);
      expect(t.ready).to.equal(false);
      expect(await t.submit(sms('x'))).to.deep.equal({ kind: 'retry', error: 'modem_not_ready' });
      expect(lines.filter((l) => /not registered/.test(l))).to.have.length(1); // said once, not every check
      await sim.setRegistration(5);
      await waitFor('ready', () => t.ready);
      expect(lines.some((l) => /GSM modem ready/.test(l) && /network=roaming/.test(l))).to.equal(true);
      expect(sim.commands().filter((c) => c === 'AT+CREG?').length).to.be.greaterThan(2);
    });
  });

  describe('sending', () => {
    it('sends a GSM-7 text as one SMS-SUBMIT asking for a status report; the id carries the TP-MR', async () => {
      const { sim, t } = await readyModem({ mr: 41 });
      const text = 'Sorry we missed your call! Reply STOP to opt out. 5€ [promo]';
      const r = await t.submit(sms(text));
      expect(r.kind).to.equal('accepted');
      const ids = (r as { messageIds: string[] }).messageIds;
      expect(ids).to.have.length(1);
      expect(ids[0]).to.match(/^mr:41:\d{8}:[0-9a-f]{8}$/);
      expect(ids[0]).not.to.contain('4155550123');
      await sim.received(1);
      await sleep(100);
      expect(sim.submits).to.have.length(1);
      expect(sim.submits[0]).to.include({ to: '+14155550123', text, encoding: 'GSM-7', dcs: 0, srr: true, smsc: '', mr: 41 });
      expect(sim.submits[0]!.udh).to.equal(null);
      expect(sim.history.some((e) => e.event === 'bad_pdu')).to.equal(false); // AT+CMGS length matched the TPDU
    });

    it('puts the configured SMSC in the PDU', async () => {
      const sim = await simulator({ smsc: '' });
      const { t } = transport(sim, { pin: '1234', smsc: '+15550000777' });
      t.start();
      await waitFor('ready', () => t.ready);
      expect((await t.submit(sms('hi'))).kind).to.equal('accepted');
      await sim.received(1);
      expect(sim.submits[0]!.smsc).to.equal('+15550000777');
    });

    it('sends a long UCS-2 text in parts with one reference that join back to the original', async () => {
      const { sim, t } = await readyModem();
      const text = 'Désolé, nous avons manqué votre appel 😀 — rappelez-nous au cabinet ☎. '.repeat(3);
      const r = await t.submit(sms(text, '+33612345678', 0x1a7));
      expect(r.kind).to.equal('accepted');
      const ids = (r as { messageIds: string[] }).messageIds;
      await sim.received(ids.length);
      expect(sim.submits.length).to.be.greaterThan(2);
      expect(ids).to.have.length(sim.submits.length);
      expect(new Set(ids).size).to.equal(ids.length);
      sim.submits.forEach((s, i) => {
        expect(s).to.include({ encoding: 'UCS-2', dcs: 8, to: '+33612345678' });
        expect(s.udh).to.deep.equal({ ref: 0xa7, total: sim.submits.length, seq: i + 1 });
      });
      expect(sim.texts()).to.deep.equal([{ to: '+33612345678', text, parts: sim.submits.length }]);
    });

    it('maps +CMS ERROR: 38 to a retry, and the next submit goes through', async () => {
      const { sim, t } = await readyModem();
      await sim.cmsError(38);
      expect(await t.submit(sms('first try'))).to.deep.equal({ kind: 'retry', error: 'CMS_38_network_out_of_order' });
      expect(t.ready).to.equal(true);
      const again = await t.submit(sms('first try'));
      expect(again.kind).to.equal('accepted');
      await sim.received(1);
      await sleep(100);
      expect(sim.submits.filter((s) => s.text === 'first try')).to.have.length(1);
    });

    it('sends concurrent submits one command at a time', async () => {
      const { sim, t } = await readyModem({ mr: 10 });
      const texts = ['a', 'b', 'c', 'd', 'e'].map((x) => `text ${x}`);
      const results = await Promise.all(texts.map((x, i) => t.submit(sms(x, `+1415555010${i}`))));
      expect(results.map((r) => r.kind)).to.deep.equal(Array(5).fill('accepted'));
      await sim.received(5);
      expect(sim.submits.map((s) => s.text).sort()).to.deep.equal(texts);
      expect(sim.submits.map((s) => s.mr)).to.deep.equal([10, 11, 12, 13, 14]);
      expect(sim.history.some((e) => e.event === 'bad_pdu')).to.equal(false);
    });

    it('gives up on a modem that stops answering, reopens it and runs the init again', async () => {
      const { sim, t, lines } = await readyModem({}, { commandTimeoutMs: 400, probeTimeoutMs: 200, probeAttempts: 2 });
      await sim.command({ hang: true });
      const r = await t.submit(sms('into the void'));
      expect(r).to.deep.equal({ kind: 'retry', error: 'modem_timeout', uncertain: true });
      expect(t.ready).to.equal(false);
      await waitFor('a reopen', () => lines.some((l) => /no answer to AT\+CMGS|does not answer AT/.test(l)));
      const mark = sim.history.length;
      await sim.command({ hang: false });
      await waitFor('ready again', () => t.ready, 10_000);
      expect(sim.commands(mark)).to.include.members(['ATE0', 'AT+CMGF=0']);
      expect((await t.submit(sms('back again'))).kind).to.equal('accepted');
      await sim.received(1);
      expect(sim.submits.map((s) => s.text)).to.deep.equal(['back again']);
    });

    it('maps a permanent +CMS ERROR to failed', async () => {
      const { sim, t } = await readyModem();
      await sim.cmsError(1);
      expect(await t.submit(sms('to nowhere'))).to.deep.equal({ kind: 'failed', error: 'CMS_1_unassigned_number' });
      expect(t.ready).to.equal(true);
    });

    it('classifies +CMS ERROR codes', () => {
      const table: [string | number, string, boolean][] = [
        [38, 'CMS_38_network_out_of_order', true],
        [41, 'CMS_41_temporary_failure', true],
        [42, 'CMS_42_congestion', true],
        [47, 'CMS_47_resources_unavailable', true],
        [331, 'CMS_331_no_network_service', true],
        [332, 'CMS_332_network_timeout', true],
        [500, 'CMS_500_unknown_error', true],
        [515, 'CMS_515_device_busy', true],
        [1, 'CMS_1_unassigned_number', false],
        [302, 'CMS_302_operation_not_allowed', true],
        [303, 'CMS_303_operation_not_supported', false],
        [304, 'CMS_304_invalid_pdu_mode_parameter', false],
        [305, 'CMS_305_invalid_text_mode_parameter', false],
        [322, 'CMS_322_memory_full', false],
        ['network out of order', 'CMS_38_network_out_of_order', true],
        ['something odd', 'CMS_something_odd', true],
      ];
      for (const [code, name, transient] of table) expect(cmsError(code), String(code)).to.include({ name, transient });
      expect(cmsError(311)).to.include({ transient: true, reinit: true });
    });
  });

  describe('receiving', () => {
    it('hands an incoming STOP to the handler and deletes it from the SIM only after the handler resolved', async () => {
      const { sim, t } = await readyModem();
      const got: IncomingSms[] = [];
      let release!: () => void;
      const gate = new Promise<void>((r) => (release = r));
      t.onMessage(async (m) => {
        got.push(m);
        await gate;
      });
      await sim.deliver('+14155550123', 'STOP');
      await waitFor('the text', () => got.length === 1);
      expect(got[0]).to.deep.equal({ from: '+14155550123', to: '+15550009999', text: 'STOP' });
      await sleep(300);
      expect(sim.history.some((e) => e.event === 'deleted')).to.equal(false);
      expect(sim.commands().some((c) => c.startsWith('AT+CMGD'))).to.equal(false);
      // The modem keeps working while the handler is busy.
      expect((await t.submit(sms('still sending'))).kind).to.equal('accepted');
      release();
      await sim.waitFor((e) => e.event === 'deleted' && e.index === 1, 5000, 'the delete');
    });

    it('leaves a text the handler could not store on the SIM, and reads it again after a restart', async () => {
      const { sim, t } = await readyModem();
      let calls = 0;
      t.onMessage(async () => {
        calls++;
        throw new Error('ledger is read-only');
      });
      await sim.deliver('+14155550123', 'STOP');
      await waitFor('the handler', () => calls === 1);
      await sleep(300);
      expect(sim.history.some((e) => e.event === 'deleted')).to.equal(false);
      await t.stop(100);
      transports.splice(transports.indexOf(t), 1);

      // The daemon restarts: the init lists the SIM (AT+CMGL=4) and hands the text over again.
      const mark = sim.history.length;
      const second = transport(sim);
      const got: IncomingSms[] = [];
      second.t.onMessage(async (m) => {
        got.push(m);
      });
      second.t.start();
      await waitFor('the text again', () => got.length === 1);
      expect(got[0]).to.include({ from: '+14155550123', text: 'STOP' });
      expect(sim.commands(mark)).to.include('AT+CMGL=4');
      await sim.waitFor((e) => e.event === 'deleted' && e.index === 1, 5000, 'the delete', mark);
    });

    it('offers a text that failed to store again on the next poll', async () => {
      const { sim, t } = await readyModem({}, { pollMs: 300 });
      const got: IncomingSms[] = [];
      t.onMessage(async (m) => {
        got.push(m);
        if (got.length === 1) throw new Error('database is locked');
      });
      await sim.deliver('+14155550123', 'stop please');
      await waitFor('offered twice', () => got.length === 2, 5000);
      await sim.waitFor((e) => e.event === 'deleted', 5000, 'the delete');
      expect(got.map((m) => m.text)).to.deep.equal(['stop please', 'stop please']);
    });

    it('passes the parts of a long incoming text with their UDH numbers', async () => {
      const { sim, t } = await readyModem();
      const got: IncomingSms[] = [];
      t.onMessage(async (m) => {
        got.push(m);
      });
      const text = 'Hallo, bitte rufen Sie mich zurück 😀 wegen des Termins am Dienstag.';
      await sim.deliver('+4915112345678', text, { partChars: 25, ref: 77, ucs2: true });
      await waitFor('three parts', () => got.length === 3);
      expect(got.map((m) => m.part)).to.deep.equal([
        { ref: 77, total: 3, seq: 1 },
        { ref: 77, total: 3, seq: 2 },
        { ref: 77, total: 3, seq: 3 },
      ]);
      expect(got.map((m) => m.text).join('')).to.equal(text);
      await sim.waitFor((e) => e.event === 'deleted' && e.index === 3, 5000, 'all deleted');
    });

    it('turns a status report into a receipt for the submit\'s id', async () => {
      const { sim, t } = await readyModem({ mr: 254 });
      const receipts: DeliveryReceipt[] = [];
      t.onReceipt(async (r) => {
        receipts.push(r);
      });
      const a = (await t.submit(sms('one'))) as { messageIds: string[] };
      const b = (await t.submit(sms('two', '+14155550199'))) as { messageIds: string[] };
      const c = (await t.submit(sms('three'))) as { messageIds: string[] }; // MR wrapped to 0
      await sim.received(3);
      expect(sim.submits.map((s) => s.mr)).to.deep.equal([254, 255, 0]);
      await sim.statusReport(255, 0);
      await sim.statusReport(254, 0x46);
      await sim.statusReport(0, 0x20);
      await waitFor('three receipts', () => receipts.length === 3);
      expect(receipts).to.deep.equal([
        { messageId: b.messageIds[0], state: 'delivered', error: null },
        { messageId: a.messageIds[0], state: 'expired', error: 'ST_46_validity_period_expired' },
        { messageId: c.messageIds[0], state: 'enroute', error: 'ST_20_congestion' },
      ]);
      expect(new Set([a, b, c].map((x) => x.messageIds[0])).size).to.equal(3);
    });

    it('rebuilds the same id from a status report that arrives after a restart', async () => {
      const { sim, t } = await readyModem({ mr: 17 });
      const sent = (await t.submit(sms('before restart'))) as { messageIds: string[] };
      await t.stop(100);
      transports.splice(transports.indexOf(t), 1);
      const second = transport(sim);
      const receipts: DeliveryReceipt[] = [];
      second.t.onReceipt(async (r) => {
        receipts.push(r);
      });
      second.t.start();
      await waitFor('ready', () => second.t.ready);
      await sim.statusReport(17, 0);
      await waitFor('receipt', () => receipts.length === 1);
      expect(receipts[0]).to.deep.equal({ messageId: sent.messageIds[0], state: 'delivered', error: null });
    });

    it('handles unsolicited codes that arrive between a command and its answer', async () => {
      const { sim, t } = await readyModem({ mr: 3 });
      const receipts: DeliveryReceipt[] = [];
      const got: IncomingSms[] = [];
      t.onReceipt(async (r) => {
        receipts.push(r);
      });
      t.onMessage(async (m) => {
        got.push(m);
      });
      const first = (await t.submit(sms('first'))) as { messageIds: string[] };
      // Both come right before the modem's answer to the next AT+CMGS (after the "> " prompt).
      await sim.statusReport(3, 0, { when: 'next_response' });
      await sim.deliver('+14155550123', 'STOP', { when: 'next_response' });
      const second = await t.submit(sms('second'));
      expect(second.kind).to.equal('accepted');
      expect((second as { messageIds: string[] }).messageIds[0]).to.match(/^mr:4:/);
      await waitFor('receipt and text', () => receipts.length === 1 && got.length === 1);
      expect(receipts[0]).to.include({ messageId: first.messageIds[0], state: 'delivered' });
      expect(got[0]).to.include({ text: 'STOP' });
    });
  });

  describe('unplug', () => {
    // The port's close or EIO usually tells at once; the health poll (AT+CREG?, every 30 s in
    // production) is the backstop when the pty's hangup is not reported. Shorter here, so a
    // missed event on a loaded machine costs seconds, not the test.
    const UNPLUG: ModemOptions = { pollMs: 2000 };
    it('is not ready while the modem is gone, re-inits with the PIN after replug, and sends a text from the outage once', async () => {
      const { sim, t, states, lines } = await readyModem({}, UNPLUG);
      await sim.unplug();
      await waitFor('not ready', () => !t.ready, 25_000);
      const text = 'We missed your call, we will ring you back.';
      // The outbox gets "retry" and keeps the text in its ledger row.
      expect(await t.submit(sms(text))).to.deep.equal({ kind: 'retry', error: 'modem_not_ready' });
      await sleep(600); // several reopen attempts against a missing device
      expect(t.ready).to.equal(false);
      expect(states.map(([s]) => s)).to.include('disconnected');
      expect(lines.filter((l) => /GSM modem unavailable/.test(l))).to.have.length(1);

      const mark = sim.history.length;
      await sim.replug();
      await waitFor('ready again', () => t.ready);
      const cmds = sim.commands(mark);
      expect(cmds).to.include.members(['AT+CPIN?', 'AT+CPIN="****"', 'AT+CMGF=0', 'AT+CNMI=2,1,0,1,0']);
      expect(sim.history.slice(mark).some((e) => e.event === 'pin_ok')).to.equal(true);

      // The outbox tries again now that the transport is ready.
      expect((await t.submit(sms(text))).kind).to.equal('accepted');
      await sim.received(1);
      await sleep(200);
      expect(sim.submits.filter((s) => s.text === text)).to.have.length(1);
    });

    it('returns retry for a submit cut off by the modem vanishing, and the text goes out once after replug', async () => {
      const { sim, t } = await readyModem();
      await sim.command({ unplug_on_cmgs: true });
      const text = 'Cut off in the middle';
      const r = await t.submit(sms(text));
      expect(r.kind).to.equal('retry');
      expect(['modem_gone', 'modem_not_ready', 'modem_timeout']).to.include((r as { error: string }).error);
      expect(sim.history.some((e) => e.event === 'vanished_during_cmgs')).to.equal(true);
      await waitFor('not ready', () => !t.ready, 25_000);
      await sim.replug();
      await waitFor('ready again', () => t.ready);
      expect((await t.submit(sms(text))).kind).to.equal('accepted');
      await sim.received(1);
      await sleep(200);
      expect(sim.submits.filter((s) => s.text === text)).to.have.length(1);
    });

    it('reads texts that arrived while the modem was away', async () => {
      const { sim, t } = await readyModem({}, UNPLUG);
      const got: IncomingSms[] = [];
      t.onMessage(async (m) => {
        got.push(m);
      });
      await sim.unplug();
      await waitFor('not ready', () => !t.ready, 25_000);
      await sim.deliver('+14155550123', 'STOP'); // stored on the SIM, no one to tell
      await sim.replug();
      await waitFor('the text', () => got.length === 1);
      expect(got[0]).to.include({ from: '+14155550123', text: 'STOP' });
    });
  });
});
