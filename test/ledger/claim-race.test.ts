// Two daemons' outboxes (two ledger connections, one database) claim the same due texts at once,
// as an active daemon and a standby that just took over may for a moment: each text is claimed
// by exactly one of them (Sends.claim is one conditional UPDATE; PostgreSQL serialises it per row).

import { expect } from 'chai';
import { Ledger } from '../../src/ledger/ledger';
import { forEachEngine, freshTarget } from '../support/engines';

const TEXTS = 200;

forEachEngine('ledger: two outboxes claiming the same texts', function (engine) {
  this.timeout(60_000);

  it(`each of ${TEXTS} due texts is claimed by exactly one of two connections racing for them`, async () => {
    const target = await freshTarget(engine);
    const a = await Ledger.open(target, { site: 'north' });
    const b = await Ledger.open(target, { site: 'north' });
    try {
      const now = Date.UTC(2026, 11, 7, 12);
      for (let i = 0; i < TEXTS; i++) {
        await a.sends.schedule({ business: 'Brightside Dental', number: `+1312555${String(i).padStart(4, '0')}`, sourceAddr: '+15550001000', body: 'hi', dueAt: now }, now);
      }
      const race = async (l: Ledger) => {
        const won: number[] = [];
        for (const row of await l.sends.due(now, TEXTS)) if (await l.sends.claim(row.id, now)) won.push(row.id);
        return won;
      };
      const [wonA, wonB] = await Promise.all([race(a), race(b)]);
      expect(wonA.length + wonB.length).to.equal(TEXTS);
      expect(new Set([...wonA, ...wonB]).size).to.equal(TEXTS);
      const rows = await a.database.all<{ attempts: number; state: string }>('SELECT attempts, state FROM sends');
      expect(rows.every((r) => r.attempts === 1 && r.state === 'sending')).to.equal(true);
      // Another site's outbox sees none of them.
      const south = await Ledger.open(target, { site: 'south' });
      try {
        await a.database.run(`UPDATE sends SET state = 'scheduled'`);
        expect(await south.sends.due(now, TEXTS)).to.have.length(0);
        expect(await a.sends.due(now, TEXTS)).to.have.length(TEXTS);
      } finally {
        await south.close();
      }
    } finally {
      await a.close();
      await b.close();
    }
  });
});
