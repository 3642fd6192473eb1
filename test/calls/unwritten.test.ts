// The retry queue for calls the ledger could not record (src/calls/unwritten.ts), on an injected
// clock: the order calls leave in, the bound, the backoff (1 s doubling to 10 s, at once after a
// write), a call failing on its own given up, and which retried calls are still texted (late vs
// in time: DecideOptions.lateAfterMs).

import { expect } from 'chai';
import YAML from 'yaml';
import { parseConfig } from '../../src/config/load';
import type { EndedCall } from '../../src/calls/types';
import { OWN_FAILURES_MAX, RETRY_FIRST_MS, RETRY_MAX_MS, UNWRITTEN_BOUND, UnwrittenCalls } from '../../src/calls/unwritten';
import type { BusinessConfig } from '../../src/config/types';
import { decideCandidate, type CallFacts } from '../../src/policy/decide';

const acme = parseConfig(
  YAML.stringify({
    asterisk: { ami: { username: 'mctb', secret: 'x' } },
    sms: { transport: 'log' },
    defaults: { timezone: 'America/Chicago' },
    businesses: [{ name: 'Acme', dids: ['+15550001000'] }],
  }),
  '<test>',
  {},
).businesses[0];

const T0 = Date.parse('2026-11-18T17:00:00Z'); // 11:00 in Chicago

function call(i: number, endedAt = T0): EndedCall {
  return {
    callId: `1700000000.${i}`,
    direction: 'inbound',
    didRaw: '15550001000',
    did: '+15550001000',
    context: 'from-trunk',
    numberRaw: `+1312555${String(i).padStart(4, '0')}`,
    number: `+1312555${String(i).padStart(4, '0')}`,
    callerName: '',
    withheld: false,
    presentation: 'allowed',
    midway: false,
    outcome: 'noanswer',
    startedAt: endedAt - 20_000,
    endedAt,
    ringMs: 20_000,
    dialStatus: 'NOANSWER',
    hangupCause: 16,
  };
}

const ids = (calls: readonly EndedCall[]) => calls.map((c) => c.callId.split('.')[1]).join(',');
const none = (n: number) => Array.from({ length: n }, () => false);
const all = (n: number) => Array.from({ length: n }, () => true);

describe('retry queue for calls the ledger could not record', () => {
  it('defaults: 10,000 calls, retries 1 s doubling to 10 s, a call given up after 3 failures of its own', () => {
    expect([UNWRITTEN_BOUND, RETRY_FIRST_MS, RETRY_MAX_MS, OWN_FAILURES_MAX]).to.deep.equal([10_000, 1000, 10_000, 3]);
  });

  it('keeps the order calls ended in: failed calls first, calls that ended meanwhile behind them', () => {
    const q = new UnwrittenCalls();
    const first = [call(1), call(2), call(3)];
    q.attempted(first, none(3), T0); // the ledger is down
    expect(q.add([call(4), call(5)], T0 + 100)).to.equal(0);
    expect(q.size).to.equal(5);
    expect(ids(q.oldest(2))).to.equal('1,2');
    expect(ids(q.oldest(50))).to.equal('1,2,3,4,5');
    expect(q.since).to.equal(T0);
    // The two oldest written: they leave, the rest keeps its order.
    const tried = q.oldest(2);
    q.attempted(tried, all(2), T0 + 1000);
    expect(ids(q.oldest(50))).to.equal('3,4,5');
    expect(q.has(tried[0])).to.equal(false);
    // The rest written: empty again.
    q.attempted(q.oldest(50), all(3), T0 + 1100);
    expect(q.size).to.equal(0);
    expect(q.nextRetryAt).to.equal(undefined);
    expect(q.since).to.equal(undefined);
  });

  it('is bounded: past the bound the oldest calls are dropped and counted', () => {
    const lost: [string, number][] = [];
    const q = new UnwrittenCalls({ bound: 5, onLost: (reason, n) => lost.push([reason, n]) });
    const calls = Array.from({ length: 8 }, (_, i) => call(i + 1));
    expect(q.attempted(calls.slice(0, 3), none(3), T0).dropped).to.equal(0);
    expect(q.add(calls.slice(3), T0)).to.equal(3);
    expect(q.size).to.equal(5);
    expect(ids(q.oldest(50))).to.equal('4,5,6,7,8');
    expect(q.droppedTotal).to.equal(3);
    expect(q.has(calls[0])).to.equal(false);
    expect(q.add([call(9)], T0)).to.equal(1);
    expect(q.droppedTotal).to.equal(4);
    expect(ids(q.oldest(1))).to.equal('5');
    expect(lost).to.deep.equal([['retry_queue_full', 3], ['retry_queue_full', 1]]);
  });

  it('backs off 1 s, 2 s, 4 s, 8 s, 10 s, 10 s while nothing can be written; at once after a write', () => {
    const q = new UnwrittenCalls();
    let now = T0;
    q.attempted([call(1)], [false], now);
    const waits: number[] = [];
    for (let i = 0; i < 6; i++) {
      const at = q.nextRetryAt!;
      waits.push(at - now);
      expect(q.due(at - 1), 'not before its time').to.equal(false);
      expect(q.due(at)).to.equal(true);
      now = at;
      q.attempted(q.oldest(50), [false], now);
    }
    expect(waits).to.deep.equal([1000, 2000, 4000, 8000, 10_000, 10_000]);

    // Another write succeeded meanwhile (a health probe, a text claimed): try now, and start over at 1 s.
    now += 3000;
    expect(q.due(now)).to.equal(false);
    q.ledgerWorks(now);
    expect(q.due(now)).to.equal(true);
    q.attempted(q.oldest(50), [false], now);
    expect(q.nextRetryAt! - now).to.equal(1000);

    // A write of part of the queue: the rest goes at once.
    q.add([call(2)], now);
    now += 1000;
    q.attempted(q.oldest(1), [true], now);
    expect(q.size).to.equal(1);
    expect(q.due(now)).to.equal(true);
  });

  it('gives up a call that fails on its own while the calls around it are written', () => {
    const lost: [string, number][] = [];
    const q = new UnwrittenCalls({ onLost: (reason, n) => lost.push([reason, n]) });
    const [a, bad, c] = [call(1), call(2), call(3)];
    let out = q.attempted([a, bad, c], [true, false, true], T0); // just ended: bad fails alone
    expect(out.givenUp).to.deep.equal([]);
    expect(ids(q.oldest(50))).to.equal('2');
    q.add([call(4)], T0);
    out = q.attempted(q.oldest(50), [false, true], T0 + 10);
    expect(out.givenUp).to.deep.equal([]);
    q.add([call(5)], T0 + 20);
    out = q.attempted(q.oldest(50), [false, true], T0 + 30);
    expect(out.givenUp).to.deep.equal([bad]);
    expect(q.size).to.equal(0);
    expect(lost).to.deep.equal([['write_failed', 1]]);
    // Failing with everything else (the ledger down) is not the call's fault: never given up for that.
    const q2 = new UnwrittenCalls();
    for (let i = 0; i < 10; i++) expect(q2.attempted([bad], [false], T0 + i * 20_000).givenUp).to.deep.equal([]);
    expect(q2.size).to.equal(1);
  });

  it('clear() hands back what a stop loses', () => {
    const q = new UnwrittenCalls();
    q.attempted([call(1), call(2)], none(2), T0);
    expect(ids(q.clear())).to.equal('1,2');
    expect(q.size).to.equal(0);
  });

  describe('texted when recorded, or late (ledger.late_after 10 min)', () => {
    const LATE_AFTER = 10 * 60_000;
    const business = (delayMs: number): BusinessConfig => ({ ...acme, delay_ms: delayMs });
    const facts: CallFacts = { optedOut: false, doNotText: false, pendingText: false, counts: { businessHour: 0, businessDay: 0, businessPrefixHour: 0, globalHour: 0, globalDay: 0, globalPrefixHour: 0 } };
    const verdict = (delayMs: number, recordedAfterMs: number, lateAfterMs: number | 'unset' = LATE_AFTER) => {
      const c = call(1);
      return decideCandidate({ call: c, business: business(delayMs), caller: { number: c.number!, valid: true, shortCode: false } as never }, facts, {}, c.endedAt + recordedAfterMs, { lateAfterMs: lateAfterMs === 'unset' ? undefined : lateAfterMs });
    };

    it('no delay: texted up to 10 min after the hangup, late after that', () => {
      expect(verdict(0, 10 * 60_000).reason).to.equal('missed');
      expect(verdict(0, 10 * 60_000 + 1).reason).to.equal('late');
      expect(verdict(0, 10 * 60_000 + 1).decision).to.equal('no_text');
    });

    it('the window starts when the text was due: hangup + delay', () => {
      expect(verdict(5 * 60_000, 15 * 60_000).reason).to.equal('missed');
      expect(verdict(5 * 60_000, 15 * 60_000 + 1).reason).to.equal('late');
      // Recorded before the text was even due: not late.
      expect(verdict(30 * 60_000, 20 * 60_000).reason).to.equal('missed');
    });

    it('a call decided as it ends has no such limit', () => {
      expect(verdict(0, 3 * 3600_000, 'unset').reason).to.equal('missed');
    });
  });
});
