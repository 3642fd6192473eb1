// Texts through Telnyx's Messaging API v2: POST /v2/messages to send, message webhooks
// (message.received, message.finalized) signed with Ed25519 for replies and delivery status.
//
// Nothing doubled: POST /v2/messages does not declare Telnyx's Idempotency-Key (its API reference
// lists the header only for some endpoints), so the key is sent but not relied on. Before each
// first try the transport notes the time in the ledger (deps.store); a try that may have reached
// Telnyx (a timeout, a reset, a crash mid-send: OutgoingSms.resend) first searches Telnyx's
// message detail records for an outbound message from the same number to the same person since
// then, and takes that message's id instead of sending again. A record not there yet is waited for
// (RECORD_WAIT_MS) before a second send. Telnyx has no list of received texts, so no polling.

import type { KeyObject } from 'node:crypto';
import type { TelnyxConfig } from '../../config/types';
import type { Logger } from '../../log';
import { maskNumber } from '../../numbers/phone';
import { settledWithin } from '../../settle';
import { HttpClient, HttpError } from '../http/client';
import { PerSender } from '../rate';
import type { MessageHandler, OutgoingSms, ReceiptHandler, SmsTransport, SubmitResult, TransportDeps, WebhookAnswer, WebhookRequest, WebhookRoute } from '../transport';
import { receiptOf, sendOutcome, type MessageDetailRecord, type SendRequest, type TelnyxEvent } from './api';
import { checkSignature, publicKeyFrom } from './signature';

/** The transport's settings: sms.telnyx, and what it needs from the rest of the config (index.ts). */
export interface TelnyxSettings extends TelnyxConfig {
  /** http.listen, where the daemon serves the webhook (doctor checks it answers); none: not set. */
  listen?: { host: string; port: number };
  /** http.public_url + webhook_path: sent as each message's webhook_url; none: the profile's URL. */
  webhookUrl?: string;
  /** Every business number texts go from (doctor checks each is on the account). */
  numbers: string[];
  /** How long a request may take (default 15 s); not a config key (tests shorten it). */
  request_timeout_ms?: number;
}

/** How long an earlier try's message may take to show in Telnyx's detail records before we send again. */
export const RECORD_WAIT_MS = 60_000;
/** Clock difference allowed between this host and Telnyx when searching records. */
const SKEW_MS = 60_000;
const TRY_KEY = (key: string) => `telnyx.try.${key}`;

export class TelnyxTransport implements SmsTransport {
  readonly name = 'telnyx';
  readonly ready = true;
  readonly webhooks: readonly WebhookRoute[];
  private readonly http: HttpClient;
  private readonly base: string;
  private readonly pace: PerSender;
  private readonly inFlight = new Set<Promise<unknown>>();
  /** Same webhook twice at once (a retry racing the first): the second waits for the first. */
  private readonly handling = new Map<string, Promise<void>>();
  private readonly key?: KeyObject;
  private pausedUntil = 0;
  private onMessageHandler?: MessageHandler;
  private onReceiptHandler?: ReceiptHandler;

  constructor(
    private readonly settings: TelnyxSettings,
    private readonly log: Logger,
    private readonly deps?: TransportDeps,
    private readonly clock: () => number = Date.now,
  ) {
    this.http = new HttpClient({ secrets: () => [settings.api_key], timeoutMs: settings.request_timeout_ms });
    this.pace = new PerSender(settings.tps, clock);
    this.base = settings.base_url.replace(/\/+$/, '');
    if (settings.public_key) this.key = publicKeyFrom(settings.public_key);
    this.webhooks = settings.webhook_path ? [{ path: settings.webhook_path, handle: (req) => this.webhook(req) }] : [];
  }

  start(): void {}

  async stop(waitMs = 5000): Promise<void> {
    await settledWithin(this.inFlight.values(), waitMs);
  }

  onReceipt(handler: ReceiptHandler): void {
    this.onReceiptHandler = handler;
  }

  onMessage(handler: MessageHandler): void {
    this.onMessageHandler = handler;
  }

  submit(sms: OutgoingSms): Promise<SubmitResult> {
    const job = this.send(sms);
    this.inFlight.add(job);
    void job.finally(() => this.inFlight.delete(job));
    return job;
  }

  private async send(sms: OutgoingSms): Promise<SubmitResult> {
    const now = this.clock();
    if (now < this.pausedUntil) return { kind: 'retry', error: `telnyx asked to wait (Retry-After) until ${new Date(this.pausedUntil).toISOString()}` };
    const store = this.deps?.store;
    const firstTry = sms.key && store ? Number((await store.get(TRY_KEY(sms.key))) || 0) : 0;
    if (sms.resend && firstTry > 0) {
      const earlier = await this.earlierTry(sms, firstTry, now);
      if (earlier) return earlier;
    }
    await this.pace.take(sms.from);
    if (sms.key && store && firstTry === 0) await store.set(TRY_KEY(sms.key), String(this.clock()));
    const body: SendRequest = { from: sms.from, to: sms.to, text: sms.text, messaging_profile_id: this.settings.messaging_profile_id, ...(this.settings.webhookUrl ? { webhook_url: this.settings.webhookUrl } : {}) };
    let result: SubmitResult;
    try {
      const answer = await this.http.request({ method: 'POST', url: `${this.base}/v2/messages`, headers: { ...this.auth(), ...(sms.key ? { 'idempotency-key': sms.key } : {}) }, json: body });
      result = sendOutcome(answer.status, answer.json());
      if (result.kind === 'retry' && answer.retryAfterMs !== undefined) this.pausedUntil = this.clock() + answer.retryAfterMs;
    } catch (e) {
      const err = e as HttpError;
      result = { kind: 'retry', error: this.http.redact(`telnyx: ${err.message}`), uncertain: err instanceof HttpError ? err.uncertain : true };
    }
    if (sms.key && store && result.kind !== 'retry') await store.set(TRY_KEY(sms.key), '');
    if (result.kind === 'accepted') this.log.debug('telnyx took the text', { to: maskNumber(sms.to), from: sms.from, id: result.messageIds[0] });
    return result;
  }

  /**
   * An earlier try may have reached Telnyx: its message in the detail records (outbound, this
   * sender to this person, since the first try) is taken as this text's. Undefined: send now.
   */
  private async earlierTry(sms: OutgoingSms, firstTry: number, now: number): Promise<SubmitResult | undefined> {
    const q = new URLSearchParams({
      'filter[record_type]': 'messaging',
      'filter[direction]': 'outbound',
      'filter[cli]': sms.from,
      'filter[cld]': sms.to,
      'filter[created_at][gte]': new Date(firstTry - SKEW_MS).toISOString(),
      sort: '-created_at',
      'page[size]': '20',
    });
    let found: MessageDetailRecord | undefined;
    try {
      const answer = await this.http.request({ method: 'GET', url: `${this.base}/v2/detail_records?${q}`, headers: this.auth() });
      if (answer.status !== 200) return { kind: 'retry', error: `telnyx: could not check for an earlier try (detail records answered HTTP ${answer.status})`, uncertain: true };
      const records = answer.json<{ data?: MessageDetailRecord[] }>()?.data ?? [];
      found = records.find((r) => r.direction === 'outbound' && r.cli === sms.from && r.cld === sms.to && typeof r.uuid === 'string');
    } catch (e) {
      return { kind: 'retry', error: this.http.redact(`telnyx: could not check for an earlier try: ${(e as Error).message}`), uncertain: true };
    }
    if (found) {
      this.log.warn('an earlier try reached Telnyx: not sent again', { to: maskNumber(sms.to), from: sms.from, id: found.uuid });
      if (sms.key) await this.deps?.store.set(TRY_KEY(sms.key), '');
      return { kind: 'accepted', messageIds: [found.uuid] };
    }
    if (now - firstTry < RECORD_WAIT_MS) return { kind: 'retry', error: "telnyx: an earlier try may have gone out; waiting for Telnyx's record of it before sending again", uncertain: true };
    return undefined;
  }


  private auth(): Record<string, string> {
    return { authorization: `Bearer ${this.settings.api_key}` };
  }

  /** A Telnyx message webhook: signature first, then the text or the status, acknowledged once stored. */
  private async webhook(req: WebhookRequest): Promise<WebhookAnswer> {
    if (req.method !== 'POST') return { status: 405, headers: { allow: 'POST' }, body: 'POST only\n' };
    if (!this.key) {
      this.log.warn('telnyx webhook refused: sms.telnyx.public_key is not set', { address: req.remoteAddress });
      return { status: 403, body: 'forbidden\n' };
    }
    const verdict = checkSignature(this.key, req.headers, req.body, Math.floor(this.clock() / 1000));
    if (!verdict.ok) {
      const why = { missing: 'no telnyx-signature-ed25519 / telnyx-timestamp headers', stale: 'its timestamp is more than 5 minutes off (a replay, or this clock is wrong)', forged: 'the signature does not match (another sender, or the wrong sms.telnyx.public_key)' }[verdict.why];
      this.log.warn(`telnyx webhook refused: ${why}`, { address: req.remoteAddress, path: req.url.split('?')[0] });
      return { status: 403, body: 'forbidden\n' };
    }
    let event: TelnyxEvent;
    try {
      event = JSON.parse(req.body.toString('utf8')) as TelnyxEvent;
    } catch {
      return { status: 400, body: 'not JSON\n' };
    }
    const type = event?.data?.event_type;
    const payload = event?.data?.payload;
    if (!type || !payload) return { status: 400, body: 'not a Telnyx event\n' };
    if (type === 'message.received') {
      const to = this.ourNumber(payload.to?.map((t) => t.phone_number) ?? []);
      if (!payload.id || !payload.from?.phone_number || !to) return { status: 400, body: 'message without id, from or to\n' };
      await this.once(payload.id, () => this.handler('message')({ from: payload.from.phone_number, to, text: payload.text ?? '', carrierId: payload.id }));
      return { status: 200, body: 'ok\n' };
    }
    if (type === 'message.finalized') {
      const receipt = receiptOf(payload);
      if (receipt) await this.once(`receipt:${event.data.id}`, () => this.handler('receipt')(receipt));
      return { status: 200, body: 'ok\n' };
    }
    // message.sent and anything else: nothing to store.
    this.log.debug('telnyx webhook ignored', { event_type: type });
    return { status: 200, body: 'ok\n' };
  }

  private handler(kind: 'message'): MessageHandler;
  private handler(kind: 'receipt'): ReceiptHandler;
  private handler(kind: 'message' | 'receipt'): MessageHandler | ReceiptHandler {
    const h = kind === 'message' ? this.onMessageHandler : this.onReceiptHandler;
    // Not ready to store it: the thrown error answers 500 and Telnyx sends it again.
    if (!h) throw new Error(`no ${kind} handler yet`);
    return h;
  }

  /** Runs fn for a key, or waits for the run already under way for it. */
  private async once(key: string, fn: () => Promise<void>): Promise<void> {
    const running = this.handling.get(key);
    if (running) return running;
    const job = fn().finally(() => this.handling.delete(key));
    this.handling.set(key, job);
    return job;
  }

  /** Of a message's recipients, the one that is a business number (else the first). */
  private ourNumber(to: string[]): string | undefined {
    const ours = new Set(this.deps?.numbers() ?? []);
    return to.find((n) => ours.has(n)) ?? to[0];
  }
}
