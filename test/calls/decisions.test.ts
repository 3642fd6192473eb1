// The decisions queue (src/calls/decisions.ts) on its own, with a fake ledger: batches of at most
// 50 committed relaxed, back-pressure on the PBX past the pause threshold until the queue drains
// below the resume one, and calls the ledger refused kept for a retry, in order.

import { expect } from 'chai';
import { DECISION_BATCH, Decisions } from '../../src/calls/decisions';
import type { EndedCall } from '../../src/calls/types';
import { UnwrittenCalls } from '../../src/calls/unwritten';
import { testLogger } from '../support/harness';

const ended = (n: number, from = 0): EndedCall[] => Array.from({ length: n }, (_, i) => ({ callId: `c${from + i}` }) as EndedCall);

function setup(opts: { pause?: number; resume?: number; fail?: (id: string) => boolean } = {}) {
  let now = 1_000_000;
  const gates: (() => void)[] = [];
  const batches: { ids: string[]; relaxed?: boolean }[] = [];
  const pauses: [boolean, number, number][] = [];
  const committed: string[] = [];
  let fail = opts.fail ?? (() => false);
  const unwritten = new UnwrittenCalls({ firstRetryMs: 10, maxRetryMs: 20 });
  const d = new Decisions({
    async batchEach(fns, o) {
      batches.push({ ids: [], relaxed: o.relaxed });
      await new Promise<void>((resolve) => gates.push(resolve));
      const out: PromiseSettledResult<unknown>[] = [];
      for (const fn of fns) {
        try {
          out.push({ status: 'fulfilled', value: await fn() });
        } catch (reason) {
          out.push({ status: 'rejected', reason });
        }
      }
      return out as never;
    },
    async record(call) {
      batches[batches.length - 1].ids.push(call.callId);
      if (fail(call.callId)) throw new Error('SQLITE_FULL');
      return () => committed.push(call.callId);
    },
    unwritten,
    pause: (p, waiting, ms) => pauses.push([p, waiting, ms]),
    log: testLogger().logger,
    clock: () => now,
    backlogPause: opts.pause,
    backlogResume: opts.resume,
  });
  const open = async () => {
    await new Promise((r) => setImmediate(r));
    gates.shift()?.();
    await new Promise((r) => setImmediate(r));
  };
  return { d, batches, pauses, committed, unwritten, open, tick: (ms: number) => (now += ms), setFail: (f: (id: string) => boolean) => (fail = f) };
}

describe('calls: the decisions queue (back-pressure, batches, retries)', () => {
  it('records in batches of at most 50, committed relaxed, in the order the calls ended', async () => {
    const t = setup();
    t.d.add(ended(120));
    while (t.committed.length < 120) await t.open();
    expect(t.batches.map((b) => b.ids.length)).to.deep.equal([DECISION_BATCH, DECISION_BATCH, 20]);
    expect(t.batches.every((b) => b.relaxed === true)).to.equal(true);
    expect(t.committed).to.deep.equal(ended(120).map((c) => c.callId));
    expect(t.d.backlog).to.equal(0);
  });

  it('pauses the PBX once the backlog reaches the pause threshold, and resumes below the resume one, with the time paused', async () => {
    const t = setup({ pause: 100, resume: 40 });
    t.d.add(ended(60));
    expect(t.pauses).to.deep.equal([]);
    t.d.add(ended(60, 60)); // 120 waiting
    expect(t.d.paused).to.equal(true);
    expect(t.pauses).to.deep.equal([[true, 120, 0]]);
    t.d.add(ended(10, 120)); // already paused: no second pause
    expect(t.pauses).to.have.length(1);
    t.tick(1500);
    await t.open(); // first batch of 50 committed: 80 still queued, not below 40
    expect(t.d.paused).to.equal(true);
    await t.open(); // 30 queued: resumes
    expect(t.d.paused).to.equal(false);
    expect(t.pauses[1]).to.deep.equal([false, 30, 1500]);
    while (t.committed.length < 130) await t.open();
    expect(t.pauses).to.have.length(2);
  });

  it('a call the ledger refuses waits in the retry queue, and later calls wait behind it', async () => {
    const t = setup({ fail: (id) => id === 'c1' });
    t.d.add(ended(3));
    await t.open();
    expect(t.committed).to.deep.equal(['c0', 'c2']);
    expect(t.unwritten.size).to.equal(1);
    t.setFail(() => false);
    t.d.add(ended(1, 3)); // waits behind c1
    t.tick(50);
    await new Promise((r) => setTimeout(r, 30)); // the retry timer
    while (t.committed.length < 4) await t.open();
    expect(t.committed).to.deep.equal(['c0', 'c2', 'c1', 'c3']);
    expect(t.unwritten.size).to.equal(0);
  });

  it('stop records the last calls and gives the unwritten ones one more try', async () => {
    const t = setup({ fail: () => true });
    t.d.add(ended(2));
    await t.open();
    expect(t.unwritten.size).to.equal(2);
    t.setFail(() => false);
    const stopped = t.d.stop(ended(1, 2));
    while (t.committed.length < 3) await t.open();
    await stopped;
    expect(t.committed.sort()).to.deep.equal(['c0', 'c1', 'c2']);
    expect(t.unwritten.size).to.equal(0);
  });
});
