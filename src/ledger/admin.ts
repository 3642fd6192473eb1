// Operator tools over the whole ledger (mctb report, forget, ledger backup | prune, and the
// daemon's retention): rare, and each may read or write many rows, in batches where it writes.

import { execFile } from 'node:child_process';
import sqlite3 from 'sqlite3';
import type { SendState } from '../records/states';
import type { LedgerDb } from './db';
import type { LedgerTarget } from './ledger';
import { dailyCalls, dailyTexts, ledgerReport, type LedgerReport } from './report';
import { SqliteFile } from './sqlite';

/** Every table of the ledger that holds records. */
export const LEDGER_TABLES = ['calls', 'contacts', 'sends', 'send_parts', 'receipts', 'opt_outs', 'messages', 'inbound_parts', 'tasks', 'notifications', 'threads', 'notes', 'users', 'audit'] as const;

export interface ForgetResult {
  contacts: number;
  /** Console threads of the number, with their notes. */
  threads: number;
  messages: number;
  inboundParts: number;
  tasks: number;
  notifications: number;
  /** Rows kept with the number replaced by its hash. */
  calls: number;
  sends: number;
  /** Texts to staff that quoted the number, their bodies blanked. */
  staffAlertsBlanked: number;
  /** Scheduled texts cancelled (to the number, or staff alerts quoting it). */
  cancelled: number;
  /** 1 when a do_not_text mark became an opt-out. */
  optOutAdded: number;
  optOutsKept: number;
}

export interface PruneResult {
  sends: number;
  send_parts: number;
  receipts: number;
  calls: number;
  messages: number;
  tasks: number;
  notifications: number;
  inbound_parts: number;
  threads: number;
}

export class Admin {
  constructor(
    private readonly target: LedgerTarget,
    private readonly db: LedgerDb,
  ) {}

  /**
   * A read-only SQLite connection of its own, so a long read runs beside the daemon's writes (and
   * beside another read), not queued behind them; undefined on PostgreSQL, whose pool already
   * gives each read a connection of its own (and for an in-memory ledger).
   */
  private async sideConnection(): Promise<SqliteFile | undefined> {
    if (this.target.driver !== 'sqlite' || this.target.path === ':memory:') return undefined;
    const side = await SqliteFile.open(this.target.path, sqlite3.OPEN_READONLY).catch(() => undefined);
    await side?.run('PRAGMA busy_timeout = 5000');
    return side;
  }

  /**
   * Figures for `mctb report` and the console's dashboard (src/ledger/report.ts) over calls that
   * ended in [since, until]; `businesses` undefined: every business.
   */
  report(since: number, until: number, businesses?: readonly string[]): Promise<LedgerReport> {
    return ledgerReport(() => this.sideConnection(), this.db, since, until, businesses);
  }

  /** Inbound calls per local day (YYYY-MM-DD in `timeZone`) and outcome, for the dashboard's charts. */
  async dailyCalls(since: number, until: number, timeZone: string, businesses?: readonly string[]): Promise<{ day: string; outcome: string; n: number }[]> {
    // On a read-only connection of its own, so the dashboard's report runs beside it, not after it.
    const side = await this.sideConnection();
    try {
      return await dailyCalls(side ?? this.db, since, until, timeZone, businesses);
    } finally {
      await side?.close();
    }
  }

  /** Text-backs per local day (YYYY-MM-DD in `timeZone`) and state, for the dashboard's charts. */
  dailyTexts(since: number, until: number, timeZone: string, businesses?: readonly string[]): Promise<{ day: string; state: SendState; n: number }[]> {
    return dailyTexts(this.db, since, until, timeZone, businesses);
  }

  /**
   * Erases what the ledger knows about a number, in one transaction, but keeps its opt-outs (the
   * law needs them) and turns a do_not_text mark into an opt-out from every business. Calls and
   * sends stay, with the number replaced by `hash` (so counts and reports still add up) and the
   * caller name, raw number and text bodies blanked. Its scheduled texts, and staff alerts
   * quoting it that are not yet sent, are cancelled.
   */
  forget(number: string, hash: string, now: number): Promise<ForgetResult> {
    return this.db.transaction(async (s) => {
      const contact = await s.get<{ do_not_text: number }>(`SELECT do_not_text FROM contacts WHERE number = ?`, [number]);
      let optOutAdded = 0;
      if (contact && contact.do_not_text) {
        optOutAdded = (await s.run(`INSERT OR IGNORE INTO opt_outs (number, business, source, created_at) VALUES (?, '*', 'do_not_text', ?)`, [number, now])).changes;
      }
      const cancelled = (
        await s.run(
          `UPDATE sends SET state = 'cancelled', reason = 'forgotten', finished_at = ?, updated_at = ? WHERE state = 'scheduled' AND (number = ? OR instr(body, ?) > 0)`,
          [now, now, number, number],
        )
      ).changes;
      const contacts = (await s.run(`DELETE FROM contacts WHERE number = ?`, [number])).changes;
      const messages = (await s.run(`DELETE FROM messages WHERE number = ?`, [number])).changes;
      const inboundParts = (await s.run(`DELETE FROM inbound_parts WHERE from_addr IN (?, ?)`, [number, number.replace(/^\+/, '')])).changes;
      const tasks = (await s.run(`DELETE FROM tasks WHERE number = ?`, [number])).changes;
      const threads = (await s.run(`DELETE FROM threads WHERE number = ?`, [number])).changes;
      const notifications = (await s.run(`DELETE FROM notifications WHERE instr(body, ?) > 0`, [number])).changes;
      const calls = (
        await s.run(`UPDATE calls SET number = ?, number_raw = '', caller_name = '', detail = replace(detail, ?, ?) WHERE number = ?`, [hash, number, hash, number])
      ).changes;
      const sends = (await s.run(`UPDATE sends SET number = ?, number_prefix = ?, body = '', updated_at = ? WHERE number = ?`, [hash, hash, now, number])).changes;
      const alerts = (await s.run(`UPDATE sends SET body = '', updated_at = ? WHERE instr(body, ?) > 0`, [now, number])).changes;
      const kept = await s.get<{ n: number }>(`SELECT COUNT(*) AS n FROM opt_outs WHERE number = ?`, [number]);
      return { contacts, threads, messages, inboundParts, tasks, notifications, calls, sends, staffAlertsBlanked: alerts, cancelled, optOutAdded, optOutsKept: kept?.n ?? 0 };
    });
  }

  /**
   * A consistent copy of the ledger in `dest` (which must not exist), taken with `VACUUM INTO`
   * on a connection of its own: safe while the daemon writes (WAL readers do not block writers).
   */
  async backupTo(dest: string): Promise<void> {
    if (this.target.driver === 'postgres') return pgDump(this.target, dest);
    const conn = await SqliteFile.open(this.target.path, sqlite3.OPEN_READONLY);
    try {
      await conn.run('PRAGMA busy_timeout = 5000');
      await conn.run('VACUUM INTO ?', [dest]);
    } finally {
      await conn.close();
    }
  }

  /** Rows in each table (backups are checked with it). */
  async rowCounts(): Promise<Record<string, number>> {
    const out: Record<string, number> = {};
    for (const t of LEDGER_TABLES) out[t] = (await this.db.get<{ n: number }>(`SELECT COUNT(*) AS n FROM ${t}`))?.n ?? 0;
    return out;
  }

  /**
   * Retention: deletes what is older than `olderThanMs` before `now`, in batches of `batchSize`
   * rows, each batch its own short transaction (the daemon keeps writing in between). Never
   * touches opt_outs or contacts. Sends still waiting (scheduled, sending) stay, and so do the
   * calls they belong to; tasks only once closed, notifications only once delivered or failed.
   */
  async prune(olderThanMs: number, now: number, opts: { batchSize?: number; onBatch?: (table: string, deleted: number, total: number) => void } = {}): Promise<PruneResult> {
    const cutoff = now - olderThanMs;
    const batch = Math.max(1, opts.batchSize ?? 5000);
    const result: PruneResult = { sends: 0, send_parts: 0, receipts: 0, calls: 0, messages: 0, tasks: 0, notifications: 0, inbound_parts: 0, threads: 0 };
    const note = (table: keyof PruneResult, n: number) => {
      result[table] += n;
      if (n > 0) opts.onBatch?.(table, n, result[table]);
    };
    // Sends first, with their parts and receipts (send_parts references sends, sends reference calls).
    for (;;) {
      const done = await this.db.transaction(async (s) => {
        const ids = (await s.all<{ id: number }>(`SELECT id FROM sends WHERE created_at < ? AND state NOT IN ('scheduled','sending') LIMIT ?`, [cutoff, batch])).map((r) => r.id);
        if (ids.length === 0) return true;
        const list = ids.join(',');
        note('send_parts', (await s.run(`DELETE FROM send_parts WHERE send_id IN (${list})`)).changes);
        note('receipts', (await s.run(`DELETE FROM receipts WHERE send_id IN (${list})`)).changes);
        note('sends', (await s.run(`DELETE FROM sends WHERE id IN (${list})`)).changes);
        return ids.length < batch;
      });
      if (done) break;
    }
    const steps: [keyof PruneResult, string, string][] = [
      ['receipts', 'receipts', 'received_at < ?'],
      ['calls', 'calls', 'ended_at < ? AND NOT EXISTS (SELECT 1 FROM sends s WHERE s.call_id = calls.call_id)'],
      ['messages', 'messages', 'received_at < ?'],
      ['tasks', 'tasks', 'closed_at IS NOT NULL AND closed_at < ?'],
      ['notifications', 'notifications', "state IN ('delivered','failed') AND created_at < ?"],
      ['inbound_parts', 'inbound_parts', 'received_at < ?'],
      // A thread nothing happened in since the cutoff, and no callback waits on (its notes go with it).
      ['threads', 'threads', 'last_at < ? AND NOT EXISTS (SELECT 1 FROM tasks k WHERE k.business = threads.business AND k.number = threads.number AND k.closed_at IS NULL)'],
    ];
    for (const [key, table, cond] of steps) {
      for (;;) {
        const n = await this.db.transaction(async (s) => (await s.run(`DELETE FROM ${table} WHERE rowid IN (SELECT rowid FROM ${table} WHERE ${cond} LIMIT ?)`, [cutoff, batch])).changes);
        note(key, n);
        if (n < batch) break;
      }
    }
    // Per-minute text counts serve windows of a day at most.
    await this.db.run(`DELETE FROM send_counts WHERE minute < ?`, [Math.floor(Math.min(cutoff, now - 86_400_000) / 60000)]);
    return result;
  }
}

/**
 * `mctb ledger backup` on PostgreSQL: pg_dump's custom format (restore with pg_restore), a
 * consistent snapshot taken while the daemons write. The password goes to pg_dump in its
 * environment (PGPASSWORD), never on its command line, where `ps` would show it.
 */
function pgDump(target: Extract<LedgerTarget, { driver: 'postgres' }>, dest: string): Promise<void> {
  const url = new URL(target.url);
  const password = target.password ?? (url.password ? decodeURIComponent(url.password) : undefined);
  url.password = '';
  const env = { ...process.env, ...(password !== undefined ? { PGPASSWORD: password } : {}) };
  return new Promise((resolve, reject) => {
    execFile(process.env.MCTB_PG_DUMP ?? 'pg_dump', ['--format=custom', '--no-owner', `--file=${dest}`, `--dbname=${url.toString()}`], { env }, (err, _out, stderr) => {
      if (!err) return resolve();
      const missing = (err as NodeJS.ErrnoException).code === 'ENOENT';
      reject(new Error(missing ? 'pg_dump is not installed (Debian: apt install postgresql-client); mctb ledger backup runs it for a PostgreSQL ledger' : `pg_dump failed: ${String(stderr).trim() || err.message}`));
    });
  });
}
