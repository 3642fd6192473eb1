// One rule for the times every command prints (`mctb calls`, `sends`, `tasks`, `optout list`,
// `why`, `report`): in the business's time zone when the row has a business, else the machine's,
// and always with the zone shown; `--json` gives ISO 8601 with the offset, never epoch ms.

import { DateTime } from 'luxon';
import { parseDuration } from '../config/duration';
import type { Config } from '../config/types';

/** The zone a row's times are shown in: its business's, else the machine's. */
export function zoneFor(config: Pick<Config, 'businesses'>, business: string | null | undefined): string {
  return (business && config.businesses.find((b) => b.name === business)?.timezone) || 'system';
}

/** `2026-11-22 16:30:49 CST`, or `… -06:00` where the zone has no abbreviation. */
export function formatTime(ms: number, zone: string): string {
  const dt = DateTime.fromMillis(ms, { zone });
  const name = dt.toFormat('ZZZZ');
  return `${dt.toFormat('yyyy-LL-dd HH:mm:ss')} ${/^(GMT|UTC)[+-]/.test(name) ? dt.toFormat('ZZ') : name}`;
}

/** `2026-11-22T16:30:49.123-06:00` (null stays null). */
export function isoTime(ms: number | null | undefined, zone: string): string | null {
  if (ms === null || ms === undefined) return null;
  return DateTime.fromMillis(ms, { zone }).toISO({ suppressMilliseconds: false, includeOffset: true }) ?? new Date(ms).toISOString();
}

/**
 * A moment as an admin types it (`mctb audit --since/--until`): a duration back from `now`
 * (`24h`, `7d`), or a date or date and time in `zone` (`2026-11-22`, `2026-11-22 16:30`,
 * ISO 8601 with an offset). Undefined when it is neither.
 */
export function parseWhen(text: string, now: number, zone = 'system'): number | undefined {
  const ago = parseDuration(text);
  if (ago !== undefined) return now - ago;
  const dt = DateTime.fromISO(text.trim().replace(' ', 'T'), { zone });
  return dt.isValid ? dt.toMillis() : undefined;
}
