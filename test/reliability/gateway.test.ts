// Reliability 2, gateway faults: a burst of 30 missed calls; mid-burst the SMSC drops the session,
// then answers ESME_RTHROTTLED to everything for 10 s, and refuses one destination for good
// (ESME_RINVDSTADR). Every text but that one is delivered, exactly once at the SMSC; that one
// ends `failed` with the status name as its error.
//
// Where the session is cut: at a submit_sm boundary, before accepting. The SMSC destroys the
// session instead of answering that submit, so it never accepted anything whose answer was lost.
// A drop *after* accepting a submit and before its submit_sm_resp reaches mctb cannot be told
// apart from one before it: the transport returns retry `connection_lost` (uncertain), the outbox
// puts the row back to `scheduled`, marked `interrupted` as after a crash, and sends it again. So
// the texts on the wire at the drop are the only ones marked, whether they went out once or twice.

import { expect } from 'chai';
import smpp from '../../src/sms/smpp/lib';
import { business, waitFor } from '../support/harness';
import { startPipeline, type Pipeline } from '../support/pipeline';
import { callerNumber, missedCall, NO_LIMITS, tally } from '../support/reliability';

const BURST = 30;
const DROP_AFTER = 8;
const THROTTLE_MS = 10_000;

describe('reliability: gateway faults', function () {
  this.timeout(60_000);
  let p: Pipeline | undefined;
  afterEach(async () => {
    await p?.stop();
    p = undefined;
  });

  it('session dropped mid-burst, 10 s of ESME_RTHROTTLED, one ESME_RINVDSTADR: all others delivered once, that one failed with its status', async () => {
    const calls = Array.from({ length: BURST }, (_, i) => missedCall(1000 + i, callerNumber(1000 + i)));
    const bad = calls[20].number;
    let seen = 0;
    let dropped = false;
    let throttleUntil = 0;
    let throttled = 0;
    let refused = 0;
    let binds = 0;
    const started = Date.now();
    p = await startPipeline({
      businesses: [business({ limits: NO_LIMITS })],
      tps: 100,
      smsc: {
        receiptDelayMs: undefined, // receipts are sent below, once every text has been taken
        answer: (submit) => {
          seen++;
          if (!dropped && seen === DROP_AFTER + 1) {
            // The link drops as this submit arrives: it is not accepted, nothing is answered.
            dropped = true;
            throttleUntil = Date.now() + THROTTLE_MS;
            p!.smsc.dropSessions();
            return smpp.errors.ESME_RSYSERR;
          }
          if (Date.now() < throttleUntil) {
            throttled++;
            return smpp.errors.ESME_RTHROTTLED;
          }
          if (submit.destination === bad) {
            refused++;
            return smpp.errors.ESME_RINVDSTADR;
          }
          return 0;
        },
      },
    });
    p.smsc.on('bind', () => binds++);
    const retried: string[] = [];
    p.daemon.events.on('send.retrying', (_row, error) => retried.push(error));

    for (const c of calls) await p.pbx.play(c.events);
    await p.decisions(BURST, 20_000);

    const ledger = p.daemon.ledgerHandle;
    const textBacks = async () => (await ledger.sends.find({ limit: 1000 })).filter((s) => s.kind === 'text_back');
    await waitFor(
      'every text taken or refused',
      async () => {
        const rows = await textBacks();
        return rows.length === BURST && rows.every((r) => (r.number === bad ? r.state === 'failed' : r.state === 'submitted'));
      },
      50_000,
      100,
    );
    // The gateway now reports each text delivered.
    for (const s of p.smsc.submits) p.smsc.sendReceipt(undefined, s, 'DELIVRD');
    await waitFor('every receipt stored', async () => (await textBacks()).filter((r) => r.state === 'delivered').length === BURST - 1, 10_000, 100);

    const rows = await textBacks();
    const failed = rows.find((r) => r.number === bad)!;
    expect(failed).to.include({ state: 'failed', reason: 'gateway_rejected', error: 'ESME_RINVDSTADR' });
    expect(refused, 'the refused text is not retried').to.equal(1);
    for (const r of rows) if (r.number !== bad) expect(r.state, r.number).to.equal('delivered');

    // No duplicate at the SMSC: one accepted submit per destination, none for the refused one.
    const accepted = tally(p.smsc.submits, (s) => s.destination);
    for (const c of calls) expect(accepted.get(c.number) ?? 0, c.number).to.equal(c.number === bad ? 0 : 1);
    expect(p.smsc.submits).to.have.length(BURST - 1);

    // The faults really happened, and were ridden out by retrying.
    expect(dropped).to.equal(true);
    expect(binds, 'rebound after the drop').to.be.at.least(1);
    expect(throttled).to.be.greaterThan(0);
    expect(retried).to.include('ESME_RTHROTTLED');
    expect(retried.some((e) => e === 'connection_lost' || e === 'gateway_down'), retried.join(',')).to.equal(true);
    expect(rows.filter((r) => r.attempts > 1).length, 'texts that needed more than one attempt').to.be.greaterThan(0);
    // Only texts on the wire when the session dropped are marked; they were then sent again.
    const marked = rows.filter((r) => r.interrupted > 0);
    expect(marked.length, 'texts marked interrupted').to.be.at.most(BURST);
    for (const r of marked) expect(r.attempts, `send ${r.id} marked interrupted`).to.be.greaterThan(1);
    expect(retried.filter((e) => e === 'connection_lost').length).to.equal(marked.length);
    const lastAccepted = Math.max(...p.smsc.submits.map((s) => s.at));
    expect(lastAccepted, 'the last text went out after the throttling ended').to.be.at.least(throttleUntil);
    console.log(`      [gateway] ${seen} submit_sm seen, ${throttled} throttled, all taken ${((lastAccepted - started) / 1000).toFixed(1)} s after the start; retries: ${[...tally(retried, (e) => e)].map(([e, n]) => `${e}×${n}`).join(', ')}`);
  });
});
