// Opening hours in a business's own time zone (IANA, via luxon), correct across daylight-saving
// changes. Pure: every function takes the instant as an argument.
//
// Hours are wall-clock hours: a range 01:00-02:00 covers every instant whose local clock reads
// 01:00..01:59, so on a fall-back day it covers both 01:30s, and on a spring-forward day the
// minutes the clock skips simply never happen.

import { DateTime, IANAZone } from 'luxon';
import type { Closure, MinuteRange, WeeklyHours } from '../config/types';

export type ParseResult<T> = { ok: true; value: T } | { ok: false; message: string; offset: number };

type Failure = { ok: false; message: string; offset: number };

const fail = (message: string, offset: number): Failure => ({ ok: false, message, offset });

/** Day names as written in config keys, index 0 = Monday. */
export const DAY_KEYS = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'] as const;
const DAY_NAMES = ['Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday', 'Sunday'] as const;
const MONTH_ABBR = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'] as const;
const DAY_LIST = DAY_KEYS.join(', ');

const MINUTES_PER_DAY = 1440;
const SEARCH_DAYS = 14;

// ---------------------------------------------------------------------------------------------
// Parsing
// ---------------------------------------------------------------------------------------------

interface Piece {
  text: string; // trimmed
  offset: number; // of the trimmed text within the whole string
  /** Offset of the comma that ends this piece, or of the one before it when it is the last. */
  commaOffset: number;
}

/** Split on commas, keeping each trimmed piece's offset in the original string. */
function splitCommas(s: string): Piece[] {
  const pieces: Piece[] = [];
  let start = 0;
  for (;;) {
    const comma = s.indexOf(',', start);
    const end = comma < 0 ? s.length : comma;
    const raw = s.slice(start, end);
    const lead = raw.length - raw.trimStart().length;
    pieces.push({ text: raw.trim(), offset: start + lead, commaOffset: comma >= 0 ? comma : Math.max(0, start - 1) });
    if (comma < 0) return pieces;
    start = comma + 1;
  }
}

function dayIndex(name: string): number {
  const lower = name.toLowerCase();
  const short = DAY_KEYS.indexOf(lower as (typeof DAY_KEYS)[number]);
  if (short >= 0) return short;
  return DAY_NAMES.findIndex((n) => n.toLowerCase() === lower);
}

/** parseDayKey, plus where in the key each day was named (for messages about a day). */
function parseDayKeyDetailed(key: string): ParseResult<{ days: number[]; at: Map<number, number> }> {
  if (key.trim() === '') return fail(`no day given; use ${DAY_LIST}`, 0);
  const at = new Map<number, number>();
  const source = new Map<number, string>();
  for (const piece of splitCommas(key)) {
    if (piece.text === '') return fail(`expected a day (${DAY_LIST}) around ','`, piece.commaOffset);
    const days: number[] = [];
    const dash = piece.text.indexOf('-');
    if (dash < 0) {
      const d = dayIndex(piece.text);
      if (d < 0) return fail(`unknown day "${piece.text}"; use ${DAY_LIST}`, piece.offset);
      days.push(d);
    } else {
      const second = piece.text.indexOf('-', dash + 1);
      if (second >= 0) return fail(`a day range has one '-', like mon-fri`, piece.offset + second);
      const left = piece.text.slice(0, dash);
      const right = piece.text.slice(dash + 1);
      const leftAt = piece.offset;
      const rightAt = piece.offset + dash + 1 + (right.length - right.trimStart().length);
      if (left.trim() === '') return fail(`expected a day before '-', like mon-fri`, piece.offset + dash);
      if (right.trim() === '') return fail(`expected a day after '-', like mon-fri`, piece.offset + dash);
      const from = dayIndex(left.trim());
      if (from < 0) return fail(`unknown day "${left.trim()}"; use ${DAY_LIST}`, leftAt);
      const to = dayIndex(right.trim());
      if (to < 0) return fail(`unknown day "${right.trim()}"; use ${DAY_LIST}`, rightAt);
      // Wraps past Sunday: fri-mon is fri, sat, sun, mon. mon-mon is just Monday.
      for (let d = from; ; d = (d + 1) % 7) {
        days.push(d);
        if (d === to) break;
      }
    }
    for (const d of days) {
      const earlier = source.get(d);
      if (earlier !== undefined) {
        return fail(`${DAY_KEYS[d]} is named twice in this key (already in "${earlier}")`, piece.offset);
      }
      source.set(d, piece.text);
      at.set(d, piece.offset);
    }
  }
  return { ok: true, value: { days: [...at.keys()].sort((a, b) => a - b), at } };
}

/** "mon-fri" | "sat" | "mon,wed,fri" | "mon-wed,fri" → day indexes (0 = Monday). */
export function parseDayKey(key: string): ParseResult<number[]> {
  const r = parseDayKeyDetailed(key);
  return r.ok ? { ok: true, value: r.value.days } : r;
}

function parseTime(text: string, offset: number): ParseResult<number> {
  const m = /^(\d{1,2}):(\d{2})$/.exec(text);
  if (!m) {
    return fail(text === '' ? 'expected a time HH:MM (24-hour)' : `"${text}" is not a time; write HH:MM (24-hour)`, offset);
  }
  const h = Number(m[1]);
  const min = Number(m[2]);
  if (h > 24) return fail(`hour ${m[1]} is past 24`, offset);
  if (min >= 60) return fail(`minutes ${m[2]} must be below 60`, offset + m[1].length + 1);
  if (h === 24 && min > 0) return fail('times run up to 24:00', offset);
  return { ok: true, value: h * 60 + min };
}

/** "08:00-12:00,13:00-17:30" | "closed" | "00:00-24:00" → sorted ranges; overlap or end ≤ start is an error. */
export function parseRanges(value: string): ParseResult<MinuteRange[]> {
  const trimmed = value.trim();
  if (trimmed === '') return fail('no hours given; write ranges like 08:00-12:00, or closed', 0);
  if (trimmed.toLowerCase() === 'closed') return { ok: true, value: [] };
  const parsed: { range: MinuteRange; text: string; offset: number }[] = [];
  for (const piece of splitCommas(value)) {
    if (piece.text === '') return fail(`expected a time range like 08:00-12:00 around ','`, piece.commaOffset);
    if (piece.text.toLowerCase() === 'closed') return fail('"closed" cannot be mixed with time ranges', piece.offset);
    const dash = piece.text.indexOf('-');
    if (dash < 0) return fail(`"${piece.text}" is not a time range; write HH:MM-HH:MM`, piece.offset);
    const second = piece.text.indexOf('-', dash + 1);
    if (second >= 0) return fail(`a time range has one '-'; separate ranges with ','`, piece.offset + second);
    const left = piece.text.slice(0, dash);
    const right = piece.text.slice(dash + 1);
    const startText = left.trim();
    const endText = right.trim();
    const startAt = piece.offset;
    const endAt = endText === '' ? piece.offset + dash : piece.offset + dash + 1 + (right.length - right.trimStart().length);
    if (startText === '') return fail('expected a start time HH:MM before \'-\'', piece.offset);
    const start = parseTime(startText, startAt);
    if (!start.ok) return start;
    if (start.value === MINUTES_PER_DAY) return fail('24:00 can only end a range', startAt);
    if (endText === '') return fail('expected an end time HH:MM after \'-\'', endAt);
    const end = parseTime(endText, endAt);
    if (!end.ok) return end;
    if (end.value < start.value) return fail('ranges cannot cross midnight; split it across two days', endAt);
    if (end.value === start.value) return fail(`range "${piece.text}" is empty: the end must be after the start`, endAt);
    const here = { range: [start.value, end.value] as const, text: piece.text, offset: piece.offset };
    for (const earlier of parsed) {
      if (overlaps(here.range, earlier.range)) {
        return fail(`"${here.text}" overlaps "${earlier.text}"`, here.offset);
      }
    }
    parsed.push(here);
  }
  return { ok: true, value: parsed.map((p) => p.range).sort((a, b) => a[0] - b[0]) };
}

function overlaps(a: MinuteRange, b: MinuteRange): boolean {
  return a[0] < b[1] && b[0] < a[1];
}

/** 510 → "08:30"; 1440 → "24:00". */
export function formatClock(minute: number): string {
  return `${String(Math.floor(minute / 60)).padStart(2, '0')}:${String(minute % 60).padStart(2, '0')}`;
}

const rangeText = (r: MinuteRange): string => `${formatClock(r[0])}-${formatClock(r[1])}`;

/**
 * The `hours` mapping → WeeklyHours; a day named twice with overlapping ranges is an error naming the key.
 *
 * On error, `key` is the entry at fault and `part` says whether `offset` is within that entry's
 * key or its value. A day given in two keys is an error when their ranges overlap, or when one of
 * them says `closed` and the other gives hours; otherwise the ranges are merged.
 */
export function buildWeeklyHours(
  entries: readonly { key: string; value: string }[],
): ParseResult<WeeklyHours> & { key?: string; part?: 'key' | 'value' } {
  if (entries.length === 0) return fail('hours: no days given', 0);
  const days: { range: MinuteRange; key: string }[][] = DAY_KEYS.map(() => []);
  const closedBy: (string | undefined)[] = DAY_KEYS.map(() => undefined);
  for (const { key, value } of entries) {
    const dayKey = parseDayKeyDetailed(key);
    if (!dayKey.ok) return { ...dayKey, key, part: 'key' };
    const ranges = parseRanges(value);
    if (!ranges.ok) return { ...ranges, key, part: 'value' };
    // In the order the key names them, so an error is about the first clash as written.
    for (const [d, at] of dayKey.value.at) {
      const day = days[d];
      if (ranges.value.length === 0) {
        if (day.length > 0) {
          return { ...fail(`${DAY_KEYS[d]} is closed in "${key}" but has hours in "${day[0].key}"`, at), key, part: 'key' };
        }
        closedBy[d] ??= key;
        continue;
      }
      const closer = closedBy[d];
      if (closer !== undefined) {
        return { ...fail(`${DAY_KEYS[d]} has hours in "${key}" but is closed in "${closer}"`, at), key, part: 'key' };
      }
      for (const r of ranges.value) {
        const clash = day.find((e) => overlaps(e.range, r));
        if (clash) {
          return {
            ...fail(
              `${DAY_KEYS[d]} is given in "${clash.key}" and "${key}" with overlapping hours: ${rangeText(r)} overlaps ${rangeText(clash.range)}`,
              at,
            ),
            key,
            part: 'key',
          };
        }
      }
      for (const r of ranges.value) day.push({ range: r, key });
    }
  }
  return { ok: true, value: { days: days.map((day) => day.map((e) => e.range).sort((a, b) => a[0] - b[0])) } };
}

function daysInMonth(year: number, month: number): number {
  return new Date(Date.UTC(year, month, 0)).getUTCDate();
}

/** "2026-12-25" | "2026-12-31 12:00-23:59" → Closure. */
export function parseClosure(value: string): ParseResult<Closure> {
  const lead = value.length - value.trimStart().length;
  const rest = value.slice(lead);
  const m = /^(\d{4})-(\d{2})-(\d{2})(?!\d)/.exec(rest);
  if (!m) return fail('expected a date YYYY-MM-DD, optionally followed by a time range like 12:00-17:00', lead);
  const year = Number(m[1]);
  const month = Number(m[2]);
  const day = Number(m[3]);
  if (month < 1 || month > 12) return fail(`month ${m[2]} does not exist`, lead + 5);
  const dim = daysInMonth(year, month);
  if (day < 1 || day > dim) {
    return fail(`${m[0]} is not a real date (${MONTH_ABBR[month - 1]} ${year} has ${dim} days)`, lead + 8);
  }
  const date = m[0];
  const after = rest.slice(date.length);
  if (after.trim() === '') return { ok: true, value: { date } };
  const afterAt = lead + date.length;
  if (!/^\s/.test(after)) return fail('expected a space, then a time range like 12:00-17:00', afterAt);
  const ranges = parseRanges(after);
  if (!ranges.ok) return { ...ranges, offset: afterAt + ranges.offset };
  if (ranges.value.length === 0) return { ok: true, value: { date } }; // "2026-12-25 closed"
  if (ranges.value.length > 1) {
    return fail('one time range per closure; list the date again for another range', afterAt + after.indexOf(','));
  }
  return { ok: true, value: { date, range: ranges.value[0] } };
}

export function isValidTimeZone(zone: string): boolean {
  return IANAZone.isValidZone(zone);
}

// ---------------------------------------------------------------------------------------------
// Evaluation
// ---------------------------------------------------------------------------------------------

export interface Schedule {
  timezone: string;
  hours?: WeeklyHours;
  closed: readonly Closure[];
}

function zoned(instantMs: number, zone: string): DateTime {
  const dt = DateTime.fromMillis(instantMs, { zone });
  if (!dt.isValid) throw new Error(`invalid time zone or instant: ${zone} ${instantMs} (${dt.invalidExplanation ?? dt.invalidReason})`);
  return dt;
}

interface Local {
  date: string; // YYYY-MM-DD
  weekday: number; // 0 = Monday
  minute: number; // since local midnight by the wall clock
}

function local(dt: DateTime): Local {
  return { date: dt.toISODate() as string, weekday: dt.weekday - 1, minute: dt.hour * 60 + dt.minute };
}

function within(r: MinuteRange, minute: number): boolean {
  return r[0] <= minute && minute < r[1];
}

function openAtLocal(schedule: Schedule, l: Local): boolean {
  for (const c of schedule.closed) {
    if (c.date === l.date && (c.range === undefined || within(c.range, l.minute))) return false;
  }
  if (schedule.hours === undefined) return true;
  return (schedule.hours.days[l.weekday] ?? []).some((r) => within(r, l.minute));
}

export function isOpenAt(schedule: Schedule, instantMs: number): boolean {
  return openAtLocal(schedule, local(zoned(instantMs, schedule.timezone)));
}

/**
 * The ranges the business is open on a local date by the wall clock: the weekly hours (or the
 * whole day when there are none) less the date's closures, with touching ranges joined.
 */
export function openRangesOn(schedule: Schedule, date: string, weekday: number): MinuteRange[] {
  let ranges: MinuteRange[] = schedule.hours === undefined ? [[0, MINUTES_PER_DAY]] : [...(schedule.hours.days[weekday] ?? [])];
  for (const c of schedule.closed) {
    if (c.date !== date) continue;
    if (c.range === undefined) return [];
    const [cs, ce] = c.range;
    const next: MinuteRange[] = [];
    for (const [s, e] of ranges) {
      if (ce <= s || e <= cs) {
        next.push([s, e]);
        continue;
      }
      if (s < cs) next.push([s, cs]);
      if (ce < e) next.push([ce, e]);
    }
    ranges = next;
  }
  ranges.sort((a, b) => a[0] - b[0]);
  const merged: [number, number][] = [];
  for (const [s, e] of ranges) {
    const last = merged[merged.length - 1];
    if (last && s <= last[1]) last[1] = Math.max(last[1], e);
    else merged.push([s, e]);
  }
  return merged;
}

/** Minutes since midnight as en-US clock time: 0 → "12:00 AM", 810 → "1:30 PM", 1440 → "12:00 AM". */
export function formatMinute(minute: number): string {
  const m = minute % MINUTES_PER_DAY;
  const h = Math.floor(m / 60);
  return `${h % 12 === 0 ? 12 : h % 12}:${String(m % 60).padStart(2, '0')} ${h < 12 ? 'AM' : 'PM'}`;
}

/** Today's hours in the business's zone, as a person would say them: "8:00 AM–12:00 PM, 1:00 PM–5:30 PM", "closed", or "open 24 hours". */
export function hoursToday(schedule: Schedule, instantMs: number): string {
  const l = local(zoned(instantMs, schedule.timezone));
  const ranges = openRangesOn(schedule, l.date, l.weekday);
  if (ranges.length === 0) return 'closed';
  if (ranges.length === 1 && ranges[0][0] === 0 && ranges[0][1] === MINUTES_PER_DAY) return 'open 24 hours';
  return ranges.map(([s, e]) => `${formatMinute(s)}–${formatMinute(e)}`).join(', ');
}

/** Every instant whose local wall clock reads `minute` on the given date (none in a gap, two in an overlap). */
function instantsAtWallTime(year: number, month: number, day: number, minute: number, zone: string): number[] {
  const wall = Date.UTC(year, month - 1, day, 0, minute); // the wall time, as if the zone were UTC
  const offsets = new Set<number>();
  for (const probe of [wall - 86_400_000, wall, wall + 86_400_000]) offsets.add(zoned(probe, zone).offset);
  const out: number[] = [];
  for (const offset of offsets) {
    const instant = wall - offset * 60_000;
    if (zoned(instant, zone).offset === offset) out.push(instant);
  }
  return out;
}

/** The first instant in (lo, hi] whose UTC offset differs from lo's. */
function findOffsetChange(lo: number, hi: number, zone: string): number {
  const before = zoned(lo, zone).offset;
  while (hi - lo > 1) {
    const mid = Math.floor((lo + hi) / 2);
    if (zoned(mid, zone).offset === before) lo = mid;
    else hi = mid;
  }
  return hi;
}

function calendarDay(dt: DateTime): number {
  return Date.UTC(dt.year, dt.month - 1, dt.day) / 86_400_000;
}

/**
 * When it next opens at or after `instantMs` (the instant, and a label like "Monday 8:00 AM" or
 * "today 1:00 PM"); undefined if never within 14 days.
 *
 * Open at `instantMs` → `{ at: instantMs, label: 'now' }` (we can call back now). Otherwise the
 * first instant at which isOpenAt turns true, which is a range start by the wall clock, the end
 * of a partial closure, a local midnight, or a daylight-saving change (an opening the clock
 * skips over happens at the first minute that exists after it).
 */
export function nextOpen(schedule: Schedule, instantMs: number): { at: number; label: string } | undefined {
  const zone = schedule.timezone;
  const now = zoned(instantMs, zone);
  if (openAtLocal(schedule, local(now))) return { at: instantMs, label: 'now' };
  const at = firstChange(schedule, instantMs, true);
  return at === undefined ? undefined : { at, label: openLabel(now, zoned(at, zone)) };
}

/**
 * When it is next closed at or after `instantMs`: `instantMs` itself when closed then, else the
 * first instant at which isOpenAt turns false (a range's end, a closure's start, a local
 * midnight, a daylight-saving change); undefined if open throughout the next 14 days (no hours).
 */
export function nextClosed(schedule: Schedule, instantMs: number): number | undefined {
  if (!isOpenAt(schedule, instantMs)) return instantMs;
  return firstChange(schedule, instantMs, false);
}

/**
 * The first instant after `instantMs`, within 14 days, at which isOpenAt is `open`. isOpenAt can
 * only change where the local date or wall-clock minute crosses a boundary, or where the UTC
 * offset changes: all such instants in the window are tested in order.
 */
function firstChange(schedule: Schedule, instantMs: number, open: boolean): number | undefined {
  const zone = schedule.timezone;
  const now = zoned(instantMs, zone);
  const limit = now.plus({ days: SEARCH_DAYS }).toMillis();
  const candidates: number[] = [];
  let day = now.startOf('day');
  while (day.toMillis() <= limit) {
    const dayStart = day.toMillis();
    const nextDay = day.plus({ days: 1 }).startOf('day');
    candidates.push(dayStart);
    const lastMs = nextDay.toMillis() - 1;
    if (zoned(dayStart, zone).offset !== zoned(lastMs, zone).offset) {
      candidates.push(findOffsetChange(dayStart, lastMs, zone));
    }
    const l = local(day);
    const boundaries = new Set<number>();
    for (const r of schedule.hours?.days[l.weekday] ?? []) boundaries.add(r[0]).add(r[1]);
    for (const c of schedule.closed) if (c.date === l.date && c.range) boundaries.add(c.range[0]).add(c.range[1]);
    for (const minute of boundaries) {
      if (minute <= 0 || minute >= MINUTES_PER_DAY) continue; // midnights are the day starts
      candidates.push(...instantsAtWallTime(day.year, day.month, day.day, minute, zone));
    }
    day = nextDay;
  }
  candidates.sort((a, b) => a - b);
  for (const at of candidates) {
    if (at <= instantMs || at > limit) continue;
    if (isOpenAt(schedule, at) === open) return at;
  }
  return undefined;
}

function openLabel(now: DateTime, at: DateTime): string {
  const time = formatMinute(at.hour * 60 + at.minute);
  const days = calendarDay(at) - calendarDay(now);
  if (days === 0) return `today ${time}`;
  if (days === 1) return `tomorrow ${time}`;
  const weekday = DAY_NAMES[at.weekday - 1];
  if (days < 7) return `${weekday} ${time}`;
  return `${weekday}, ${MONTH_ABBR[at.month - 1]} ${at.day} ${time}`;
}

/** The local time of an instant in the zone, as "2:05 PM". */
export function localTime(timezone: string, instantMs: number): string {
  const dt = zoned(instantMs, timezone);
  return formatMinute(dt.hour * 60 + dt.minute);
}
