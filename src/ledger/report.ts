// `mctb report` and the console's dashboard: what happened in a window, from covering indexes only
// (migrations 4 and 9), so a report over a million calls is a handful of index range scans and
// never sorts the rows. Both read the same functions, so they give the same numbers.

import { DateTime, Info, type Zone } from 'luxon';
import { MISSED_OUTCOMES } from '../calls/types';
import { CALL_REASONS } from '../policy/decide';
import { CALL_OUTCOMES, DECISIONS, SEND_KINDS, SEND_STATES, type SendState } from '../records/states';
import { FILTERED_PREFIX } from '../records/states';
import type { LedgerDb } from './db';
import type { SqliteFile } from './sqlite';

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
  /** contactsReplied / contactsTexted; null when nobody was texted. */
  replyRate: number | null;
  /** Median of text submitted − caller's hangup, over text-backs created in the window. */
  medianMsToText: number | null;
  /** Distinct numbers with a missed inbound call (MISSED_OUTCOMES) that ended in the window. */
  missedCallers: number;
  /**
   * The dashboard's headline (CONTRACT.md): of missedCallers, the numbers with a missed inbound
   * call that ended in the window and was followed, within 7 days of its end (by the start of
   * the answered call), by an answered inbound call from that number to that business, or by an
   * answered outbound call to that number (a callback). See RECOVERED_WITHIN_MS and RECOVERED_SQL.
   */
  recovered: number;
  /**
   * Texts of every kind created in the window that the carrier filtered (failed with a
   * FILTERED_PREFIX error: unregistered traffic, "sent" but never delivered), per business.
   */
  filtered: { business: string; n: number }[];
}

/** How long after a missed call a person reaching the caller still counts as recovering it. */
export const RECOVERED_WITHIN_MS = 7 * 86_400_000;

/**
 * The filter on a business column: `$b` is null for every business, else a JSON array of names
 * (a staff user sees some of them; an empty array matches none). The IN list is read once per
 * statement, and the SQL text stays the same whatever the list, so the statement is prepared once.
 */
function inBusinesses(column: string): string {
  return `(CAST($b AS TEXT) IS NULL OR ${column} IN (SELECT value FROM json_each($b)))`;
}

/** `$b` for inBusinesses: undefined (every business) is null. */
function businessParam(businesses: readonly string[] | undefined): string | null {
  return businesses === undefined ? null : JSON.stringify(businesses);
}

const list = (xs: readonly string[]) => xs.map((x) => `'${x}'`).join(',');

/**
 * Recovered missed callers (LedgerReport.recovered), read from the missed side: each missed
 * inbound call that ended in the window (calls_missed, migration 9) asks whether an answered call
 * with that number started after it and within 7 days of it (calls_answered, one seek each);
 * answered calls outnumber missed ones, so the missed side makes fewer lookups, and EXISTS stops
 * at the first match. A person reached the caller as in src/plans/call.ts (reachedPerson): an
 * answered inbound call reaches them for the business it came in to; an answered outbound call
 * for every business, since the tracker records outbound calls without one (their DID is the
 * dialled number): a callback counts for every business that missed that number. (An outbound
 * row that does carry a business counts for that business only.) The outcome list must be
 * MISSED_OUTCOMES in the order migration 9 wrote it, or SQLite cannot use the partial index
 * (INDEXED BY then fails the statement, so a test catches it).
 */
export const RECOVERED_SQL = `SELECT COUNT(DISTINCT m.number) AS n FROM calls m INDEXED BY calls_missed
    WHERE m.direction = 'inbound' AND m.outcome IN (${list(MISSED_OUTCOMES)}) AND m.ended_at >= $since AND m.ended_at <= $until
      AND ${inBusinesses('m.business')}
      AND EXISTS (SELECT 1 FROM calls a INDEXED BY calls_answered
                  WHERE a.outcome = 'answered' AND a.number = m.number AND a.started_at >= m.ended_at AND a.started_at <= m.ended_at + $within
                    AND ((a.direction = 'inbound' AND a.business IS m.business) OR (a.direction = 'outbound' AND (a.business IS NULL OR a.business IS m.business))))`;

/**
 * Missed callers and, of them, those recovered, in one range of calls_missed: what MISSED_CALLERS_SQL
 * and RECOVERED_SQL count, read once (the report's slowest two figures, halved).
 */
export const MISSED_AND_RECOVERED_SQL = `SELECT COUNT(DISTINCT m.number) AS missed,
      COUNT(DISTINCT CASE WHEN EXISTS (SELECT 1 FROM calls a INDEXED BY calls_answered
                  WHERE a.outcome = 'answered' AND a.number = m.number AND a.started_at >= m.ended_at AND a.started_at <= m.ended_at + $within
                    AND ((a.direction = 'inbound' AND a.business IS m.business) OR (a.direction = 'outbound' AND (a.business IS NULL OR a.business IS m.business))))
            THEN m.number END) AS recovered
    FROM calls m INDEXED BY calls_missed
    WHERE m.direction = 'inbound' AND m.outcome IN (${list(MISSED_OUTCOMES)}) AND m.ended_at >= $since AND m.ended_at <= $until AND ${inBusinesses('m.business')}`;

/** Missed callers (LedgerReport.missedCallers): one range of calls_missed (migration 9), made distinct. */
export const MISSED_CALLERS_SQL = `SELECT COUNT(DISTINCT number) AS n FROM calls INDEXED BY calls_missed
    WHERE direction = 'inbound' AND outcome IN (${list(MISSED_OUTCOMES)}) AND ended_at >= $since AND ended_at <= $until AND ${inBusinesses('business')}`;

/** LedgerReport.filtered: failed sends per kind over sends_report, their error read only for failed rows. */
export const FILTERED_SQL = `SELECT business, COUNT(*) AS n FROM sends INDEXED BY sends_report
    WHERE kind IN (${list(SEND_KINDS)}) AND state = 'failed' AND created_at >= $since AND created_at <= $until AND ${inBusinesses('business')}
      AND error LIKE '${FILTERED_PREFIX}%'
    GROUP BY business ORDER BY business`;

/**
 * Figures for `mctb report` and the dashboard: inbound calls that ended in [since, until], missed
 * callers and how many were recovered, the text-backs created in it, replies, opt-outs and the
 * median time from hangup to text; `businesses` undefined counts every business. A few indexed
 * range scans with SQL aggregates (migrations 4 and 9 add the indexes), so it stays fast on a
 * big ledger.
 */
export async function ledgerReport(sideConnection: () => Promise<SqliteFile | undefined>, db: LedgerDb, since: number, until: number, businesses?: readonly string[]): Promise<LedgerReport> {
  const p = { $since: since, $until: until, $b: businessParam(businesses) };
  // Two connections share the work (sqlite3 runs each on a thread of its own): calls, contacts
  // and replies on a second, read-only one; the texts, their delays, missed callers and
  // recovered ones on this one. (PostgreSQL: no second connection of SQLite's kind; each serial()
  // below takes a connection of the pool, so three run at once.)
  const side = await sideConnection();
  const sideWork = (side ?? db)
    .serial(async (s) => {
      // Every known (outcome, decision, reason) is an equality prefix of calls_group: a seek and
      // a range on ended_at each, read in group order, so a million rows are never sorted.
      const calls = await s.all<{ outcome: string; decision: string; reason: string; n: number }>(
        `SELECT outcome, decision, reason, COUNT(*) AS n FROM calls INDEXED BY calls_group
         WHERE direction = 'inbound' AND outcome IN (${list(CALL_OUTCOMES)}) AND decision IN (${list(DECISIONS)}) AND reason IN (${list(CALL_REASONS)})
           AND ended_at >= $since AND ended_at <= $until AND ${inBusinesses('business')}
         GROUP BY outcome, decision, reason`,
        p,
      );
      const total = await s.get<{ n: number }>(
        `SELECT COUNT(*) AS n FROM calls INDEXED BY calls_window WHERE ended_at >= $since AND ended_at <= $until AND direction = 'inbound' AND ${inBusinesses('business')}`,
        p,
      );
      if ((total?.n ?? 0) !== calls.reduce((sum, r) => sum + r.n, 0)) {
        // Values this version does not know (an older or newer mctb wrote them): counted the slow way.
        calls.push(
          ...(await s.all<{ outcome: string; decision: string; reason: string; n: number }>(
            `SELECT outcome, decision, reason, COUNT(*) AS n FROM calls INDEXED BY calls_window
             WHERE ended_at >= $since AND ended_at <= $until AND direction = 'inbound' AND ${inBusinesses('business')}
               AND (outcome NOT IN (${list(CALL_OUTCOMES)}) OR decision NOT IN (${list(DECISIONS)}) OR reason NOT IN (${list(CALL_REASONS)}))
             GROUP BY outcome, decision, reason`,
            p,
          )),
        );
      }
      const texted = await s.get<{ n: number }>(
        `SELECT COUNT(DISTINCT number) AS n FROM sends INDEXED BY sends_report
         WHERE kind = 'text_back' AND state IN (${list(SEND_STATES)}) AND created_at >= $since AND created_at <= $until
           AND ${inBusinesses('business')} AND submitted_at IS NOT NULL`,
        p,
      );
      const replies = await s.get<{ replies: number; repliers: number }>(
        `SELECT COUNT(*) AS replies, COUNT(DISTINCT m.number) AS repliers FROM messages m INDEXED BY messages_received
         WHERE m.keyword IS NULL AND m.received_at >= $since AND m.received_at <= $until
           AND EXISTS (SELECT 1 FROM sends s INDEXED BY sends_reply WHERE s.number = m.number AND s.kind = 'text_back'
                         AND s.submitted_at <= m.received_at AND s.created_at >= $since AND s.created_at <= $until
                         AND (m.business IS NULL OR s.business = m.business) AND ${inBusinesses('s.business')})`,
        p,
      );
      const optOuts = await s.get<{ n: number }>(
        `SELECT COUNT(*) AS n FROM opt_outs WHERE created_at >= $since AND created_at <= $until AND (business = '*' OR ${inBusinesses('business')})`,
        p,
      );
      return { calls, texted: texted?.n ?? 0, replies: replies?.replies ?? 0, repliers: replies?.repliers ?? 0, optOuts: optOuts?.n ?? 0 };
    })
    .finally(() => side?.close());
  const mainWork = db.serial(async (s) => {
    const texts = await s.all<{ state: SendState; n: number }>(
      `SELECT state, COUNT(*) AS n FROM sends INDEXED BY sends_report
       WHERE kind = 'text_back' AND state IN (${list(SEND_STATES)}) AND created_at >= $since AND created_at <= $until AND ${inBusinesses('business')}
       GROUP BY state`,
      p,
    );
    // Every hangup-to-submit delay (ms) in one pass; the median is picked from them below.
    const delays = await s.get<{ delays: string | null }>(
      `SELECT group_concat(s.submitted_at - c.ended_at) AS delays
       FROM sends s INDEXED BY sends_report JOIN calls c INDEXED BY calls_id_ended ON c.call_id = s.call_id
       WHERE s.kind = 'text_back' AND s.state IN (${list(SEND_STATES)}) AND s.created_at >= $since AND s.created_at <= $until
         AND ${inBusinesses('s.business')} AND s.submitted_at IS NOT NULL`,
      p,
    );
    const filtered = await s.all<{ business: string; n: number }>(FILTERED_SQL, p);
    return { texts, median: median(delays?.delays ?? null), filtered };
  });
  // Queued behind mainWork on SQLite's one connection; on PostgreSQL a third connection of the
  // pool, so the report's three shares run side by side there.
  const recoveredWork = db.serial((s) => s.get<{ missed: number; recovered: number }>(MISSED_AND_RECOVERED_SQL, { ...p, $within: RECOVERED_WITHIN_MS }));
  const [a, b, mr] = await Promise.all([sideWork, mainWork, recoveredWork]);
  return {
    calls: a.calls,
    texts: b.texts,
    contactsTexted: a.texted,
    replies: a.replies,
    contactsReplied: a.repliers,
    optOuts: a.optOuts,
    replyRate: a.texted > 0 ? a.repliers / a.texted : null,
    medianMsToText: b.median,
    missedCallers: mr?.missed ?? 0,
    recovered: mr?.recovered ?? 0,
    filtered: b.filtered,
  };
}

const DAY_MS = 86_400_000;

/** A time zone luxon knows ('America/Chicago', 'utc', 'system'), or an error naming it. */
function zoneNamed(timeZone: string, what: string): Zone {
  const zone = Info.normalizeZone(timeZone);
  if (!zone || !zone.isValid) throw new Error(`${what}: "${timeZone}" is not a time zone (an IANA name such as America/Chicago)`);
  return zone;
}

/**
 * [from, to) spans covering [since, until] in each of which the zone's UTC offset is one value
 * (ms): a year has one to three. An instant's local day is then (instant + its span's offset)
 * whole days since the epoch, so SQL can bucket a row by day with one addition, and a day of 23
 * or 25 hours is neither dropped nor doubled. Offsets are probed a day apart, and a change is
 * pinned to its millisecond by bisection (luxon reads the zone's rules).
 */
export function offsetSpans(since: number, until: number, zone: Zone): { from: number; to: number; offsetMs: number }[] {
  const offsetAt = (t: number) => zone.offset(t) * 60_000;
  const end = until + 1;
  const spans: { from: number; to: number; offsetMs: number }[] = [];
  let from = since;
  let offset = offsetAt(since);
  for (let t = since; t < end; ) {
    const next = Math.min(t + DAY_MS, end);
    if (offsetAt(next) === offset) {
      t = next;
      continue;
    }
    let lo = t;
    let hi = next;
    while (hi - lo > 1) {
      const mid = Math.floor((lo + hi) / 2);
      if (offsetAt(mid) === offset) lo = mid;
      else hi = mid;
    }
    spans.push({ from, to: hi, offsetMs: offset });
    from = t = hi;
    offset = offsetAt(hi);
  }
  spans.push({ from, to: end, offsetMs: offset });
  return spans;
}

/** Every local day (YYYY-MM-DD) that [since, until] touches in the zone, in order, each once. */
export function localDays(since: number, until: number, timeZone: string): string[] {
  const zone = zoneNamed(timeZone, 'localDays');
  const days: string[] = [];
  for (let d = DateTime.fromMillis(since, { zone }).startOf('day'); d.toMillis() <= until; d = d.plus({ days: 1 }).startOf('day')) days.push(d.toISODate()!);
  return days;
}

/** The epoch day number SQL bucketed a row in, as its YYYY-MM-DD. */
function dayLabel(day: number): string {
  return DateTime.fromMillis(day * DAY_MS, { zone: 'utc' }).toISODate()!;
}

/**
 * Counts per local day: `sql` joins the spans (offsetSpans, a JSON array of [from, to, offset])
 * as `w` and groups by `(time + w.off) / 86400000`, the local day's number.
 */
async function perDay<R extends { n: number }>(db: LedgerDb, sql: string, since: number, until: number, timeZone: string, businesses: readonly string[] | undefined, what: string): Promise<({ day: string } & R)[]> {
  const spans = offsetSpans(since, until, zoneNamed(timeZone, what)).map((s) => [s.from, s.to, s.offsetMs]);
  const rows = await db.all<{ day: number } & R>(sql, { $since: since, $until: until, $b: businessParam(businesses), $spans: JSON.stringify(spans) });
  return rows.map(({ day, ...rest }) => ({ day: dayLabel(day), ...(rest as unknown as R) }));
}

const SPANS = `spans (lo, hi, off) AS MATERIALIZED (SELECT CAST(value ->> 0 AS BIGINT), CAST(value ->> 1 AS BIGINT), CAST(value ->> 2 AS BIGINT) FROM json_each($spans))`;

/**
 * dailyCalls' statement: every known (outcome, decision, reason) is an equality prefix of
 * calls_group, so each offset span is a few hundred seeks and ranges over an index that holds
 * every column read (no row is visited: at a million calls, a tenth of the time calls_window with
 * its row lookups took).
 */
export const DAILY_CALLS_SQL = `WITH ${SPANS}
     SELECT (c.ended_at + w.off) / ${DAY_MS} AS day, c.outcome, COUNT(*) AS n
     FROM spans w CROSS JOIN calls c INDEXED BY calls_group
     WHERE c.direction = 'inbound' AND c.outcome IN (${list(CALL_OUTCOMES)}) AND c.decision IN (${list(DECISIONS)}) AND c.reason IN (${list(CALL_REASONS)})
       AND c.ended_at >= w.lo AND c.ended_at < w.hi AND c.ended_at >= $since AND c.ended_at <= $until AND ${inBusinesses('c.business')}
     GROUP BY day, c.outcome ORDER BY day, c.outcome`;

/** How many inbound calls the window holds (calls_window covers it): tells whether DAILY_CALLS_SQL missed any. */
const WINDOW_CALLS_SQL = `SELECT COUNT(*) AS n FROM calls INDEXED BY calls_window WHERE ended_at >= $since AND ended_at <= $until AND direction = 'inbound' AND ${inBusinesses('business')}`;

/** Rows with an outcome, decision or reason this version does not know (an older or newer mctb wrote them): the slow way. */
const DAILY_CALLS_OTHER_SQL = `WITH ${SPANS}
     SELECT (c.ended_at + w.off) / ${DAY_MS} AS day, c.outcome, COUNT(*) AS n
     FROM spans w CROSS JOIN calls c INDEXED BY calls_window
     WHERE c.ended_at >= w.lo AND c.ended_at < w.hi AND c.ended_at >= $since AND c.ended_at <= $until AND c.direction = 'inbound' AND ${inBusinesses('c.business')}
       AND (c.outcome NOT IN (${list(CALL_OUTCOMES)}) OR c.decision NOT IN (${list(DECISIONS)}) OR c.reason NOT IN (${list(CALL_REASONS)}))
     GROUP BY day, c.outcome ORDER BY day, c.outcome`;

/** dailyTexts' statement: one range of sends_report per state and offset span. */
export const DAILY_TEXTS_SQL = `WITH ${SPANS}
     SELECT (s.created_at + w.off) / ${DAY_MS} AS day, s.state, COUNT(*) AS n
     FROM spans w CROSS JOIN sends s INDEXED BY sends_report
     WHERE s.kind = 'text_back' AND s.state IN (${list(SEND_STATES)}) AND s.created_at >= w.lo AND s.created_at < w.hi
       AND s.created_at >= $since AND s.created_at <= $until AND ${inBusinesses('s.business')}
     GROUP BY day, s.state ORDER BY day, s.state`;

/**
 * The dashboard's daily series: inbound calls that ended in [since, until], per local day in
 * `timeZone` (YYYY-MM-DD) and outcome, days in order; only days and outcomes that occurred
 * (localDays lists every day of the window). `businesses` undefined counts every business.
 */
export async function dailyCalls(db: LedgerDb, since: number, until: number, timeZone: string, businesses?: readonly string[]): Promise<{ day: string; outcome: string; n: number }[]> {
  const known = await perDay<{ outcome: string; n: number }>(db, DAILY_CALLS_SQL, since, until, timeZone, businesses, 'dailyCalls');
  const total = (await db.get<{ n: number }>(WINDOW_CALLS_SQL, { $since: since, $until: until, $b: businessParam(businesses) }))?.n ?? 0;
  if (known.reduce((sum, r) => sum + r.n, 0) === total) return known;
  const other = await perDay<{ outcome: string; n: number }>(db, DAILY_CALLS_OTHER_SQL, since, until, timeZone, businesses, 'dailyCalls');
  const merged = new Map<string, { day: string; outcome: string; n: number }>();
  for (const r of [...known, ...other]) {
    const k = `${r.day}\u0000${r.outcome}`;
    const had = merged.get(k);
    if (had) had.n += r.n;
    else merged.set(k, { ...r });
  }
  return [...merged.values()].sort((a, b) => a.day.localeCompare(b.day) || a.outcome.localeCompare(b.outcome));
}

/**
 * Text-backs created in [since, until] per local day in `timeZone` and state (as LedgerReport.texts
 * counts them), like dailyCalls.
 */
export function dailyTexts(db: LedgerDb, since: number, until: number, timeZone: string, businesses?: readonly string[]): Promise<{ day: string; state: SendState; n: number }[]> {
  return perDay<{ state: SendState; n: number }>(db, DAILY_TEXTS_SQL, since, until, timeZone, businesses, 'dailyTexts');
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
