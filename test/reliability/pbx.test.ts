// Reliability 3, PBX faults: the AMI server goes away in the middle of three calls (the socket is
// closed and nothing listens for a while), then comes back. The daemon reconnects and asks for the
// live channels (Status); the calls it was following that are gone from that list end without a
// text as `unknown_end` in the ledger, also when the PBX sends their late events after the
// reconnect; a call after the reconnect is handled normally. And a PBX that stays away for two
// minutes: mctb is back within the stated cap of its return and follows a call already ringing.

import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { AmiReplayServer, CAPTURE_DIR, captureEvents, statusBlocks } from '../../src/demo/ami-replay';
import { PBX_RECONNECT_MAX_MS } from '../../src/link/lifecycle';
import { business, sleep, waitFor } from '../support/harness';
import { startPipeline, type Pipeline } from '../support/pipeline';
import { callerNumber, getHealth, missedCall, NO_LIMITS } from '../support/reliability';

describe('reliability: PBX faults', function () {
  this.timeout(60_000);
  let p: Pipeline | undefined;
  afterEach(async () => {
    await p?.stop();
    p = undefined;
  });

  it('AMI connection closed mid-call: reconnects, cut calls end as unknown_end with no text, the next call is texted', async () => {
    p = await startPipeline({ businesses: [business({ limits: NO_LIMITS })], top: { http: { listen: '127.0.0.1:0' } } });
    const port = p.daemon.healthPort!;
    const ledger = p.daemon.ledgerHandle;

    // A call before the fault, handled normally.
    const before = missedCall(1, callerNumber(2001));
    await p.pbx.play(before.events);
    await waitFor('the first text', () => p!.smsc.submits.length === 1);

    // Three calls in progress: everything up to (not including) their first Hangup event.
    const cut = [missedCall(2, callerNumber(2002)), missedCall(3, callerNumber(2003), 'busy'), missedCall(4, callerNumber(2004))];
    const head = (c: { events: string }) => c.events.slice(0, c.events.indexOf('Event: Hangup'));
    for (const c of cut) await p.pbx.play(head(c));
    await waitFor('three calls followed', () => p!.daemon.openCalls === 3);

    // The PBX goes away: the socket closes and nothing listens (connection refused) for a while.
    const amiPort = p.config.asterisk.ami.port;
    await p.pbx.close();
    await waitFor('unhealthy while the PBX is away', async () => {
      const h = await getHealth(port);
      return h.status === 503 && !h.body.pbx.up && h.body.ledger.up;
    });
    await sleep(1500);
    // Not guessed while away: they wait for the PBX to say whether they are still going.
    expect(cut.filter((c) => p!.decided.some((d) => d.call.callId === c.callId)), 'decided while the PBX was away').to.deep.equal([]);

    // It comes back on the same port; the daemon logs in again.
    const again = new AmiReplayServer({ getvar: () => 'allowed_not_screened' });
    await again.listen(amiPort);
    p.pbx = again; // closed by p.stop()
    await again.waitForLogin(15_000);
    await waitFor('healthy again', async () => (await getHealth(port)).status === 200, 10_000);
    // Its list of live channels is empty: the cut calls ended while mctb could not see them.
    await waitFor('the cut calls decided', () => cut.every((c) => p!.decided.some((d) => d.call.callId === c.callId)));

    // A PBX may send the rest of the cut calls' events late: they change nothing.
    for (const c of cut) await again.play(c.events.slice(head(c).length));
    // A new call after the reconnect is handled normally.
    const after = missedCall(5, callerNumber(2005));
    await again.play(after.events);
    await waitFor('the text after the reconnect', () => p!.smsc.submits.length >= 2, 10_000);
    await sleep(1000); // anything else would have gone out by now

    for (const c of cut) {
      const d = p.decided.find((x) => x.call.callId === c.callId)!;
      expect(d, c.callId).to.include({ decision: 'no_text', reason: 'unknown_end', recorded: true });
      expect(d.call.outcome).to.equal('unknown_end');
      const row = await ledger.calls.get(c.callId);
      expect(row, c.callId).to.include({ outcome: 'unknown_end', decision: 'no_text', reason: 'unknown_end', number: c.number });
      expect(await ledger.sends.find({ number: c.number, limit: 10 }), `no text to ${c.number}`).to.deep.equal([]);
    }
    expect(p.smsc.submits.map((s) => s.destination)).to.deep.equal([before.number, after.number]);
    expect(await ledger.calls.get(after.callId)).to.include({ outcome: 'noanswer', decision: 'text', reason: 'missed' });
    expect(p.daemon.openCalls, 'nothing left half-followed').to.equal(0);
    expect(p.logLines.filter((l) => /AMI connection down/.test(l)), 'the outage is logged once').to.have.length(1);
  });

  it('the PBX is away for 2 minutes and comes back with a call already ringing: mctb is back within the reconnect cap and texts that call when it ends unanswered', async function () {
    this.timeout(200_000);
    p = await startPipeline({ businesses: [business({ limits: NO_LIMITS })], top: { http: { listen: '127.0.0.1:0' } } });
    const amiPort = p.config.asterisk.ami.port;
    await p.pbx.close();
    await waitFor('disconnected', async () => (await getHealth(p!.daemon.healthPort!)).status === 503);
    await sleep(120_000);

    // Back, with Jane's call ringing the desk phone (a real Status answer, src/demo/captures/README.md).
    const capture = readFileSync(join(CAPTURE_DIR, 'ami-inventory-ringing.txt'), 'utf8');
    const status = statusBlocks(capture, 'inv-status');
    expect(status, 'the ringing call: trunk and phone leg').to.have.length(2);
    const again = new AmiReplayServer({ getvar: () => 'allowed_not_screened', channels: () => status });
    const backAt = Date.now();
    await again.listen(amiPort);
    p.pbx = again;
    await again.waitForLogin(PBX_RECONNECT_MAX_MS + 5000);
    const blindMs = Date.now() - backAt;
    console.log(`      [pbx] back after 120 s away: mctb logged in ${blindMs} ms after the PBX listened again (cap ${PBX_RECONNECT_MAX_MS} ms)`);
    expect(blindMs).to.be.at.most(PBX_RECONNECT_MAX_MS + 1000);
    await waitFor('the ringing call followed', () => p!.daemon.openCalls === 1);

    const field = (block: string, key: string) => new RegExp(`${key}: (\\S+)`).exec(block)![1];
    const [root, leg] = status[0].includes('PJSIP/trunk') ? status : [status[1], status[0]];
    const callId = field(root, 'Linkedid');
    const ids = (b: string) => `Channel: ${field(b, 'Channel')}\r\nUniqueid: ${field(b, 'Uniqueid')}\r\nLinkedid: ${callId}\r\n`;
    await again.play(
      `Event: DialEnd\r\n${ids(root)}DestChannel: ${field(leg, 'Channel')}\r\nDestUniqueid: ${field(leg, 'Uniqueid')}\r\nDialStatus: NOANSWER\r\n\r\n` +
        `Event: Hangup\r\n${ids(leg)}Cause: 16\r\n\r\n` +
        `Event: VarSet\r\n${ids(root)}Variable: DIALSTATUS\r\nValue: NOANSWER\r\n\r\n` +
        `Event: Hangup\r\n${ids(root)}Cause: 16\r\n\r\n`,
    );
    await waitFor('texted', () => p!.smsc.submits.length === 1, 10_000);
    expect(p.smsc.submits[0].destination).to.equal('+14155550123');
    const row = await p.daemon.ledgerHandle.calls.get(callId);
    expect(row).to.include({ outcome: 'noanswer', decision: 'text', midway: 1 });
    await sleep(500);
    expect(p.smsc.submits, 'texted once').to.have.length(1);
  });

  it('a real PBX restart (captured): the Shutdown, a new session before Asterisk has fully booted, and the first call after it is texted', async () => {
    p = await startPipeline({ businesses: [business({ limits: NO_LIMITS })] });
    const capture = readFileSync(join(CAPTURE_DIR, 'ami-restart-then-call.txt'), 'utf8');
    const second = capture.indexOf('Asterisk Call Manager/', 1);
    const [before, after] = [captureEvents(capture.slice(0, second)), captureEvents(capture.slice(second))];
    await p.pbx.play(before); // ends with Event: Shutdown
    const logins = p.pbx.actions.filter((a) => a.action?.toLowerCase() === 'login').length;
    p.pbx.dropClients(); // Asterisk closes the socket right after Shutdown
    await waitFor('logged in again', () => p!.pbx.actions.filter((a) => a.action?.toLowerCase() === 'login').length > logins && p!.pbx.clientCount === 1, PBX_RECONNECT_MAX_MS + 3000);
    await p.pbx.play(after);
    await waitFor('the first call after the restart texted', () => p!.smsc.submits.length === 1, 20_000);
    expect(p.smsc.submits[0].destination).to.equal('+14155550123');
    const d = await p.decisions(1);
    expect(d[0].call).to.include({ outcome: 'noanswer', midway: false });
  });
});
