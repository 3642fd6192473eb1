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
