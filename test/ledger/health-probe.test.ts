// The health check's write probe (Ledger.probeWrite, behind /healthz) writes to a table the
// schema makes (migration 7), not one the probe creates at run time; ledgers from before v7 get
// it on upgrade, whether or not an older probe already made it.

import { expect } from 'chai';
import { join } from 'node:path';
import { Ledger } from '../../src/ledger/ledger';
import { MIGRATIONS } from '../../src/ledger/migrations';
import { SqliteFile } from '../../src/ledger/sqlite';
import { forEachEngine, openLedger } from '../support/engines';
import { tempDir } from '../support/harness';

function probeRows(l: Ledger): Promise<{ id: number; at: number }[]> {
  return l.database.all<{ id: number; at: number }>('SELECT id, at FROM health_probe');
}

/** A ledger as v6 made it (migrations 1-6), with the table an older probe made when `olderProbe`. */
async function v6Ledger(path: string, olderProbe: boolean): Promise<void> {
  const raw = await SqliteFile.open(path);
  try {
    await raw.serial(async (s) => {
      for (const sql of MIGRATIONS.slice(0, 6)) await s.exec(sql);
      await s.exec('PRAGMA user_version = 6;');
    });
    if (olderProbe) {
      await raw.serial((s) => s.exec(`CREATE TABLE IF NOT EXISTS health_probe (id INTEGER PRIMARY KEY, at INTEGER NOT NULL); INSERT INTO health_probe VALUES (1, 42);`));
    }
  } finally {
    await raw.close();
  }
}

forEachEngine('ledger: the health probe table', (engine) => {
  it('a new ledger has it (migration 7); the probe rewrites its one row', async () => {
    const l = await openLedger(engine);
    try {
      expect(MIGRATIONS.length).to.be.at.least(7);
      expect(await l.schemaVersion()).to.equal(MIGRATIONS.length);
      expect(await probeRows(l)).to.deep.equal([]);
      await l.probeWrite(1000);
      await l.probeWrite(2000);
      expect(await probeRows(l)).to.deep.equal([{ id: 1, at: 2000 }]);
    } finally {
      await l.close();
    }
  });
});

// SQLite only: upgrading a file made by an older mctb (migrations 1-6, PRAGMA user_version). A
// PostgreSQL ledger starts at the baseline (src/ledger/pg-schema.ts), which has the table.
describe('ledger: the health probe table on an upgraded SQLite file', () => {
  let tmp: ReturnType<typeof tempDir>;
  beforeEach(() => (tmp = tempDir('mctb-probe-')));
  afterEach(() => tmp.cleanup());

  for (const olderProbe of [false, true]) {
    it(`a v6 ledger ${olderProbe ? 'whose probe already made the table keeps it' : 'without the table gets it'} on upgrade`, async () => {
      const path = join(tmp.dir, 'mctb.db');
      await v6Ledger(path, olderProbe);
      const l = await Ledger.open(path);
      try {
        expect(await l.schemaVersion()).to.equal(MIGRATIONS.length);
        expect(await probeRows(l)).to.deep.equal(olderProbe ? [{ id: 1, at: 42 }] : []);
        await l.probeWrite(3000);
        expect(await probeRows(l)).to.deep.equal([{ id: 1, at: 3000 }]);
      } finally {
        await l.close();
      }
    });
  }
});
