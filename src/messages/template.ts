/**
 * The text-back template: `{{name}}` and `{{name|prefix}}`, where the prefix is emitted only
 * when the value is non-empty ("Hi{{contact.first_name| }}," → "Hi Jane," or "Hi,").
 */

import { editDistance } from '../config/suggest';

export type TemplatePart =
  | { kind: 'text'; text: string }
  | { kind: 'variable'; name: string; prefix: string; offset: number };

export interface TemplateProblem {
  /** UTF-16 index into the template source. */
  offset: number;
  message: string;
}

export interface ParsedTemplate {
  parts: TemplatePart[];
  problems: TemplateProblem[];
}

export const CORE_TEMPLATE_VARIABLES: ReadonlySet<string> = new Set(['business.name', 'contact.first_name', 'caller.number']);

const NAME_PATTERN = /^[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*$/;

/**
 * Placeholders with problems are kept as literal text, so a template that slipped past
 * `config check` still sends what the operator wrote rather than dropping words.
 */
export function parseTemplate(src: string): ParsedTemplate {
  const parts: TemplatePart[] = [];
  const problems: TemplateProblem[] = [];
  let text = '';
  let at = 0;
  const flushText = (): void => {
    if (text.length > 0) parts.push({ kind: 'text', text });
    text = '';
  };
  for (;;) {
    const open = src.indexOf('{{', at);
    if (open < 0) {
      text += src.slice(at);
      break;
    }
    text += src.slice(at, open);
    const close = src.indexOf('}}', open + 2);
    const reopen = src.indexOf('{{', open + 2);
    // "{{a {{b}}": the first brace pair is the unclosed one; "{{b}}" still works.
    if (close < 0 || (reopen >= 0 && reopen < close)) {
      problems.push({ offset: open, message: 'unclosed "{{"' });
      const resume = reopen >= 0 ? reopen : src.length;
      text += src.slice(open, resume);
      at = resume;
      continue;
    }
    const inner = src.slice(open + 2, close);
    const pipe = inner.indexOf('|');
    const name = (pipe < 0 ? inner : inner.slice(0, pipe)).trim();
    const prefix = pipe < 0 ? '' : inner.slice(pipe + 1);
    if (name.length === 0) {
      problems.push({ offset: open, message: 'empty variable name' });
      text += src.slice(open, close + 2);
    } else if (!NAME_PATTERN.test(name)) {
      problems.push({ offset: open, message: `malformed variable name "${name}"` });
      text += src.slice(open, close + 2);
    } else {
      flushText();
      parts.push({ kind: 'variable', name, prefix, offset: open });
    }
    at = close + 2;
  }
  flushText();
  return { parts, problems };
}

/** Parse problems plus names not in `known`, in source order. */
export function checkTemplate(src: string, known: ReadonlySet<string>): TemplateProblem[] {
  const { parts, problems } = parseTemplate(src);
  const all = [...problems];
  const candidates = [...known].sort();
  for (const part of parts) {
    if (part.kind !== 'variable' || known.has(part.name)) continue;
    const suggestion = suggestName(part.name, candidates);
    all.push({
      offset: part.offset,
      message: `unknown variable "${part.name}"` + (suggestion ? ` (did you mean "${suggestion}"?)` : ''),
    });
  }
  return all.sort((a, b) => a.offset - b.offset);
}

function lastSegment(name: string): string {
  return name.slice(name.lastIndexOf('.') + 1).toLowerCase();
}

/** Closest known name within edit distance 2 (case-insensitive), else one with the same last segment. */
export function suggestName(name: string, candidates: readonly string[]): string | undefined {
  const lower = name.toLowerCase();
  let best: string | undefined;
  let bestDistance = 3;
  for (const candidate of candidates) {
    const d = editDistance(lower, candidate.toLowerCase());
    if (d < bestDistance) {
      best = candidate;
      bestDistance = d;
    }
  }
  if (best !== undefined) return best;
  const last = lastSegment(name);
  return candidates.find((c) => lastSegment(c) === last);
}

const RENDER_CACHE_LIMIT = 32;
const renderCache = new Map<string, TemplatePart[]>();

function cachedParts(src: string): TemplatePart[] {
  let parts = renderCache.get(src);
  if (parts === undefined) {
    parts = parseTemplate(src).parts;
    // Insertion order makes the first key the oldest; a daemon has a handful of templates.
    if (renderCache.size >= RENDER_CACHE_LIMIT) renderCache.delete(renderCache.keys().next().value!);
    renderCache.set(src, parts);
  }
  return parts;
}

/**
 * Values are inserted as data: a value containing "{{...}}" is never parsed. Unknown or empty
 * names render as nothing (and drop their prefix). Only own properties count, so
 * "{{constructor}}" cannot reach Object.prototype.
 */
export function renderTemplate(src: string, values: Readonly<Record<string, string | undefined>>): string {
  let out = '';
  for (const part of cachedParts(src)) {
    if (part.kind === 'text') {
      out += part.text;
    } else {
      const value = Object.hasOwn(values, part.name) ? values[part.name] : undefined;
      if (value) out += part.prefix + value;
    }
  }
  return out;
}

/** Line-breaking controls become spaces, so "Jane\nDoe" stays two words. */
const CONTROL_WHITESPACE = /[\t\n\v\f\r\u0085]/g;
/** Cc is C0, DEL and C1; Cf covers the bidi, zero-width and BOM characters (U+200B–200F, 202A–202E, 2066–2069, FEFF) and their kin. */
const CONTROL_OR_FORMAT = /[\p{Cc}\p{Cf}]/gu;
/** Unpaired surrogates are not characters and would corrupt UCS-2 output. */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

/**
 * Makes an untrusted value (caller ID from the PBX) safe to put in an SMS. Also NFC-normalizes,
 * so a decomposed "é" stays GSM-7 instead of forcing the whole message to UCS-2.
 */
export function sanitizeValue(raw: string, maxLength: number): string {
  const limit = Math.max(0, Math.floor(maxLength));
  let s = raw
    .replace(CONTROL_WHITESPACE, ' ')
    .replace(CONTROL_OR_FORMAT, '')
    .replace(LONE_SURROGATE, '')
    .normalize('NFC')
    .replace(/\s+/g, ' ')
    .trim();
  if (s.length > limit) {
    let cut = limit;
    const code = s.charCodeAt(cut - 1);
    if (cut > 0 && code >= 0xd800 && code <= 0xdbff) cut--;
    s = s.slice(0, cut).trimEnd();
  }
  return s;
}

const MAX_CALLER_ID_LENGTH = 40;
const MAX_FIRST_NAME_LENGTH = 20;

/** Words that mark a caller ID as a placeholder, a line type or an organisation rather than a person. */
const NOT_PERSON_WORDS = new Set([
  // placeholders and line types carriers put in CNAM
  'ANONYMOUS', 'ANON', 'UNKNOWN', 'UNAVAILABLE', 'UNAVAIL', 'RESTRICTED', 'PRIVATE', 'BLOCKED', 'WITHHELD',
  'UNLISTED', 'UNIDENTIFIED', 'NONE', 'NULL', 'CALLER', 'CALLERID', 'NAME', 'NUMBER', 'WIRELESS', 'CELL',
  'CELLULAR', 'PHONE', 'MOBILE', 'TOLL', 'FREE', 'CALL', 'AREA', 'OPERATOR', 'PAYPHONE', 'VOIP', 'SPAM',
  'SCAM', 'LIKELY', 'POTENTIAL', 'SUSPECTED', 'TELEMARKETER', 'TELEMARKETING', 'ROBOCALL', 'DISTANCE',
  'INTERNATIONAL', 'INTL', 'TEST',
  // organisations
  'LLC', 'INC', 'INCORPORATED', 'CORP', 'CORPORATION', 'CO', 'COMPANY', 'LTD', 'LIMITED', 'LLP', 'LP', 'PLLC',
  'PC', 'PLC', 'GMBH', 'GROUP', 'HOLDINGS', 'ENTERPRISES', 'ASSOCIATES', 'PARTNERS', 'SERVICES', 'SERVICE',
  'SOLUTIONS', 'SYSTEMS', 'TECHNOLOGIES', 'TECH', 'INDUSTRIES', 'DENTAL', 'DENTISTRY', 'DENTIST',
  'ORTHODONTICS', 'CLINIC', 'MEDICAL', 'MEDICINE', 'HEALTH', 'HEALTHCARE', 'HOSPITAL', 'PHARMACY', 'DRUG',
  'DRUGS', 'PEDIATRICS', 'VETERINARY', 'ANIMAL', 'CARE', 'CENTER', 'CENTRE', 'LAB', 'LABS', 'LABORATORY',
  'SCHOOL', 'SCHOOLS', 'ACADEMY', 'COLLEGE', 'UNIVERSITY', 'UNIV', 'DISTRICT', 'CITY', 'COUNTY', 'STATE',
  'TOWNSHIP', 'VILLAGE', 'GOVERNMENT', 'GOVT', 'DEPT', 'DEPARTMENT', 'OFFICE', 'OFFICES', 'POLICE', 'SHERIFF',
  'COURT', 'AGENCY', 'BUREAU', 'BANK', 'CREDIT', 'UNION', 'FINANCIAL', 'FINANCE', 'INSURANCE', 'MORTGAGE',
  'LOANS', 'REALTY', 'ESTATE', 'PROPERTIES', 'PROPERTY', 'MANAGEMENT', 'MGMT', 'CONSTRUCTION', 'PLUMBING',
  'ELECTRIC', 'ROOFING', 'AUTO', 'AUTOMOTIVE', 'MOTORS', 'TIRE', 'TIRES', 'REPAIR', 'STORE', 'STORES', 'SHOP',
  'MARKET', 'RESTAURANT', 'PIZZA', 'CAFE', 'HOTEL', 'MOTEL', 'CHURCH', 'MINISTRIES', 'FOUNDATION', 'SOCIETY',
  'ASSOCIATION', 'ASSN', 'CLUB', 'LEGAL', 'ATTORNEY', 'ATTORNEYS', 'FIRM', 'ACCOUNTING', 'TAX', 'CONSULTING',
  'COMMUNICATIONS', 'TELECOM', 'CABLE', 'ENERGY', 'UTILITIES', 'LOGISTICS', 'DELIVERY', 'FEDERAL', 'NATIONAL',
  'AMERICAN', 'AMERICA', 'USA', 'OF', 'THE', 'AND', 'FOR',
]);

/** First words of place names ("SAN JOSE", "FORT WORTH"): CNAM shows a city when it has no name. */
const PLACE_FIRST_WORDS = new Set([
  'SAN', 'SANTA', 'SANTO', 'LOS', 'LAS', 'EL', 'LA', 'NEW', 'FORT', 'FT', 'PORT', 'SAINT', 'ST', 'STE', 'MOUNT',
  'MT', 'NORTH', 'SOUTH', 'EAST', 'WEST', 'LAKE', 'PALM', 'CAPE', 'GRAND', 'GREAT',
]);

const HONORIFICS = new Set(['MR', 'MRS', 'MS', 'MISS', 'MX', 'DR', 'PROF', 'REV']);

/** US states, DC and territories, Canadian provinces: CNAM's "CITY    ST" fallback ends in one. */
const STATE_CODES = new Set([
  'AL', 'AK', 'AZ', 'AR', 'CA', 'CO', 'CT', 'DE', 'FL', 'GA', 'HI', 'ID', 'IL', 'IN', 'IA', 'KS', 'KY', 'LA', 'ME',
  'MD', 'MA', 'MI', 'MN', 'MS', 'MO', 'MT', 'NE', 'NV', 'NH', 'NJ', 'NM', 'NY', 'NC', 'ND', 'OH', 'OK', 'OR', 'PA',
  'RI', 'SC', 'SD', 'TN', 'TX', 'UT', 'VT', 'VA', 'WA', 'WV', 'WI', 'WY', 'DC', 'PR', 'VI', 'GU', 'AS', 'MP',
  'AB', 'BC', 'MB', 'NB', 'NL', 'NS', 'NT', 'NU', 'ON', 'PE', 'QC', 'SK', 'YT',
]);

/** A name word: letters joined by single hyphens or apostrophes, optionally ending in a period ("Jr."). */
const NAME_WORD = /^\p{L}[\p{L}\p{M}]*(?:['’-]\p{L}[\p{L}\p{M}]*)*\.?$/u;
const NAME_CHARS = /^[\p{L}\p{M} .,'’-]+$/u;

function bare(word: string): string {
  return word.replace(/\.$/, '').toUpperCase();
}

function titleCase(word: string): string {
  return word.toLowerCase().replace(/(^|['’-])(\p{L})/gu, (_, sep: string, letter: string) => sep + letter.toUpperCase());
}

function withoutHonorifics(words: string[]): string[] {
  let start = 0;
  while (start < words.length && HONORIFICS.has(bare(words[start]!))) start++;
  return words.slice(start);
}

/**
 * The caller's given name when the caller-ID name plausibly is a person's ("Jane Doe",
 * "DOE,JANE"), else ''. Deliberately conservative: a wrong name in a text is worse than none,
 * so a single word (could be a surname, a brand or a city) gives ''.
 */
export function firstNameFromCallerId(name: string): string {
  const clean = sanitizeValue(name, MAX_CALLER_ID_LENGTH + 1);
  if (clean.length === 0 || clean.length > MAX_CALLER_ID_LENGTH || !NAME_CHARS.test(clean)) return '';

  const sides = clean.split(',');
  if (sides.length > 2) return '';
  const words = (s: string): string[] => s.split(' ').filter((w) => w.length > 0);
  let all: string[];
  let given: string[];
  if (sides.length === 2) {
    // CNAM "LAST,FIRST"
    const family = words(sides[0]!);
    given = withoutHonorifics(words(sides[1]!));
    if (family.length === 0 || given.length === 0) return '';
    all = [...family, ...given];
  } else {
    all = words(clean);
    given = withoutHonorifics(all);
    if (given.length < 2) return '';
  }

  if (!all.every((w) => NAME_WORD.test(w))) return '';
  if (all.some((w) => NOT_PERSON_WORDS.has(bare(w)))) return '';
  const last = all[all.length - 1]!;
  if (all.length > 1 && /^[A-Z]{2}$/.test(last) && STATE_CODES.has(last)) return '';

  const first = given[0]!;
  if (first.endsWith('.')) return ''; // an initial or abbreviation ("J.", "Wm.")
  if ((first.match(/\p{L}/gu) ?? []).length < 2) return '';
  if (PLACE_FIRST_WORDS.has(first.toUpperCase())) return '';

  // Mixed-case input is trusted as written ("McKenzie"); single-case input is normalised.
  const singleCase = !/\p{Ll}/u.test(clean) || !/\p{Lu}/u.test(clean);
  const result = singleCase ? titleCase(first) : first;
  return result.length <= MAX_FIRST_NAME_LENGTH ? result : '';
}
