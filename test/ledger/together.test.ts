// Ledger.together: concurrent small writes share one transaction, each in a savepoint of its own.
// The outbox relies on it under load (its texts' reads, claims and results would otherwise each
// wait behind a burst of decisions): what it promises is checked on a real ledger of each
// engine (an SQLite file, a PostgreSQL schema). "Another connection" is a second Ledger opened on
// the same target: another SQLite connection to the file, or another pool on the schema.

import { expect } from 'chai';
import { Ledger, type LedgerTarget } from '../../src/ledger/ledger';
import { forEachEngine, freshTarget } from '../support/engines';

const NOW = Date.UTC(2026, 10, 22, 12, 0, 0);

async function schedule(l: Ledger, n: number): Promise<number[]> {
  const ids: number[] = [];
  for (let i = 0; i < n; i++) ids.push(await l.sends.schedule({ business: 'Shop', number: `+1415555${1000 + i}`, sourceAddr: '+15550001000', body: `text ${i}`, dueAt: NOW }, NOW));
  return ids;
}

forEachEngine('Ledger.batchEach and Ledger.together', (engine) => {
  let target: LedgerTarget;
  beforeEach(async () => {
    target = await freshTarget(engine);
  });

  it('runs each fn once, resolves each with its own value, and only after the commit', async () => {
    const l = await Ledger.open(target);
    const other = await Ledger.open(target);
    try {
      const ids = await schedule(l, 20);
      const seen: string[] = [];
      const results = await Promise.all(
        ids.map((id) =>
          l.together(async () => {
            expect(await l.sends.claim(id, NOW)).to.equal(true);
            return id * 10;
          }).then(async (value) => {
            // Visible to another connection by the time the promise resolves: committed.
            const row = await other.database.get<{ state: string }>(`SELECT state FROM sends WHERE id = ?`, [id]);
            seen.push(row!.state);
            return value;
          }),
        ),
      );
      expect(results).to.deep.equal(ids.map((id) => id * 10));
      expect(seen).to.deep.equal(ids.map(() => 'sending'));
    } finally {
      await other.close();
      await l.close();
    }
  });

  it('one that fails rolls back alone and rejects alone; the others commit', async () => {
    const l = await Ledger.open(target);
    try {
      const [a, b, c] = await schedule(l, 3);
      const outcomes = await Promise.allSettled([
        l.together(() => l.sends.claim(a, NOW)),
        l.together(async () => {
          await l.sends.claim(b, NOW);
          throw new Error('no gateway');
        }),
        l.together(() => l.sends.claim(c, NOW)),
      ]);
      expect(outcomes.map((o) => o.status)).to.deep.equal(['fulfilled', 'rejected', 'fulfilled']);
      expect(((outcomes[1] as PromiseRejectedResult).reason as Error).message).to.equal('no gateway');
      expect((await l.sends.get(a))?.state).to.equal('sending');
      expect((await l.sends.get(b))?.state, 'its claim rolled back').to.equal('scheduled');
      expect((await l.sends.get(c))?.state).to.equal('sending');
    } finally {
      await l.close();
    }
  });

  it('fns handed in while another writer holds the lock wait, none lost, and all land once it lets go', async () => {
    const l = await Ledger.open(target);
    const other = await Ledger.open(target);
    let letGo = () => {};
    try {
      const ids = await schedule(l, 10);
      // Another connection's transaction that has written and not yet committed: on SQLite it
      // holds the file's write lock; on PostgreSQL the row locks of the texts the claims update.
      let wrote = () => {};
      const written = new Promise<void>((resolve) => (wrote = resolve));
      const released = new Promise<void>((resolve) => (letGo = resolve));
      const lock = other.database.transaction(async (s) => {
        await s.run(`UPDATE sends SET updated_at = updated_at`);
        wrote();
        await released;
      });
      await written;
      let settled = 0;
      const first = l.together(() => l.sends.claim(ids[0], NOW)).finally(() => settled++);
      await new Promise((r) => setTimeout(r, 50));
      // Queued behind the first group, which is waiting for the lock.
      const rest = ids.slice(1).map((id) => l.together(() => l.sends.claim(id, NOW)).finally(() => settled++));
      await new Promise((r) => setTimeout(r, 150));
      expect(settled, 'nothing settles while the lock is held').to.equal(0);
      letGo();
      await lock;
      expect(await Promise.all([first, ...rest])).to.deep.equal(ids.map(() => true));
      const rows = await l.sends.find({ state: 'sending', limit: 100 });
      expect(rows.map((r) => r.id).sort((x, y) => x - y)).to.deep.equal(ids);
    } finally {
      letGo();
      await other.close();
      await l.close();
    }
  });

  it('batchEach: one fn failing rolls back alone, the others commit; a lone fn rejects alone', async () => {
    const l = await Ledger.open(target);
    try {
      const [a, b, c, d] = await schedule(l, 4);
      const runs: number[] = [];
      const settled = await l.batchEach([
        async () => (runs.push(a), l.sends.claim(a, NOW)),
        async () => {
          runs.push(b);
          await l.sends.claim(b, NOW);
          throw new Error('bad row');
        },
        async () => (runs.push(c), l.sends.claim(c, NOW)),
      ]);
      expect(settled.map((r) => r.status)).to.deep.equal(['fulfilled', 'rejected', 'fulfilled']);
      // Optimistic first pass (a and b), then again each in a savepoint of its own.
      expect(runs).to.deep.equal([a, b, a, b, c]);
      expect([(await l.sends.get(a))?.state, (await l.sends.get(b))?.state, (await l.sends.get(c))?.state]).to.deep.equal(['sending', 'scheduled', 'sending']);
      const [lone] = await l.batchEach([
        async () => {
          await l.sends.claim(d, NOW);
          throw new Error('alone');
        },
      ]);
      expect(lone.status).to.equal('rejected');
      expect((await l.sends.get(d))?.state).to.equal('scheduled');
    } finally {
      await l.close();
    }
  });

  it('inside a transaction it joins it instead of waiting behind it', async () => {
    const l = await Ledger.open(target);
    try {
      const [a] = await schedule(l, 1);
      // Would never settle if together queued behind the batch it is called from.
      const [claimed] = await l.batchEach([() => l.together(() => l.sends.claim(a, NOW))]);
      expect(claimed).to.deep.equal({ status: 'fulfilled', value: true });
      expect((await l.sends.get(a))?.state).to.equal('sending');
    } finally {
      await l.close();
    }
  });
});
