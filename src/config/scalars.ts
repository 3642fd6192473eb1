// Checks of single values (a port, a duration, a country, a URL ...) against their spec: pure
// functions of the YAML node, returning the normalised value or what is wrong with it. The
// walker (validate.ts) places the problem in the file.

import { isMap, isScalar, isSeq, type Node, type Scalar } from 'yaml';
import { isCountryCode, toE164 } from '../numbers/phone';
import { isValidTimeZone, parseClosure } from '../policy/hours';
import { DURATION_UNITS, formatDuration, parseDuration } from './duration';
import { parseQuietHours } from './quiet-hours';
import type { DurationSpec, EnumSpec, NumberSpec, PhoneSpec, Spec, StringSpec } from './spec';
import { closest } from './suggest';

export type ScalarSpec = Exclude<Spec, { kind: 'object' | 'list' | 'secret' | 'map' | 'hours' }>;

/** The value, or the problem; `offset` (when known) is the character of the value at fault. */
/** A value (with a warning worth showing, maybe), or what is wrong with it. */
export type Checked = { value: unknown; warning?: string } | { message: string; offset?: number };

const fail = (message: string, offset?: number): Checked => ({ message, offset });

export function checkScalar(spec: ScalarSpec, node: Node | null | undefined): Checked {
  const expected = expectation(spec);
  if (node != null && !isScalar(node)) {
    const hint = spec.kind === 'string' && (isMap(node) || isSeq(node)) && node.flow ? ' (put the text in quotes)' : '';
    return fail(`expected ${expected}, got ${describe(node)}${hint}`);
  }
  const raw = node == null ? null : node.value;
  if (raw === null && !(spec.kind === 'string' && spec.allowEmpty)) {
    return fail(spec.kind === 'string' ? 'must not be empty' : `expected ${expected}, got an empty value`);
  }
  const text = node == null || raw === null ? '' : scalarText(node);
  switch (spec.kind) {
    case 'string':
      return checkString(spec, text);
    case 'number':
      return checkNumber(spec, node as Scalar);
    case 'bool':
      return typeof raw === 'boolean' ? { value: raw } : fail(`expected true or false, got ${describe(node)}`);
    case 'duration':
      return checkDuration(spec, node as Scalar);
    case 'enum':
      return checkEnum(spec, text);
    case 'country': {
      const code = text.trim().toUpperCase();
      if (isCountryCode(code)) return { value: code };
      const hint = /^\+?\d+$/.test(text.trim())
        ? 'is a calling code, not a country; use the ISO 3166 alpha-2 code, e.g. "US", "GB" or "DE"'
        : 'is not a known country code; use an ISO 3166 alpha-2 code, e.g. "US", "GB" or "DE"';
      return fail(`${JSON.stringify(text)} ${hint}`);
    }
    case 'phone':
      // Read with the business's country later (see phoneEntry); patterns are checked now.
      if (spec.patterns && /[xX*]/.test(text)) {
        const entry = phoneEntry(spec, text, 'US');
        if ('error' in entry) return fail(entry.error);
      }
      return { value: text };
    case 'sender':
      return checkSender(text);
    case 'timezone':
      return checkTimeZone(text);
    case 'closure': {
      const closure = parseClosure(text);
      return closure.ok ? { value: closure.value } : fail(closure.message, closure.offset);
    }
    case 'quiet_hours': {
      const quiet = parseQuietHours(text);
      return quiet.ok ? { value: quiet.value } : fail(quiet.message, quiet.offset);
    }
    case 'url':
      return checkUrl(text);
    case 'listen':
      return checkListen(text);
  }
}

/** An http(s) URL, as written (trimmed). */
function checkUrl(text: string): Checked {
  const t = text.trim();
  let url: URL;
  try {
    url = new URL(t);
  } catch {
    return fail(`${JSON.stringify(text)} is not a URL; write it in full, e.g. "https://example.com/mctb"`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return fail(`${JSON.stringify(text)} is not an http:// or https:// URL`);
  return { value: t };
}

/** `127.0.0.1:9465` (or `[::1]:9465`, `:9465`) → { host, port }. */
function checkListen(text: string): Checked {
  const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d{1,5})$/.exec(text.trim());
  const port = m ? Number(m[3]) : NaN;
  if (!m || port < 0 || port > 65535) return fail(`expected host:port, e.g. "127.0.0.1:9465", got "${text}"`);
  return { value: { host: m[1] ?? (m[2] || '127.0.0.1'), port } };
}

/**
 * Legacy abbreviations and fixed-offset names that tz accepts but that never change for summer
 * time: `EST` is UTC−5 all year, so a New York business's hours would be an hour off all summer.
 * Each points to the zone people mean by it.
 */
const LEGACY_ZONES: Readonly<Record<string, string>> = {
  EST: 'America/New_York', EDT: 'America/New_York', EST5EDT: 'America/New_York',
  CST: 'America/Chicago', CDT: 'America/Chicago', CST6CDT: 'America/Chicago',
  MST: 'America/Denver', MDT: 'America/Denver', MST7MDT: 'America/Denver',
  PST: 'America/Los_Angeles', PDT: 'America/Los_Angeles', PST8PDT: 'America/Los_Angeles',
  AKST: 'America/Anchorage', HST: 'Pacific/Honolulu',
  GMT: 'Europe/London', BST: 'Europe/London', WET: 'Europe/Lisbon', CET: 'Europe/Paris', MET: 'Europe/Paris', EET: 'Europe/Athens',
};

function checkTimeZone(text: string): Checked {
  const zone = text.trim();
  const legacy = LEGACY_ZONES[zone.toUpperCase()];
  if (legacy) {
    return fail(`${JSON.stringify(text)} is a fixed offset or an abbreviation, not a place: it ignores summer time, so opening hours would be an hour off half the year (did you mean ${JSON.stringify(legacy)}?)`);
  }
  const zones = [...Intl.supportedValuesOf('timeZone'), 'UTC'];
  if (/^Etc\/GMT[+-]\d+$/i.test(zone) && isValidTimeZone(zone)) {
    // Valid, and sometimes meant (a business that keeps one offset all year), but note the sign.
    const n = zone.slice(7);
    return {
      value: zones.find((z) => z.toLowerCase() === zone.toLowerCase()) ?? zone,
      warning: `${zone} is a fixed offset (no summer time), and its sign is inverted: ${zone} is UTC${n.startsWith('+') ? '−' : '+'}${n.slice(1)}; prefer the place's IANA zone (e.g. "America/New_York")`,
    };
  }
  // Accepted in any case ("america/chicago"); kept in the usual spelling when it is a known one.
  if (isValidTimeZone(zone)) return { value: zones.find((z) => z.toLowerCase() === zone.toLowerCase()) ?? zone };
  // A misspelling, else the city alone ("Chicago", "new york").
  const city = zone.toLowerCase().replace(/\s+/g, '_');
  const guess = closest(zone, zones) ?? zones.find((z) => z.slice(z.lastIndexOf('/') + 1).toLowerCase() === city);
  const hint = guess ? `did you mean ${JSON.stringify(guess)}?` : 'use an IANA name such as "America/Chicago" or "Europe/London"';
  return fail(`unknown time zone ${JSON.stringify(text)} (${hint})`);
}

function checkString(spec: StringSpec, text: string): Checked {
  if (!spec.allowEmpty && text.trim().length === 0) return fail('must not be empty');
  if (spec.maxLength !== undefined && text.length > spec.maxLength) {
    const why = spec.maxLengthWhy ? `; ${spec.maxLengthWhy}` : `; at most ${spec.maxLength} allowed`;
    return fail(`${JSON.stringify(text)} is ${text.length} characters long${why}`);
  }
  if (spec.pattern && !spec.pattern.test.test(text.trim())) return fail(`must be ${spec.pattern.what}`);
  return { value: spec.upperCase ? text.trim().replace(/\s+/g, ' ').toUpperCase() : text };
}

function checkNumber(spec: NumberSpec, node: Scalar): Checked {
  const v = node.value;
  if (typeof v !== 'number' || !Number.isFinite(v)) {
    const quoted = typeof v === 'string' && v.trim() !== '' && Number.isFinite(Number(v)) ? ' (remove the quotes)' : '';
    return fail(`expected ${expectation(spec)}, got ${describe(node)}${quoted}`);
  }
  const inRange =
    (spec.min === undefined || v >= spec.min) && (spec.max === undefined || v <= spec.max) && (spec.above === undefined || v > spec.above);
  if (!inRange) return fail(`expected ${expectation(spec)}, got ${describe(node)}`);
  if (spec.integer && !Number.isInteger(v)) {
    return fail(`expected ${expectation(spec).replace(/^a number/, 'a whole number')}, got ${describe(node)}`);
  }
  if (spec.oneOf && !spec.oneOf.includes(v)) {
    const guess = closest(String(v), spec.oneOf.map(String));
    const hint = guess ? ` (did you mean ${guess}?)` : '';
    return fail(`expected ${expectation(spec)}, got ${describe(node)}${hint}`);
  }
  return { value: v };
}

function checkDuration(spec: DurationSpec, node: Scalar): Checked {
  const v = node.value;
  const bare = typeof v === 'number' ? scalarText(node) : typeof v === 'string' && /^\s*\d+(\.\d+)?\s*$/.test(v) ? v.trim() : undefined;
  if (bare !== undefined) return fail(`expected a duration, got ${describe(node)} (use a unit, e.g. "${bare}s")`);
  const ms = typeof v === 'string' ? parseDuration(v) : undefined;
  if (ms === undefined) {
    return fail(`expected a duration such as "30s", "2m" or "1h30m" (units: ${DURATION_UNITS.join(', ')}), got ${describe(node)}`);
  }
  const min = spec.min === undefined ? undefined : parseDuration(spec.min)!;
  const max = spec.max === undefined ? undefined : parseDuration(spec.max)!;
  if ((min !== undefined && ms < min) || (max !== undefined && ms > max)) return fail(`must be ${durationRange(spec)}, got ${describe(node)}`);
  return { value: ms };
}

/** "from 1s to 1h", "at least 1m", "at most 60s"; '' without bounds. */
export function durationRange(spec: DurationSpec): string {
  const min = spec.min === undefined ? undefined : formatDuration(parseDuration(spec.min)!);
  const max = spec.max === undefined ? undefined : formatDuration(parseDuration(spec.max)!);
  if (min !== undefined && max !== undefined) return `from ${min} to ${max}`;
  if (min !== undefined) return `at least ${min}`;
  if (max !== undefined) return `at most ${max}`;
  return '';
}

function checkEnum(spec: EnumSpec, text: string): Checked {
  if (spec.values.includes(text)) return { value: text };
  const guess = closest(text, spec.values);
  const hint = guess ? ` (did you mean ${JSON.stringify(guess)}?)` : '';
  return fail(`expected ${expectation(spec)}, got ${JSON.stringify(text)}${hint}`);
}

function checkSender(text: string): Checked {
  if (text.startsWith('+')) {
    if (/^\+[1-9]\d{1,14}$/.test(text) && toE164(text, 'US') !== undefined) return { value: text };
    return fail(`${JSON.stringify(text)} is not an E.164 number (write "+", the country code and the number without spaces, e.g. "+15550001000")`);
  }
  if (/^[A-Za-z0-9 ]{1,11}$/.test(text) && text.trim() !== '') return { value: text };
  const hint = /^\d{12,15}$/.test(text) ? ` (add the leading "+" of an international number: "+${text}")` : '';
  return fail(`expected an E.164 number such as "+15550001000" or a sender ID of 1 to 11 letters, digits and spaces, got ${JSON.stringify(text)}${hint}`);
}

const PATTERN = /^\+(\d+)(X+|\*)$/;
const PREFIX = /^\+\d{1,14}$/;
const PATTERN_EXAMPLE = 'write "+", digits, then an X for each free digit or a final "*", e.g. "+1555000XXXX" or "+1555000*"';

/**
 * A `phone` entry read with `country`: a number (E.164), or, where the spec allows, a DID
 * pattern ("+1555000XXXX", upper-case X) or a prefix ("+1900", as given).
 */
export function phoneEntry(
  spec: PhoneSpec,
  text: string,
  country: string,
): { number: string } | { pattern: string } | { prefix: string } | { error: string } {
  const t = text.trim();
  if (spec.patterns && /[xX*]/.test(t)) {
    const upper = t.replace(/x/g, 'X');
    const m = PATTERN.exec(upper);
    if (!m) return { error: `${JSON.stringify(text)} is not a phone number or a DID pattern (${PATTERN_EXAMPLE})` };
    if (m[2] !== '*' && m[1].length + m[2].length > 15) {
      return { error: `${JSON.stringify(text)} is ${m[1].length + m[2].length} digits long; E.164 numbers have at most 15` };
    }
    return { pattern: upper };
  }
  if (spec.prefixes && PREFIX.test(t)) return { prefix: t };
  const e164 = toE164(t, country);
  if (e164 !== undefined) return { number: e164 };
  const what = spec.prefixes ? 'is not a number or a +prefix' : 'is not a phone number';
  // A local number ("555-0100") read as a national one: say what is missing and how it was read.
  const digits = t.replace(/[\s().-]/g, '');
  if (/^\d{4,9}$/.test(digits)) {
    return { error: `${JSON.stringify(text)} ${what}: the area code (or country code) is missing; read with country ${country}, write it in full, e.g. in international form "+<country code><area code><number>"` };
  }
  return { error: `${JSON.stringify(text)} ${what}` };
}

/** The text of a scalar as written: plain numbers and booleans keep their spelling ("0123"). */
export function scalarText(node: Scalar): string {
  const v = node.value;
  if (typeof v === 'string') return v;
  if (node.type === 'PLAIN' && typeof node.source === 'string' && node.source !== '') return node.source;
  return String(v);
}

/** What was found, for "got ..." in messages. */
export function describe(node: Node | null | undefined): string {
  if (node == null) return 'an empty value';
  if (isMap(node)) return 'a mapping';
  if (isSeq(node)) return 'a list';
  if (!isScalar(node) || node.value === null) return 'an empty value';
  if (typeof node.value === 'string') return JSON.stringify(node.value);
  return scalarText(node);
}

function expectation(spec: ScalarSpec): string {
  switch (spec.kind) {
    case 'number': {
      const { min, max, above, oneOf } = spec;
      if (oneOf) return `one of ${oneOf.join(', ')}`;
      if (min !== undefined && max !== undefined) return `a number from ${min} to ${max}`;
      if (above !== undefined) return `a number greater than ${above}`;
      if (min !== undefined) return `a number of at least ${min}`;
      if (max !== undefined) return `a number of at most ${max}`;
      return 'a number';
    }
    case 'enum':
      return `one of ${spec.values.map((v) => JSON.stringify(v)).join(', ')}`;
    case 'string':
      return 'a string';
    case 'bool':
      return 'true or false';
    case 'duration':
      return 'a duration such as "30s"';
    case 'country':
      return 'a country code such as "US"';
    case 'phone':
      return spec.patterns ? 'a phone number or DID pattern' : spec.prefixes ? 'a phone number or +prefix' : 'a phone number';
    case 'timezone':
      return 'a time zone such as "America/Chicago"';
    case 'closure':
      return 'a date such as "2026-12-25"';
    case 'quiet_hours':
      return 'quiet hours such as "21:00-08:00", or off';
    case 'url':
      return 'a URL such as "https://example.com/mctb"';
    case 'listen':
      return 'host:port such as "127.0.0.1:9465"';
    case 'sender':
      return 'a phone number or sender ID';
  }
}
