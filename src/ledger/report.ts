// `mctb report`: what happened in a window, from covering indexes only (migration 4), so a report
// over a million calls is a handful of index range scans and never sorts the rows.

import sqlite3 from 'sqlite3';
import { CALL_REASONS } from '../policy/decide';
import { CALL_OUTCOMES, DECISIONS, SEND_STATES, type SendState } from '../records/states';
import { SqliteFile } from './sqlite';

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

/**
 * Figures for `mctb report`: inbound calls that ended in [since, until], the text-backs created
 * in it, replies, opt-outs and the median time from hangup to text. A few indexed range scans
 * with SQL aggregates (migration 4 adds covering indexes), so it stays fast on a big ledger.
 */
export async function ledgerReport(path: string, db: SqliteFile, since: number, until: number, business?: string): Promise<LedgerReport> {
  const p = { $since: since, $until: until, $b: business ?? null };
  const list = (xs: readonly string[]) => xs.map((x) => `'${x}'`).join(',');
  // Two connections share the work (sqlite3 runs each on a thread of its own): calls, contacts
  // and replies on a second, read-only one; the texts and their delays on this one.
  const side = path === ':memory:' ? undefined : await SqliteFile.open(path, sqlite3.OPEN_READONLY).catch(() => undefined);
  const sideWork = (side ?? db)
    .serial(async (s) => {
      if (side) await s.run('PRAGMA busy_timeout = 5000');
      // Every known (outcome, decision, reason) is an equality prefix of calls_group: a seek and
      // a range on ended_at each, read in group order, so a million rows are never sorted.
      const calls = await s.all<{ outcome: string; decision: string; reason: string; n: number }>(
        `SELECT outcome, decision, reason, COUNT(*) AS n FROM calls INDEXED BY calls_group
         WHERE direction = 'inbound' AND outcome IN (${list(CALL_OUTCOMES)}) AND decision IN (${list(DECISIONS)}) AND reason IN (${list(CALL_REASONS)})
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
               AND (outcome NOT IN (${list(CALL_OUTCOMES)}) OR decision NOT IN (${list(DECISIONS)}) OR reason NOT IN (${list(CALL_REASONS)}))
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
  const mainWork = db.serial(async (s) => {
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
