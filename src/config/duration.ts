// Durations as admins write them in mctb.yaml: "45s", "2m", "1h30m", "500ms", "1.5h", "0s".

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** The units accepted, for messages. */
export const DURATION_UNITS = Object.keys(UNIT_MS);

const PART = /(\d+(?:\.\d+)?)(ms|s|m|h|d)/y;

/**
 * Milliseconds in a duration such as "30s", "1h30m" or "500ms"; undefined when the text is
 * not one (a bare number has no unit and is not a duration). Parts may be combined in any
 * order; surrounding whitespace is ignored.
 */
export function parseDuration(text: string): number | undefined {
  const s = text.trim();
  if (s.length === 0) return undefined;
  let total = 0;
  PART.lastIndex = 0;
  while (PART.lastIndex < s.length) {
    const m = PART.exec(s);
    if (!m) return undefined;
    total += Number(m[1]) * UNIT_MS[m[2]];
  }
  return Number.isFinite(total) ? Math.round(total) : undefined;
}

/** 5_400_000 → "1h30m"; 0 → "0s"; 1500 → "1s500ms". */
export function formatDuration(ms: number): string {
  if (ms === 0) return '0s';
  let rest = Math.round(ms);
  let out = '';
  for (const unit of ['d', 'h', 'm', 's', 'ms']) {
    const n = Math.floor(rest / UNIT_MS[unit]);
    if (n > 0) {
      out += `${n}${unit}`;
      rest -= n * UNIT_MS[unit];
    }
  }
  return out;
}
