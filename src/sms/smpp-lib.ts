// The smpp package, set up once for mctb: short_message is handed over as raw bytes, because the
// package's own decoding guesses wrong (GSM 03.38 as "ASCII", no escape table); mctb decodes
// GSM-7, UCS-2 and Latin-1 itself (src/messages/encoding.ts). Encoding is ours already: we
// always pass a Buffer, which the package sends untouched.

import smpp from 'smpp';

interface SmppLib {
  connect(opts: Record<string, unknown>): unknown;
  createServer(opts: Record<string, unknown>, listener?: (session: unknown) => void): unknown;
  errors: Record<string, number>;
  filters: { message: { decode: (value: unknown) => unknown } };
}

const lib = smpp as SmppLib;
lib.filters.message.decode = (value: unknown) => value;

export default lib;

/** SMPP command_status → its name (ESME_RTHROTTLED, ...), one table for logs and the ledger. */
export function smppStatusName(status: number): string {
  for (const [name, code] of Object.entries(lib.errors)) if (code === status) return name;
  return `0x${status.toString(16).padStart(8, '0')}`;
}
