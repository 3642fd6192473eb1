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
   * Records a call and, when given, its send, in one transaction. A call id seen before (the
   * same events replayed) changes nothing: `inserted` is false and no send is created.
   */
  recordCall(call: CallRecord, send?: NewSend): Promise<{ inserted: boolean; sendId?: number }> {
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
      if (!send) return { inserted: true };
      const ins = await s.run(
        `INSERT INTO sends (call_id, business, number, number_prefix, source_addr, body, kind, state, due_at, created_at, updated_at)
         VALUES (?,?,?,?,?,?,?,'scheduled',?,?,?)`,
        [call.callId, send.business, send.number, numberPrefix(send.number), send.sourceAddr, send.body, send.kind ?? 'text_back', send.dueAt, call.recordedAt, call.recordedAt],
      );
      return { inserted: true, sendId: ins.lastID };
    });
  }

  /** A send not tied to a call (test texts, confirmations). */
  async scheduleSend(send: NewSend, now: number): Promise<number> {
    const res = await this.db.run(
      `INSERT INTO sends (call_id, business, number, number_prefix, source_addr, body, kind, state, due_at, created_at, updated_at)
       VALUES (NULL,?,?,?,?,?,?,'scheduled',?,?,?)`,
      [send.business, send.number, numberPrefix(send.number), send.sourceAddr, send.body, send.kind ?? 'manual', send.dueAt, now, now],
    );
    return res.lastID;
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
       WHERE number = ? AND business = ? AND state IN ('sending','submitted','delivered') AND id != ?`,
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
         FROM sends WHERE number = ? AND business = ?`,
        [number, business],
      );
      const inbound = await s.get<{ t: number | null }>(`SELECT MAX(received_at) AS t FROM messages WHERE number = ? AND keyword IS NULL AND (business = ? OR business IS NULL)`, [number, business]);
      const counted = `state NOT IN ('cancelled','skipped') AND kind != 'manual'`;
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
