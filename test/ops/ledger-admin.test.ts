// `mctb forget`, `mctb ledger backup` and `mctb ledger prune` on real ledger files, and what they
// run (Ledger.admin.forget, and Ledger.admin.prune, which the daemon calls for ledger.retention)
// on a real ledger of each engine (an SQLite file, a PostgreSQL schema).

import { expect } from 'chai';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { LEDGER_TABLES } from '../../src/ledger/admin';
import type { LedgerDb } from '../../src/ledger/db';
import { Ledger } from '../../src/ledger/ledger';
import type { CallRecord } from '../../src/records/rows';
import { SqliteFile } from '../../src/ledger/sqlite';
import { numberHash } from '../../src/cli/ledger-admin';
import { forEachEngine, openLedger } from '../support/engines';
import { tempDir } from '../support/harness';
import { mctb, yamlConfig } from '../support/cli';

const JANE = '+14155550123';
const TOM = '+16175550110';
const STAFF = '+13125550100';
const SHOP = 'Brightside Dental';
const DAY = 86_400_000;

function call(id: string, number: string, endedAt: number, over: Partial<CallRecord> = {}): CallRecord {
  return {
    callId: id,
    direction: 'inbound',
    business: SHOP,
    did: '+15550001000',
    number,
    numberRaw: number.slice(1),
    callerName: number === JANE ? 'Jane Doe' : 'Tom',
    outcome: 'noanswer',
    decision: 'text',
    reason: 'missed',
    detail: `noanswer while open (caller ${number})`,
    startedAt: endedAt - 20_000,
    endedAt,
    recordedAt: endedAt + 300,
    ...over,
  };
}

const textBack = (number: string, at: number) => ({ business: SHOP, number, sourceAddr: '+15550001000', body: number === JANE ? 'Hi Jane, sorry we missed you' : 'Hi Tom', dueAt: at, kind: 'text_back' });

/** Rows per table of an SQLite backup file. */
async function counts(path: string): Promise<Record<string, number>> {
  const db = await SqliteFile.open(path);
  try {
    const out: Record<string, number> = {};
    for (const t of LEDGER_TABLES) out[t] = (await db.get<{ n: number }>(`SELECT COUNT(*) AS n FROM ${t}`))!.n;
    return out;
  } finally {
    await db.close();
  }
}

/** A number to forget (Jane) in every table that can hold it, and Tom, who stays. */
async function fillForget(l: Ledger): Promise<{ janeSend: number; waiting: number }> {
  const now = Date.now();
  await l.contacts.upsert({ number: JANE, name: 'Jane Doe', tags: ['vip'], doNotText: true }, now - 10 * DAY);
  const janeSend = (await l.calls.record(call('j1', JANE, now - 3 * DAY), textBack(JANE, now - 3 * DAY))).sendId!;
  await l.sends.claim(janeSend, now - 3 * DAY);
  await l.sends.markSubmitted(janeSend, ['m-j1'], now - 3 * DAY);
  await l.sends.recordReceipt('m-j1', 'delivered', null, now - 3 * DAY);
  // A second missed call, its text still waiting, with a staff alert quoting the number.
  const waiting = (
    await l.calls.record(call('j2', JANE, now - 60_000, { reason: 'missed' }), [
      textBack(JANE, now + DAY),
      { business: SHOP, number: STAFF, sourceAddr: '+15550001000', body: `${SHOP}: missed call from Jane Doe ${JANE}`, dueAt: now + DAY, kind: 'staff_alert' },
    ], [{ eventId: 'ev-1', business: SHOP, type: 'missed_call', body: JSON.stringify({ data: { number: JANE } }) }])
  ).sendId!;
  await l.messages.apply({ message: { business: SHOP, number: JANE, to: '+15550001000', body: 'call me back please', keyword: null, receivedAt: now - 2 * DAY }, sends: [], notifications: [] });
  await l.messages.apply({ message: { business: SHOP, number: JANE, to: '+15550001000', body: 'STOP', keyword: 'stop', receivedAt: now - DAY }, optOut: { scope: SHOP }, sends: [], notifications: [] });
  await l.messages.storePart(JANE, '+15550001000', { ref: 9, total: 2, seq: 1 }, 'half a mess', now - DAY);
  await l.tasks.open(SHOP, JANE, 'j2', now - 60_000);
  // Tom stays untouched.
  await l.calls.record(call('t1', TOM, now - DAY), textBack(TOM, now - DAY));
  await l.tasks.open(SHOP, TOM, 't1', now - DAY);
  return { janeSend, waiting };
}

/** After Jane was forgotten (fillForget): where her number and name are left, row by row. */
async function checkForgotten(db: LedgerDb, janeSend: number, waiting: number): Promise<void> {
  const hash = numberHash(JANE);
  // The columns (table.column) of any row whose value, as text, contains `value`.
  const everywhere = async (value: string) => {
    const hits = new Set<string>();
    for (const t of LEDGER_TABLES) {
      for (const row of await db.all(`SELECT * FROM ${t}`)) {
        for (const [c, v] of Object.entries(row)) if (v !== null && String(v as string | number).includes(value)) hits.add(`${t}.${c}`);
      }
    }
    return [...hits];
  };
  // The number survives only in the opt-out list; the name and the raw number nowhere.
  expect(await everywhere(JANE)).to.deep.equal(['opt_outs.number']);
  expect(await everywhere('4155550123')).to.deep.equal(['opt_outs.number']);
  expect(await everywhere('Jane')).to.deep.equal([]);
  const optOuts = await db.all<{ business: string; source: string }>(`SELECT business, source FROM opt_outs WHERE number = ? ORDER BY business`, [JANE]);
  expect(optOuts).to.deep.equal([
    { business: '*', source: 'do_not_text' }, // the do_not_text mark, kept as an opt-out
    { business: SHOP, source: 'sms' },
  ]);
  const calls = await db.all<{ call_id: string; number: string; number_raw: string; caller_name: string; detail: string }>(`SELECT call_id, number, number_raw, caller_name, detail FROM calls WHERE call_id LIKE 'j%' ORDER BY call_id`);
  expect(calls.map((c) => [c.number, c.number_raw, c.caller_name])).to.deep.equal([
    [hash, '', ''],
    [hash, '', ''],
  ]);
  expect(calls[0].detail).to.equal(`noanswer while open (caller ${hash})`);
  const sent = await db.get<{ number: string; body: string; state: string }>(`SELECT number, body, state FROM sends WHERE id = ?`, [janeSend]);
  expect(sent).to.deep.equal({ number: hash, body: '', state: 'delivered' });
  const cancelled = await db.all<{ kind: string; state: string; reason: string }>(`SELECT kind, state, reason FROM sends WHERE call_id = 'j2' OR kind = 'staff_alert' ORDER BY id`);
  expect(cancelled).to.deep.equal([
    { kind: 'text_back', state: 'cancelled', reason: 'forgotten' },
    { kind: 'staff_alert', state: 'cancelled', reason: 'forgotten' },
  ]);
  expect((await db.get<{ id: number }>(`SELECT id FROM sends WHERE id = ?`, [waiting]))!.id).to.equal(waiting);
  // Tom is untouched.
  expect((await db.get<{ n: number }>(`SELECT COUNT(*) AS n FROM tasks WHERE number = ?`, [TOM]))!.n).to.equal(1);
  expect((await db.get<{ number: string }>(`SELECT number FROM calls WHERE call_id = 't1'`))!.number).to.equal(TOM);
}

/** Old rows in every table (500 days), recent ones (10 days), and old rows that must stay. */
async function fillPrune(l: Ledger, now: number) {
  const old = now - 500 * DAY;
  const recent = now - 10 * DAY;
  for (const [prefix, at, n] of [['old', old, 7], ['new', recent, 3]] as const) {
    for (let i = 0; i < n; i++) {
      const number = `+1415555${String(1000 + i)}`;
      const id = (await l.calls.record(call(`${prefix}${i}`, number, at + i), textBack(number, at + i))).sendId!;
      await l.sends.claim(id, at + i);
      await l.sends.markSubmitted(id, [`${prefix}-m${i}`], at + i);
      await l.sends.recordReceipt(`${prefix}-m${i}`, 'delivered', null, at + i + 1000);
      await l.messages.apply({ message: { business: SHOP, number, to: '+15550001000', body: 'ok', keyword: null, receivedAt: at + i + 5000 }, sends: [], notifications: [] });
      const task = await l.tasks.open(SHOP, number, `${prefix}${i}`, at + i);
      await l.tasks.close(task, 'done', at + i + 10_000);
    }
    await l.notifications.enqueue([{ eventId: `${prefix}-delivered`, business: SHOP, type: 'missed_call', body: '{}' }, { eventId: `${prefix}-pending`, business: SHOP, type: 'missed_call', body: '{}' }], at);
    await l.notifications.mark((await l.notifications.get(`${prefix}-delivered`))!.id, { state: 'delivered' }, at + 100);
    await l.messages.storePart('+14155550000', '+15550001000', { ref: at % 200, total: 2, seq: 1 }, 'half', at);
    await l.optOuts.add(`+1415555${prefix === 'old' ? '8000' : '8001'}`, '*', 'sms', at);
  }
  // Old but still needed: a text still waiting (and so its call), an open task, an unmatched receipt.
  const waiting = (await l.calls.record(call('old-waiting', '+14155559000', old), textBack('+14155559000', now + DAY))).sendId!;
  await l.tasks.open(SHOP, '+14155559000', 'old-waiting', old);
  await l.sends.recordReceipt('stray', 'delivered', null, old);
  return { waiting };
}

forEachEngine('ledger administration', (engine) => {
  describe('forget: Ledger.admin.forget', () => {
    it('erases the contact, messages, tasks, notifications; hashes the number in calls and texts; keeps the opt-out', async () => {
      const l = await openLedger(engine);
      try {
        const { janeSend, waiting } = await fillForget(l);
        const now = Date.now();
        const window = [now - 30 * DAY, now + 2 * DAY] as const;
        const before = await l.admin.report(...window);
        const hash = numberHash(JANE);
        expect(await l.admin.forget(JANE, hash, now)).to.deep.equal({
          contacts: 1, threads: 1, messages: 2, inboundParts: 1, tasks: 1, notifications: 1,
          calls: 2, sends: 2, staffAlertsBlanked: 1, cancelled: 2, optOutAdded: 1, optOutsKept: 2,
        });
        await checkForgotten(l.database, janeSend, waiting);

        // Counts still add up: the report is the same except for the texts cancelled just now.
        const after = await l.admin.report(...window);
        const texts = (r: typeof before) => Object.fromEntries(r.texts.map((t) => [t.state, t.n]));
        const byCall = (r: typeof before) => [...r.calls].sort((x, y) => `${x.outcome} ${x.decision} ${x.reason}`.localeCompare(`${y.outcome} ${y.decision} ${y.reason}`));
        expect(byCall(after)).to.deep.equal(byCall(before));
        expect(after.contactsTexted).to.equal(before.contactsTexted);
        expect(after.optOuts).to.equal(before.optOuts + 1);
        expect(texts(after)).to.deep.equal({ ...texts(before), scheduled: texts(before).scheduled - 1, cancelled: (texts(before).cancelled ?? 0) + 1 });

        // The opt-out still works; `why` finds nothing personal; a second time finds nothing to do.
        expect(await l.optOuts.has(JANE, SHOP)).to.equal(true);
        expect(await l.calls.find({ anyNumber: JANE, limit: 20 })).to.have.length(0);
        expect(await l.admin.forget(JANE, hash, now)).to.deep.include({ calls: 0, sends: 0, staffAlertsBlanked: 0, cancelled: 0, optOutAdded: 0, optOutsKept: 2 });
      } finally {
        await l.close();
      }
    });
  });

  describe('retention: Ledger.admin.prune', () => {
    it('deletes what is older than the cutoff in batches, never opt-outs, contacts, open tasks, waiting texts or pending notifications', async () => {
      const l = await openLedger(engine);
      try {
        const now = Date.now();
        const { waiting } = await fillPrune(l, now);
        const before = await l.admin.rowCounts();
        const batches: string[] = [];
        const result = await l.admin.prune(400 * DAY, now, { batchSize: 3, onBatch: (t, n, total) => batches.push(`${t}:${n}:${total}`) });
        expect(result).to.deep.equal({ sends: 7, send_parts: 7, receipts: 8, calls: 7, messages: 7, tasks: 7, notifications: 1, inbound_parts: 1, threads: 4 });
        // Threads left are those with activity after the cutoff or an open callback task.
        expect(await l.threads.list({ limit: 100 }).then((ts) => ts.filter((t) => t.last_at < now - 400 * DAY && !t.open_task))).to.deep.equal([]);
        expect(batches.filter((b) => b.startsWith('calls:'))).to.deep.equal(['calls:3:3', 'calls:3:6', 'calls:1:7']);
        const after = await l.admin.rowCounts();
        for (const [t, n] of Object.entries(result)) expect(after[t], t).to.equal(before[t] - n);
        expect(after.opt_outs).to.equal(before.opt_outs);
        expect(after.contacts).to.equal(before.contacts);
        expect((await l.sends.get(waiting))?.state).to.equal('scheduled');
        expect(await l.calls.get('old-waiting')).to.not.equal(undefined);
        expect(await l.calls.get('new0')).to.not.equal(undefined);
        expect(await l.calls.get('old0')).to.equal(undefined);
        expect(await l.notifications.get('old-pending')).to.not.equal(undefined);
        expect((await l.tasks.listOpen()).map((t) => t.call_id)).to.deep.equal(['old-waiting']);
        // Nothing left to do the second time.
        expect(Object.values(await l.admin.prune(400 * DAY, now)).every((n) => n === 0)).to.equal(true);
      } finally {
        await l.close();
      }
    });
  });
});

// SQLite only: the `mctb` commands, which open the ledger file a config names, and `mctb ledger
// backup`, which copies it with VACUUM INTO (on PostgreSQL it runs pg_dump instead). What the
// commands run is checked on both engines above.
describe('ledger administration: mctb commands on an SQLite ledger file', function () {
  this.timeout(60_000);
  let dir: string;
  let cleanup: () => void;
  let file: string;
  let ledgerPath: string;
  beforeEach(() => {
    ({ dir, cleanup } = tempDir('mctb-ledger-admin-'));
    ledgerPath = join(dir, 'mctb.db');
    file = join(dir, 'mctb.yaml');
    writeFileSync(file, yamlConfig({ amiPort: 5038, smppPort: 2775, ledger: ledgerPath }));
  });
  afterEach(() => cleanup());

  describe('mctb forget', () => {
    it('erases the contact, messages, tasks, notifications; hashes the number in calls and texts; keeps the opt-out', async () => {
      const filled = await Ledger.open(ledgerPath);
      const { janeSend, waiting } = await fillForget(filled);
      await filled.close();
      const before = await mctb(['report', '-c', file, '--json']);
      const refused = await mctb(['forget', JANE, '-c', file]);
      expect(refused.code).to.equal(2);
      expect(refused.stderr).to.include('--yes');

      const r = await mctb(['forget', '(415) 555-0123', '--yes', '-c', file]);
      expect(r.code, r.stderr).to.equal(0);
      const hash = numberHash(JANE);
      expect(hash).to.match(/^sha256:[0-9a-f]{16}$/);
      expect(r.stdout).to.include(`forgot ${JANE}; its calls and texts now show ${hash}`);
      expect(r.stdout).to.include('erased: 1 contact, 2 messages, 1 message part, 1 callback task, 1 staff notification');
      expect(r.stdout).to.include('anonymised: 2 calls and 2 texts');
      expect(r.stdout).to.include('1 staff text quoting it blanked');
      expect(r.stdout).to.include('cancelled: 2 texts not yet sent');
      expect(r.stdout).to.include('kept: 2 opt-outs');

      const forgotten = await Ledger.open(ledgerPath);
      try {
        await checkForgotten(forgotten.database, janeSend, waiting);
      } finally {
        await forgotten.close();
      }

      // Counts still add up: the report is the same except for the texts cancelled just now.
      const b = JSON.parse(before.stdout);
      const a = JSON.parse((await mctb(['report', '-c', file, '--json'])).stdout);
      expect(a.calls).to.deep.equal(b.calls);
      expect(a.texted).to.equal(b.texted);
      expect(a.contacts_texted).to.equal(b.contacts_texted);
      expect(a.opt_outs).to.equal(b.opt_outs + 1);
      expect(a.texts.cancelled).to.equal(b.texts.cancelled + 1);

      // The opt-out still works; `why` finds nothing personal.
      const l = await Ledger.open(ledgerPath);
      expect(await l.optOuts.has(JANE, SHOP)).to.equal(true);
      expect(await l.calls.find({ anyNumber: JANE, limit: 20 })).to.have.length(0);
      await l.close();
      const again = await mctb(['forget', JANE, '--yes', '--json', '-c', file]);
      expect(JSON.parse(again.stdout)).to.deep.include({ number: JANE, hash, cancelled: 0, opt_outs_kept: 2 });
      expect(JSON.parse(again.stdout).anonymised).to.deep.equal({ calls: 0, sends: 0, staff_alerts: 0 });
    });

    it('refuses what is not a phone number', async () => {
      const r = await mctb(['forget', 'jane', '--yes', '-c', file]);
      expect(r.code).to.equal(2);
      expect(r.stderr).to.include('"jane" is not a phone number');
    });
  });

  describe('mctb ledger backup', () => {
    it('copies the ledger while another connection has it open and is writing; same row counts; never overwrites', async () => {
      const l = await Ledger.open(ledgerPath);
      const now = Date.now();
      for (let i = 0; i < 200; i++) {
        const id = (await l.calls.record(call(`c${i}`, i % 2 ? JANE : TOM, now - i * 1000), textBack(i % 2 ? JANE : TOM, now))).sendId!;
        if (i % 3 === 0) {
          await l.sends.claim(id, now);
          await l.sends.markSubmitted(id, [`m${i}`], now);
          await l.sends.recordReceipt(`m${i}`, 'delivered', null, now);
        }
      }
      await l.optOuts.add(JANE, '*', 'admin', now);
      await l.contacts.upsert({ number: TOM, name: 'Tom', tags: [], doNotText: false }, now);
      // The source stays open (as under the daemon), with a write waiting in the WAL.
      const expected = await l.admin.rowCounts();
      const backup = join(dir, 'mctb-backup.db');
      const r = await mctb(['ledger', 'backup', backup, '-c', file]);
      expect(r.code, r.stderr).to.equal(0);
      expect(r.stdout).to.match(/^backed up .*mctb\.db to .*mctb-backup\.db: \d+(\.\d)? (KiB|MiB) in \d+\.\d s\n$/);
      expect(await counts(join(dir, 'mctb-backup.db'))).to.deep.equal(expected);
      // The backup is a ledger: it opens, at the latest schema version, with the same rows.
      const copy = await Ledger.open(join(dir, 'mctb-backup.db'));
      expect(await copy.admin.rowCounts()).to.deep.equal(expected);
      expect(await copy.schemaVersion()).to.equal(await l.schemaVersion());
      expect(await copy.optOuts.has(JANE, SHOP)).to.equal(true);
      await copy.close();

      // Writing on while backing up again does not disturb either side.
      const writes = (async () => {
        for (let i = 200; i < 260; i++) await l.calls.record(call(`c${i}`, TOM, now + i), textBack(TOM, now));
      })();
      const second = await mctb(['ledger', 'backup', join(dir, 'second.db'), '-c', file]);
      await writes;
      expect(second.code, second.stderr).to.equal(0);
      const c2 = await counts(join(dir, 'second.db'));
      expect(c2.calls).to.be.within(200, 260);
      expect(c2.sends).to.equal(c2.calls); // a consistent snapshot: every call has its text
      await l.close();

      const exists = await mctb(['ledger', 'backup', join(dir, 'mctb-backup.db'), '-c', file]);
      expect(exists.code).to.equal(2);
      expect(exists.stderr).to.include('exists; a backup never overwrites a file');
      const nowhere = await mctb(['ledger', 'backup', join(dir, 'no', 'such', 'dir', 'b.db'), '-c', file]);
      expect(nowhere.code).to.equal(1);
      expect(existsSync(join(dir, 'no'))).to.equal(false);
    });
  });

  describe('retention: mctb ledger prune', () => {
    it('mctb ledger prune --older-than 400d: a line per batch, then the totals; refuses under a day', async () => {
      const l = await Ledger.open(ledgerPath);
      await fillPrune(l, Date.now());
      await l.close();
      const r = await mctb(['ledger', 'prune', '--older-than', '400d', '--batch-size', '2', '-c', file]);
      expect(r.code, r.stderr).to.equal(0);
      const lines = r.stdout.trim().split('\n');
      expect(lines[0]).to.match(/^pruning rows older than 400d \(before \d{4}-\d\d-\d\d \d\d:\d\d\), 2 at a time; opt-outs and contacts are kept$/);
      expect(lines.filter((x) => x.startsWith('  calls:'))).to.deep.equal(['  calls: deleted 2 (2 so far)', '  calls: deleted 2 (4 so far)', '  calls: deleted 2 (6 so far)', '  calls: deleted 1 (7 so far)']);
      expect(r.stdout).to.include('done: deleted 7 calls, 7 texts, 7 text parts, 8 receipts, 7 messages, 7 closed tasks, 1 notifications, 1 message parts');

      const json = await mctb(['ledger', 'prune', '--older-than', '400d', '--json', '-c', file]);
      const last = JSON.parse(json.stdout.trim().split('\n').pop()!);
      expect(last).to.deep.include({ done: true, older_than: '400d' });
      expect(Object.values(last.deleted).every((n) => n === 0)).to.equal(true);

      const short = await mctb(['ledger', 'prune', '--older-than', '12h', '-c', file]);
      expect(short.code).to.equal(2);
      expect(short.stderr).to.include('under 1d');
      const missing = await mctb(['ledger', 'prune', '-c', file]);
      expect(missing.code).to.not.equal(0);
      expect(missing.stderr).to.include('--older-than');
    });
  });
});
