// The pruner (src/ledger/pruner.ts) on its own: it prunes with `ledger.retention` as of the
// clock, first soon after start then on every period, logs what went, survives a failure (tried
// again next time), and does nothing once stopped; and over a real ledger of each engine, what
// it deletes.

import { expect } from 'chai';
import { Pruner } from '../../src/ledger/pruner';
import { forEachEngine, openLedger } from '../support/engines';
import { sleep, testLogger } from '../support/harness';

const DAY = 86_400_000;

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

forEachEngine('ledger: the daily pruner over a ledger', (engine) => {
  it('deletes what is older than the retention as of the clock, keeps the rest and every opt-out, and logs the counts', async () => {
    const l = await openLedger(engine);
    try {
      const now = Date.UTC(2026, 10, 22, 12, 0, 0);
      const call = (id: string, number: string, at: number) => ({
        callId: id, direction: 'inbound' as const, business: 'Shop', did: '+15550001000', number, numberRaw: number, callerName: '',
        outcome: 'noanswer' as const, decision: 'text' as const, reason: 'missed' as const, startedAt: at - 20_000, endedAt: at, recordedAt: at,
      });
      const text = (number: string, at: number) => ({ business: 'Shop', number, sourceAddr: '+15550001000', body: 'hi', dueAt: at, kind: 'text_back' });
      for (const [id, number, at] of [['old', '+14155550101', now - 40 * DAY], ['new', '+14155550102', now - DAY]] as const) {
        const sendId = (await l.calls.record(call(id, number, at), text(number, at))).sendId!;
        await l.sends.finish(sendId, 'failed', 'gateway', at);
        await l.messages.apply({ message: { business: 'Shop', number, to: '+15550001000', body: 'STOP', keyword: 'stop', receivedAt: at + 1000 }, optOut: { scope: 'Shop' }, sends: [], notifications: [] });
      }
      const { logger, lines } = testLogger();
      const p = new Pruner({ retentionMs: 30 * DAY, prune: (ms, at) => l.admin.prune(ms, at), log: logger, clock: () => now });
      await p.runOnce();
      p.stop();
      expect(await l.calls.get('old')).to.equal(undefined);
      expect(await l.calls.get('new')).to.not.equal(undefined);
      expect((await l.sends.find({ limit: 10 })).map((s) => s.call_id)).to.deep.equal(['new']);
      expect(await l.optOuts.has('+14155550101', 'Shop'), 'opt-outs are kept').to.equal(true);
      const logged = lines.find((x) => x.includes('pruned rows older than ledger.retention'));
      for (const count of ['sends=1', 'calls=1', 'messages=1']) expect(logged, count).to.match(new RegExp(`\\b${count}\\b`));
    } finally {
      await l.close();
    }
  });
});
