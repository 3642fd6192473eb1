// Calls: every ended call with what was decided about it and why (the hot path: one write per
// call, with its texts, notifications and callback task, in one transaction), and the facts the
// decision reads about a caller.

import type { Limits } from '../config/types';
import { numberPrefix } from '../numbers/phone';
import type { CallFacts } from '../policy/decide';
import type { CallEffects, CallListRow, CallRecord, CallRow, NewNotification, NewSend } from '../records/rows';
import { insertNotification } from './notifications';
import { insertSend } from './sends';
import type { LedgerDb, Statements } from './db';
import { openTaskIn } from './tasks';

export class Calls {
  constructor(private readonly db: LedgerDb) {}

  /**
   * Records a call and, when given, its send, in one transaction. A call id seen before (the
   * same events replayed) changes nothing: `inserted` is false and no send is created.
   */
  record(
    call: CallRecord,
    send?: NewSend | readonly NewSend[],
    notifications: readonly NewNotification[] = [],
    /** A missed call from a number that can be called back opens (or adds to) a callback task. */
    task?: { business: string; number: string },
  ): Promise<{ inserted: boolean; sendId?: number }> {
    const sends = send === undefined ? [] : Array.isArray(send) ? send : [send as NewSend];
    return this.db.transaction((s) => insertCall(s, call, sends, notifications, task, this.db.site));
  }

  /**
   * Writes everything one ended call causes (a plan from src/plans/call.ts) in one transaction:
   * the call row with its texts, alerts and task, then, when the caller reached a person, the
   * cancellation of texts waiting for them and the closing of their callback tasks. A replayed
   * call changes nothing. `cancelled`: texts cancelled.
   */
  apply(e: CallEffects): Promise<{ inserted: boolean; sendId?: number; cancelled: number }> {
    return this.db.transaction(async (s) => {
      const res = await insertCall(s, e.call, e.sends, e.notifications, e.openTask, this.db.site);
      const r = e.reachedPerson;
      if (!res.inserted || !r) return { ...res, cancelled: 0 };
      const b = r.business ?? null;
      const cancelled = await s.run(
        `UPDATE sends SET state = 'cancelled', reason = ?, finished_at = ?, updated_at = ?
       WHERE state = 'scheduled' AND number = ? AND (CAST(? AS TEXT) IS NULL OR business = ?)`,
        [r.cancelReason, e.call.recordedAt, e.call.recordedAt, r.number, b, b],
      );
      await s.run(`UPDATE tasks SET closed_at = ?, closed_reason = ? WHERE number = ? AND closed_at IS NULL AND (CAST(? AS TEXT) IS NULL OR business = ?)`, [e.call.recordedAt, r.closeReason, r.number, b, b]);
      return { ...res, cancelled: cancelled.changes };
    });
  }

  /**
   * Everything the decision needs to know about a caller, read in one statement (it runs for every
   * missed call). Counts cover texts created (scheduled or sent, not cancelled or skipped) in each
   * cap's window, only for the caps that are set; the answer is "reached or not", so a count
   * may stop at the cap.
   */
  facts(number: string, business: string, now: number, caps: { own: Limits; global: Limits } = { own: {}, global: {} }): Promise<CallFacts & { contactName?: string }> {
    const hour = now - 3600_000;
    const day = now - 86_400_000;
    const prefix = numberPrefix(number);
    // Automatic texts to callers count against the caps; replies to keywords and staff alerts do not.
    const counted = `state NOT IN ('cancelled','skipped') AND kind IN ('text_back','follow_up')`;
    const capped = (limit: number | undefined, where: string) =>
      limit === undefined ? 'NULL' : `(SELECT COUNT(*) FROM (SELECT 1 FROM sends WHERE ${where} AND ${counted} LIMIT ${Math.max(0, Math.floor(limit))}) AS capped)`;
    // Whole minutes of the window from send_counts (kept by triggers), the minute it starts in
    // from the texts themselves: exact, and a day of texts costs at most 1,440 small rows.
    const windowed = (limit: number | undefined, scope: '$b' | "'*'", since: '$hour' | '$day') => {
      if (limit === undefined) return 'NULL';
      const minute = `${since}m`;
      const edge = `created_at >= ${since} AND created_at < (${minute} + 1) * 60000${scope === '$b' ? ' AND business = $b' : ''}`;
      return `((SELECT COALESCE(SUM(n), 0) FROM send_counts WHERE business = ${scope} AND minute > ${minute}) +
        (SELECT COUNT(*) FROM (SELECT 1 FROM sends INDEXED BY sends_created WHERE ${edge} AND ${counted} LIMIT ${Math.max(0, Math.floor(limit))}) AS edge))`;
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

  get(callId: string): Promise<CallRow | undefined> {
    return this.db.get<CallRow>(`SELECT * FROM calls WHERE call_id = ?`, [callId]);
  }

  list(limit = 100): Promise<CallRow[]> {
    return this.db.all<CallRow>(`SELECT * FROM calls ORDER BY ended_at DESC, call_id DESC LIMIT ?`, [limit]);
  }

  /**
   * Recent calls, newest first, each with its text-back (id, state, reason, when submitted): the
   * rows of `mctb calls` and `mctb why`. `number` matches the E.164 number; `anyNumber` the E.164
   * number or the caller ID as presented (`anonymous`, a forgotten number's hash). With `dialled`,
   * either also matches the number called (the DID): `mctb calls --number DID`.
   */
  find(f: { number?: string; anyNumber?: string; dialled?: boolean; business?: string; limit: number }): Promise<CallListRow[]> {
    const where: string[] = [];
    const params: unknown[] = [];
    const did = f.dialled ? ' OR c.did = ?' : '';
    if (f.number !== undefined) {
      where.push(`(c.number = ?${did})`);
      params.push(f.number, ...(f.dialled ? [f.number] : []));
    } else if (f.anyNumber !== undefined) {
      where.push(`(c.number = ? OR c.number_raw = ?${did})`);
      params.push(f.anyNumber, f.anyNumber, ...(f.dialled ? [f.anyNumber] : []));
    }
    if (f.business !== undefined) {
      where.push('c.business = ?');
      params.push(f.business);
    }
    return this.db.all<CallListRow>(
      `SELECT c.*, s.id AS text_id, s.state AS text_state, s.reason AS text_reason, s.error AS text_error, s.submitted_at AS text_submitted_at FROM calls c
       LEFT JOIN sends s ON s.call_id = c.call_id AND s.kind = 'text_back'
       ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY c.ended_at DESC, c.call_id DESC LIMIT ?`,
      [...params, f.limit],
    );
  }
}

async function insertCall(
  s: Statements,
  call: CallRecord,
  sends: readonly NewSend[],
  notifications: readonly NewNotification[],
  task: { business: string; number: string } | undefined,
  site: string | null,
): Promise<{ inserted: boolean; sendId?: number }> {
  const res = await s.run(
    `INSERT OR IGNORE INTO calls (call_id, direction, business, did, number, number_raw, caller_name, outcome, decision, reason, detail, started_at, ended_at, recorded_at, midway, presentation, site)
     VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)`,
    [call.callId, call.direction, call.business ?? null, call.did ?? null, call.number ?? null, call.numberRaw, call.callerName,
      call.outcome, call.decision, call.reason, call.detail ?? null, call.startedAt, call.endedAt, call.recordedAt, call.midway ? 1 : 0, call.presentation ?? null, site],
  );
  if (res.changes === 0) return { inserted: false };
  if (call.number && call.direction === 'inbound') {
    await s.run(
      `INSERT INTO contacts (number, caller_id_name, first_seen_at, last_call_at) VALUES (?,?,?,?)
       ON CONFLICT(number) DO UPDATE SET caller_id_name = excluded.caller_id_name, last_call_at = excluded.last_call_at`,
      [call.number, call.callerName, call.recordedAt, call.endedAt],
    );
  }
  let sendId: number | undefined;
  for (const one of sends) {
    // Staff alerts are not the call's own texts: only the call's texts carry its id.
    const id = await insertSend(s, one.kind === 'staff_alert' ? null : call.callId, { kind: 'text_back', ...one }, call.recordedAt, site);
    sendId ??= id;
  }
  for (const n of notifications) await insertNotification(s, n, call.recordedAt);
  if (task) await openTaskIn(s, task.business, task.number, call.callId, call.recordedAt);
  return { inserted: true, sendId };
}
