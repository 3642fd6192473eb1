// SMS PDUs (3GPP TS 23.040) for a GSM modem in PDU mode (AT+CMGF=0): SMS-SUBMIT out, and
// SMS-DELIVER and SMS-STATUS-REPORT in. Pure: hex strings in, values out, no I/O.
//
// A PDU as the modem takes it (AT+CMGS) or gives it (AT+CMGR, +CMT, +CDS) starts with the SMSC
// address ("00": the SIM's own SMSC); AT+CMGS=<n> counts only the TPDU that follows it.
// GSM-7 text is packed 8 septets into 7 octets, least significant bit first; after a user data
// header the first septet starts at the next septet boundary (the "fill bits").

import type { ReceiptState } from '../../records/states';
import { decodeGsm7, decodeLatin1, decodeUcs2, parseConcatUdh, segmentText, type SmsEncoding } from '../../messages/encoding';

export class PduError extends Error {
  override readonly name = 'PduError';
}

// ------------------------------------------------------------------------------------- septets

/** Packs septets (one per octet, as encodeGsm7 gives them) into octets, after `fillBits` zero bits. */
export function packSeptets(septets: Uint8Array, fillBits = 0): Buffer {
  const out = Buffer.alloc(Math.ceil((fillBits + septets.length * 7) / 8));
  let bit = fillBits;
  for (const s of septets) {
    const v = s & 0x7f;
    const at = bit >> 3;
    const shift = bit & 7;
    out[at]! |= (v << shift) & 0xff;
    if (shift > 1) out[at + 1]! |= v >> (8 - shift);
    bit += 7;
  }
  return out;
}

/** `count` septets from packed octets that start with `fillBits` bits to skip. Throws when too short. */
export function unpackSeptets(octets: Uint8Array, count: number, fillBits = 0): Buffer {
  if (Math.ceil((fillBits + count * 7) / 8) > octets.length) throw new PduError(`user data holds fewer than ${count} septets`);
  const out = Buffer.alloc(count);
  let bit = fillBits;
  for (let i = 0; i < count; i++) {
    const at = bit >> 3;
    const shift = bit & 7;
    let v = octets[at]! >> shift;
    if (shift > 1) v |= octets[at + 1]! << (8 - shift);
    out[i] = v & 0x7f;
    bit += 7;
  }
  return out;
}

// ------------------------------------------------------------------------------------ addresses

const TOA_INTERNATIONAL = 0x91;
const TOA_UNKNOWN = 0x81;
const SEMI_OCTET = '0123456789*#abc';

function swapDigits(digits: string): Buffer {
  const d = digits.length % 2 ? digits + 'F' : digits;
  const out = Buffer.alloc(d.length / 2);
  for (let i = 0; i < d.length; i += 2) out[i / 2] = (nibble(d[i + 1]!) << 4) | nibble(d[i]!);
  return out;
}

function nibble(ch: string): number {
  if (ch === 'F') return 0xf;
  const v = SEMI_OCTET.indexOf(ch);
  if (v < 0) throw new RangeError(`"${ch}" cannot be sent in a phone number`);
  return v;
}

function readDigits(buf: Uint8Array, count: number): string {
  let s = '';
  for (let i = 0; i < count; i++) {
    const b = buf[i >> 1]!;
    const v = i % 2 ? b >> 4 : b & 0x0f;
    if (v === 0xf) break;
    s += SEMI_OCTET[v] ?? '';
  }
  return s;
}

/** TP-DA/TP-OA: length in digits, type of address, semi-octets. "+1415…" is international (0x91). */
export function encodeAddress(number: string): Buffer {
  const international = number.startsWith('+');
  const digits = international ? number.slice(1) : number;
  if (!/^[0-9*#]{1,20}$/.test(digits)) throw new RangeError(`"${number}" is not a phone number a modem can send to`);
  return Buffer.concat([Buffer.from([digits.length, international ? TOA_INTERNATIONAL : TOA_UNKNOWN]), swapDigits(digits)]);
}

/** The SMSC part in front of a TPDU: "00" (use the SIM's SMSC) when none is given; length in octets. */
export function encodeSmsc(number?: string): Buffer {
  if (!number) return Buffer.from([0]);
  const international = number.startsWith('+');
  const digits = international ? number.slice(1) : number;
  if (!/^\d{1,20}$/.test(digits)) throw new RangeError(`"${number}" is not an SMSC number`);
  const body = Buffer.concat([Buffer.from([international ? TOA_INTERNATIONAL : TOA_UNKNOWN]), swapDigits(digits)]);
  return Buffer.concat([Buffer.from([body.length]), body]);
}

// ------------------------------------------------------------------------------------ validity

/** Relative TP-VP octet for at least `minutes` (rounded up to what the field can say; at most 63 weeks). */
export function relativeValidity(minutes: number): number {
  if (!(minutes > 0)) return 0;
  if (minutes <= 720) return Math.max(0, Math.ceil(minutes / 5) - 1);
  if (minutes <= 1440) return 143 + Math.ceil((minutes - 720) / 30);
  if (minutes <= 30 * 1440) return 166 + Math.max(2, Math.ceil(minutes / 1440));
  return Math.min(255, 192 + Math.max(5, Math.ceil(minutes / 10080)));
}

/** Minutes a relative TP-VP octet stands for. */
export function validityMinutes(vp: number): number {
  if (vp <= 143) return (vp + 1) * 5;
  if (vp <= 167) return 720 + (vp - 143) * 30;
  if (vp <= 196) return (vp - 166) * 1440;
  return (vp - 192) * 10080;
}

// ------------------------------------------------------------------------------------ SMS-SUBMIT

const MTI_DELIVER = 0x00;
const MTI_SUBMIT = 0x01;
const MTI_STATUS_REPORT = 0x02;
// TP-RD (0x04, reject duplicates) is never set: a resubmitted text keeps its own TP-MR anyway.
const FO_VPF_RELATIVE = 0x10;
const FO_SRR = 0x20;
const FO_UDHI = 0x40;

export interface SubmitOptions {
  /** E.164 ("+14155550123", sent as international) or plain digits (sent as "unknown" type). */
  to: string;
  text: string;
  /** Concatenation reference (UDH) when the text needs several parts. */
  reference: number;
  /** SMSC to put in front of each PDU; none: "00", the SIM's SMSC (AT+CSCA). */
  smsc?: string;
  /** TP-SRR: ask for a status report (default true). */
  statusReport?: boolean;
  /** Relative validity period in minutes (rounded up to what TP-VP can say); none: the SMSC's default. */
  validityMinutes?: number;
  /** Raw relative TP-VP octet; wins over validityMinutes. */
  validity?: number;
}

export interface SubmitPart {
  /** SMSC part + TPDU, upper-case hex, what is typed after the "> " prompt. */
  hex: string;
  /** Octets of the TPDU alone: the number AT+CMGS wants. */
  tpduLength: number;
  /** 1-based. */
  seq: number;
  total: number;
}

export interface EncodedSubmit {
  encoding: SmsEncoding;
  parts: SubmitPart[];
}

/**
 * The SMS-SUBMIT PDUs for a text: GSM-7 (DCS 0x00) when every character is in the GSM alphabet,
 * else UCS-2 (DCS 0x08); several parts with a `05 00 03 ref total seq` UDH when it is long
 * (153 GSM-7 / 67 UCS-2 units each, from segmentText). Throws RangeError for a bad number or a
 * text past 255 parts.
 */
export function encodeSubmit(opts: SubmitOptions): EncodedSubmit {
  const segmented = segmentText(opts.text, opts.reference);
  const smsc = encodeSmsc(opts.smsc);
  const da = encodeAddress(opts.to);
  const vp = opts.validity ?? (opts.validityMinutes !== undefined ? relativeValidity(opts.validityMinutes) : undefined);
  const fo = MTI_SUBMIT | (vp !== undefined ? FO_VPF_RELATIVE : 0) | (opts.statusReport === false ? 0 : FO_SRR) | (segmented.udh ? FO_UDHI : 0);
  const total = segmented.parts.length;
  const parts = segmented.parts.map((payload, i): SubmitPart => {
    const { udl, ud } = userData(payload, segmented.udh, segmented.dataCoding);
    if (ud.length > 140) throw new RangeError(`part ${i + 1} has ${ud.length} octets of user data; 140 fit`);
    const head = [fo, 0x00 /* TP-MR: the modem fills it in */];
    const tail = [0x00 /* TP-PID */, segmented.dataCoding, ...(vp !== undefined ? [vp & 0xff] : []), udl];
    const tpdu = Buffer.concat([Buffer.from(head), da, Buffer.from(tail), ud]);
    return { hex: Buffer.concat([smsc, tpdu]).toString('hex').toUpperCase(), tpduLength: tpdu.length, seq: i + 1, total };
  });
  return { encoding: segmented.encoding, parts };
}

/** segmentText's payload (UDH + one septet per octet, or UDH + UCS-2) → TP-UDL and packed TP-UD. */
function userData(payload: Buffer, udh: boolean, dataCoding: number): { udl: number; ud: Buffer } {
  const udhLen = udh ? payload[0]! + 1 : 0;
  if (dataCoding !== 0) return { udl: payload.length, ud: payload };
  const header = payload.subarray(0, udhLen);
  const septets = payload.subarray(udhLen);
  const fill = fillBits(udhLen);
  return { udl: (udhLen * 8 + fill) / 7 + septets.length, ud: Buffer.concat([header, packSeptets(septets, fill)]) };
}

/** Bits between a UDH of `udhLen` octets and the next septet boundary. */
function fillBits(udhLen: number): number {
  return (7 - ((udhLen * 8) % 7)) % 7;
}

// ------------------------------------------------------------------------------------- decoding

export type PduEncoding = SmsEncoding | '8-bit';

export interface ConcatPart {
  ref: number;
  total: number;
  seq: number;
}

export interface DeliverPdu {
  type: 'deliver';
  /** SMSC that delivered it ("" when the PDU had none). */
  smsc: string;
  /** Sender: "+digits" when international, digits otherwise, or the alphanumeric sender name. */
  from: string;
  dcs: number;
  encoding: PduEncoding;
  /** Text of this PDU (this part, when `part` is set); 8-bit data shown as Latin-1. */
  text: string;
  part?: ConcatPart;
  /** TP-SCTS: when the SMSC took the message. */
  timestamp: Date;
  /** TP-SCTS as written, with its time zone ("2024-03-05T10:20:30+01:00"). */
  scts: string;
  statusReportIndicated: boolean;
}

export interface SubmitPdu {
  type: 'submit';
  smsc: string;
  to: string;
  /** TP-MR as written in the PDU (0 when the modem assigns it). */
  mr: number;
  dcs: number;
  encoding: PduEncoding;
  text: string;
  part?: ConcatPart;
  statusReport: boolean;
  /** Relative TP-VP octet, when present. */
  validity?: number;
  tpduLength: number;
}

export interface StatusReportPdu {
  type: 'status-report';
  smsc: string;
  /** TP-MR of the SMS-SUBMIT this reports on: the number AT+CMGS answered with. */
  mr: number;
  /** TP-RA: who the text was for, same form as DeliverPdu.from. */
  recipient: string;
  /** TP-SCTS: when the SMSC took the submit. */
  submittedAt: Date;
  /** TP-DT: when it was delivered, or failed for good. */
  dischargedAt: Date;
  /** TP-ST. */
  status: number;
  state: ReceiptState;
  /** False while the SMSC is still trying (TP-ST 0x20–0x3F). */
  final: boolean;
  /** "received_by_sme", "validity_period_expired", ... */
  statusName: string;
}

export type DecodedPdu = DeliverPdu | SubmitPdu | StatusReportPdu;

class Reader {
  at = 0;
  constructor(readonly buf: Buffer) {}
  octet(what: string): number {
    if (this.at >= this.buf.length) throw new PduError(`PDU ends before ${what}`);
    return this.buf[this.at++]!;
  }
  take(n: number, what: string): Buffer {
    if (this.at + n > this.buf.length) throw new PduError(`PDU ends inside ${what}`);
    const b = this.buf.subarray(this.at, this.at + n);
    this.at += n;
    return b;
  }
  rest(): Buffer {
    const b = this.buf.subarray(this.at);
    this.at = this.buf.length;
    return b;
  }
}

function readAddress(r: Reader, what: string): string {
  const len = r.octet(what);
  const toa = r.octet(what);
  const raw = r.take(Math.ceil(len / 2), what);
  if ((toa & 0x70) === 0x50) return decodeGsm7(unpackSeptets(raw, Math.floor((len * 4) / 7))); // alphanumeric
  const digits = readDigits(raw, len);
  return (toa & 0x70) === 0x10 ? `+${digits}` : digits;
}

function readSmsc(r: Reader): string {
  const len = r.octet('the SMSC length');
  if (len === 0) return '';
  const toa = r.octet('the SMSC type');
  const digits = readDigits(r.take(len - 1, 'the SMSC address'), (len - 1) * 2);
  return (toa & 0x70) === 0x10 ? `+${digits}` : digits;
}

function bcd(b: number): number {
  return (b & 0x0f) * 10 + (b >> 4);
}

/** TP-SCTS / TP-DT: seven swapped-BCD octets, the last the zone in quarter hours (bit 3: west of UTC). */
export function decodeTimestamp(raw: Uint8Array): { date: Date; text: string } {
  const [yy, mo, dd, hh, mi, ss] = Array.from(raw.subarray(0, 6), bcd) as [number, number, number, number, number, number];
  const tz = raw[6]!;
  const quarters = (tz & 0x07) * 10 + (tz >> 4);
  const offset = (tz & 0x08 ? -1 : 1) * quarters * 15;
  const year = yy >= 90 ? 1900 + yy : 2000 + yy; // 1990s only in old published examples
  const date = new Date(Date.UTC(year, mo - 1, dd, hh, mi, ss) - offset * 60_000);
  const p = (n: number) => String(n).padStart(2, '0');
  const sign = offset < 0 ? '-' : '+';
  const text = `${year}-${p(mo)}-${p(dd)}T${p(hh)}:${p(mi)}:${p(ss)}${sign}${p(Math.floor(Math.abs(offset) / 60))}:${p(Math.abs(offset) % 60)}`;
  return { date, text };
}

/** Alphabet of a TP-DCS (23.038 section 4); compressed or reserved codings are read as 8-bit. */
export function dcsEncoding(dcs: number): PduEncoding {
  const group = dcs >> 4;
  if (group <= 0x7) {
    if (dcs & 0x20) return '8-bit'; // compressed: nothing we can show as text
    const alphabet = (dcs >> 2) & 0x03;
    return alphabet === 0 ? 'GSM-7' : alphabet === 2 ? 'UCS-2' : alphabet === 1 ? '8-bit' : 'GSM-7';
  }
  if (group === 0xc || group === 0xd) return 'GSM-7';
  if (group === 0xe) return 'UCS-2';
  if (group === 0xf) return dcs & 0x04 ? '8-bit' : 'GSM-7';
  return 'GSM-7';
}

function readUserData(r: Reader, udhi: boolean, dcs: number): { encoding: PduEncoding; text: string; part?: ConcatPart } {
  const udl = r.octet('TP-UDL');
  const ud = r.rest();
  const encoding = dcsEncoding(dcs);
  let udhLen = 0;
  let part: ConcatPart | undefined;
  if (udhi) {
    if (ud.length < 1) throw new PduError('TP-UDHI set but no user data header');
    udhLen = ud[0]! + 1;
    if (udhLen > ud.length) throw new PduError('user data header longer than the user data');
    const concat = parseConcatUdh(ud.subarray(0, udhLen));
    if (concat) part = { ref: concat.ref, total: concat.total, seq: concat.seq };
  }
  let text: string;
  if (encoding === 'GSM-7') {
    const headerSeptets = udhi ? (udhLen * 8 + fillBits(udhLen)) / 7 : 0;
    const count = udl - headerSeptets;
    if (count < 0) throw new PduError('TP-UDL smaller than the user data header');
    text = decodeGsm7(unpackSeptets(ud.subarray(udhLen), count, fillBits(udhLen)));
  } else {
    if (udl > ud.length) throw new PduError(`TP-UDL says ${udl} octets, the PDU has ${ud.length}`);
    const body = ud.subarray(udhLen, udl);
    text = encoding === 'UCS-2' ? decodeUcs2(body) : decodeLatin1(body);
  }
  return { encoding, text, ...(part ? { part } : {}) };
}

/**
 * Decodes a PDU from the modem. `withSmsc` (default true): the hex starts with the SMSC part, as
 * in +CMGR/+CMGL/+CMT/+CDS and AT+CMGS; false for a bare TPDU. Throws PduError when malformed.
 * A stored message with TP-MTI 01 is an SMS-SUBMIT (a draft or sent copy on the SIM).
 */
export function decodePdu(hex: string, withSmsc = true): DecodedPdu {
  const clean = hex.trim();
  if (!/^(?:[0-9a-fA-F]{2})+$/.test(clean)) throw new PduError('PDU is not an even number of hex digits');
  const r = new Reader(Buffer.from(clean, 'hex'));
  const smsc = withSmsc ? readSmsc(r) : '';
  const tpduStart = r.at;
  const fo = r.octet('the first octet');
  switch (fo & 0x03) {
    case MTI_DELIVER: {
      const from = readAddress(r, 'TP-OA');
      r.octet('TP-PID');
      const dcs = r.octet('TP-DCS');
      const ts = decodeTimestamp(r.take(7, 'TP-SCTS'));
      const ud = readUserData(r, (fo & FO_UDHI) !== 0, dcs);
      return { type: 'deliver', smsc, from, dcs, ...ud, timestamp: ts.date, scts: ts.text, statusReportIndicated: (fo & FO_SRR) !== 0 };
    }
    case MTI_SUBMIT: {
      const mr = r.octet('TP-MR');
      const to = readAddress(r, 'TP-DA');
      r.octet('TP-PID');
      const dcs = r.octet('TP-DCS');
      const vpf = (fo >> 3) & 0x03;
      let validity: number | undefined;
      if (vpf === 2) validity = r.octet('TP-VP');
      else if (vpf !== 0) r.take(7, 'TP-VP');
      const tpduLength = r.buf.length - tpduStart;
      const ud = readUserData(r, (fo & FO_UDHI) !== 0, dcs);
      return { type: 'submit', smsc, to, mr, dcs, ...ud, statusReport: (fo & FO_SRR) !== 0, ...(validity !== undefined ? { validity } : {}), tpduLength };
    }
    case MTI_STATUS_REPORT: {
      const mr = r.octet('TP-MR');
      const recipient = readAddress(r, 'TP-RA');
      const submitted = decodeTimestamp(r.take(7, 'TP-SCTS'));
      const discharged = decodeTimestamp(r.take(7, 'TP-DT'));
      const status = r.octet('TP-ST');
      const st = statusOf(status);
      return { type: 'status-report', smsc, mr, recipient, submittedAt: submitted.date, dischargedAt: discharged.date, status, ...st };
    }
    default:
      throw new PduError(`TP-MTI 3 (reserved) in first octet 0x${fo.toString(16).padStart(2, '0')}`);
  }
}

// ------------------------------------------------------------------------------ TP-ST (9.2.3.15)

const STATUS_NAMES: Readonly<Record<number, string>> = {
  0x00: 'received_by_sme',
  0x01: 'forwarded_unconfirmed',
  0x02: 'replaced_by_sc',
  0x20: 'congestion',
  0x21: 'sme_busy',
  0x22: 'no_response_from_sme',
  0x23: 'service_rejected',
  0x24: 'qos_not_available',
  0x25: 'error_in_sme',
  0x40: 'remote_procedure_error',
  0x41: 'incompatible_destination',
  0x42: 'connection_rejected_by_sme',
  0x43: 'not_obtainable',
  0x44: 'qos_not_available',
  0x45: 'no_interworking_available',
  0x46: 'validity_period_expired',
  0x47: 'deleted_by_originating_sme',
  0x48: 'deleted_by_sc_administration',
  0x49: 'sm_does_not_exist',
  0x60: 'congestion',
  0x61: 'sme_busy',
  0x62: 'no_response_from_sme',
  0x63: 'service_rejected',
  0x64: 'qos_not_available',
  0x65: 'error_in_sme',
};

/**
 * TP-ST → receipt state. 0x00 delivered; 0x01 (handed on, delivery unconfirmed) unknown; 0x02
 * (replaced) deleted; 0x20–0x3F the SMSC is still trying (enroute, not final); 0x40–0x5F
 * permanent errors (expired, deleted, rejected, else undeliverable); 0x60–0x7F temporary errors
 * the SMSC has given up on (undeliverable); anything reserved unknown.
 */
export function statusOf(st: number): { state: ReceiptState; final: boolean; statusName: string } {
  const statusName = STATUS_NAMES[st] ?? `reserved_0x${st.toString(16).padStart(2, '0')}`;
  let state: ReceiptState;
  if (st === 0x00) state = 'delivered';
  else if (st === 0x02) state = 'deleted';
  else if (st < 0x20) state = 'unknown';
  else if (st < 0x40) return { state: 'enroute', final: false, statusName };
  else if (st === 0x46) state = 'expired';
  else if (st === 0x47 || st === 0x48) state = 'deleted';
  else if (st === 0x42) state = 'rejected';
  else if (st < 0x80) state = 'undeliverable';
  else state = 'unknown';
  return { state, final: true, statusName };
}
