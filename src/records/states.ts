// The states and kinds the ledger stores as strings: each list once, here. Plain data with no
// dependency on the ledger, so the parts that hand rows to it or read rows from it (sms/,
// notify/, inbox/) use the same words without importing it.

import { MISSED_OUTCOMES, type CallOutcome } from '../calls/types';

/**
 * Where a send is: `scheduled` (waiting for its due time) → `sending` (claimed; on the wire) →
 * `submitted` (the gateway took it) → `delivered` | `failed` by receipt; or it ends without
 * reaching the gateway: `failed`, `cancelled` (a person answered, an opt-out) or `skipped` (a rule
 * said no when it was due).
 */
export type SendState = 'scheduled' | 'sending' | 'submitted' | 'delivered' | 'failed' | 'cancelled' | 'skipped';
/** Every state a send can be in (SendState as a list). */
export const SEND_STATES: readonly SendState[] = ['scheduled', 'sending', 'submitted', 'delivered', 'failed', 'cancelled', 'skipped'];
/** How a send ends that never reached the gateway (Sends.finish). */
export type UnsentState = Extract<SendState, 'failed' | 'cancelled' | 'skipped'>;
/** States a send never leaves. */
export const FINAL_SEND_STATES: readonly SendState[] = ['delivered', 'failed', 'cancelled', 'skipped'];

/**
 * Every kind of text mctb sends. `text_back` and `follow_up` are the automatic texts the caps count.
 * `console` and `relay` are texts a person wrote to a contact (in the web console; from a staff
 * mobile, relayed), `sends.sent_by` says who; `relay_confirm` answers the staff mobile.
 */
export type SendKind = 'text_back' | 'follow_up' | 'opt_out_confirm' | 'opt_in_confirm' | 'help' | 'staff_alert' | 'manual' | 'console' | 'relay' | 'relay_confirm';
/** Every SendKind, as a list. */
export const SEND_KINDS: readonly SendKind[] = ['text_back', 'follow_up', 'opt_out_confirm', 'opt_in_confirm', 'help', 'staff_alert', 'manual', 'console', 'relay', 'relay_confirm'];

/** Delivery receipt states as the ledger keeps them. */
export type ReceiptState = 'delivered' | 'undeliverable' | 'expired' | 'rejected' | 'deleted' | 'unknown' | 'accepted' | 'enroute';
/** Receipt states that fail the send they answer. */
export const RECEIPT_FAILURES: ReadonlySet<ReceiptState> = new Set<ReceiptState>(['undeliverable', 'expired', 'rejected', 'deleted']);

/** Every call outcome (CallOutcome in src/calls/types.ts, as a list). */
export const CALL_OUTCOMES: readonly CallOutcome[] = ['answered', ...MISSED_OUTCOMES, 'unknown_end'];

/** What was decided about a call. Why is its reason (CALL_REASONS in src/policy/decide.ts). */
export type Decision = 'text' | 'no_text';
export const DECISIONS: readonly Decision[] = ['text', 'no_text'];

/** A staff notification (webhook event): retried while `pending`. */
export type NotificationState = 'pending' | 'delivered' | 'failed';

/**
 * What an incoming text did (logs, the mctb_inbound_messages_total metric). From a staff mobile a
 * text that is not a keyword is `relayed` to a contact, or `relay_refused` (the staff told why).
 */
export type MessageAction = 'opted_out' | 'already_opted_out' | 'opted_in' | 'help_sent' | 'reply' | 'relayed' | 'relay_refused';

/**
 * What the audit log records (audit.action): sign-ins (`login_throttled`: refused unchecked, too
 * many failures for the name or address), sign-outs, changes to users, and what console users
 * change in the ledger.
 */
export type AuditAction =
  | 'login_ok'
  | 'login_failed'
  | 'login_throttled'
  | 'logout'
  | 'user_added'
  | 'user_removed'
  | 'password_changed'
  | 'opt_out_removed'
  | 'opt_out_added'
  | 'contact_changed'
  | 'contacts_imported'
  | 'thread_assigned';
export const AUDIT_ACTIONS: readonly AuditAction[] = [
  'login_ok',
  'login_failed',
  'login_throttled',
  'logout',
  'user_added',
  'user_removed',
  'password_changed',
  'opt_out_removed',
  'opt_out_added',
  'contact_changed',
  'contacts_imported',
  'thread_assigned',
];
/** Sign-in attempts: their subject is the name as typed, which failed ones are counted by. */
export const SIGN_IN_ACTIONS: readonly AuditAction[] = ['login_ok', 'login_failed', 'login_throttled'];
/** The attempts that count against a name and an address (console.login_attempts). */
export const FAILED_SIGN_IN_ACTIONS: readonly AuditAction[] = ['login_failed', 'login_throttled'];

/**
 * A delivery failure that is carrier filtering of unregistered traffic (Twilio 30007/30034,
 * Telnyx's equivalents): the commonest reason a text "sends" but never arrives. Stored as the
 * send's error with this prefix (the carrier transports write it, src/sms/filtered.ts reads it),
 * so `mctb why`, `report` and the log name it and its fix.
 */
export const FILTERED_PREFIX = 'carrier_filtered';
export const FILTERED_FIX = 'register the number for A2P 10DLC (a brand and campaign at the carrier) and assign it to the campaign';

export function filteredError(code: string, what: string): string {
  return `${FILTERED_PREFIX} ${code} ${what}: ${FILTERED_FIX}`;
}
