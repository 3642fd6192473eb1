// The outbox: texts to send, in the ledger before they exist anywhere else, so nothing is lost
// across restarts and nothing is sent twice. A row moves scheduled → sending → submitted before
// and after the wire, then delivered or failed by its receipts; or ends without reaching the
// gateway (failed, cancelled, skipped). The outbox worker (src/sms/outbox.ts) reads and moves it.

import type { DueFacts } from '../policy/decide';
import { THREAD_MARK } from '../notify/events';
import { numberPrefix } from '../numbers/phone';
import type { NewSend, SendRow } from '../records/rows';
import { RECEIPT_FAILURES, type ReceiptState, type SendState, type UnsentState } from '../records/states';
import type { LedgerDb, Statements } from './db';

/** A send of this daemon's site (two `?`: the site, twice), or of none (written before sites, or by a daemon without one). */
const OWN_SITE = '(site IS NULL OR site = CAST(? AS TEXT) OR CAST(? AS TEXT) IS NULL)';

export class Sends {
  constructor(private readonly db: LedgerDb) {}

  /** A send not tied to a call (test texts, confirmations). */
  schedule(send: NewSend, now: number): Promise<number> {
    return this.db.serial((s) => insertSend(s, null, { kind: 'manual', ...send }, now, send.site ?? this.db.site));
  }

  /**
   * Texts due by `now`, oldest first: this daemon's own (its site's), and those written before
   * sites existed. Daemons sharing a PostgreSQL ledger each send their own site's texts.
   */
  due(now: number, limit = 50): Promise<SendRow[]> {
    return this.db.all<SendRow>(`SELECT * FROM sends WHERE state = 'scheduled' AND due_at <= ? AND ${OWN_SITE} ORDER BY due_at, id LIMIT ?`, [now, this.db.site, this.db.site, limit]);
  }

  async nextDueAt(): Promise<number | undefined> {
    const row = await this.db.get<{ t: number | null }>(`SELECT MIN(due_at) AS t FROM sends WHERE state = 'scheduled' AND ${OWN_SITE}`, [this.db.site, this.db.site]);
    return row?.t ?? undefined;
  }

  /** Takes a scheduled send for sending; false if someone else did or it changed meanwhile. */
  async claim(id: number, now: number): Promise<boolean> {
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
        // A part sent again (a retry) gets its new id. An id another text already has (two
        // gateways that number ids alike, sharing a ledger) is not stored for this one: its
        // receipts then match nothing, but the text stays submitted, never sent twice.
        await s.run(`DELETE FROM send_parts WHERE send_id = ? AND part = ?`, [id, part + 1]);
        await s.run(`INSERT OR IGNORE INTO send_parts (send_id, part, message_id, state, updated_at) VALUES (?,?,?,'submitted',?)`, [id, part + 1, messageId, now]);
      }
      const early = await s.all<{ message_id: string; state: ReceiptState; error: string | null; received_at: number }>(
        `SELECT message_id, state, error, received_at FROM receipts WHERE send_id IS NULL AND message_id IN (${messageIds.map(() => '?').join(',') || "''"})`,
        [...messageIds],
      );
      for (const r of early) await applyReceipt(s, r.message_id, r.state, r.error, r.received_at);
    });
  }

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
  async finish(id: number, state: UnsentState, reason: string, now: number, error?: string): Promise<void> {
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
      `UPDATE sends SET state = 'scheduled', interrupted = interrupted + 1, updated_at = ? WHERE state = 'sending' AND ${OWN_SITE}`,
      [now, this.db.site, this.db.site],
    );
    return res.changes;
  }

  /** Cancels scheduled sends to a number (for one business, or all when undefined). */
  async cancelScheduled(number: string, business: string | undefined, reason: string, now: number): Promise<number> {
    const res = await this.db.run(
      `UPDATE sends SET state = 'cancelled', reason = ?, finished_at = ?, updated_at = ?
       WHERE state = 'scheduled' AND number = ? AND (CAST(? AS TEXT) IS NULL OR business = ?)`,
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

  /** A scheduled send to this number for this business, other than `excludeSendId`. */
  async hasScheduled(number: string, business: string): Promise<boolean> {
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
    // do_not_text guards every text to a contact; staff alerts and keyword replies answer a person who asked.
    const toContact = toCaller || row.kind === 'relay' || row.kind === 'console';
    return {
      callEndedAt: r?.call_ended == null ? undefined : Number(r.call_ended),
      optedOut: r?.opted != null,
      doNotText: toContact && Number(r?.dnt ?? 0) !== 0,
      lastTextAt: row.kind === 'text_back' && r?.last_t != null ? Number(r.last_t) : undefined,
      answeredSince: toCaller && r?.answered != null,
      repliedSince: row.kind === 'follow_up' && r?.replied != null,
      firstTextSent: row.kind === 'follow_up' && ['submitted', 'delivered'].includes(String(r?.first_state ?? '')),
    };
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

  get(id: number): Promise<SendRow | undefined> {
    return this.db.get<SendRow>(`SELECT * FROM sends WHERE id = ?`, [id]);
  }

  list(limit = 100): Promise<SendRow[]> {
    return this.db.all<SendRow>(`SELECT * FROM sends ORDER BY id DESC LIMIT ?`, [limit]);
  }

  messageIdsOf(sendId: number): Promise<string[]> {
    return this.db
      .all<{ message_id: string }>(`SELECT message_id FROM send_parts WHERE send_id = ? ORDER BY part`, [sendId])
      .then((rows) => rows.map((r) => r.message_id));
  }

  /** Sends that are still waiting to go out or to be confirmed. */
  async countOpen(): Promise<number> {
    const row = await this.db.get<{ n: number }>(`SELECT COUNT(*) AS n FROM sends WHERE state IN ('scheduled','sending')`);
    return row?.n ?? 0;
  }

  /** Recent sends, newest first, with their gateway message ids (`mctb sends`). */
  find(f: { number?: string; business?: string; state?: SendState; limit: number }): Promise<(SendRow & { message_ids: string | null })[]> {
    const where: string[] = [];
    const params: unknown[] = [];
    for (const [column, value] of [['number', f.number], ['business', f.business], ['state', f.state]] as const) {
      if (value === undefined) continue;
      where.push(`s.${column} = ?`);
      params.push(value);
    }
    return this.db.all(
      `SELECT s.*, (SELECT group_concat(message_id, ',') FROM (SELECT message_id FROM send_parts p WHERE p.send_id = s.id ORDER BY part) AS parts) AS message_ids
       FROM sends s ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY s.id DESC LIMIT ?`,
      [...params, f.limit],
    );
  }
}

export async function insertSend(s: Statements, callId: string | null, send: NewSend, now: number, site: string | null): Promise<number> {
  const body = send.replyThread === undefined ? send.body : await withThreadId(s, send.business, send.replyThread, send.body);
  const res = await s.run(
    `INSERT INTO sends (call_id, business, number, number_prefix, source_addr, body, kind, state, due_at, created_at, updated_at, sent_by, site)
     VALUES (?,?,?,?,?,?,?,'scheduled',?,?,?,?,?)`,
    [callId, send.business, send.number, numberPrefix(send.number), send.sourceAddr, body, send.kind ?? 'manual', send.dueAt, now, now, send.sentBy ?? null, site],
  );
  return res.lastID;
}

/**
 * A staff alert's offer to answer, with its thread's id: the plan could not know it (the call or
 * message this alert is about opens the thread in the same transaction, by trigger, just before).
 */
async function withThreadId(s: Statements, business: string, number: string, body: string): Promise<string> {
  const thread = await s.get<{ id: number }>(`SELECT id FROM threads WHERE business = ? AND number = ?`, [business, number]);
  // No thread (not expected: the triggers open one first): the alert names the number instead.
  return body.replace(THREAD_MARK, thread ? `#${thread.id}` : number);
}

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
