// What every SMS transport (SMPP, log, and later a GSM modem) offers the outbox.

import type { ReceiptState } from '../records/states';

export type SubmitResult =
  | { kind: 'accepted'; messageIds: string[] }
  /**
   * Nothing was sent, or the gateway asked us to come back later (throttled, queue full, down).
   * `uncertain`: the text was on the wire when the link died, so the gateway may have it.
   */
  | { kind: 'retry'; error: string; uncertain?: boolean }
  /** The gateway refused this message for good. */
  | { kind: 'failed'; error: string };

export interface OutgoingSms {
  to: string;
  from: string;
  text: string;
  /** Ties concatenated parts together on the phone (UDH reference). */
  reference: number;
}

export interface DeliveryReceipt {
  messageId: string;
  state: ReceiptState;
  /** Gateway's error code, when it gave one. */
  error: string | null;
}

/** Called for each receipt; the transport acknowledges it to the gateway only after this resolves. */
export type ReceiptHandler = (receipt: DeliveryReceipt) => Promise<void>;

/** A text a person sent us (mobile-originated), decoded and, when it came in parts, reassembled. */
export interface IncomingSms {
  /** Sender, E.164 when the gateway gave an international number ("+14155550123"), else as given. */
  from: string;
  /** The number it was sent to (one of our source addresses), same form. */
  to: string;
  /** The decoded text of this message, or of this part when `part` is set. */
  text: string;
  /**
   * One part of a concatenated message (from its UDH or sar_* fields): the daemon stores parts
   * and reassembles them in the ledger, so nothing reads half a message and nothing is lost.
   */
  part?: { ref: number; total: number; seq: number };
}

/**
 * Called for each incoming text; the transport acknowledges it (deliver_sm_resp, or deleting it
 * from the SIM) only after this resolves, so a text that could not be stored is delivered again.
 */
export type MessageHandler = (sms: IncomingSms) => Promise<void>;

export interface SmsTransport {
  readonly name: string;
  /** True when a submit right now would reach the gateway. */
  readonly ready: boolean;
  start(): void;
  /** Waits up to waitMs for submits on the wire. */
  stop(waitMs?: number): Promise<void>;
  submit(sms: OutgoingSms): Promise<SubmitResult>;
  onReceipt(handler: ReceiptHandler): void;
  onMessage(handler: MessageHandler): void;
}
