// The tracker on its own (pure): bounded state, unknown ends, presentation wait, stalls, outbound calls.

import { expect } from 'chai';
import { CallTracker } from '../../src/calls/tracker';
import type { CallEvent } from '../../src/calls/types';

const T0 = 1_795_345_475_000;

function tracker(extra: Partial<ConstructorParameters<typeof CallTracker>[0]> = {}) {
  return new CallTracker({ inboundContexts: ['from-trunk'], isDid: (d) => d === '+15550001000', defaultCountry: 'US', graceMs: 1000, maxCallMs: 60_000, ...extra });
}

function created(id: string, over: Partial<Extract<CallEvent, { type: 'channel_created' }>> = {}): CallEvent {
  return { type: 'channel_created', at: T0, uniqueid: id, linkedid: id, channel: `PJSIP/trunk-${id}`, context: 'from-trunk', exten: '15550001000', callerNum: '+14155550123', callerName: 'Jane Doe', state: 4, ...over };
}
const hangup = (id: string, linkedid = id): CallEvent => ({ type: 'hangup', at: T0, uniqueid: id, linkedid, channel: 'x', cause: 16 });

describe('call tracker (pure)', () => {
  it('decides at once when the caller\'s channel and every leg are gone', () => {
    const t = tracker();
    expect(t.handle(created('1.1'), T0)).to.deep.equal({ callId: '1.1', channel: 'PJSIP/trunk-1.1', uniqueid: '1.1' });
    t.handle(hangup('1.1'), T0 + 5000);
    expect(t.hasReady).to.equal(true);
    const [call] = t.takeReady();
    expect(call).to.include({ callId: '1.1', outcome: 'noanswer', number: '+14155550123', did: '+15550001000', withheld: false });
    expect(t.size).to.equal(0);
  });

  it('when a leg outlives the caller, decides when it goes, or after the grace period at the latest', () => {
    const t = tracker();
    const leg: CallEvent = { type: 'channel_created', at: T0, uniqueid: '1.2', linkedid: '1.1', channel: 'PJSIP/101-1', context: 'internal', exten: 's', callerNum: '101', callerName: '', state: 0 };
    t.handle(created('1.1'), T0);
    t.handle(leg, T0);
    t.handle(hangup('1.1'), T0 + 5000);
    expect(t.takeReady()).to.deep.equal([]);
    expect(t.due(T0 + 5999)).to.deep.equal([]);
    expect(t.due(T0 + 6000).map((c) => c.callId)).to.deep.equal(['1.1']);
    // The same, but the leg goes first.
    t.handle(created('2.1'), T0);
    t.handle({ ...leg, uniqueid: '2.2', linkedid: '2.1' }, T0);
    t.handle(hangup('2.1'), T0 + 5000);
    t.handle(hangup('2.2', '2.1'), T0 + 5010);
    expect(t.takeReady().map((c) => c.callId)).to.deep.equal(['2.1']);
  });

  it('gives up a call whose hangup never arrives after maxCallMs, as unknown_end', () => {
    const t = tracker();
    t.handle(created('2.1'), T0);
    expect(t.due(T0 + 59_999)).to.have.length(0);
    const [call] = t.due(T0 + 60_000);
    expect(call.outcome).to.equal('unknown_end');
    expect(t.size).to.equal(0);
  });

  it('stays bounded over many calls that never end', () => {
    const t = tracker();
    for (let i = 0; i < 10_000; i++) t.handle(created(`${i}.0`), T0 + i);
    expect(t.size).to.equal(10_000);
    expect(t.due(T0 + 10_000 + 60_000)).to.have.length(10_000);
    expect(t.size).to.equal(0);
  });

  it('ignores events of calls it never saw start (joined mid-call)', () => {
    const t = tracker();
    t.handle({ type: 'channel_created', at: T0, uniqueid: '3.2', linkedid: '3.1', channel: 'PJSIP/101-1', context: 'internal', exten: 's', callerNum: '101', callerName: '', state: 4 }, T0);
    t.handle(hangup('3.1'), T0);
    expect(t.size).to.equal(0);
    expect(t.due(T0 + 10_000)).to.deep.equal([]);
  });

  it('abandonOpenCalls: open calls end as unknown_end, hung-up ones keep their verdict', () => {
    const t = tracker();
    t.handle(created('4.1'), T0);
    t.handle(created('5.1', { callerNum: '+14155550124' }), T0);
    t.handle({ type: 'var_set', at: T0, uniqueid: '5.1', linkedid: '5.1', channel: 'x', name: 'DIALSTATUS', value: 'BUSY' }, T0);
    t.handle(hangup('5.1'), T0 + 10);
    const out = t.abandonOpenCalls(T0 + 20).sort((a, b) => a.callId.localeCompare(b.callId));
    expect(out.map((c) => [c.callId, c.outcome])).to.deep.equal([
      ['4.1', 'unknown_end'],
      ['5.1', 'busy'],
    ]);
  });

  it('waits for the presentation answer, and a prohib* answer marks the caller withheld', () => {
    const t = tracker({ presentationWaitMs: 3000 });
    t.handle(created('6.1'), T0);
    t.handle(hangup('6.1'), T0);
    expect(t.due(T0 + 1500)).to.have.length(0);
    t.handle({ type: 'presentation', at: T0, linkedid: '6.1', value: 'prohib_passed_screen' }, T0 + 1600);
    const [call] = t.due(T0 + 1600);
    expect(call.withheld).to.equal(true);
    // No answer at all: decided anyway once the wait is over (the number is then trusted).
    t.handle(created('7.1'), T0);
    t.handle(hangup('7.1'), T0);
    expect(t.due(T0 + 3999)).to.have.length(0);
    expect(t.due(T0 + 4000)[0].withheld).to.equal(false);
  });

  it('stall: time the event stream stood still (PBX not read) does not count towards any wait', () => {
    // A leg outlives the caller: grace (1 s) runs from the caller's hangup, plus the stall.
    const t = tracker();
    const leg = (id: string, linkedid: string): CallEvent => ({ type: 'channel_created', at: T0, uniqueid: id, linkedid, channel: `PJSIP/101-${id}`, context: 'internal', exten: 's', callerNum: '101', callerName: '', state: 0 });
    t.handle(created('1.1'), T0);
    t.handle(leg('1.2', '1.1'), T0);
    t.handle(hangup('1.1'), T0 + 5000);
    // A call still ringing: maxCallMs (60 s) is pushed back too.
    t.handle(created('2.1', { callerNum: '+14155550124' }), T0 + 5000);
    // Reading stood still for 10 s from T0 + 5200 (the leg's Hangup may be among the unread events).
    t.stall(10_000);
    t.stall(0);
    t.stall(-5); // nothing: only time that passed counts
    expect(t.due(T0 + 6000), 'grace alone is not enough').to.deep.equal([]);
    expect(t.due(T0 + 15_999)).to.deep.equal([]);
    const [call] = t.due(T0 + 16_000);
    expect(call).to.include({ callId: '1.1', outcome: 'noanswer', endedAt: T0 + 5000 });
    // A call that starts after the stall is not pushed back.
    t.handle(created('3.1', { callerNum: '+14155550125' }), T0 + 16_000);
    t.handle(leg('3.2', '3.1'), T0 + 16_000);
    t.handle(hangup('3.1'), T0 + 17_000);
    expect(t.due(T0 + 17_999)).to.deep.equal([]);
    expect(t.due(T0 + 18_000).map((c) => c.callId)).to.deep.equal(['3.1']);
    // The ringing call: unknown_end only after maxCallMs + the stall.
    expect(t.due(T0 + 5000 + 60_000 + 9_999)).to.deep.equal([]);
    expect(t.due(T0 + 5000 + 70_000).map((c) => [c.callId, c.outcome])).to.deep.equal([['2.1', 'unknown_end']]);
    expect(t.size).to.equal(0);
  });

  it('stall: a call waiting for its presentation answer waits grace + presentation wait + the stall', () => {
    const t = tracker({ presentationWaitMs: 3000 });
    t.handle(created('6.1'), T0);
    t.handle(hangup('6.1'), T0);
    t.handle(created('7.1', { callerNum: '+14155550124' }), T0);
    t.handle(hangup('7.1'), T0);
    t.stall(2000);
    t.stall(500); // stalls add up
    expect(t.due(T0 + 4000), 'the wait alone (1 s + 3 s) is not enough').to.deep.equal([]);
    // The answer, unread during the stall, arrives: that call is decided at once, with it.
    t.handle({ type: 'presentation', at: T0, linkedid: '6.1', value: 'prohib_passed_screen' }, T0 + 6000);
    const [answered] = t.takeReady();
    expect(answered).to.include({ callId: '6.1', withheld: true });
    // No answer at all: decided once grace + presentation wait + stall have passed.
    expect(t.due(T0 + 6499)).to.deep.equal([]);
    const [late] = t.due(T0 + 6500);
    expect(late).to.include({ callId: '7.1', withheld: false, outcome: 'noanswer' });
  });

  it('follows outbound calls to a number and says whether a person answered (staff calling back)', () => {
    const t = tracker();
    const root = { uniqueid: '8.1', linkedid: '8.1' };
    expect(t.handle({ type: 'channel_created', at: T0, ...root, channel: 'PJSIP/101-1', context: 'internal', exten: '4155550123', callerNum: '101', callerName: 'Alice', state: 4 }, T0)).to.equal(undefined);
    t.handle({ type: 'channel_created', at: T0, uniqueid: '8.2', linkedid: '8.1', channel: 'PJSIP/trunk-2', context: 'from-internal', exten: 's', callerNum: '', callerName: '', state: 0 }, T0);
    t.handle({ type: 'dialplan', at: T0, ...root, channel: 'PJSIP/101-1', context: 'internal', exten: '4155550123', application: 'Dial' }, T0);
    t.handle({ type: 'bridge_enter', at: T0, uniqueid: '8.2', linkedid: '8.1', channel: 'PJSIP/trunk-2', bridgeId: 'b', bridgeType: 'basic' }, T0);
    t.handle({ type: 'bridge_enter', at: T0, ...root, channel: 'PJSIP/101-1', bridgeId: 'b', bridgeType: 'basic' }, T0);
    t.handle(hangup('8.1'), T0);
    const [call] = t.due(T0 + 1000);
    expect(call).to.include({ direction: 'outbound', outcome: 'answered', number: '+14155550123' });
  });

  it('a holding bridge (parking, music) is not a person answering', () => {
    const t = tracker();
    t.handle(created('9.1'), T0);
    t.handle({ type: 'channel_created', at: T0, uniqueid: '9.2', linkedid: '9.1', channel: 'PJSIP/101-9', context: 'internal', exten: 's', callerNum: '101', callerName: '', state: 0 }, T0);
    t.handle({ type: 'bridge_enter', at: T0, uniqueid: '9.1', linkedid: '9.1', channel: 'x', bridgeId: 'h', bridgeType: 'holding' }, T0);
    t.handle({ type: 'hangup_request', at: T0, uniqueid: '9.1', linkedid: '9.1', channel: 'x', soft: false }, T0);
    t.handle(hangup('9.1'), T0);
    expect(t.due(T0 + 1000)[0].outcome).to.equal('cancel');
  });
});
