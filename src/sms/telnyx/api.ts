// Telnyx's Messaging API v2 as mctb uses it: the shapes on the wire (from Telnyx's public API
// reference), the codes that mean something to mctb, and the pure mappings from Telnyx's answers
// and webhooks onto mctb's states. The transport (transport.ts), the doctor (doctor.ts) and the
// loopback carrier (src/demo/loopback-telnyx.ts) share them.

import { filteredError } from '../../records/states';
import { statusKind } from '../http/client';
import type { DeliveryReceipt, SubmitResult } from '../transport';
import type { ReceiptState } from '../../records/states';

export const TELNYX_API = 'https://api.telnyx.com';

/** One entry of `errors` in every Telnyx error answer and in message webhooks. */
export interface TelnyxError {
  code: string;
  title: string;
  detail?: string;
}

/** POST /v2/messages, as mctb sends it. */
export interface SendRequest {
  from: string;
  to: string;
  text: string;
  messaging_profile_id: string;
  /** Delivery status for this message goes here instead of the profile's webhook URL. */
  webhook_url?: string;
}

/** The message object: the answer to POST /v2/messages (under `data`) and a webhook's `payload`. */
export interface TelnyxMessage {
  record_type?: 'message';
  id: string;
  direction?: 'inbound' | 'outbound';
  from: { phone_number: string; carrier?: string; line_type?: string };
  to: { phone_number: string; status: string; carrier?: string; line_type?: string }[];
  text: string;
  type?: 'SMS' | 'MMS';
  messaging_profile_id?: string;
  parts?: number;
  errors?: TelnyxError[];
  received_at?: string;
  sent_at?: string | null;
  completed_at?: string | null;
}

/** A webhook's body (API v2): `{ data: { event_type, id, occurred_at, payload }, meta }`. */
export interface TelnyxEvent {
  data: {
    record_type: 'event';
    event_type: string;
    id: string;
    occurred_at: string;
    payload: TelnyxMessage;
  };
  meta?: { attempt: number; delivered_to: string };
}

/** A message detail record (GET /v2/detail_records?filter[record_type]=messaging). */
export interface MessageDetailRecord {
  record_type: 'message_detail_record';
  /** The message id. */
  uuid: string;
  /** To. */
  cld: string;
  /** From. */
  cli: string;
  direction: 'inbound' | 'outbound';
  status?: string;
  created_at: string;
  profile_id?: string;
}

/** "Blocked due to STOP message": the person texted STOP to this profile (Advanced Opt-In/Out). */
export const OPTED_OUT_CODE = '40300';

/**
 * Delivery errors that are carrier filtering of unregistered or suspected-spam traffic (Telnyx's
 * messaging error reference): 40010 Not 10DLC registered is the commonest; 40002/40003 blocked as
 * spam, 40015 Telnyx's spam filter, 40017 AT&T spam rejection, 40019 AT&T invalid tag data (the
 * number's campaign assignment).
 */
export const FILTERED_CODES: ReadonlySet<string> = new Set(['40002', '40003', '40010', '40015', '40017', '40019']);

/** The first error of a Telnyx error body, when there is one. */
export function firstError(body: unknown): TelnyxError | undefined {
  const errors = (body as { errors?: unknown } | undefined)?.errors;
  if (!Array.isArray(errors) || errors.length === 0) return undefined;
  const e = errors[0] as Partial<TelnyxError>;
  return { code: String(e.code ?? ''), title: String(e.title ?? ''), detail: e.detail === undefined ? undefined : String(e.detail) };
}

/** An error in words: "40300 Blocked due to STOP message". */
export function errorWords(e: TelnyxError | undefined, status?: number): string {
  if (!e) return status === undefined ? 'no error given' : `HTTP ${status}`;
  return [e.code, e.title].filter(Boolean).join(' ') || (status === undefined ? 'an error' : `HTTP ${status}`);
}

/** What the outbox makes of Telnyx's answer to POST /v2/messages. */
export function sendOutcome(status: number, body: unknown): SubmitResult {
  const kind = statusKind(status);
  if (kind === 'ok') {
    const id = (body as { data?: { id?: unknown } } | undefined)?.data?.id;
    if (typeof id === 'string' && id) return { kind: 'accepted', messageIds: [id] };
    // Taken, but we cannot tell which message it became: check Telnyx's record before another try.
    return { kind: 'retry', error: `telnyx answered ${status} without a message id`, uncertain: true };
  }
  const e = firstError(body);
  if (e?.code === OPTED_OUT_CODE) return { kind: 'failed', error: `telnyx ${errorWords(e)}`, optedOut: true };
  if (kind === 'retry') return { kind: 'retry', error: `telnyx HTTP ${status}${e ? `: ${errorWords(e)}` : ''}` };
  return { kind: 'failed', error: `telnyx ${errorWords(e, status)}${e?.detail ? `: ${e.detail}` : ''}` };
}

/** Telnyx's final per-recipient statuses (message.finalized) and what the ledger calls them. */
const FINAL: Readonly<Record<string, ReceiptState>> = {
  delivered: 'delivered',
  delivery_failed: 'undeliverable',
  sending_failed: 'rejected',
  delivery_unconfirmed: 'unknown',
};

/** The receipt a message.finalized webhook gives, or undefined for a status that is not final. */
export function receiptOf(payload: TelnyxMessage): DeliveryReceipt | undefined {
  const status = payload.to?.[0]?.status;
  const state = status === undefined ? undefined : FINAL[status];
  if (!state || !payload.id) return undefined;
  const e = payload.errors?.[0];
  let error: string | null = null;
  if (e && state !== 'delivered') error = FILTERED_CODES.has(String(e.code)) ? filteredError(String(e.code), e.title) : errorWords({ code: String(e.code), title: e.title });
  return { messageId: payload.id, state, error };
}
