// Reliability: back-pressure from the ledger onto the PBX. A second connection to the ledger file
// holds SQLite's write lock (BEGIN IMMEDIATE) for 2.5 s, less than the ledger's busy_timeout, while
// the loopback PBX streams a few hundred real calls as fast as it can. The daemon must stop reading
// the AMI socket once `backlogPause` ended calls wait (the rest of the stream waits in the socket
// buffers and the PBX), keep the connection (Ping watchdog at 300 ms, paused meanwhile), resume when
// the ledger catches up, and lose nothing: every call in the ledger once, every missed caller
// texted once. Then: a withheld caller whose caller-ID presentation answer sits unread behind a
// long pause is still recognised (the daemon's waits stand still while it does not read).

import { expect } from 'chai';
import { CALL_EVENT_FILTER, toCallEvent } from '../../src/asterisk/ami/events';
import { AmiFrameReader } from '../../src/asterisk/ami/reader';
import type { AmiSource } from '../../src/asterisk/ami/source';
import type { LinkState } from '../../src/link/lifecycle';
import { loadCapture, rewriteCapture } from '../../src/demo/ami-replay';
import { SqliteFile } from '../../src/ledger/sqlite';
import { business, sleep, waitFor } from '../support/harness';
import { startPipeline, type Pipeline } from '../support/pipeline';
import { callerNumber, missedCall, NO_LIMITS, openLedgerReader, tally, type MissedCall } from '../support/reliability';

const PAUSE = 20;
const RESUME = 10;
const PING_MS = 300;
const LOCK_MS = 2500;
/** What one read of a TCP socket can hand Node at most (libuv reads into 64 KiB buffers). */
const READ_BYTES = 64 * 1024;

interface Streamed extends MissedCall {
  capture: string;
  /** A number the policy accepts (the invalid ones are recorded, never texted). */
  valid: boolean;
}

const OUTCOME: Record<string, string> = { noanswer: 'noanswer', busy: 'busy', answered: 'answered', voicemail: 'voicemail' };

/** Call i: four real captures in turn (3 in 10 answered), a fresh caller each; every 25th an invalid number. */
function streamedCall(i: number): Streamed {
  const capture = ['noanswer', 'busy', 'answered', 'noanswer', 'answered', 'voicemail', 'noanswer', 'answered', 'busy', 'noanswer'][i % 10];
  const valid = i % 25 !== 0;
  // "+1312555" and no more: too short to be a phone number.
  return { ...missedCall(i, valid ? callerNumber(i) : '+1312555', capture), capture, valid };
}

describe('reliability: back-pressure from a slow ledger onto the PBX', function () {
  this.timeout(60_000);
  let p: Pipeline | undefined;
  afterEach(async () => {
    await p?.stop();
    p = undefined;
  });

  it('ledger write-locked 2.5 s under a burst of 300 calls: reading pauses, the backlog stays bounded, no reconnect, nothing lost or doubled', async () => {
    p = await startPipeline({
      businesses: [business({ limits: NO_LIMITS })],
      tps: 1000,
      tuning: { backlogPause: PAUSE, backlogResume: RESUME },
      amend: (c) => {
        c.asterisk.ami.ping_interval_ms = PING_MS; // under the 1 s the config file allows
        // Each call then ends at its caller's Hangup frame (the last of every capture), one call per
        // frame: what can overshoot the pause threshold is bounded by the bytes of one socket read.
        // (The Getvar held across a pause is shown in test/asterisk/ami-source.test.ts.)
        c.asterisk.ami.check_presentation = false;
      },
    });
    const daemon = p.daemon;
    const calls = Array.from({ length: 300 }, (_, i) => streamedCall(i + 1));
    const stream = calls.map((c) => c.events).join('');
    const totalEvents = (stream.match(/^Event: /gm) ?? []).length;
    // The events the daemon reads (its reader skips the rest unparsed, CALL_EVENT_FILTER), and the
    // call events the source makes of them.
    let wantedFrames = 0;
    let wantedEvents = 0;
    new AmiFrameReader(
      (f) => {
        wantedFrames++;
        if (toCallEvent(f, 0)) wantedEvents++;
      },
      undefined,
      CALL_EVENT_FILTER,
    ).push(stream);

    // The allowance: the frames of the read in which the queue reached PAUSE are still handled (a
    // read is parsed whole), and each call ends at one frame, so at most this many calls end in one
    // read after the threshold is crossed.
    const smallest = Math.min(...calls.map((c) => Buffer.byteLength(c.events)));
    const perRead = Math.floor(READ_BYTES / smallest) + 1;
    // The threshold counts every call not yet in the ledger (queued, or in the batch being committed).
    const bound = PAUSE - 1 + perRead;

    const states: [LinkState, string][] = [];
    const paused: { paused: boolean; waiting: number; at: number }[] = [];
    let maxBacklog = 0;
    let eventsRead = 0;
    const sample = () => (maxBacklog = Math.max(maxBacklog, daemon.backlog));
    daemon.events.on('pbx.state', (s, detail) => states.push([s, detail]));
    daemon.events.on('pbx.paused', (isPaused, waiting) => {
      paused.push({ paused: isPaused, waiting, at: Date.now() });
      sample();
    });
    daemon.events.on('call.decided', sample);
    // The daemon's own AMI source (not replaced, only listened to): the backlog after every event it
    // hands the daemon, i.e. at its very peak, and how much of the stream has been read.
    const source = (daemon as unknown as { source: AmiSource }).source;
    source.on('event', () => {
      eventsRead++;
      sample();
    });
    let logins = 0;
    p.pbx.on('login', () => logins++);
    const pings = () => p!.pbx.actions.filter((a) => a.action.toLowerCase() === 'ping').length;
    const pingsAtStart = pings();

    // Another process's transaction (a `mctb` admin command, a backup) holds the write lock.
    const locker = await SqliteFile.open(p.config.ledger.path);
    await locker.run('BEGIN IMMEDIATE');
    const lockedAt = Date.now();
    const streamed = p.pbx.play(stream);
    await sleep(LOCK_MS);
    const readWhileLocked = eventsRead;
    const decidedWhileLocked = p.decided.length;
    const pausedWhileLocked = daemon.pbxPaused;
    await locker.run('COMMIT');
    const releasedAt = Date.now();
    await locker.close();

    const decided = await waitFor(
      `${calls.length} call decisions`,
      () => {
        // A reconnect loses the events still in the old socket: say so at once rather than time out.
        if (states.some(([s]) => s === 'disconnected')) throw new Error(`the PBX connection was dropped: ${JSON.stringify(states)}`);
        return p!.decided.length >= calls.length && p!.decided;
      },
      30_000,
    );
    await streamed;
    const texted = calls.filter((c) => c.valid && c.capture !== 'answered');
    await waitFor(`${texted.length} texts`, () => p!.smsc.submits.length >= texted.length, 20_000);
    await sleep(500); // a double text would have gone out by now
    console.log(
      `      [backpressure] ${calls.length} calls, ${totalEvents} events (${(stream.length / 1e6).toFixed(1)} MB); read while locked: ${readWhileLocked}; ` +
        `pauses: ${paused.filter((x) => x.paused).length}; max backlog ${maxBacklog} (bound ${bound} = ${PAUSE - 1} + ${perRead} per read)`,
    );

    // Reading paused while the ledger was locked, and resumed after it was released.
    expect(decidedWhileLocked, 'nothing could be recorded while locked').to.equal(0);
    expect(pausedWhileLocked, 'paused while the ledger was locked').to.equal(true);
    expect(paused[0]).to.include({ paused: true });
    expect(paused[0].at).to.be.within(lockedAt, releasedAt);
    expect(paused[0].waiting).to.be.at.least(PAUSE);
    const firstResume = paused.find((x) => !x.paused);
    expect(firstResume, 'resumed').to.not.equal(undefined);
    expect(firstResume!.at).to.be.at.least(releasedAt);
    expect(firstResume!.waiting).to.be.below(RESUME);
    expect(paused.map((x) => x.paused), 'strictly alternating').to.deep.equal(paused.map((_, i) => i % 2 === 0));
    expect(daemon.pbxPaused).to.equal(false);
    // The rest of the stream waited outside the process (socket buffers, the PBX's writes).
    expect(readWhileLocked, 'most of the stream unread while locked').to.be.below(wantedEvents / 4);
    expect(maxBacklog, 'calls waiting for the ledger').to.be.at.least(PAUSE).and.at.most(bound);

    // The connection stood: no Ping timeout, no reconnect; the watchdog runs again after the pauses
    // (a second Ping is only sent once the first was answered).
    const pingsBefore = pings();
    await sleep(4 * PING_MS);
    expect(pings() - pingsBefore, 'Pings sent and answered after the pauses').to.be.at.least(2);
    expect(pings() - pingsAtStart).to.be.at.least(3);
    expect(states.filter(([s]) => s !== 'connected'), 'no PBX state change').to.deep.equal([]);
    expect(logins, 'no new login').to.equal(0);
    expect(p.pbx.clientCount).to.equal(1);
    expect(p.logLines.filter((l) => /did not answer Ping|AMI connection down/.test(l))).to.deep.equal([]);
    expect(eventsRead).to.equal(wantedEvents);
    expect(wantedFrames + source.readerStats.filtered, 'every event read or skipped').to.equal(totalEvents);

    // Every call recorded once, with its capture's outcome; none given up as unknown_end.
    expect(decided).to.have.length(calls.length);
    expect([...tally(decided, (d) => d.call.callId).values()].every((n) => n === 1), 'each call decided once').to.equal(true);
    const reader = await openLedgerReader(p.config.ledger.path);
    const rows = await reader.all<{ call_id: string; outcome: string; decision: string; reason: string }>('SELECT call_id, outcome, decision, reason FROM calls').finally(() => reader.close());
    expect(rows).to.have.length(calls.length);
    const byId = new Map(rows.map((r) => [r.call_id, r]));
    for (const c of calls) {
      const row = byId.get(c.callId);
      expect(row, c.callId).to.not.equal(undefined);
      const want = !c.valid ? { decision: 'no_text', reason: 'invalid_number' } : c.capture === 'answered' ? { decision: 'no_text', reason: 'answered' } : { decision: 'text', reason: 'missed' };
      expect(row, `${c.callId} (${c.capture})`).to.include({ outcome: OUTCOME[c.capture], ...want });
    }
    expect(rows.filter((r) => r.outcome === 'unknown_end')).to.deep.equal([]);

    // Every missed caller with a valid number texted exactly once; nobody else.
    const sent = tally(p.smsc.submits, (s) => s.destination);
    expect(p.smsc.submits).to.have.length(texted.length);
    for (const c of texted) expect(sent.get(c.number), c.number).to.equal(1);

    // The metrics say so too.
    const metrics = await daemon.metrics.text();
    const value = (name: string) => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(metrics)?.[1]);
    expect(value('mctb_pbx_paused_seconds_total'), 'time paused').to.be.above(1);
    expect(value('mctb_pbx_paused')).to.equal(0);
    expect(value('mctb_calls_waiting')).to.equal(0);
  });

  it('a withheld caller whose presentation answer sits unread through a pause longer than grace + presentation wait is not texted', async () => {
    const WITHHELD_CHANNEL = 'PJSIP/trunk-pai-0000001e'; // the caller's channel in the anonymous-pai capture
    p = await startPipeline({
      businesses: [business({ limits: NO_LIMITS })],
      tps: 1000,
      tuning: { backlogPause: 5, backlogResume: 2 },
      amend: (c) => {
        c.asterisk.ami.ping_interval_ms = PING_MS;
        expect(c.asterisk.ami.check_presentation).to.equal(true); // the daemon waits up to 3 s (+ grace) for each answer
      },
    });
    const pbx = p.pbx;
    const daemon = p.daemon;
    const graceMs = p.config.asterisk.decision_grace_ms;
    // Unrelated PBX chatter, no call in it (~240 KB, several socket reads): written just before the
    // withheld caller's Getvar answer, so that answer is still unread when reading pauses, in the read
    // that brings the other calls' answers.
    const chatter = 'Event: PeerStatus\r\nPeer: PJSIP/101\r\nPeerStatus: Reachable\r\n\r\n'.repeat(4000);
    pbx.options.getvar = (channel) => {
      if (channel !== WITHHELD_CHANNEL) return 'allowed_not_screened';
      void pbx.play(chatter); // written before the answer, in the same socket
      return 'prohib_passed_screen';
    };
    // Fifteen missed calls whose Newchannel comes before the withheld call's (so their Getvar answers
    // come first) and whose hangup comes after it: they end as their answers arrive (one or two reads) and
    // fill the backlog past 5 with the ledger locked; the withheld call has hung up by then.
    const fillers = Array.from({ length: 15 }, (_, i) => missedCall(i + 1, callerNumber(300 + i)));
    const split = (c: MissedCall) => c.events.lastIndexOf('Event: Hangup\r\n');
    const withheld = rewriteCapture(loadCapture('anonymous-pai'), 100);
    const withheldId = /^Linkedid: (\S+)\r$/m.exec(withheld)![1];
    const stream = fillers.map((c) => c.events.slice(0, split(c))).join('') + withheld + fillers.map((c) => c.events.slice(split(c))).join('');

    const paused: { paused: boolean; at: number }[] = [];
    const states: LinkState[] = [];
    daemon.events.on('pbx.paused', (isPaused) => paused.push({ paused: isPaused, at: Date.now() }));
    daemon.events.on('pbx.state', (st) => states.push(st));
    const locker = await SqliteFile.open(p.config.ledger.path);
    await locker.run('BEGIN IMMEDIATE');
    void pbx.play(stream);
    await waitFor('reading paused', () => daemon.pbxPaused, 5000);
    // Longer than the call could wait for its answer if the pause counted (grace + 3 s), shorter than
    // the ledger's busy_timeout (5 s).
    await sleep(graceMs + 3000 + 300);
    expect(p.decided, 'nothing recorded while locked').to.deep.equal([]);
    expect(daemon.pbxPaused).to.equal(true);
    // The withheld call (and any filler whose answer fell into the next socket read) still waits.
    expect(daemon.openCalls, 'calls still waiting for their answers, unread').to.be.at.least(1);
    await locker.run('COMMIT');
    await locker.close();

    const decided = await p.decisions(fillers.length + 1, 20_000);
    await waitFor('the fillers texted', () => p!.smsc.submits.length >= fillers.length);
    await sleep(500);

    const pausedFor = paused.find((x) => !x.paused)!.at - paused[0].at;
    expect(paused[0].paused).to.equal(true);
    expect(pausedFor, 'paused longer than grace + presentation wait').to.be.above(graceMs + 3000);
    const call = decided.find((d) => d.call.callId === withheldId)!;
    expect(call, 'the withheld call decided').to.not.equal(undefined);
    expect(call.call.withheld, 'the presentation answer was waited for').to.equal(true);
    expect(call).to.include({ decision: 'no_text', reason: 'withheld', recorded: true });
    expect(call.call.outcome).to.equal('noanswer');
    expect(p.smsc.submits.map((x) => x.destination).sort()).to.deep.equal(fillers.map((c) => c.number).sort());
    expect(p.smsc.submits.some((x) => x.destination === '+12125550199'), 'the withheld caller is not texted').to.equal(false);
    expect(states.filter((st) => st !== 'connected'), 'no reconnect').to.deep.equal([]);
  });
});
