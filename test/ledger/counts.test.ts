// The text caps read per-minute counts kept by triggers (send_counts) plus the texts of the minute
// the window starts in. These tests hold them to the plain definition: count the texts (text_back
// and follow_up, not cancelled or skipped) created in the window, on a real ledger of each engine
// (an SQLite file with its triggers, a PostgreSQL schema with its plpgsql ones), through every way
// a send is made, changed or removed.

import { expect } from 'chai';
import { join } from 'node:path';
import type { LedgerDb } from '../../src/ledger/db';
import { Ledger } from '../../src/ledger/ledger';
import type { CallRecord } from '../../src/records/rows';
import { SqliteFile } from '../../src/ledger/sqlite';
import { forEachEngine, openLedger } from '../support/engines';
import { tempDir } from '../support/harness';

const HOUR = 3600_000;
const DAY = 24 * HOUR;
const BUSINESSES = ['Shop A', 'Shop B', 'Shop C'];
const HUGE = { per_hour: 1e9, per_day: 1e9, per_prefix_per_hour: 1e9 };

/** A small deterministic generator, so a failure can be replayed. */
function random(seed: number): () => number {
  let x = seed >>> 0;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x / 2 ** 32;
  };
}

function callRecord(id: string, business: string, number: string, at: number): CallRecord {
  return {
    callId: id,
    direction: 'inbound',
    business,
    did: '+15550001000',
    number,
    numberRaw: number,
    callerName: '',
    outcome: 'noanswer',
    decision: 'text',
    reason: 'missed',
    startedAt: at - 20_000,
    endedAt: at,
    recordedAt: at,
  };
}

/** The definition the caps are held to, counted row by row. */
async function bruteForce(db: LedgerDb, business: string, now: number) {
  const counted = `state NOT IN ('cancelled','skipped') AND kind IN ('text_back','follow_up')`;
  const count = async (where: string, params: unknown[]) => (await db.get<{ n: number }>(`SELECT COUNT(*) AS n FROM sends WHERE ${where} AND ${counted}`, params as never))!.n;
  return {
    businessHour: await count('created_at >= ? AND business = ?', [now - HOUR, business]),
    businessDay: await count('created_at >= ? AND business = ?', [now - DAY, business]),
    globalHour: await count('created_at >= ?', [now - HOUR]),
    globalDay: await count('created_at >= ?', [now - DAY]),
  };
}

async function capCounts(l: Ledger, business: string, now: number) {
  const { counts } = await l.calls.facts('+14155550100', business, now, { own: HUGE, global: HUGE });
  return { businessHour: counts.businessHour, businessDay: counts.businessDay, globalHour: counts.globalHour, globalDay: counts.globalDay };
}

/**
 * 600 calls over 30 hours (several on window edges), with follow-ups, staff alerts and manual
 * texts; then cancellations, skips, sends and a prune.
 */
async function fill(l: Ledger, now: number): Promise<number[]> {
  const rnd = random(7);
  const ids: number[] = [];
  const edges = [now - HOUR, now - HOUR - 1, now - HOUR + 1, now - DAY, now - DAY - 1, now - DAY + 1, now, Math.floor((now - HOUR) / 60000) * 60000];
  for (let i = 0; i < 600; i++) {
    const at = i < edges.length ? edges[i] : now - Math.floor(rnd() * 30 * HOUR);
    const business = BUSINESSES[i % BUSINESSES.length];
    const number = `+1415555${String(1000 + (i % 500)).padStart(4, '0')}`;
    const kinds = rnd() < 0.3 ? ['text_back', 'follow_up'] : rnd() < 0.5 ? ['text_back', 'staff_alert'] : ['text_back'];
    const sends = kinds.map((kind) => ({ business, number: kind === 'staff_alert' ? '+14155559999' : number, sourceAddr: '+15550001000', body: 'hi', dueAt: at, kind }));
    const res = await l.calls.record(callRecord(`c${i}`, business, number, at), sends);
    ids.push(res.sendId!);
    if (rnd() < 0.1) await l.sends.schedule({ business, number, sourceAddr: '+15550001000', body: 'manual', dueAt: at }, at);
  }
  return ids;
}

async function changeSome(l: Ledger, ids: number[], now: number): Promise<void> {
  const rnd = random(11);
  for (const id of ids) {
    const r = rnd();
    if (r < 0.15) await l.sends.finish(id, 'cancelled', 'called_back', now);
    else if (r < 0.25) await l.sends.finish(id, 'skipped', 'opted_out', now);
    else if (r < 0.3) await l.sends.finish(id, 'failed', 'gateway', now);
    else if (r < 0.5 && (await l.sends.claim(id, now))) await l.sends.markSubmitted(id, [`m${id}`], now);
  }
  // Every scheduled text to a number at once (a caller reached a person).
  await l.sends.cancelScheduled('+14155551007', undefined, 'called_back', now);
  await l.sends.cancelScheduled('+14155551008', 'Shop B', 'called_back', now);
}

forEachEngine('text cap counts (send_counts)', (engine) => {
  it('equal to counting the texts, for every business and all together, through cancels, skips, sends and prunes', async () => {
    const now = Date.UTC(2026, 10, 22, 12, 0, 37, 123);
    const l = await openLedger(engine);
    const raw = l.database;
    try {
      const ids = await fill(l, now);
      const check = async (at: number, label: string) => {
        for (const b of BUSINESSES) {
          const want = await bruteForce(raw, b, at);
          if (at === now) expect(want.businessHour, 'the mix has texts in the hour').to.be.greaterThan(0);
          expect(await capCounts(l, b, at), `${label}, ${b}`).to.deep.equal(want);
        }
      };
      await check(now, 'as made');
      await changeSome(l, ids, now);
      await check(now, 'after changes');
      // Windows that start on, just before and just after a minute boundary, and later in time.
      for (const shift of [-37_123, -37_124, 22_877, 60_000, 5 * 60_000 + 1, 3 * HOUR]) await check(now + shift, `now ${shift >= 0 ? '+' : ''}${shift} ms`);
      // Pruning rows older than a day (the shortest retention) leaves the windows' counts alone.
      await l.admin.prune(DAY, now);
      await check(now, 'after prune');
      const stale = await raw.get<{ n: number }>(`SELECT COUNT(*) AS n FROM send_counts WHERE minute < ?`, [Math.floor((now - DAY) / 60000)]);
      expect(stale!.n, 'minute counts older than a day are pruned').to.equal(0);
    } finally {
      await l.close();
    }
  });
});

// SQLite only: upgrading a file made by an older mctb (schema v4, before the counts table and its
// triggers). A PostgreSQL ledger starts at the baseline (src/ledger/pg-schema.ts), which has both.
describe('text cap counts (send_counts) on an upgraded SQLite file', () => {
  let tmp: ReturnType<typeof tempDir>;
  let path: string;
  beforeEach(() => {
    tmp = tempDir('counts');
    path = join(tmp.dir, 'ledger.db');
  });
  afterEach(() => tmp.cleanup());

  it('a ledger from before the counts table gets them filled in when it is upgraded', async () => {
    const now = Date.UTC(2026, 10, 22, 9, 30, 5, 0);
    const l = await Ledger.open(path);
    await changeSome(l, await fill(l, now), now);
    const version = await l.schemaVersion();
    await l.close();
    // Back to the schema before (v4): no table, no triggers, and none of the later migrations (5-11).
    const raw = await SqliteFile.open(path);
    await raw.serial((st) =>
      st.exec(
        `DROP TRIGGER send_counts_insert; DROP TRIGGER send_counts_update; DROP TRIGGER send_counts_delete; DROP TABLE send_counts;
         ALTER TABLE calls DROP COLUMN midway; ALTER TABLE calls DROP COLUMN presentation;
         DROP TABLE health_probe;
         DROP TRIGGER threads_call; DROP TRIGGER threads_call_answered; DROP TRIGGER threads_message; DROP TRIGGER threads_send;
         DROP TABLE notes; DROP TABLE threads; DROP TABLE audit; DROP TABLE sessions; DROP TABLE users;
         DROP INDEX messages_thread; DROP INDEX calls_thread; ALTER TABLE sends DROP COLUMN sent_by;
         DROP INDEX calls_missed; DROP INDEX calls_answered; DROP INDEX sends_thread;
         DROP INDEX messages_carrier; ALTER TABLE messages DROP COLUMN carrier_id; DROP TABLE transport_state;
         ALTER TABLE calls DROP COLUMN site; ALTER TABLE sends DROP COLUMN site; DROP TABLE daemons; PRAGMA user_version = 4;`,
      ),
    );
    await raw.close();

    const upgraded = await Ledger.open(path);
    const check = await SqliteFile.open(path);
    try {
      expect(await upgraded.schemaVersion()).to.equal(version);
      for (const b of BUSINESSES) expect(await capCounts(upgraded, b, now), b).to.deep.equal(await bruteForce(check, b, now));
    } finally {
      await check.close();
      await upgraded.close();
    }
  });
});
