// The pruner (src/ledger/pruner.ts) on its own: it prunes with `ledger.retention` as of the
// clock, first soon after start then on every period, logs what went, survives a failure (tried
// again next time), and does nothing once stopped.

import { expect } from 'chai';
import { Pruner } from '../../src/ledger/pruner';
import { sleep, testLogger } from '../support/harness';

describe('ledger: the daily pruner', () => {
  it('prunes with the retention as of the clock, first after firstAfterMs, then every everyMs', async () => {
    const calls: [number, number][] = [];
    const { logger, lines } = testLogger();
    const p = new Pruner({ retentionMs: 30 * 86_400_000, prune: async (ms, now) => (calls.push([ms, now]), { calls: 3, sends: 2 }), log: logger, clock: () => 42, firstAfterMs: 10, everyMs: 40 });
    p.start();
    await sleep(5);
    expect(calls).to.have.length(0);
    await sleep(120);
    p.stop();
    expect(calls.length).to.be.within(2, 5);
    expect(calls[0]).to.deep.equal([30 * 86_400_000, 42]);
    expect(lines.some((l) => /pruned rows older than ledger.retention.*calls=3.*sends=2/.test(l))).to.equal(true);
    const n = calls.length;
    await sleep(100);
    expect(calls.length).to.equal(n);
  });

  it('a failure is logged and the next run tries again', async () => {
    let n = 0;
    const { logger, lines } = testLogger();
    const p = new Pruner({ retentionMs: 1, prune: async () => { if (++n === 1) throw new Error('SQLITE_BUSY'); return {}; }, log: logger, clock: () => 0 });
    await p.runOnce();
    await p.runOnce();
    expect(n).to.equal(2);
    expect(lines.some((l) => /ledger pruning failed; will try again tomorrow.*SQLITE_BUSY/.test(l))).to.equal(true);
    p.stop();
    await p.runOnce();
    expect(n).to.equal(2);
  });
});
