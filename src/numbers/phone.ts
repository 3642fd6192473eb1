import { parsePhoneNumberFromString, type CountryCode } from 'libphonenumber-js/max';
import { getCountries } from 'libphonenumber-js/max';

const COUNTRIES = new Set<string>(getCountries());

export function isCountryCode(code: string): code is CountryCode {
  return COUNTRIES.has(code);
}

/** Values Asterisk and carriers use for "no number": never a caller we can text. */
const WITHHELD_MARKERS = new Set(['', 'anonymous', 'restricted', 'unavailable', 'unknown', '<unknown>', 'private', 'withheld']);

export function isWithheldNumber(raw: string): boolean {
  return WITHHELD_MARKERS.has(raw.trim().toLowerCase());
}

/**
 * Turns a dialled or presented number into E.164, or returns undefined when it cannot be a
 * phone number (extensions, "anonymous", garbage). "Possible" rather than "valid" on purpose:
 * numbering plans reserve ranges (555-01xx) that test labs and demos use, and a PBX's DIDs are
 * the admin's word. Policy decides later which valid numbers may be texted.
 */
export function toE164(raw: string, defaultCountry: string): string | undefined {
  return remember(e164Seen, `${defaultCountry} ${raw}`, () => parseE164(raw, defaultCountry));
}

/**
 * Parsing a number is the dearest step of a decision, and a call asks about the same few numbers
 * (its caller, its DID) several times: recent answers are kept, up to a bound (a flood of made-up
 * numbers cannot grow it), in a map that is simply emptied when full.
 */
const REMEMBERED = 4096;
const e164Seen = new Map<string, string | undefined>();
const classified = new Map<string, CallerNumber | undefined>();

function remember<T>(seen: Map<string, T>, key: string, compute: () => T): T {
  // A long value is no phone number: not worth a place (a hostile caller ID can be kilobytes).
  if (key.length > 48) return compute();
  if (seen.has(key)) return seen.get(key) as T;
  const value = compute();
  if (seen.size >= REMEMBERED) seen.clear();
  seen.set(key, value);
  return value;
}

function parseE164(raw: string, defaultCountry: string): string | undefined {
  const cleaned = raw.trim();
  if (cleaned.length === 0 || cleaned.length > 32 || isWithheldNumber(cleaned)) return undefined;
  if (!/^[+\d(][\d\s().-]*$/.test(cleaned)) return undefined;
  const country = isCountryCode(defaultCountry) ? defaultCountry : undefined;
  // A plain number as long as the country's full national form with its country code, as
  // trunks send it ("15550001000"), is read as international first.
  let parsed = cleaned.startsWith('+') ? parsePhoneNumberFromString(cleaned) : parsePhoneNumberFromString(cleaned, country);
  if (!cleaned.startsWith('+') && (!parsed || !parsed.isPossible())) {
    parsed = parsePhoneNumberFromString('+' + cleaned.replace(/\D/g, ''));
  }
  if (!parsed || !parsed.isPossible()) return undefined;
  return parsed.number;
}

/** "+14155550123" → "+1******0123": what info-level logs show of a caller. */
export function maskNumber(e164: string): string {
  if (e164.length <= 4) return '*'.repeat(e164.length);
  const keepHead = e164.startsWith('+') ? 2 : 0;
  const head = e164.slice(0, keepHead);
  const tail = e164.slice(-4);
  return head + '*'.repeat(Math.max(0, e164.length - keepHead - 4)) + tail;
}

export type NumberKind =
  | 'mobile'
  | 'landline'
  | 'fixed_or_mobile'
  | 'premium_rate'
  | 'shared_cost'
  | 'toll_free'
  | 'voip'
  | 'other'
  | 'unknown';

export interface CallerNumber {
  /** E.164 */
  number: string;
  valid: boolean;
  /** A short code (5–6 digit service number): never a person's phone. */
  shortCode: boolean;
  /** ISO region the numbering plan puts it in (US and CA are both +1). */
  region?: string;
  kind: NumberKind;
}

const KIND_OF_TYPE: Readonly<Record<string, NumberKind>> = {
  MOBILE: 'mobile',
  FIXED_LINE: 'landline',
  FIXED_LINE_OR_MOBILE: 'fixed_or_mobile',
  PREMIUM_RATE: 'premium_rate',
  SHARED_COST: 'shared_cost',
  TOLL_FREE: 'toll_free',
  VOIP: 'voip',
};

/**
 * What the numbering plan says about a caller's number, for the "must not be texted" rules.
 * Returns undefined when the raw value is not a phone number at all.
 */
export function classifyNumber(raw: string, country: string): CallerNumber | undefined {
  return remember(classified, `${country} ${raw}`, () => classify(raw, country));
}

function classify(raw: string, country: string): CallerNumber | undefined {
  const digits = raw.replace(/[^\d]/g, '');
  if (!raw.trim().startsWith('+') && digits.length >= 3 && digits.length <= 6 && !isWithheldNumber(raw)) {
    return Object.freeze({ number: raw.trim(), valid: false, shortCode: true, kind: 'other' as const });
  }
  const e164 = toE164(raw, country);
  if (!e164) return undefined;
  const parsed = parsePhoneNumberFromString(e164);
  if (!parsed) return undefined;
  const valid = parsed.isValid();
  const type = valid ? parsed.getType() : undefined;
  // Frozen: the same object is handed to every caller that asks about this number.
  return Object.freeze({
    number: e164,
    valid,
    shortCode: parsed.nationalNumber.length <= 6,
    region: parsed.country,
    kind: type ? (KIND_OF_TYPE[type] ?? 'other') : 'unknown',
  });
}

/** The 10,000-number block a number belongs to (E.164 without its last 4 digits): the unit SMS pumping works in. */
export function numberPrefix(e164: string): string {
  return e164.length > 5 ? e164.slice(0, -4) : e164;
}
