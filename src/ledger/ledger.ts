// The ledger: every call, contact, send, delivery receipt and opt-out, in one SQLite file.
// It is the outbox too: a send exists here before it exists anywhere else, so nothing is lost
// across restarts and nothing is sent twice.

import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { SqliteFile, type Statements } from './sqlite';
import { MIGRATIONS } from './migrations';
import { numberPrefix } from '../numbers/phone';
import type { CallFacts } from '../policy/decide';

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

export class Ledger {
  private constructor(readonly path: string, private readonly db: SqliteFile) {}

  static async open(path: string): Promise<Ledger> {
    if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
    const db = await SqliteFile.open(path);
    const ledger = new Ledger(path, db);
    await db.serial(async (s) => {
      await s.exec('PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 5000;');
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

  async schemaVersion(): Promise<number> {
    return (await this.db.get<{ user_version: number }>('PRAGMA user_version'))?.user_version ?? 0;
  }

  close(): Promise<void> {
    return this.db.close();
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
  recordCall(call: CallRecord, send?: NewSend | readonly NewSend[], notifications: readonly NewNotification[] = []): Promise<{ inserted: boolean; sendId?: number }> {
    return this.db.transaction(async (s) => {
      const res = await s.run(
        `INSERT OR IGNORE INTO calls (call_id, direction, business, did, number, number_raw, caller_name, outcome, decision, reason, detail, started_at, ended_at, recorded_at)
         VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)`,
        [call.callId, call.direction, call.business ?? null, call.did ?? null, call.number ?? null, call.numberRaw, call.callerName,
          call.outcome, call.decision, call.reason, call.detail ?? null, call.startedAt, call.endedAt, call.recordedAt],
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
  async reschedule(id: number, dueAt: number, error: string, now: number): Promise<void> {
    await this.db.run(`UPDATE sends SET state = 'scheduled', due_at = ?, error = ?, updated_at = ? WHERE id = ?`, [dueAt, error, now, id]);
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

  /** When this number was last texted (or is being texted) for this business. */
  async lastTextAt(number: string, business: string, excludeSendId?: number): Promise<number | undefined> {
    const row = await this.db.get<{ t: number | null }>(
      `SELECT MAX(COALESCE(submitted_at, updated_at)) AS t FROM sends
       WHERE number = ? AND business = ? AND state IN ('sending','submitted','delivered') AND kind IN ('text_back','follow_up') AND id != ?`,
      [number, business, excludeSendId ?? -1],
    );
    return row?.t ?? undefined;
  }

  /** A scheduled send to this number for this business, other than `excludeSendId`. */
  async hasScheduledSend(number: string, business: string): Promise<boolean> {
    const row = await this.db.get(`SELECT 1 FROM sends WHERE number = ? AND business = ? AND state IN ('scheduled','sending') LIMIT 1`, [number, business]);
    return row !== undefined;
  }

  /** Was this number answered by a person (inbound to this business, or any outbound call) after `since`? */
  async answeredSince(number: string, business: string, since: number): Promise<boolean> {
    const row = await this.db.get(
      `SELECT 1 FROM calls WHERE number = ? AND outcome = 'answered' AND started_at >= ?
       AND (direction = 'outbound' OR business = ?) LIMIT 1`,
      [number, since, business],
    );
    return row !== undefined;
  }

  /**
   * Everything the decision needs to know about a caller, read in one go. Counts cover texts
   * created (scheduled or sent, not cancelled or skipped) in each cap's window.
   */
  callFacts(number: string, business: string, now: number): Promise<CallFacts> {
    return this.db.serial(async (s) => {
      const hour = now - 3600_000;
      const day = now - 86_400_000;
      const prefix = numberPrefix(number);
      const optOut = await s.get(`SELECT 1 FROM opt_outs WHERE number = ? AND (business = ? OR business = '*') LIMIT 1`, [number, business]);
      const contact = await s.get<{ do_not_text: number }>(`SELECT do_not_text FROM contacts WHERE number = ?`, [number]);
      const last = await s.get<{ t: number | null; pending: number }>(
        `SELECT MAX(CASE WHEN state IN ('sending','submitted','delivered') THEN COALESCE(submitted_at, updated_at) END) AS t,
                SUM(state IN ('scheduled','sending')) AS pending
         FROM sends WHERE number = ? AND business = ? AND kind IN ('text_back','follow_up')`,
        [number, business],
      );
      const inbound = await s.get<{ t: number | null }>(`SELECT MAX(received_at) AS t FROM messages WHERE number = ? AND keyword IS NULL AND (business = ? OR business IS NULL)`, [number, business]);
      // Automatic texts to callers count against the caps; replies to keywords and staff alerts do not.
      const counted = `state NOT IN ('cancelled','skipped') AND kind IN ('text_back','follow_up')`;
      const c = await s.get<Record<string, number>>(
        `SELECT
           SUM(business = ? AND created_at >= ?) AS businessHour,
           SUM(business = ?) AS businessDay,
           SUM(business = ? AND number_prefix = ? AND created_at >= ?) AS businessPrefixHour,
           SUM(created_at >= ?) AS globalHour,
           COUNT(*) AS globalDay,
           SUM(number_prefix = ? AND created_at >= ?) AS globalPrefixHour
         FROM sends WHERE created_at >= ? AND ${counted}`,
        [business, hour, business, business, prefix, hour, hour, prefix, hour, day],
      );
      return {
        optedOut: optOut !== undefined,
        doNotText: (contact?.do_not_text ?? 0) !== 0,
        lastTextAt: last?.t ?? undefined,
        pendingText: (last?.pending ?? 0) > 0,
        lastInboundMessageAt: inbound?.t ?? undefined,
        counts: {
          businessHour: c?.businessHour ?? 0,
          businessDay: c?.businessDay ?? 0,
          businessPrefixHour: c?.businessPrefixHour ?? 0,
          globalHour: c?.globalHour ?? 0,
          globalDay: c?.globalDay ?? 0,
          globalPrefixHour: c?.globalPrefixHour ?? 0,
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

  /** Did the contact write to this business (not a keyword) at or after `since`? */
  async repliedSince(number: string, business: string, since: number): Promise<boolean> {
    const row = await this.db.get(`SELECT 1 FROM messages WHERE number = ? AND business = ? AND keyword IS NULL AND received_at >= ? LIMIT 1`, [number, business, since]);
    return row !== undefined;
  }

  /** State of a call's first text (text_back), for its follow-up. */
  async textBackOf(callId: string): Promise<SendRow | undefined> {
    return this.db.get<SendRow>(`SELECT * FROM sends WHERE call_id = ? AND kind = 'text_back'`, [callId]);
  }

  listMessages(number: string, limit = 20): Promise<{ id: number; business: string | null; body: string; keyword: string | null; received_at: number }[]> {
    return this.db.all(`SELECT id, business, body, keyword, received_at FROM messages WHERE number = ? ORDER BY received_at DESC, id DESC LIMIT ?`, [number, limit]);
  }

  listOptOuts(): Promise<{ number: string; business: string; source: string; created_at: number }[]> {
    return this.db.all(`SELECT number, business, source, created_at FROM opt_outs ORDER BY created_at DESC, number`);
  }

  /** A missed call opens a callback task, or adds to the open one for this business and number. */
  async openTask(business: string, number: string, callId: string, now: number): Promise<number> {
    return this.db.transaction(async (s) => {
      const open = await s.get<{ id: number }>(`SELECT id FROM tasks WHERE business = ? AND number = ? AND closed_at IS NULL`, [business, number]);
      if (open) {
        await s.run(`UPDATE tasks SET calls = calls + 1, last_call_at = ?, call_id = ? WHERE id = ?`, [now, callId, open.id]);
        return open.id;
      }
      return (await s.run(`INSERT INTO tasks (business, number, call_id, opened_at, last_call_at) VALUES (?,?,?,?,?)`, [business, number, callId, now, now])).lastID;
    });
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
}

async function insertSend(s: Statements, callId: string | null, send: NewSend, now: number): Promise<number> {
  const res = await s.run(
    `INSERT INTO sends (call_id, business, number, number_prefix, source_addr, body, kind, state, due_at, created_at, updated_at)
     VALUES (?,?,?,?,?,?,?,'scheduled',?,?,?)`,
    [callId, send.business, send.number, numberPrefix(send.number), send.sourceAddr, send.body, send.kind ?? 'manual', send.dueAt, now, now],
  );
  return res.lastID;
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
