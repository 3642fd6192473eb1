/**
 * SMS text encoding, for every transport (SMPP's short_message, the modem's PDUs): GSM 03.38
 * default alphabet (SMPP data_coding 0, one septet per octet, unpacked) or UCS-2/UTF-16BE
 * (data_coding 8), and splitting into concatenated parts.
 */

export type SmsEncoding = 'GSM-7' | 'UCS-2';

/** GSM 03.38 default alphabet, index = septet. 0x1B is the escape to the extension table, not a character. */
const GSM7_BASIC: readonly (string | null)[] = [
  // 0x00
  '@', '£', '$', '¥', 'è', 'é', 'ù', 'ì', 'ò', 'Ç', '\n', 'Ø', 'ø', '\r', 'Å', 'å',
  // 0x10
  'Δ', '_', 'Φ', 'Γ', 'Λ', 'Ω', 'Π', 'Ψ', 'Σ', 'Θ', 'Ξ', null, 'Æ', 'æ', 'ß', 'É',
  // 0x20
  ' ', '!', '"', '#', '¤', '%', '&', "'", '(', ')', '*', '+', ',', '-', '.', '/',
  // 0x30
  '0', '1', '2', '3', '4', '5', '6', '7', '8', '9', ':', ';', '<', '=', '>', '?',
  // 0x40
  '¡', 'A', 'B', 'C', 'D', 'E', 'F', 'G', 'H', 'I', 'J', 'K', 'L', 'M', 'N', 'O',
  // 0x50
  'P', 'Q', 'R', 'S', 'T', 'U', 'V', 'W', 'X', 'Y', 'Z', 'Ä', 'Ö', 'Ñ', 'Ü', '§',
  // 0x60
  '¿', 'a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j', 'k', 'l', 'm', 'n', 'o',
  // 0x70
  'p', 'q', 'r', 's', 't', 'u', 'v', 'w', 'x', 'y', 'z', 'ä', 'ö', 'ñ', 'ü', 'à',
];

/** GSM 03.38 default extension table: sent as 0x1B followed by the code. */
const GSM7_EXTENSION: readonly (readonly [number, string])[] = [
  [0x0a, '\f'],
  [0x14, '^'],
  [0x28, '{'],
  [0x29, '}'],
  [0x2f, '\\'],
  [0x3c, '['],
  [0x3d, '~'],
  [0x3e, ']'],
  [0x40, '|'],
  [0x65, '€'],
];

export const GSM7_ESCAPE = 0x1b;

const BASIC_CODE = new Map<string, number>();
GSM7_BASIC.forEach((ch, code) => {
  if (ch !== null) BASIC_CODE.set(ch, code);
});
const EXTENSION_CODE = new Map<string, number>(GSM7_EXTENSION.map(([code, ch]) => [ch, code]));
const EXTENSION_CHAR = new Map<number, string>(GSM7_EXTENSION);

export const GSM7_SINGLE_MAX_SEPTETS = 160;
export const GSM7_PART_SEPTETS = 153;
export const UCS2_SINGLE_MAX_UNITS = 70;
export const UCS2_PART_UNITS = 67;
export const MAX_SEGMENTS = 255;

/** Septets the character takes in GSM-7 (1, or 2 for extension characters); 0 when it has no GSM-7 form. */
function gsm7Width(ch: string): 0 | 1 | 2 {
  if (BASIC_CODE.has(ch)) return 1;
  if (EXTENSION_CODE.has(ch)) return 2;
  return 0;
}

export function isGsm7(text: string): boolean {
  for (const ch of text) {
    if (gsm7Width(ch) === 0) return false;
  }
  return true;
}

/** One octet per septet, extension characters as 0x1B + code. Throws RangeError on a character outside the GSM alphabet. */
export function encodeGsm7(text: string): Buffer {
  const out: number[] = [];
  let offset = 0;
  for (const ch of text) {
    const basic = BASIC_CODE.get(ch);
    if (basic !== undefined) {
      out.push(basic);
    } else {
      const ext = EXTENSION_CODE.get(ch);
      if (ext === undefined) {
        throw new RangeError(`character U+${ch.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')} at offset ${offset} is not in the GSM 03.38 alphabet`);
      }
      out.push(GSM7_ESCAPE, ext);
    }
    offset += ch.length;
  }
  return Buffer.from(out);
}

/**
 * Unpacked septets to text. Never throws: octets above 0x7F become '?'; an escape followed by a
 * code the extension table lacks shows the basic-table character, as 03.38 asks receivers to do;
 * 0x1B 0x1B (reserved "another extension table") shows a space, also per 03.38.
 */
export function decodeGsm7(buf: Uint8Array): string {
  let out = '';
  for (let i = 0; i < buf.length; i++) {
    const code = buf[i]!;
    if (code === GSM7_ESCAPE) {
      if (i + 1 >= buf.length) break; // dangling escape at the end: nothing to show
      const next = buf[++i]!;
      if (next === GSM7_ESCAPE) out += ' ';
      else out += EXTENSION_CHAR.get(next) ?? basicChar(next);
    } else {
      out += basicChar(code);
    }
  }
  return out;
}

function basicChar(code: number): string {
  return (code < 0x80 ? GSM7_BASIC[code] : undefined) ?? '?';
}

/** UTF-16BE; characters outside the BMP become surrogate pairs (what every handset decodes). */
export function encodeUcs2(text: string): Buffer {
  return Buffer.from(text, 'utf16le').swap16();
}

/** UTF-16BE to text; an odd trailing byte is ignored. Never throws. */
export function decodeUcs2(buf: Uint8Array): string {
  const even = buf.length - (buf.length % 2);
  const copy = Buffer.from(buf.subarray(0, even)); // swap16 works in place: never touch the caller's buffer
  return copy.swap16().toString('utf16le');
}

/** data_coding 3 (ISO-8859-1), which some SMSCs use for inbound messages. */
export function decodeLatin1(buf: Uint8Array): string {
  return Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength).toString('latin1');
}

export interface SegmentedText {
  encoding: SmsEncoding;
  dataCoding: 0 | 8;
  /** Septets for GSM-7 (escape septets included), UTF-16 code units for UCS-2. */
  units: number;
  segments: number;
  /** Payload of each submit_sm short_message, UDH included when segments > 1. */
  parts: Buffer[];
  udh: boolean;
}

export interface SegmentCount {
  encoding: SmsEncoding;
  units: number;
  segments: number;
}

/**
 * Width in units of each indivisible piece of the text: a GSM character with its escape, or a
 * code point (a surrogate pair is one piece). Splitting only between pieces keeps pairs whole.
 */
function pieces(text: string): { encoding: SmsEncoding; widths: number[]; units: number } {
  const widths: number[] = [];
  let units = 0;
  let gsm = true;
  for (const ch of text) {
    const w = gsm7Width(ch);
    if (w === 0) {
      gsm = false;
      break;
    }
    widths.push(w);
    units += w;
  }
  if (gsm) return { encoding: 'GSM-7', widths, units };
  widths.length = 0;
  for (const ch of text) widths.push(ch.length);
  return { encoding: 'UCS-2', widths, units: text.length };
}

/** Piece counts per part; greedy fill, which is what handsets and SMSCs do. */
function partSizes(widths: readonly number[], units: number, singleMax: number, partMax: number): number[] {
  if (units <= singleMax) return [widths.length];
  const sizes: number[] = [];
  let count = 0;
  let filled = 0;
  for (const w of widths) {
    if (filled + w > partMax) {
      sizes.push(count);
      count = 0;
      filled = 0;
    }
    count++;
    filled += w;
  }
  if (count > 0) sizes.push(count);
  return sizes;
}

function limits(encoding: SmsEncoding): [single: number, part: number] {
  return encoding === 'GSM-7' ? [GSM7_SINGLE_MAX_SEPTETS, GSM7_PART_SEPTETS] : [UCS2_SINGLE_MAX_UNITS, UCS2_PART_UNITS];
}

/** Segments the text would take; does not throw past 255 so `config check` can report the number. */
export function countSegments(text: string): SegmentCount {
  const { encoding, widths, units } = pieces(text);
  const [single, part] = limits(encoding);
  return { encoding, units, segments: partSizes(widths, units, single, part).length };
}

/** 8-bit-reference concatenation UDH: 05 00 03 ref total seq. */
export function buildConcatUdh(reference: number, total: number, seq: number): Buffer {
  return Buffer.from([0x05, 0x00, 0x03, reference & 0xff, total, seq]);
}

/**
 * Encodes the text for submit_sm: GSM-7 when every character is in the GSM alphabet, otherwise
 * UCS-2. Throws RangeError when it would need more than 255 parts (the UDH count is one octet).
 * An empty text is one empty GSM-7 segment.
 */
export function segmentText(text: string, reference: number): SegmentedText {
  const { encoding, widths, units } = pieces(text);
  const [single, part] = limits(encoding);
  const sizes = partSizes(widths, units, single, part);
  const segments = sizes.length;
  if (segments > MAX_SEGMENTS) {
    throw new RangeError(`text needs ${segments} SMS parts; at most ${MAX_SEGMENTS} can be concatenated`);
  }
  const encode = encoding === 'GSM-7' ? encodeGsm7 : encodeUcs2;
  const chars = Array.from(text);
  const parts: Buffer[] = [];
  let at = 0;
  sizes.forEach((size, i) => {
    const body = encode(chars.slice(at, at + size).join(''));
    at += size;
    parts.push(segments > 1 ? Buffer.concat([buildConcatUdh(reference, segments, i + 1), body]) : body);
  });
  return { encoding, dataCoding: encoding === 'GSM-7' ? 0 : 8, units, segments, parts, udh: segments > 1 };
}

export interface ConcatInfo {
  ref: number;
  total: number;
  /** 1-based. */
  seq: number;
  /** The payload after the UDH (a copy). */
  body: Buffer;
}

/**
 * Reads the concatenation IE from a payload that starts with a UDH (esm_class UDHI set).
 * Understands IEI 0x00 (8-bit ref) and 0x08 (16-bit ref), skips other IEs; the last
 * concatenation IE wins, as 23.040 says for repeated IEs. Undefined when the UDH is malformed,
 * has no concatenation IE, or its numbers are impossible (total 0, seq 0 or past total).
 */
export function parseConcatUdh(payload: Uint8Array): ConcatInfo | undefined {
  if (payload.length < 1) return undefined;
  const udhEnd = 1 + payload[0]!;
  if (udhEnd > payload.length) return undefined;
  let found: { ref: number; total: number; seq: number } | undefined;
  let i = 1;
  while (i < udhEnd) {
    if (i + 2 > udhEnd) return undefined;
    const iei = payload[i]!;
    const len = payload[i + 1]!;
    const data = i + 2;
    if (data + len > udhEnd) return undefined;
    if (iei === 0x00 && len === 3) {
      found = { ref: payload[data]!, total: payload[data + 1]!, seq: payload[data + 2]! };
    } else if (iei === 0x08 && len === 4) {
      found = { ref: (payload[data]! << 8) | payload[data + 1]!, total: payload[data + 2]!, seq: payload[data + 3]! };
    }
    i = data + len;
  }
  if (!found || found.total === 0 || found.seq === 0 || found.seq > found.total) return undefined;
  return { ...found, body: Buffer.from(payload.subarray(udhEnd)) };
}
