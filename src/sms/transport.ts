// What every SMS transport offers the outbox, and the entry it registers (src/adapters.ts). A
// transport is one folder, src/sms/<name>/: the transport, its doctor probe, and index.ts with
// its entry.

import type { EventEmitter } from 'node:events';
import type { CheckResult } from '../cli/check';
import type { Config } from '../config/types';
import type { ReceiptState } from '../records/states';
import type { LinkEvents } from '../link/lifecycle';
import type { Logger } from '../log';

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
  /** The state of its link to the gateway (none: always ready, e.g. the dry run). */
  readonly events?: EventEmitter<LinkEvents>;
  start(): void;
  /** Waits up to waitMs for submits on the wire. */
  stop(waitMs?: number): Promise<void>;
  submit(sms: OutgoingSms): Promise<SubmitResult>;
  onReceipt(handler: ReceiptHandler): void;
  onMessage(handler: MessageHandler): void;
}

export interface TransportEntry<S> {
  /** The value of `sms.transport` that picks it. */
  readonly name: string;
  /** Where its settings are, e.g. "sms.smpp" (for messages); none for a transport without settings. */
  readonly section?: string;
  /** Its settings, from that section; undefined when the section is missing. */
  settings(config: Config): S | undefined;
  create(settings: S, log: Logger): SmsTransport;
  /** `mctb doctor`'s checks of this transport. */
  doctor(settings: S, timeoutMs?: number): Promise<CheckResult[]>;
  /** How `mctb send-test` words getting ready; none: it does not send (the dry run). */
  readonly sendTest?: {
    /** Printed before starting it, e.g. "binding to host:port as "id"…". */
    starting(settings: S): string;
    /** Printed once ready, e.g. "bound". */
    ready: string;
    /** How long to wait for ready. */
    readyMs: number;
    /** Printed when not ready in time: what to check. */
    hint: string;
  };
  /** Starts a stand-in for the real peer, for `mctb demo --transport <name>`; none: no demo. */
  demo?(): Promise<DemoPeer>;
}

/** A loopback gateway or simulated modem the demo's daemon sends to. */
export interface DemoPeer {
  /** Its section under `sms:`, as YAML pointing at the stand-in (e.g. `smpp: { host: …, port: … }`); '' for none. */
  config: string;
  /** Where texts go, in words ("over SMPP to a loopback gateway on 127.0.0.1:40123"). */
  via: string;
  /** Delivery receipts come back. */
  receipts: boolean;
  /** Told of each text the daemon submitted (a simulated network confirms delivery). */
  submitted?(messageIds: string[]): void;
  /** A caller's phone texts the business (`mctb demo --console`: a live thread to answer). */
  reply?(from: string, to: string, text: string): Promise<void>;
  stop(): Promise<void>;
}
