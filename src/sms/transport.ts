// What every SMS transport (SMPP, log, and later a GSM modem) offers the outbox.

import type { ReceiptState } from '../ledger/ledger';

export type SubmitResult =
  | { kind: 'accepted'; messageIds: string[] }
  /** Nothing was sent, or the gateway asked us to come back later (throttled, queue full, down). */
  | { kind: 'retry'; error: string }
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

export interface SmsTransport {
  readonly name: string;
  /** True when a submit right now would reach the gateway. */
  readonly ready: boolean;
  start(): void;
  /** Waits up to waitMs for submits on the wire. */
  stop(waitMs?: number): Promise<void>;
  submit(sms: OutgoingSms): Promise<SubmitResult>;
  onReceipt(handler: ReceiptHandler): void;
}
