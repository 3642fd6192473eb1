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
import { pgLedger } from '../support/pg-ledger';

const T0 = Date.UTC(2026, 10, 2, 15, 0, 0);

async function fill(l: Ledger): Promise<void> {
  for (let i = 0; i < 60; i++) {
    const number = `+1312555${String(1000 + i)}`;
    const t = T0 + i * 60_000;
    const missed = i % 4 !== 0;
    const res = await l.calls.record(
      { callId: `c${i}`, direction: 'inbound', business: i % 2 ? 'Brightside Dental' : 'Oakwood Vet', did: '+15550001000', number, numberRaw: number.slice(2), callerName: `Caller ${i} <b>`, outcome: missed ? 'noanswer' : 'answered', decision: missed ? 'text' : 'no_text', reason: missed ? 'missed' : 'answered', startedAt: t - 20_000, endedAt: t, recordedAt: t + 5 },
      missed ? { business: i % 2 ? 'Brightside Dental' : 'Oakwood Vet', number, sourceAddr: '+15550001000', body: `Sorry we missed you, caller ${i}`, dueAt: t + 10 } : undefined,
      [],
      missed ? { business: i % 2 ? 'Brightside Dental' : 'Oakwood Vet', number } : undefined,
    );
    if (res.sendId !== undefined && i % 3 !== 0) {
      await l.sends.claim(res.sendId, t + 20);
      await l.sends.markSubmitted(res.sendId, [`msg-${i}-1`, `msg-${i}-2`], t + 30);
      if (i % 5 !== 0) {
        await l.sends.recordReceipt(`msg-${i}-1`, 'delivered', null, t + 40);
        await l.sends.recordReceipt(`msg-${i}-2`, 'delivered', null, t + 41);
      }
    }
    if (i % 7 === 0) await l.optOuts.add(number, i % 2 ? 'Brightside Dental' : '*', 'sms', t + 50);
    if (i % 6 === 1) {
      await l.messages.apply({ message: { business: 'Brightside Dental', number, to: '+15550001000', body: `Can I book for Tuesday? ${i}`, keyword: null, receivedAt: t + 60, carrierId: `SM${i}` }, sends: [], notifications: [] });
    }
  }
  await l.sends.recordReceipt('unmatched-1', 'delivered', null, T0);
  await l.contacts.upsert({ number: '+13125551001', name: 'Ada Lovelace', tags: ['vip'], doNotText: false }, T0);
  const user = await l.users.add({ name: 'Front Desk', role: 'staff', businesses: ['Brightside Dental'], passwordHash: 'scrypt$x' }, T0);
  await l.audit.add({ actor: 'cli', action: 'user_added', subject: user.name }, T0);
  const thread = (await l.threads.list({ limit: 1 }))[0];
  await l.threads.addNote(thread.id, 'Front Desk', 'called back, no answer', T0 + 1);
  await l.transportState.set('cursor', '42');
}

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
