// The smpp package (0.5.1), set up once for mctb. Every change to its behaviour is here:
//
// - short_message is handed over as raw bytes, because the package's own decoding guesses wrong
//   (GSM 03.38 as "ASCII", no escape table); mctb decodes GSM-7, UCS-2 and Latin-1 itself
//   (src/messages/encoding.ts). Encoding is ours already: we always pass a Buffer, which the
//   package sends untouched.
// - PDUs up to MAX_PDU_LENGTH are read. The package stops at 16 KB and throws on a longer one,
//   which closed the session on an MO with a long message_payload (SMPP 3.4 allows 64 KB); the
//   SMSC redelivered it and every text queued behind it was stuck.
// - A PDU the package cannot read is still emitted, as an UnreadablePdu, so that it can be
//   answered. The package threw (RangeError, TypeError) and dropped the PDU unanswered; the SMSC
//   then waits for a response that never comes and resends the PDU for ever. Its own reader is
//   also lenient where SMPP is not (a short_message longer than the body, mandatory fields
//   missing), so a body is checked against its command's layout first.
// - A command_length no PDU can have (under 16, over MAX_PDU_LENGTH) throws SmppFramingError
//   with what the header says. The package read a length of 0 as "no data yet" and lengths 1-4
//   as "wait for more", silently losing its place in the stream.
//
// These hook PDU.commandLength and PDU.fromStream, which Session#_extractPDUs calls for each PDU;
// test/sms/smpp.test.ts ("the smpp package patches") fails if an upgrade stops calling them.

import smpp from 'smpp';

type ParamType = object;
interface CommandSpec {
  id: number;
  command: string;
  params?: Record<string, { type: ParamType }>;
}
interface StreamLike {
  read(n: number): Buffer | null;
}
/** A PDU as the package builds it; fields by name. */
export interface LibPdu {
  command: string;
  command_id: number;
  command_status: number;
  sequence_number: number;
  isResponse(): boolean;
  toBuffer(): Buffer;
}
interface PduClass {
  new (command: string | Buffer, options?: Record<string, unknown>): LibPdu;
  maxLength: number;
  commandLength(stream: StreamLike): number | false;
  fromStream(stream: StreamLike, commandLength: number): LibPdu | UnreadablePdu | false;
}
interface SmppLib {
  connect(opts: Record<string, unknown>): unknown;
  createServer(opts: Record<string, unknown>, listener?: (session: unknown) => void): unknown;
  errors: Record<string, number>;
  filters: { message: { decode: (value: unknown) => unknown } };
  commands: Record<string, CommandSpec>;
  commandsById: Record<number, CommandSpec>;
  tlvsById: Record<number, { tag: string; type: ParamType }>;
  types: Record<'int8' | 'int16' | 'int32' | 'cstring' | 'string' | 'buffer', ParamType>;
  PDU: PduClass;
  Session: { prototype: { _extractPDUs?: unknown } };
}

const lib = smpp as SmppLib;
if (typeof lib.PDU?.commandLength !== 'function' || typeof lib.PDU.fromStream !== 'function' || typeof lib.Session?.prototype._extractPDUs !== 'function') {
  // Better no start at all than a daemon that silently leaves poison PDUs unanswered again.
  throw new Error('the smpp package is not the one src/sms/smpp/lib.ts patches (PDU.commandLength, PDU.fromStream): check the patches against the new version');
}

lib.filters.message.decode = (value: unknown) => value;

const HEADER = 16;
/**
 * Longest PDU read: a 64 KB message_payload (its TLV length is 16 bits) with the header, the
 * mandatory fields (about 350 octets at most) and other TLVs around it. Anything longer is no PDU.
 */
export const MAX_PDU_LENGTH = 72 * 1024;
lib.PDU.maxLength = MAX_PDU_LENGTH;

const RESPONSE_BIT = 0x80000000;

/** A PDU whose header was read but whose body was not (or whose command_id is unknown). */
export interface UnreadablePdu {
  readonly command: 'unreadable';
  /** The command its header names ("deliver_sm"), or "unknown". */
  readonly named: string;
  readonly command_id: number;
  readonly command_status: number;
  readonly sequence_number: number;
  readonly command_length: number;
  /** SMPP status to refuse it with. */
  readonly status: number;
  /** Why, without any of its content (it goes to the log). */
  readonly reason: string;
  /** Never handed to a response callback: a half-read response must not settle a submit. */
  isResponse(): false;
}

/** A command_length that cannot be: the rest of the stream cannot be framed. */
export class SmppFramingError extends Error {
  override readonly name = 'SmppFramingError';
  constructor(
    readonly commandLength: number,
    /** From the 12 octets after the length, when they had arrived. */
    readonly commandId: number | undefined,
    readonly sequenceNumber: number | undefined,
  ) {
    super(`command_length ${commandLength} is outside ${HEADER}..${MAX_PDU_LENGTH}`);
  }
}

lib.PDU.commandLength = (stream) => {
  const head = stream.read(4);
  if (!head) return false;
  const length = head.readUInt32BE(0);
  if (length >= HEADER && length <= MAX_PDU_LENGTH) return length;
  const rest = stream.read(HEADER - 4);
  throw new SmppFramingError(length, rest?.readUInt32BE(0), rest?.readUInt32BE(8));
};

lib.PDU.fromStream = (stream, commandLength) => {
  const body = stream.read(commandLength - 4);
  if (!body) return false;
  const head = Buffer.alloc(4);
  head.writeUInt32BE(commandLength, 0);
  return readPdu(Buffer.concat([head, body]));
};

/** One whole PDU (command_length octets, at least a header) → the package's PDU, or why not. */
export function readPdu(bytes: Buffer): LibPdu | UnreadablePdu {
  const commandId = bytes.readUInt32BE(4);
  const spec = lib.commandsById[commandId];
  const unreadable = (named: string, status: number, reason: string): UnreadablePdu => ({
    command: 'unreadable',
    named,
    command_id: commandId,
    command_status: bytes.readUInt32BE(8),
    sequence_number: bytes.readUInt32BE(12),
    command_length: bytes.length,
    status,
    reason,
    isResponse: () => false,
  });
  if (!spec) return unreadable('unknown', lib.errors.ESME_RINVCMDID, `unknown command_id 0x${commandId.toString(16).padStart(8, '0')}`);
  // A response with an error status may come without its body; only requests are held to theirs.
  const problem = commandId & RESPONSE_BIT ? undefined : bodyProblem(bytes, spec);
  if (problem) return unreadable(spec.command, lib.errors[problem.status], problem.reason);
  try {
    return new lib.PDU(bytes);
  } catch (err) {
    // What the layout check lets through but the package still cannot take (a time field it
    // cannot parse, say): our failure to read it rather than a known fault of the PDU.
    return unreadable(spec.command, lib.errors.ESME_RSYSERR, `the smpp package could not read it: ${(err as Error).message}`);
  }
}

interface BodyProblem {
  status: 'ESME_RINVCMDLEN' | 'ESME_RINVMSGLEN' | 'ESME_RINVTLVSTREAM' | 'ESME_RINVTLVLEN';
  reason: string;
}

/**
 * Where a request's body does not fit its command's layout (SMPP 3.4 section 4): every mandatory
 * field inside command_length, C-strings ended by a NUL, short_message no longer than what is
 * left, then whole TLVs, each fixed-size one of its size. Undefined when it fits.
 */
export function bodyProblem(bytes: Buffer, spec: CommandSpec): BodyProblem | undefined {
  const end = bytes.length;
  const t = lib.types;
  let at = HEADER;
  for (const [name, { type }] of Object.entries(spec.params ?? {})) {
    if (at >= end) return { status: 'ESME_RINVCMDLEN', reason: `the body ends before ${name}` };
    const fixed = fixedSize(type);
    if (fixed !== undefined) {
      if (at + fixed > end) return { status: 'ESME_RINVCMDLEN', reason: `the body ends inside ${name}` };
      at += fixed;
    } else if (type === t.cstring) {
      const nul = bytes.indexOf(0, at);
      if (nul < 0) return { status: 'ESME_RINVCMDLEN', reason: `${name} has no terminating NUL` };
      at = nul + 1;
    } else if (type === t.buffer || type === t.string) {
      const length = bytes[at]!;
      if (at + 1 + length > end) {
        return { status: name === 'short_message' ? 'ESME_RINVMSGLEN' : 'ESME_RINVCMDLEN', reason: `${name} claims ${length} octets, ${end - at - 1} left in the body` };
      }
      at += 1 + length;
    } else {
      return undefined; // address lists (submit_multi): left to the package's own reader
    }
  }
  while (at < end) {
    if (at + 4 > end) return { status: 'ESME_RINVTLVSTREAM', reason: `${end - at} stray octets after the last field` };
    const tag = bytes.readUInt16BE(at);
    const length = bytes.readUInt16BE(at + 2);
    at += 4;
    const tlv = lib.tlvsById[tag];
    const name = tlv?.tag ?? `TLV 0x${tag.toString(16).padStart(4, '0')}`;
    if (at + length > end) return { status: 'ESME_RINVTLVSTREAM', reason: `${name} claims ${length} octets, ${end - at} left in the body` };
    const fixed = tlv && fixedSize(tlv.type);
    if (fixed !== undefined && length !== fixed) return { status: 'ESME_RINVTLVLEN', reason: `${name} is ${length} octets, not ${fixed}` };
    at += length;
  }
  return undefined;
}

function fixedSize(type: ParamType): number | undefined {
  const t = lib.types;
  return type === t.int8 ? 1 : type === t.int16 ? 2 : type === t.int32 ? 4 : undefined;
}

/**
 * The answer to a PDU that could not be read: the response its command has, with the refusal's
 * status; generic_nack for an unknown command_id or a command that has no response. Undefined for
 * a response (nothing answers a response; its request times out instead).
 */
export function refusalOf(bad: UnreadablePdu): LibPdu | undefined {
  if (bad.named !== 'unknown' && bad.command_id & RESPONSE_BIT) return undefined;
  const resp = lib.commands[`${bad.named}_resp`] ? `${bad.named}_resp` : 'generic_nack';
  return new lib.PDU(resp, { sequence_number: bad.sequence_number, command_status: bad.status });
}

/** generic_nack for a stream that cannot be framed, with the sequence number its header gave. */
export function framingRefusal(err: SmppFramingError): LibPdu {
  return new lib.PDU('generic_nack', { sequence_number: err.sequenceNumber ?? 0, command_status: lib.errors.ESME_RINVCMDLEN });
}

/** Name of a command id, for logs ("deliver_sm", or hex when unknown). */
export function commandName(id: number | undefined): string {
  if (id === undefined) return 'unknown';
  return lib.commandsById[id]?.command ?? `0x${id.toString(16).padStart(8, '0')}`;
}

export default lib;

/** SMPP command_status → its name (ESME_RTHROTTLED, ...), one table for logs and the ledger. */
export function smppStatusName(status: number): string {
  for (const [name, code] of Object.entries(lib.errors)) if (code === status) return name;
  return `0x${status.toString(16).padStart(8, '0')}`;
}
