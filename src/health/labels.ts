// The `reason` label of the metrics takes values from a closed set: a free-text error (an SMPP
// error string, a gateway's message) would make a new time series per distinct text. Anything
// outside the vocabulary is counted as `other`; the logs and the ledger keep the words.

import { CALL_REASONS } from '../policy/decide';

/** Why a text ended or waits: the outbox's rules (src/policy/decide.ts checkDue), the gateway, receipts. */
export const SEND_REASONS = [
  'opted_out',
  'do_not_text',
  'deduped',
  'called_back',
  'replied',
  'first_text_not_sent',
  'quiet_hours',
  'gateway_rejected',
  // delivery receipt states (ReceiptState)
  'delivered',
  'undeliverable',
  'expired',
  'rejected',
  'deleted',
  'unknown',
  'accepted',
  'enroute',
] as const;

const VOCABULARY: ReadonlySet<string> = new Set<string>(['', ...CALL_REASONS, ...SEND_REASONS, 'other']);

/** The label value for a reason: itself when it is one of the known words, else `other`. */
export function reasonLabel(reason: string | null | undefined): string {
  const r = reason ?? '';
  return VOCABULARY.has(r) ? r : 'other';
}
