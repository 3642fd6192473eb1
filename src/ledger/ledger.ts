// The ledger: every call, contact, send, delivery receipt and opt-out, in one SQLite file.
// It is the outbox too: a send exists here before it exists anywhere else, so nothing is lost
// across restarts and nothing is sent twice.

import { mkdirSync } from 'node:fs';
import sqlite3 from 'sqlite3';
import { CALL_REASONS } from '../policy/decide';
import { MISSED_OUTCOMES } from '../calls/types';
import { dirname } from 'node:path';
import { SqliteFile, type Statements } from './sqlite';
import { MIGRATIONS } from './migrations';
import { numberPrefix } from '../numbers/phone';
import type { CallFacts, DueFacts } from '../policy/decide';
import type { Limits } from '../config/types';

export type SendState = 'scheduled' | 'sending' | 'submitted' | 'delivered' | 'failed' | 'cancelled' | 'skipped';
export const FINAL_SEND_STATES: readonly SendState[] = ['delivered', 'failed', 'cancelled', 'skipped'];

export interface CallRecord {
  callId: string;
  direction: 'inbound' | 'outbound';
  business?: string;
  did?: string;
  number?: string;
  numberRaw: string;
  callerName: string;
  outcome: string;
  decision: 'text' | 'no_text';
  reason: string;
  /** The decision in one sentence (mctb why). */
  detail?: string;
  startedAt: number;
  endedAt: number;
  recordedAt: number;
  /** In progress when mctb (re)connected to the PBX: seen from the middle. */
  midway?: boolean;
  /** How the caller's presentation was known (inbound calls). */
  presentation?: string;
}

export interface NewSend {
  business: string;
  number: string;
  sourceAddr: string;
  body: string;
  dueAt: number;
  kind?: string;
}

export interface SendRow {
  id: number;
  call_id: string | null;
  business: string;
  number: string;
  source_addr: string;
  body: string;
  kind: string;
  state: SendState;
  reason: string | null;
  due_at: number;
  attempts: number;
  interrupted: number;
  error: string | null;
  created_at: number;
  updated_at: number;
  submitted_at: number | null;
  finished_at: number | null;
}

export interface CallRow {
  call_id: string;
  direction: string;
  business: string | null;
  did: string | null;
  number: string | null;
  number_raw: string;
  caller_name: string;
  outcome: string;
  decision: string;
  reason: string;
  started_at: number;
  ended_at: number;
  detail: string | null;
  /** 1: in progress when mctb (re)connected to the PBX. */
  midway: number;
  /** allowed | withheld | unknown; null on rows from before ledger v6. */
  presentation: string | null;
}

export interface ContactRow {
  number: string;
  name: string | null;
  caller_id_name: string | null;
  tags: string | null;
  do_not_text: number;
  first_seen_at: number | null;
  last_call_at: number | null;
}

export interface TaskRow {
  id: number;
  business: string;
  number: string;
  call_id: string | null;
  calls: number;
  opened_at: number;
  last_call_at: number;
  closed_at: number | null;
  closed_reason: string | null;
  name: string | null;
  last_message: string | null;
}

export interface NotificationRow {
  id: number;
  event_id: string;
  business: string;
  type: string;
  body: string;
  state: 'pending' | 'delivered' | 'failed';
  attempts: number;
  next_attempt_at: number;
  created_at: number;
}

export interface NewNotification {
  eventId: string;
  business: string;
  type: string;
  body: string;
}

/** What an incoming text does, written in one transaction with the message itself. */
export interface InboundEffects {
  message: { business: string; number: string; to: string; body: string; keyword: string | null; receivedAt: number };
  optOut?: { scope: string };
  optIn?: { scope: string };
  /** Scheduled texts to this number cancelled (for the business, or all with '*'). */
  cancelScheduled?: { scope: string; reason: string };
  sends: NewSend[];
  notifications: NewNotification[];
}

/** Delivery receipt states as the ledger keeps them. */
export type ReceiptState = 'delivered' | 'undeliverable' | 'expired' | 'rejected' | 'deleted' | 'unknown' | 'accepted' | 'enroute';

/** A relaxed commit (Ledger.batchEach) is made durable within this. */
const SYNC_WITHIN_MS = 1000;

export class Ledger {
  private constructor(readonly path: string, private readonly db: SqliteFile) {}

  static async open(path: string): Promise<Ledger> {
    if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
    const db = await SqliteFile.open(path);
    const ledger = new Ledger(path, db);
    // synchronous = FULL: in WAL mode SQLite then fsyncs the WAL at every commit, before COMMIT
    // returns, so a commit the daemon has seen cannot vanish with the power (NORMAL syncs only at
    // checkpoints: the last commits could). That is what every promise below rests on, and it is
    // enough: the outbox submits a text only after the commit of its `sending` claim returned, and
    // an incoming text (an opt-out) or a delivery receipt is acknowledged to the gateway only after
    // the commit that stores it returned (see Inbox, SmppTransport.onDeliverSm). The cost is one
    // fsync per transaction; the outbox's texts share one (Ledger.together). The one exception is
    // the daemon's record of ended calls (batchEach `relaxed`), argued there.
    await db.serial(async (s) => {
      await s.exec('PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 5000;');
    });
    await ledger.migrate();
    return ledger;
  }

  private async migrate(): Promise<void> {
    const row = await this.db.get<{ user_version: number }>('PRAGMA user_version');
    const current = row?.user_version ?? 0;
    for (const [index, sql] of MIGRATIONS.entries()) {
      const version = index + 1;
      if (version <= current) continue;
      await this.db.transaction(async (s) => {
        await s.exec(sql);
        await s.exec(`PRAGMA user_version = ${version}`);
      });
    }
  }

  /**
   * How this connection writes: `journal_mode` (wal) and `synchronous` (0 OFF, 1 NORMAL, 2 FULL,
   * 3 EXTRA; per connection, so only the connection itself can tell).
   */
  async durability(): Promise<{ journalMode: string; synchronous: number }> {
    const mode = await this.db.get<{ journal_mode: string }>('PRAGMA journal_mode');
    const sync = await this.db.get<{ synchronous: number }>('PRAGMA synchronous');
    return { journalMode: mode?.journal_mode ?? '', synchronous: Number(sync?.synchronous) };
  }

  /** `fn` runs after every commit of this connection (anything written: the ledger works). */
  onWrite(fn: () => void): void {
    this.db.onCommit = fn;
  }

  async schemaVersion(): Promise<number> {
    return (await this.db.get<{ user_version: number }>('PRAGMA user_version'))?.user_version ?? 0;
  }

  close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.syncTimer);
    // The last connection's close checkpoints the WAL into the database file, synced.
    return this.db.close();
  }

  /**
   * Runs each fn in one transaction, and settles each alone. Optimistic: first with every fn
   * joining the transaction (no savepoints: two statements less per fn); only when one fails,
   * again with each in a savepoint of its own, so that it alone rolls back and rejects. So fns
   * must be safe to run twice (they are: reads, then writes, nothing outside the ledger). Rejects
   * as a whole when the transaction itself fails (disk full at the commit).
   */
  async batchEach<T>(fns: readonly (() => Promise<T>)[], opts: { relaxed?: boolean } = {}): Promise<PromiseSettledResult<T>[]> {
    const relaxed = opts.relaxed === true;
    try {
      return await this.db.transaction(
        async () => {
          const out: PromiseSettledResult<T>[] = [];
          for (const fn of fns) out.push({ status: 'fulfilled', value: await fn() });
          return out;
        },
        { savepoints: false, relaxed },
      ).finally(() => relaxed && this.syncSoon());
    } catch (err) {
      if (fns.length === 1) return [{ status: 'rejected', reason: err }];
    }
    return this.db.transaction(async () => {
      const out: PromiseSettledResult<T>[] = [];
      for (const fn of fns) {
        try {
          out.push({ status: 'fulfilled', value: await this.db.transaction(() => fn()) });
        } catch (reason) {
          out.push({ status: 'rejected', reason });
        }
      }
      return out;
    });
  }

  /**
   * After a relaxed commit (ended calls, written without an fsync of their own), a durable commit
   * within SYNC_WITHIN_MS. Why relaxed is safe: nothing is acted on from those rows until the
   * outbox claims a text, and that claim's own commit fsyncs the whole WAL, these rows with it;
   * so a text is never sent from a record that could vanish. What a power cut can take is at most
   * the last second of decided calls whose texts were not yet due. It saves an fsync on the way
   * from hangup to submit_sm (npm run bench: README, Performance).
   */
  private syncSoon(): void {
    if (this.syncTimer || !this.db.unsynced) return;
    this.syncTimer = setTimeout(() => {
      this.syncTimer = undefined;
      if (!this.db.unsynced || this.closed) return;
      this.probeWrite(Date.now()).catch(() => this.syncSoon());
    }, SYNC_WITHIN_MS);
    this.syncTimer.unref();
  }

  private syncTimer?: NodeJS.Timeout;
  private closed = false;

  /** Whether a relaxed commit still waits for its durable one (tests). */
  get syncPending(): boolean {
    return this.db.unsynced;
  }

  /**
   * Runs fn in a transaction shared with every other fn handed in meanwhile (batchEach): concurrent
   * small writes (the outbox's texts) then wait once for the connection and commit once, instead
   * of each waiting behind a burst of decisions. Resolves after the commit.
   */
  together<T>(fn: () => Promise<T>): Promise<T> {
    // Already inside a transaction: join it (the shared one would wait behind it forever).
    if (this.db.inTransaction) return this.db.transaction(() => fn());
    return new Promise<T>((resolve, reject) => {
      this.shared.push({ fn, resolve: resolve as (v: unknown) => void, reject });
      if (!this.sharing) void this.flushShared();
    });
  }

  private readonly shared: { fn: () => Promise<unknown>; resolve: (v: unknown) => void; reject: (err: unknown) => void }[] = [];
  private sharing = false;

  private async flushShared(): Promise<void> {
    this.sharing = true;
    while (this.shared.length > 0) {
      const group = this.shared.splice(0);
      try {
        const settled = await this.batchEach(group.map((item) => item.fn));
        settled.forEach((r, i) => (r.status === 'fulfilled' ? group[i].resolve(r.value) : group[i].reject(r.reason)));
      } catch (err) {
        for (const item of group) item.reject(err);
      }
    }
    this.sharing = false;
  }

  /**
   * A real write, for health checks: a read-only file or a full disk fails here before a send
   * would fail to be recorded.
   */
  async probeWrite(now: number): Promise<void> {
    await this.db.transaction(async (s) => {
      await s.exec('CREATE TABLE IF NOT EXISTS health_probe (id INTEGER PRIMARY KEY, at INTEGER NOT NULL)');
      await s.run('INSERT OR REPLACE INTO health_probe (id, at) VALUES (1, ?)', [now]);
    });
  }

  /**
   * Records a call and, when given, its send, in one transaction. A call id seen before (the
   * same events replayed) changes nothing: `inserted` is false and no send is created.
   */
  recordCall(
    call: CallRecord,
    send?: NewSend | readonly NewSend[],
    notifications: readonly NewNotification[] = [],
    /** A missed call from a number that can be called back opens (or adds to) a callback task. */
    task?: { business: string; number: string },
  ): Promise<{ inserted: boolean; sendId?: number }> {
    return this.db.transaction(async (s) => {
      const res = await s.run(
        `INSERT OR IGNORE INTO calls (call_id, direction, business, did, number, number_raw, caller_name, outcome, decision, reason, detail, started_at, ended_at, recorded_at, midway, presentation)
         VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)`,
        [call.callId, call.direction, call.business ?? null, call.did ?? null, call.number ?? null, call.numberRaw, call.callerName,
          call.outcome, call.decision, call.reason, call.detail ?? null, call.startedAt, call.endedAt, call.recordedAt, call.midway ? 1 : 0, call.presentation ?? null],
      );
      if (res.changes === 0) return { inserted: false };
      if (call.number && call.direction === 'inbound') {
        await s.run(
          `INSERT INTO contacts (number, caller_id_name, first_seen_at, last_call_at) VALUES (?,?,?,?)
           ON CONFLICT(number) DO UPDATE SET caller_id_name = excluded.caller_id_name, last_call_at = excluded.last_call_at`,
          [call.number, call.callerName, call.recordedAt, call.endedAt],
        );
      }
      const sends = send === undefined ? [] : Array.isArray(send) ? send : [send];
      let sendId: number | undefined;
      for (const one of sends) {
        // Staff alerts are not the call's own texts: only the call's texts carry its id.
        const id = await insertSend(s, one.kind === 'staff_alert' ? null : call.callId, { kind: 'text_back', ...one }, call.recordedAt);
        sendId ??= id;
      }
      for (const n of notifications) await insertNotification(s, n, call.recordedAt);
      if (task) await openTaskIn(s, task.business, task.number, call.callId, call.recordedAt);
      return { inserted: true, sendId };
    });
  }

  /** A send not tied to a call (test texts, confirmations). */
  scheduleSend(send: NewSend, now: number): Promise<number> {
    return this.db.serial((s) => insertSend(s, null, { kind: 'manual', ...send }, now));
  }

  dueSends(now: number, limit = 50): Promise<SendRow[]> {
    return this.db.all<SendRow>(`SELECT * FROM sends WHERE state = 'scheduled' AND due_at <= ? ORDER BY due_at, id LIMIT ?`, [now, limit]);
  }

  async nextDueAt(): Promise<number | undefined> {
    const row = await this.db.get<{ t: number | null }>(`SELECT MIN(due_at) AS t FROM sends WHERE state = 'scheduled'`);
    return row?.t ?? undefined;
  }

  /** Takes a scheduled send for sending; false if someone else did or it changed meanwhile. */
  async claimSend(id: number, now: number): Promise<boolean> {
    const res = await this.db.run(
      `UPDATE sends SET state = 'sending', attempts = attempts + 1, updated_at = ? WHERE id = ? AND state = 'scheduled'`,
      [now, id],
    );
    return res.changes === 1;
  }

  /** Stores the gateway's message ids and matches any receipt that raced ahead of them. */
  markSubmitted(id: number, messageIds: readonly string[], now: number): Promise<void> {
    return this.db.transaction(async (s) => {
      await s.run(`UPDATE sends SET state = 'submitted', submitted_at = ?, updated_at = ?, error = NULL WHERE id = ?`, [now, now, id]);
      for (const [part, messageId] of messageIds.entries()) {
        await s.run(`INSERT OR REPLACE INTO send_parts (send_id, part, message_id, state, updated_at) VALUES (?,?,?,'submitted',?)`, [id, part + 1, messageId, now]);
      }
      const early = await s.all<{ message_id: string; state: ReceiptState; error: string | null; received_at: number }>(
        `SELECT message_id, state, error, received_at FROM receipts WHERE send_id IS NULL AND message_id IN (${messageIds.map(() => '?').join(',') || "''"})`,
        [...messageIds],
      );
      for (const r of early) await applyReceipt(s, r.message_id, r.state, r.error, r.received_at);
    });
  }

  /** Puts a send back in the queue (gateway down, throttled) to be tried again at `dueAt`. */
  /**
   * Puts a send back in the queue to be tried again at `dueAt`. `uncertain`: it may have reached
   * the gateway already (the link died before its answer), so it is marked interrupted, like a
   * send found on the wire after a crash: the ledger says which texts may have gone out twice.
   */
  async reschedule(id: number, dueAt: number, error: string, now: number, uncertain = false): Promise<void> {
    await this.db.run(
      `UPDATE sends SET state = 'scheduled', due_at = ?, error = ?, updated_at = ?, interrupted = interrupted + ? WHERE id = ?`,
      [dueAt, error, now, uncertain ? 1 : 0, id],
    );
  }

  /** Ends a send that will never reach the gateway (failed, cancelled, skipped). */
  async finishSend(id: number, state: 'failed' | 'cancelled' | 'skipped', reason: string, now: number, error?: string): Promise<void> {
    await this.db.run(
      `UPDATE sends SET state = ?, reason = ?, error = COALESCE(?, error), finished_at = ?, updated_at = ? WHERE id = ? AND state IN ('scheduled','sending')`,
      [state, reason, error ?? null, now, now, id],
    );
  }

  /**
   * At start-up: a send left in `sending` was perhaps on the wire when the process died. It is
   * sent again (a missed text is worse than a rare double) and marked `interrupted` so the
   * ledger says which texts may have gone out twice.
   */
  async requeueInterrupted(now: number): Promise<number> {
    const res = await this.db.run(
      `UPDATE sends SET state = 'scheduled', interrupted = interrupted + 1, updated_at = ? WHERE state = 'sending'`,
      [now],
    );
    return res.changes;
  }

  /** Cancels scheduled sends to a number (for one business, or all when undefined). */
  async cancelScheduled(number: string, business: string | undefined, reason: string, now: number): Promise<number> {
    const res = await this.db.run(
      `UPDATE sends SET state = 'cancelled', reason = ?, finished_at = ?, updated_at = ?
       WHERE state = 'scheduled' AND number = ? AND (? IS NULL OR business = ?)`,
      [reason, now, now, number, business ?? null, business ?? null],
    );
    return res.changes;
  }

  /** Records a delivery receipt; kept even when no send matches yet (it may have raced the submit_sm_resp). */
  recordReceipt(messageId: string, state: ReceiptState, error: string | null, now: number): Promise<{ sendId?: number; sendState?: SendState }> {
    return this.db.transaction(async (s) => {
      await s.run(`INSERT INTO receipts (message_id, state, error, received_at) VALUES (?,?,?,?)`, [messageId, state, error, now]);
      return applyReceipt(s, messageId, state, error, now);
    });
  }

  async isOptedOut(number: string, business: string): Promise<boolean> {
    const row = await this.db.get(`SELECT 1 FROM opt_outs WHERE number = ? AND (business = ? OR business = '*') LIMIT 1`, [number, business]);
    return row !== undefined;
  }

  async addOptOut(number: string, business: string | '*', source: string, now: number): Promise<void> {
    await this.db.run(`INSERT OR IGNORE INTO opt_outs (number, business, source, created_at) VALUES (?,?,?,?)`, [number, business, source, now]);
  }

  async removeOptOut(number: string, business: string | '*'): Promise<number> {
    return (await this.db.run(`DELETE FROM opt_outs WHERE number = ? AND business = ?`, [number, business])).changes;
  }

  /** A scheduled send to this number for this business, other than `excludeSendId`. */
  async hasScheduledSend(number: string, business: string): Promise<boolean> {
    const row = await this.db.get(`SELECT 1 FROM sends WHERE number = ? AND business = ? AND state IN ('scheduled','sending') LIMIT 1`, [number, business]);
    return row !== undefined;
  }

  /**
   * What the due-time rules (checkDue) read about a send, in one statement: it runs for every
   * text as it leaves. The caller-facing rules need the call it answers (`since` is its end).
   */
  async dueFacts(row: SendRow): Promise<DueFacts & { callEndedAt?: number }> {
    const r = await this.db.get<Record<string, number | string | null>>(
      `WITH c AS (SELECT number, ended_at FROM calls WHERE call_id = $call)
       SELECT
         (SELECT ended_at FROM c) AS call_ended,
         (SELECT 1 FROM opt_outs WHERE number = $n AND (business = $b OR business = '*') LIMIT 1) AS opted,
         (SELECT do_not_text FROM contacts WHERE number = $n) AS dnt,
         (SELECT MAX(COALESCE(submitted_at, updated_at)) FROM sends
            WHERE number = $n AND business = $b AND state IN ('sending','submitted','delivered') AND kind IN ('text_back','follow_up') AND id != $id) AS last_t,
         (SELECT 1 FROM calls, c WHERE calls.number = c.number AND calls.outcome = 'answered' AND calls.started_at >= c.ended_at
            AND (calls.direction = 'outbound' OR calls.business = $b) LIMIT 1) AS answered,
         (SELECT 1 FROM messages WHERE number = $n AND business = $b AND keyword IS NULL
            AND received_at >= COALESCE((SELECT ended_at FROM c), $created) LIMIT 1) AS replied,
         (SELECT state FROM sends WHERE call_id = $call AND kind = 'text_back') AS first_state`,
      { $call: row.call_id, $n: row.number, $b: row.business, $id: row.id, $created: row.created_at },
    );
    const toCaller = row.kind === 'text_back' || row.kind === 'follow_up';
    return {
      callEndedAt: r?.call_ended == null ? undefined : Number(r.call_ended),
      optedOut: r?.opted != null,
      doNotText: toCaller && Number(r?.dnt ?? 0) !== 0,
      lastTextAt: row.kind === 'text_back' && r?.last_t != null ? Number(r.last_t) : undefined,
      answeredSince: toCaller && r?.answered != null,
      repliedSince: row.kind === 'follow_up' && r?.replied != null,
      firstTextSent: row.kind === 'follow_up' && ['submitted', 'delivered'].includes(String(r?.first_state ?? '')),
    };
  }

  /**
   * Everything the decision needs to know about a caller, read in one statement (it runs for every
   * missed call). Counts cover texts created (scheduled or sent, not cancelled or skipped) in each
   * cap's window, only for the caps that are set; the answer is "reached or not", so a count
   * may stop at the cap.
   */
  callFacts(number: string, business: string, now: number, caps: { own: Limits; global: Limits } = { own: {}, global: {} }): Promise<CallFacts & { contactName?: string }> {
    const hour = now - 3600_000;
    const day = now - 86_400_000;
    const prefix = numberPrefix(number);
    // Automatic texts to callers count against the caps; replies to keywords and staff alerts do not.
    const counted = `state NOT IN ('cancelled','skipped') AND kind IN ('text_back','follow_up')`;
    const capped = (limit: number | undefined, where: string) =>
      limit === undefined ? 'NULL' : `(SELECT COUNT(*) FROM (SELECT 1 FROM sends WHERE ${where} AND ${counted} LIMIT ${Math.max(0, Math.floor(limit))}))`;
    // Whole minutes of the window from send_counts (kept by triggers), the minute it starts in
    // from the texts themselves: exact, and a day of texts costs at most 1,440 small rows.
    const windowed = (limit: number | undefined, scope: '$b' | "'*'", since: '$hour' | '$day') => {
      if (limit === undefined) return 'NULL';
      const minute = `${since}m`;
      const edge = `created_at >= ${since} AND created_at < (${minute} + 1) * 60000${scope === '$b' ? ' AND business = $b' : ''}`;
      return `((SELECT COALESCE(SUM(n), 0) FROM send_counts WHERE business = ${scope} AND minute > ${minute}) +
        (SELECT COUNT(*) FROM (SELECT 1 FROM sends INDEXED BY sends_created WHERE ${edge} AND ${counted} LIMIT ${Math.max(0, Math.floor(limit))})))`;
    };
    return this.db
      .get<Record<string, number | string | null>>(
        `SELECT
           (SELECT 1 FROM opt_outs WHERE number = $n AND (business = $b OR business = '*') LIMIT 1) AS opted,
           (SELECT do_not_text FROM contacts WHERE number = $n) AS dnt,
           (SELECT name FROM contacts WHERE number = $n) AS contact_name,
           (SELECT MAX(CASE WHEN state IN ('sending','submitted','delivered') THEN COALESCE(submitted_at, updated_at) END)
              FROM sends WHERE number = $n AND business = $b AND kind IN ('text_back','follow_up')) AS last_t,
           (SELECT COUNT(*) FROM sends WHERE number = $n AND business = $b AND kind IN ('text_back','follow_up') AND state IN ('scheduled','sending')) AS pending,
           (SELECT MAX(received_at) FROM messages WHERE number = $n AND keyword IS NULL AND (business = $b OR business IS NULL)) AS inbound_t,
           ${windowed(caps.own.per_hour, '$b', '$hour')} AS businessHour,
           ${windowed(caps.own.per_day, '$b', '$day')} AS businessDay,
           ${capped(caps.own.per_prefix_per_hour, 'number_prefix = $p AND created_at >= $hour AND business = $b')} AS businessPrefixHour,
           ${windowed(caps.global.per_hour, "'*'", '$hour')} AS globalHour,
           ${windowed(caps.global.per_day, "'*'", '$day')} AS globalDay,
           ${capped(caps.global.per_prefix_per_hour, 'number_prefix = $p AND created_at >= $hour')} AS globalPrefixHour`,
        { $n: number, $b: business, $p: prefix, $hour: hour, $day: day, $hourm: Math.floor(hour / 60000), $daym: Math.floor(day / 60000) },
      )
      .then((r) => {
        const n = (k: string) => Number(r?.[k] ?? 0);
        return {
          optedOut: r?.opted != null,
          doNotText: n('dnt') !== 0,
          contactName: typeof r?.contact_name === 'string' ? r.contact_name : undefined,
          lastTextAt: r?.last_t == null ? undefined : Number(r.last_t),
          pendingText: n('pending') > 0,
          lastInboundMessageAt: r?.inbound_t == null ? undefined : Number(r.inbound_t),
          counts: {
            businessHour: n('businessHour'),
            businessDay: n('businessDay'),
            businessPrefixHour: n('businessPrefixHour'),
            globalHour: n('globalHour'),
            globalDay: n('globalDay'),
            globalPrefixHour: n('globalPrefixHour'),
          },
        };
      });
  }

  getContact(number: string): Promise<ContactRow | undefined> {
    return this.db.get<ContactRow>(`SELECT * FROM contacts WHERE number = ?`, [number]);
  }

  /** Adds or updates a contact from an import or an admin; the name set here beats the caller-ID name. */
  async upsertContact(c: { number: string; name: string; tags: string[]; doNotText: boolean }, now: number): Promise<void> {
    await this.db.run(
      `INSERT INTO contacts (number, name, tags, do_not_text, first_seen_at) VALUES (?,?,?,?,?)
       ON CONFLICT(number) DO UPDATE SET name = excluded.name, tags = excluded.tags, do_not_text = excluded.do_not_text`,
      [c.number, c.name, c.tags.join(','), c.doNotText ? 1 : 0, now],
    );
  }

  /** Contacts someone named (imported or set by an admin), by name. */
  listContacts(limit = 1000): Promise<ContactRow[]> {
    return this.db.all<ContactRow>(`SELECT * FROM contacts WHERE name IS NOT NULL OR do_not_text != 0 ORDER BY name COLLATE NOCASE, number LIMIT ?`, [limit]);
  }

  /** A number's most recent calls, newest first. */
  callsForNumber(number: string, limit = 20): Promise<(CallRow & { send_state: string | null; send_reason: string | null; submitted_at: number | null })[]> {
    return this.db.all(
      `SELECT c.*, s.state AS send_state, s.reason AS send_reason, s.submitted_at AS submitted_at
       FROM calls c LEFT JOIN sends s ON s.call_id = c.call_id AND s.kind = 'text_back'
       WHERE c.number = ? OR c.number_raw = ? ORDER BY c.ended_at DESC LIMIT ?`,
      [number, number, limit],
    );
  }

  /**
   * Stores one part of a concatenated incoming text; returns the whole text once every part is
   * in (and forgets the parts), else undefined. Parts survive restarts.
   */
  storeInboundPart(from: string, to: string, part: { ref: number; total: number; seq: number }, text: string, now: number): Promise<string | undefined> {
    return this.db.transaction(async (s) => {
      await s.run(`INSERT OR IGNORE INTO inbound_parts (from_addr, to_addr, ref, total, seq, text, received_at) VALUES (?,?,?,?,?,?,?)`, [from, to, part.ref, part.total, part.seq, text, now]);
      const key = [from, to, part.ref, part.total];
      const parts = await s.all<{ text: string }>(`SELECT text FROM inbound_parts WHERE from_addr = ? AND to_addr = ? AND ref = ? AND total = ? ORDER BY seq`, key);
      if (parts.length < part.total) return undefined;
      await s.run(`DELETE FROM inbound_parts WHERE from_addr = ? AND to_addr = ? AND ref = ? AND total = ?`, key);
      return parts.map((p) => p.text).join('');
    });
  }

  /** Applies an incoming text and everything it causes, atomically; returns the message id. */
  applyInbound(e: InboundEffects): Promise<number> {
    return this.db.transaction(async (s) => {
      const m = e.message;
      const res = await s.run(`INSERT INTO messages (business, number, to_addr, body, keyword, received_at) VALUES (?,?,?,?,?,?)`, [m.business, m.number, m.to, m.body, m.keyword, m.receivedAt]);
      if (e.optOut) await s.run(`INSERT OR IGNORE INTO opt_outs (number, business, source, created_at) VALUES (?,?,?,?)`, [m.number, e.optOut.scope, 'sms', m.receivedAt]);
      if (e.optIn) {
        await s.run(e.optIn.scope === '*' ? `DELETE FROM opt_outs WHERE number = ?` : `DELETE FROM opt_outs WHERE number = ? AND business IN (?, '*')`, e.optIn.scope === '*' ? [m.number] : [m.number, e.optIn.scope]);
      }
      if (e.cancelScheduled) {
        const all = e.cancelScheduled.scope === '*';
        await s.run(
          `UPDATE sends SET state = 'cancelled', reason = ?, finished_at = ?, updated_at = ?
           WHERE state = 'scheduled' AND number = ? AND kind IN ('text_back','follow_up') ${all ? '' : 'AND business = ?'}`,
          all ? [e.cancelScheduled.reason, m.receivedAt, m.receivedAt, m.number] : [e.cancelScheduled.reason, m.receivedAt, m.receivedAt, m.number, e.cancelScheduled.scope],
        );
      }
      for (const send of e.sends) await insertSend(s, null, send, m.receivedAt);
      for (const n of e.notifications) await insertNotification(s, n, m.receivedAt);
      return res.lastID;
    });
  }

  /** Of these businesses, the one that most recently texted this number. */
  async lastBusinessTexting(number: string, businesses: readonly string[]): Promise<string | undefined> {
    if (businesses.length === 0) return undefined;
    const row = await this.db.get<{ business: string }>(
      `SELECT business FROM sends WHERE number = ? AND state IN ('sending','submitted','delivered') AND business IN (${businesses.map(() => '?').join(',')})
       ORDER BY COALESCE(submitted_at, updated_at) DESC LIMIT 1`,
      [number, ...businesses],
    );
    return row?.business;
  }

  listMessages(number: string, limit = 20): Promise<{ id: number; business: string | null; body: string; keyword: string | null; received_at: number }[]> {
    return this.db.all(`SELECT id, business, body, keyword, received_at FROM messages WHERE number = ? ORDER BY received_at DESC, id DESC LIMIT ?`, [number, limit]);
  }

  listOptOuts(): Promise<{ number: string; business: string; source: string; created_at: number }[]> {
    return this.db.all(`SELECT number, business, source, created_at FROM opt_outs ORDER BY created_at DESC, number`);
  }

  /** A missed call opens a callback task, or adds to the open one for this business and number. */
  openTask(business: string, number: string, callId: string, now: number): Promise<number> {
    return this.db.transaction((s) => openTaskIn(s, business, number, callId, now));
  }

  /** Closes the open tasks for a number (one business, or all when undefined). */
  async closeTasksFor(number: string, business: string | undefined, reason: string, now: number): Promise<number> {
    const res = await this.db.run(
      `UPDATE tasks SET closed_at = ?, closed_reason = ? WHERE number = ? AND closed_at IS NULL AND (? IS NULL OR business = ?)`,
      [now, reason, number, business ?? null, business ?? null],
    );
    return res.changes;
  }

  async closeTask(id: number, reason: string, now: number): Promise<boolean> {
    return (await this.db.run(`UPDATE tasks SET closed_at = ?, closed_reason = ? WHERE id = ? AND closed_at IS NULL`, [now, reason, id])).changes === 1;
  }

  /** Open tasks, oldest first, with the contact's name and last message. */
  listOpenTasks(): Promise<TaskRow[]> {
    return this.db.all<TaskRow>(
      `SELECT t.*, COALESCE(c.name, c.caller_id_name) AS name,
              (SELECT body FROM messages m WHERE m.number = t.number ORDER BY received_at DESC, id DESC LIMIT 1) AS last_message
       FROM tasks t LEFT JOIN contacts c ON c.number = t.number
       WHERE t.closed_at IS NULL ORDER BY t.opened_at, t.id`,
    );
  }

  getTask(id: number): Promise<TaskRow | undefined> {
    return this.db.get<TaskRow>(`SELECT t.*, NULL AS name, NULL AS last_message FROM tasks t WHERE id = ?`, [id]);
  }

  async enqueueNotifications(list: readonly NewNotification[], now: number): Promise<void> {
    if (list.length === 0) return;
    await this.db.transaction(async (s) => {
      for (const n of list) await insertNotification(s, n, now);
    });
  }

  dueNotifications(now: number, limit = 20): Promise<NotificationRow[]> {
    return this.db.all<NotificationRow>(`SELECT * FROM notifications WHERE state = 'pending' AND next_attempt_at <= ? ORDER BY next_attempt_at, id LIMIT ?`, [now, limit]);
  }

  async markNotification(id: number, outcome: { state: 'delivered' } | { state: 'pending'; nextAttemptAt: number; error: string } | { state: 'failed'; error: string }, now: number): Promise<void> {
    if (outcome.state === 'delivered') await this.db.run(`UPDATE notifications SET state = 'delivered', attempts = attempts + 1, delivered_at = ?, last_error = NULL WHERE id = ?`, [now, id]);
    else if (outcome.state === 'pending') await this.db.run(`UPDATE notifications SET attempts = attempts + 1, next_attempt_at = ?, last_error = ? WHERE id = ?`, [outcome.nextAttemptAt, outcome.error, id]);
    else await this.db.run(`UPDATE notifications SET state = 'failed', attempts = attempts + 1, last_error = ? WHERE id = ?`, [outcome.error, id]);
  }

  getNotification(eventId: string): Promise<NotificationRow | undefined> {
    return this.db.get<NotificationRow>(`SELECT * FROM notifications WHERE event_id = ?`, [eventId]);
  }

  getCall(callId: string): Promise<CallRow | undefined> {
    return this.db.get<CallRow>(`SELECT * FROM calls WHERE call_id = ?`, [callId]);
  }

  getSend(id: number): Promise<SendRow | undefined> {
    return this.db.get<SendRow>(`SELECT * FROM sends WHERE id = ?`, [id]);
  }

  listCalls(limit = 100): Promise<CallRow[]> {
    return this.db.all<CallRow>(`SELECT * FROM calls ORDER BY ended_at DESC, call_id DESC LIMIT ?`, [limit]);
  }

  listSends(limit = 100): Promise<SendRow[]> {
    return this.db.all<SendRow>(`SELECT * FROM sends ORDER BY id DESC LIMIT ?`, [limit]);
  }

  messageIdsOf(sendId: number): Promise<string[]> {
    return this.db
      .all<{ message_id: string }>(`SELECT message_id FROM send_parts WHERE send_id = ? ORDER BY part`, [sendId])
      .then((rows) => rows.map((r) => r.message_id));
  }

  /** Sends that are still waiting to go out or to be confirmed. */
  async countOpenSends(): Promise<number> {
    const row = await this.db.get<{ n: number }>(`SELECT COUNT(*) AS n FROM sends WHERE state IN ('scheduled','sending')`);
    return row?.n ?? 0;
  }

  // ---- operator tools (mctb report, calls, sends, forget, ledger backup|prune) ----

  /**
   * Figures for `mctb report`: inbound calls that ended in [since, until], the text-backs created
   * in it, replies, opt-outs and the median time from hangup to text. A few indexed range scans
   * with SQL aggregates (migration 4 adds covering indexes), so it stays fast on a big ledger.
   */
  async report(since: number, until: number, business?: string): Promise<LedgerReport> {
    const p = { $since: since, $until: until, $b: business ?? null };
    const list = (xs: readonly string[]) => xs.map((x) => `'${x}'`).join(',');
    // Two connections share the work (sqlite3 runs each on a thread of its own): calls, contacts
    // and replies on a second, read-only one; the texts and their delays on this one.
    const side = this.path === ':memory:' ? undefined : await SqliteFile.open(this.path, sqlite3.OPEN_READONLY).catch(() => undefined);
    const sideWork = (side ?? this.db)
      .serial(async (s) => {
        if (side) await s.run('PRAGMA busy_timeout = 5000');
        // Every known (outcome, decision, reason) is an equality prefix of calls_group: a seek and
        // a range on ended_at each, read in group order, so a million rows are never sorted.
        const calls = await s.all<{ outcome: string; decision: string; reason: string; n: number }>(
          `SELECT outcome, decision, reason, COUNT(*) AS n FROM calls INDEXED BY calls_group
           WHERE direction = 'inbound' AND outcome IN (${list(CALL_OUTCOMES)}) AND decision IN ('text','no_text') AND reason IN (${list(CALL_REASONS)})
             AND ended_at >= $since AND ended_at <= $until AND ($b IS NULL OR business = $b)
           GROUP BY outcome, decision, reason`,
          p,
        );
        const total = await s.get<{ n: number }>(
          `SELECT COUNT(*) AS n FROM calls INDEXED BY calls_window WHERE ended_at >= $since AND ended_at <= $until AND direction = 'inbound' AND ($b IS NULL OR business = $b)`,
          p,
        );
        if ((total?.n ?? 0) !== calls.reduce((sum, r) => sum + r.n, 0)) {
          // Values this version does not know (an older or newer mctb wrote them): counted the slow way.
          calls.push(
            ...(await s.all<{ outcome: string; decision: string; reason: string; n: number }>(
              `SELECT outcome, decision, reason, COUNT(*) AS n FROM calls INDEXED BY calls_window
               WHERE ended_at >= $since AND ended_at <= $until AND direction = 'inbound' AND ($b IS NULL OR business = $b)
                 AND (outcome NOT IN (${list(CALL_OUTCOMES)}) OR decision NOT IN ('text','no_text') OR reason NOT IN (${list(CALL_REASONS)}))
               GROUP BY outcome, decision, reason`,
              p,
            )),
          );
        }
        const texted = await s.get<{ n: number }>(
          `SELECT COUNT(DISTINCT number) AS n FROM sends INDEXED BY sends_report
           WHERE kind = 'text_back' AND state IN (${list(SEND_STATES)}) AND created_at >= $since AND created_at <= $until
             AND ($b IS NULL OR business = $b) AND submitted_at IS NOT NULL`,
          p,
        );
        const replies = await s.get<{ replies: number; repliers: number }>(
          `SELECT COUNT(*) AS replies, COUNT(DISTINCT m.number) AS repliers FROM messages m INDEXED BY messages_received
           WHERE m.keyword IS NULL AND m.received_at >= $since AND m.received_at <= $until
             AND EXISTS (SELECT 1 FROM sends s INDEXED BY sends_reply WHERE s.number = m.number AND s.kind = 'text_back'
                           AND s.submitted_at <= m.received_at AND s.created_at >= $since AND s.created_at <= $until
                           AND (m.business IS NULL OR s.business = m.business) AND ($b IS NULL OR s.business = $b))`,
          p,
        );
        const optOuts = await s.get<{ n: number }>(
          `SELECT COUNT(*) AS n FROM opt_outs WHERE created_at >= $since AND created_at <= $until AND ($b IS NULL OR business IN ($b, '*'))`,
          p,
        );
        return { calls, texted: texted?.n ?? 0, replies: replies?.replies ?? 0, repliers: replies?.repliers ?? 0, optOuts: optOuts?.n ?? 0 };
      })
      .finally(() => side?.close());
    const mainWork = this.db.serial(async (s) => {
      const texts = await s.all<{ state: SendState; n: number }>(
        `SELECT state, COUNT(*) AS n FROM sends INDEXED BY sends_report
         WHERE kind = 'text_back' AND state IN (${list(SEND_STATES)}) AND created_at >= $since AND created_at <= $until AND ($b IS NULL OR business = $b)
         GROUP BY state`,
        p,
      );
      // Every hangup-to-submit delay (ms) in one pass; the median is picked from them below.
      const delays = await s.get<{ delays: string | null }>(
        `SELECT group_concat(s.submitted_at - c.ended_at) AS delays
         FROM sends s INDEXED BY sends_report JOIN calls c INDEXED BY calls_id_ended ON c.call_id = s.call_id
         WHERE s.kind = 'text_back' AND s.state IN (${list(SEND_STATES)}) AND s.created_at >= $since AND s.created_at <= $until
           AND ($b IS NULL OR s.business = $b) AND s.submitted_at IS NOT NULL`,
        p,
      );
      return { texts, median: median(delays?.delays ?? null) };
    });
    const [a, b] = await Promise.all([sideWork, mainWork]);
    return {
      calls: a.calls,
      texts: b.texts,
      contactsTexted: a.texted,
      replies: a.replies,
      contactsReplied: a.repliers,
      optOuts: a.optOuts,
      medianMsToText: b.median,
    };
  }

  /** Recent calls, newest first, each with its text-back's id and state (`mctb calls`). */
  findCalls(f: { number?: string; numberRaw?: string; business?: string; limit: number }): Promise<CallListRow[]> {
    const where: string[] = [];
    const params: unknown[] = [];
    if (f.number !== undefined) {
      where.push('c.number = ?');
      params.push(f.number);
    } else if (f.numberRaw !== undefined) {
      where.push('(c.number = ? OR c.number_raw = ?)');
      params.push(f.numberRaw, f.numberRaw);
    }
    if (f.business !== undefined) {
      where.push('c.business = ?');
      params.push(f.business);
    }
    return this.db.all<CallListRow>(
      `SELECT c.*, s.id AS text_id, s.state AS text_state, s.reason AS text_reason FROM calls c
       LEFT JOIN sends s ON s.call_id = c.call_id AND s.kind = 'text_back'
       ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY c.ended_at DESC, c.call_id DESC LIMIT ?`,
      [...params, f.limit],
    );
  }

  /** Recent sends, newest first, with their gateway message ids (`mctb sends`). */
  findSends(f: { number?: string; business?: string; state?: SendState; limit: number }): Promise<(SendRow & { message_ids: string | null })[]> {
    const where: string[] = [];
    const params: unknown[] = [];
    for (const [column, value] of [['number', f.number], ['business', f.business], ['state', f.state]] as const) {
      if (value === undefined) continue;
      where.push(`s.${column} = ?`);
      params.push(value);
    }
    return this.db.all(
      `SELECT s.*, (SELECT group_concat(message_id, ',') FROM (SELECT message_id FROM send_parts p WHERE p.send_id = s.id ORDER BY part)) AS message_ids
       FROM sends s ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY s.id DESC LIMIT ?`,
      [...params, f.limit],
    );
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
      const notifications = (await s.run(`DELETE FROM notifications WHERE instr(body, ?) > 0`, [number])).changes;
      const calls = (
        await s.run(`UPDATE calls SET number = ?, number_raw = '', caller_name = '', detail = replace(detail, ?, ?) WHERE number = ?`, [hash, number, hash, number])
      ).changes;
      const sends = (await s.run(`UPDATE sends SET number = ?, number_prefix = ?, body = '', updated_at = ? WHERE number = ?`, [hash, hash, now, number])).changes;
      const alerts = (await s.run(`UPDATE sends SET body = '', updated_at = ? WHERE instr(body, ?) > 0`, [now, number])).changes;
      const kept = await s.get<{ n: number }>(`SELECT COUNT(*) AS n FROM opt_outs WHERE number = ?`, [number]);
      return { contacts, messages, inboundParts, tasks, notifications, calls, sends, staffAlertsBlanked: alerts, cancelled, optOutAdded, optOutsKept: kept?.n ?? 0 };
    });
  }

  /**
   * A consistent copy of the ledger in `dest` (which must not exist), taken with `VACUUM INTO`
   * on a connection of its own: safe while the daemon writes (WAL readers do not block writers).
   */
  async backupTo(dest: string): Promise<void> {
    const conn = await SqliteFile.open(this.path, sqlite3.OPEN_READONLY);
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
    const result: PruneResult = { sends: 0, send_parts: 0, receipts: 0, calls: 0, messages: 0, tasks: 0, notifications: 0, inbound_parts: 0 };
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

async function insertSend(s: Statements, callId: string | null, send: NewSend, now: number): Promise<number> {
  const res = await s.run(
    `INSERT INTO sends (call_id, business, number, number_prefix, source_addr, body, kind, state, due_at, created_at, updated_at)
     VALUES (?,?,?,?,?,?,?,'scheduled',?,?,?)`,
    [callId, send.business, send.number, numberPrefix(send.number), send.sourceAddr, send.body, send.kind ?? 'manual', send.dueAt, now, now],
  );
  return res.lastID;
}

async function openTaskIn(s: Statements, business: string, number: string, callId: string, now: number): Promise<number> {
  const open = await s.get<{ id: number }>(`SELECT id FROM tasks WHERE business = ? AND number = ? AND closed_at IS NULL`, [business, number]);
  if (open) {
    await s.run(`UPDATE tasks SET calls = calls + 1, last_call_at = ?, call_id = ? WHERE id = ?`, [now, callId, open.id]);
    return open.id;
  }
  return (await s.run(`INSERT INTO tasks (business, number, call_id, opened_at, last_call_at) VALUES (?,?,?,?,?)`, [business, number, callId, now, now])).lastID;
}

async function insertNotification(s: Statements, n: NewNotification, now: number): Promise<void> {
  await s.run(
    `INSERT OR IGNORE INTO notifications (event_id, business, type, body, state, next_attempt_at, created_at) VALUES (?,?,?,?,'pending',?,?)`,
    [n.eventId, n.business, n.type, n.body, now, now],
  );
}

const RECEIPT_FAILURES = new Set<ReceiptState>(['undeliverable', 'expired', 'rejected', 'deleted']);

/** Moves a part and its send by a receipt. Parts all delivered → delivered; any part failed → failed. */
async function applyReceipt(s: Statements, messageId: string, state: ReceiptState, error: string | null, now: number): Promise<{ sendId?: number; sendState?: SendState }> {
  const part = await s.get<{ send_id: number }>(`SELECT send_id FROM send_parts WHERE message_id = ?`, [messageId]);
  if (!part) return {};
  await s.run(`UPDATE send_parts SET state = ?, error = ?, updated_at = ? WHERE message_id = ?`, [state, error, now, messageId]);
  await s.run(`UPDATE receipts SET send_id = ? WHERE message_id = ? AND send_id IS NULL`, [part.send_id, messageId]);
  const parts = await s.all<{ state: string }>(`SELECT state FROM send_parts WHERE send_id = ?`, [part.send_id]);
  let sendState: SendState | undefined;
  if (parts.some((p) => RECEIPT_FAILURES.has(p.state as ReceiptState))) sendState = 'failed';
  else if (parts.every((p) => p.state === 'delivered')) sendState = 'delivered';
  if (sendState) {
    await s.run(
      `UPDATE sends SET state = ?, reason = ?, error = COALESCE(?, error), finished_at = ?, updated_at = ? WHERE id = ? AND state IN ('submitted','delivered','failed')`,
      [sendState, sendState === 'failed' ? `receipt_${state}` : null, error, now, now, part.send_id],
    );
  }
  return { sendId: part.send_id, sendState };
}

// ---- operator tools: shapes ----

/** Every state a send can be in (the SendState type, as a list). */
export const SEND_STATES: readonly SendState[] = ['scheduled', 'sending', 'submitted', 'delivered', 'failed', 'cancelled', 'skipped'];
/** Every call outcome (CallOutcome in src/calls/types.ts, as a list). */
export const CALL_OUTCOMES: readonly string[] = ['answered', ...MISSED_OUTCOMES, 'unknown_end'];

/** Every table of the ledger. */
export const LEDGER_TABLES = ['calls', 'contacts', 'sends', 'send_parts', 'receipts', 'opt_outs', 'messages', 'inbound_parts', 'tasks', 'notifications'] as const;

export interface LedgerReport {
  /** Inbound calls in the window, counted by outcome, decision and reason. */
  calls: { outcome: string; decision: string; reason: string; n: number }[];
  /** Text-backs created in the window, counted by state. */
  texts: { state: SendState; n: number }[];
  /** Distinct numbers a text-back created in the window went out to (submitted). */
  contactsTexted: number;
  /** Texts (not keywords) received in the window after a text-back from the same business. */
  replies: number;
  contactsReplied: number;
  optOuts: number;
  /** Median of text submitted − caller's hangup, over text-backs created in the window. */
  medianMsToText: number | null;
}

export type CallListRow = CallRow & { text_id: number | null; text_state: SendState | null; text_reason: string | null };

export interface ForgetResult {
  contacts: number;
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
}

/** The median of the integers in a comma-separated list (as group_concat gives it); null when empty. */
export function median(list: string | null): number | null {
  if (!list) return null;
  // Parsed by hand and picked with quickselect: a million values take milliseconds.
  let count = 1;
  for (let i = 0; i < list.length; i++) if (list.charCodeAt(i) === 44) count++;
  const values = new Float64Array(count);
  let n = 0;
  let value = 0;
  let negative = false;
  for (let i = 0; i <= list.length; i++) {
    const c = i < list.length ? list.charCodeAt(i) : 44;
    if (c === 44) {
      values[n++] = negative ? -value : value;
      value = 0;
      negative = false;
    } else if (c === 45) negative = true;
    else if (c >= 48 && c <= 57) value = value * 10 + (c - 48);
  }
  const mid = n >> 1;
  const upper = select(values, mid);
  if (n % 2 === 1) return upper;
  // The lower middle is the largest value left of the upper one after the partition.
  let lower = -Infinity;
  for (let i = 0; i < mid; i++) if (values[i] > lower) lower = values[i];
  return (lower + upper) / 2;
}

/** The k-th smallest value (0-based), partially ordering `a` in place (Hoare's quickselect). */
function select(a: Float64Array, k: number): number {
  let left = 0;
  let right = a.length - 1;
  while (left < right) {
    const pivot = a[(left + right) >> 1];
    let i = left;
    let j = right;
    while (i <= j) {
      while (a[i] < pivot) i++;
      while (a[j] > pivot) j--;
      if (i <= j) {
        const t = a[i];
        a[i] = a[j];
        a[j] = t;
        i++;
        j--;
      }
    }
    if (k <= j) right = j;
    else if (k >= i) left = i;
    else return a[k];
  }
  return a[k];
}
