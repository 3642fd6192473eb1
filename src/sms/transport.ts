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
  /**
   * The gateway refused this message for good. `optedOut`: the carrier refused it because the
   * person opted out at the carrier (Twilio 21610): recorded as an opt-out, as a STOP would be.
   */
  | { kind: 'failed'; error: string; optedOut?: boolean };

export interface OutgoingSms {
  to: string;
  from: string;
  text: string;
  /** Ties concatenated parts together on the phone (UDH reference). */
  reference: number;
  /** The same for every try of one text (`mctb-<send id>`): an idempotency key where the carrier takes one. */
  key?: string;
  /**
   * An earlier try may have reached the gateway (it was on the wire when the link or the process
   * died): a carrier that can look it up checks before sending again.
   */
  resend?: boolean;
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
  /** The carrier's id of this text (HTTP carriers): a text seen twice (webhook and poll, a retried webhook) is stored once. */
  carrierId?: string;
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
  /** Routes the transport serves on mctb's HTTP listener (`http.listen`): carriers' webhooks. */
  readonly webhooks?: readonly WebhookRoute[];
}

/** A request to a webhook route, its body read whole (at most 64 KB). */
export interface WebhookRequest {
  method: string;
  /** The path and query as received. */
  url: string;
  headers: Readonly<Record<string, string | string[] | undefined>>;
  body: Buffer;
  /** The client's address (the carrier, or the proxy in front). */
  remoteAddress: string;
}

export interface WebhookAnswer {
  status: number;
  headers?: Record<string, string>;
  body?: string;
}

export interface WebhookRoute {
  /** Matched exactly against the request's path (without the query). */
  path: string;
  handle(req: WebhookRequest): Promise<WebhookAnswer>;
}

/**
 * What the daemon gives a transport besides its settings: a small durable store (the ledger's
 * transport_state table) for a poller's cursor, and the business numbers texts come to.
 */
export interface TransportDeps {
  store: { get(key: string): Promise<string | undefined>; set(key: string, value: string): Promise<void> };
  /** Every number a text to us may be sent to (the businesses' DIDs and senders), E.164. */
  numbers(): readonly string[];
}

export interface TransportEntry<S> {
  /** The value of `sms.transport` that picks it. */
  readonly name: string;
  /** Where its settings are, e.g. "sms.smpp" (for messages); none for a transport without settings. */
  readonly section?: string;
  /** Its settings, from that section; undefined when the section is missing. */
  settings(config: Config): S | undefined;
  create(settings: S, log: Logger, deps?: TransportDeps): SmsTransport;
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
  /**
   * The URL to paste at the carrier, from the webhook_path's URL (`mctb config check`), when it
   * is more than that URL (VoIP.ms: the token and the placeholders its callback fills in).
   */
  webhookUrl?(settings: S, url: string): { url: string; note?: string };
  /** A line `mctb report` adds for this transport (VoIP.ms: no delivery receipts). */
  readonly reportNote?: string;
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
