// `mctb ledger copy --from sqlite:PATH --to postgres:URL`: a box's SQLite ledger with calls, texts,
// receipts, opt-outs, messages, tasks, threads, notes, users and audit into PostgreSQL. Every
// count equal, every opt-out present, the rows themselves equal; a second run changes nothing;
// the PostgreSQL ledger then takes new rows (its id sequences moved past the copied ids).

import { expect } from 'chai';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { ledgerCopy } from '../../src/cli/ledger-admin';
import { COPIED_TABLES } from '../../src/ledger/copy';
import { Ledger } from '../../src/ledger/ledger';
import { tempDir } from '../support/harness';
import { fillLedger as fill, T0 } from '../support/ledger-fill';
import { pgLedger } from '../support/pg-ledger';

async function snapshot(l: Ledger): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const table of COPIED_TABLES) {
    const rows = await l.database.all<Record<string, unknown>>(`SELECT * FROM ${table}`);
    // Rows as sorted JSON lines: the same rows whatever order each engine returns them in.
    out[table] = rows.map((r) => JSON.stringify(Object.keys(r).sort().map((k) => [k, r[k]]))).sort().join('\n');
  }
  return out;
}

function capture(): { stream: PassThrough; text: () => string } {
  const stream = new PassThrough();
  let text = '';
  stream.on('data', (c) => (text += c));
  return { stream, text: () => text };
}

describe('ledger copy: SQLite into PostgreSQL', function () {
  this.timeout(60_000);

  it('copies every row (opt-outs first), counts equal; a second run changes nothing; the copy takes new rows', async () => {
    const tmp = tempDir('mctb-copy-');
    try {
      const path = join(tmp.dir, 'mctb.db');
      const src = await Ledger.open(path);
      await fill(src);
      const before = await snapshot(src);
      await src.close();
      const pg = await pgLedger('copy');

      const out = capture();
      const err = capture();
      process.env.MCTB_LEDGER_PASSWORD = pg.password;
      let code: number;
      try {
        code = await ledgerCopy({ from: `sqlite:${path}`, to: `postgres:${pg.url}` }, out.stream, err.stream);
      } finally {
        delete process.env.MCTB_LEDGER_PASSWORD;
      }
      expect(err.text()).to.equal('');
      expect(code).to.equal(0);
      const lines = out.text().split('\n');
      expect(lines.findIndex((l) => l.startsWith('opt_outs')), 'opt-outs first').to.equal(2);
      expect(out.text(), 'the password is never printed').not.to.include(pg.password);

      const dst = await Ledger.open({ driver: 'postgres', url: pg.full });
      try {
        const copied = await snapshot(dst);
        for (const table of COPIED_TABLES) {
          expect(copied[table].split('\n').length, `${table} rows`).to.equal(before[table].split('\n').length);
          expect(copied[table], `${table} rows equal`).to.equal(before[table]);
        }
        const optOuts = await dst.optOuts.list();
        expect(optOuts.length).to.equal(9);
        for (const o of optOuts) expect(await dst.optOuts.has(o.number, o.business === '*' ? 'Oakwood Vet' : o.business)).to.equal(true);

        // Again: nothing added, nothing changed.
        const again = capture();
        const code2 = await ledgerCopy({ from: `sqlite:${path}`, to: `postgres:${pg.full}` }, again.stream, err.stream);
        expect(code2).to.equal(0);
        expect(again.text()).to.include('nothing to add');
        expect(await snapshot(dst)).to.deep.equal(copied);

        // New rows get ids after the copied ones, and the triggers are back on.
        const maxSend = (await dst.database.get<{ n: number }>('SELECT MAX(id) AS n FROM sends'))!.n;
        const id = await dst.sends.schedule({ business: 'Brightside Dental', number: '+13125559999', sourceAddr: '+15550001000', body: 'hello', dueAt: T0 }, T0 + 3_600_000);
        expect(id).to.be.greaterThan(maxSend);
        expect(await dst.threads.find('Brightside Dental', '+13125559999'), 'the threads trigger runs again').to.not.equal(undefined);
      } finally {
        await dst.close();
      }
    } finally {
      tmp.cleanup();
    }
  });

  it('refuses what it cannot copy, with the reason', async () => {
    const err = capture();
    expect(await ledgerCopy({ from: 'postgres://x@h/db', to: 'sqlite:/tmp/x.db' }, capture().stream, err.stream)).to.equal(2);
    expect(err.text()).to.include('--from sqlite:PATH --to postgres:URL');
    const err2 = capture();
    expect(await ledgerCopy({ from: 'sqlite:/nonexistent/mctb.db', to: 'postgres://x@h/db' }, capture().stream, err2.stream)).to.equal(2);
    expect(err2.text()).to.include('does not exist');
  });
});
