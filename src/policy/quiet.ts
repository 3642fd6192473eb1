// Quiet hours (e.g. 21:00-08:00 in the business's zone): follow-ups wait them out. Pure.

import { DateTime } from 'luxon';
import type { QuietHours } from '../config/types';

function minuteOfDay(t: DateTime): number {
  return t.hour * 60 + t.minute;
}

function inRange(q: QuietHours, minute: number): boolean {
  return q.start < q.end ? minute >= q.start && minute < q.end : minute >= q.start || minute < q.end;
}

export function isQuietAt(q: QuietHours | undefined, timezone: string, instantMs: number): boolean {
  if (!q) return false;
  return inRange(q, minuteOfDay(DateTime.fromMillis(instantMs, { zone: timezone })));
}

/** The first instant at or after `instantMs` outside quiet hours (by local wall clock, DST-safe). */
export function nextAllowedAt(q: QuietHours | undefined, timezone: string, instantMs: number): number {
  if (!isQuietAt(q, timezone, instantMs) || !q) return instantMs;
  const local = DateTime.fromMillis(instantMs, { zone: timezone });
  const at = (day: DateTime) => day.set({ hour: Math.floor(q.end / 60), minute: q.end % 60, second: 0, millisecond: 0 });
  let end = at(local);
  if (end <= local) end = at(local.plus({ days: 1 }));
  // A wall-clock minute skipped by a spring-forward lands luxon on the next real one.
  return end.toMillis();
}
