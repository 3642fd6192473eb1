// Quiet hours as admins write them: "21:00-08:00" (24-hour, may cross midnight), or off / none.

import type { QuietHours } from './types';

/** Words that switch a setting off ("quiet_hours: off", "follow_up: none"); any case. */
export const OFF_WORDS: readonly string[] = ['off', 'none'];

export function isOffWord(text: string): boolean {
  return OFF_WORDS.includes(text.trim().toLowerCase());
}

export type QuietHoursResult = { ok: true; value: QuietHours | null } | { ok: false; message: string; offset: number };

const EXAMPLE = 'write HH:MM-HH:MM (24-hour), e.g. "21:00-08:00", or off';

/**
 * "21:00-08:00" → { start: 1260, end: 480 } (minutes since midnight; start > end crosses
 * midnight); "24:00" may end the range and is read as 0. "off" / "none" → null. Errors carry
 * the offset of the offending character in `value`.
 */
export function parseQuietHours(value: string): QuietHoursResult {
  const lead = value.length - value.trimStart().length;
  const text = value.trim();
  if (text === '') return { ok: false, message: `no quiet hours given; ${EXAMPLE}`, offset: 0 };
  if (isOffWord(text)) return { ok: true, value: null };
  const dash = text.indexOf('-');
  if (dash < 0) return { ok: false, message: `"${text}" is not a time range; ${EXAMPLE}`, offset: lead };
  const start = clock(text.slice(0, dash), lead, false);
  if (!start.ok) return start;
  const end = clock(text.slice(dash + 1), lead + dash + 1, true);
  if (!end.ok) return end;
  if (start.value === end.value) {
    return { ok: false, message: `"${text}" starts and ends at the same time; write off for no quiet hours`, offset: end.offset };
  }
  return { ok: true, value: { start: start.value, end: end.value } };
}

/** One HH:MM; `offset` is where `part` starts in the value. */
function clock(
  part: string,
  offset: number,
  isEnd: boolean,
): { ok: true; value: number; offset: number } | { ok: false; message: string; offset: number } {
  const at = offset + (part.length - part.trimStart().length);
  const t = part.trim();
  const m = /^(\d{1,2}):(\d{2})$/.exec(t);
  if (!m) {
    const what = isEnd ? 'an end time' : 'a start time';
    return { ok: false, message: t === '' ? `expected ${what} HH:MM; ${EXAMPLE}` : `"${t}" is not a time; ${EXAMPLE}`, offset: at };
  }
  const h = Number(m[1]);
  const min = Number(m[2]);
  if (isEnd && h === 24 && min === 0) return { ok: true, value: 0, offset: at };
  if (h > 23) return { ok: false, message: `hour ${m[1]} is past 23`, offset: at };
  if (min >= 60) return { ok: false, message: `minutes ${m[2]} must be below 60`, offset: at + m[1].length + 1 };
  return { ok: true, value: h * 60 + min, offset: at };
}
