// Texts through Twilio's Programmable Messaging REST API (or SignalWire's Twilio-compatible one):
// send with POST Messages.json, delivery status and incoming texts by webhook (X-Twilio-Signature
// checked), incoming texts also by polling the message list for a box no webhook can reach.
//
// Twilio takes no idempotency key for a new message, so a send that may have reached it (a
// timeout, a connection lost after the request went out, a crash mid-send: `resend`) first looks
// for the text in the account's message list and sends only if it is not there.

import type { Logger } from '../../log';
import { maskNumber } from '../../numbers/phone';
import { settledWithin } from '../../settle';
import { HttpClient, HttpError, statusKind, type HttpAnswer } from '../http/client';
import { PerSender } from '../rate';
import type { IncomingSms, MessageHandler, OutgoingSms, ReceiptHandler, SmsTransport, SubmitResult, TransportDeps, WebhookAnswer, WebhookRequest, WebhookRoute } from '../transport';
import {
  OPTED_OUT,
  accountUrl,
  basicAuth,
  deliveryError,
  errorName,
  receiptState,
  signatureMatches,
  twilioDate,
  twilioSignature,
  urlVariants,
  type MessagePage,
  type TwilioError,
  type TwilioMessage,
} from './api';

/** sms.twilio as the transport reads it, with what the rest of the config tells it (index.ts). */
export interface TwilioSettings {
  account_sid: string;
  auth_token: string;
  messaging_service_sid?: string;
  base_url: string;
  webhook_path?: string;
  poll_interval_ms?: number;
  tps: number;
  /** http.public_url: the address Twilio reaches the webhook at (it signs that URL). */
  publicUrl?: string;
  /** http.listen, where the webhook is served (doctor asks it). */
  listen?: { host: string; port: number };
  /** Every number a business texts from (doctor checks each is on the account). */
  senders: readonly string[];
  /** How long a request may take (default 15 s; tests shorten it). */
  timeoutMs?: number;
}

/** Twilio's limit on a message body (it splits longer texts itself, up to this). */
const MAX_BODY = 1600;
/** A text found in the message list counts as this send's earlier try only when this recent. */
const RESEND_LOOKBACK_MS = 24 * 3600_000;
/** The first poll of a number with no cursor reads back this far; later polls overlap by it. */
const POLL_OVERLAP_MS = 5 * 60_000;
/** Pages read per number per poll (Twilio's pages hold up to 1000; we ask for 100). */
const MAX_PAGES = 20;
const EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response/>';

export class TwilioTransport implements SmsTransport {
  readonly name = 'twilio';
  readonly webhooks: readonly WebhookRoute[];
  private readonly http: HttpClient;
  private readonly pace: PerSender;
  private readonly inFlight = new Set<Promise<unknown>>();
  private receiptHandler: ReceiptHandler = async () => undefined;
  private messageHandler?: MessageHandler;
  /** Twilio said 429 with Retry-After: nothing is sent before this. */
  private pausedUntil = 0;
  private pollTimer?: NodeJS.Timeout;
  private polling?: Promise<void>;
  private stopping = false;
  private lastPollError?: string;

  constructor(
    private readonly cfg: TwilioSettings,
    private readonly log: Logger,
    private readonly deps?: TransportDeps,
    private readonly clock: () => number = Date.now,
  ) {
    this.http = new HttpClient({ secrets: () => [cfg.auth_token], timeoutMs: cfg.timeoutMs });
    this.pace = new PerSender(cfg.tps);
    this.webhooks = cfg.webhook_path ? [{ path: cfg.webhook_path, handle: (req) => this.webhook(req) }] : [];
  }

  /** Always: every request stands alone (a refused one is retried by the outbox). */
  get ready(): boolean {
    return true;
  }

  onReceipt(handler: ReceiptHandler): void {
    this.receiptHandler = handler;
  }

  onMessage(handler: MessageHandler): void {
    this.messageHandler = handler;
  }

  start(): void {
    this.stopping = false;
    if (this.cfg.poll_interval_ms && this.deps) this.schedulePoll(1000);
  }

  async stop(waitMs = 5000): Promise<void> {
    this.stopping = true;
    clearTimeout(this.pollTimer);
    await settledWithin([...this.inFlight, ...(this.polling ? [this.polling] : [])], waitMs);
  }

  submit(sms: OutgoingSms): Promise<SubmitResult> {
    const job = this.send(sms);
    this.inFlight.add(job);
    void job.finally(() => this.inFlight.delete(job));
    return job;
  }

  private headers(): Record<string, string> {
    return { authorization: basicAuth(this.cfg.account_sid, this.cfg.auth_token) };
  }

  private async send(sms: OutgoingSms): Promise<SubmitResult> {
    if ([...sms.text].length > MAX_BODY) return { kind: 'failed', error: `text_too_long: ${[...sms.text].length} characters, Twilio takes ${MAX_BODY}` };
    if (this.clock() < this.pausedUntil) return { kind: 'retry', error: `twilio_20429 too many requests: waiting ${Math.ceil((this.pausedUntil - this.clock()) / 1000)} s (Retry-After)` };
    if (sms.resend) {
      // An earlier try may be at Twilio: look before sending again.
      let earlier: TwilioMessage | undefined;
      try {
        earlier = await this.findEarlier(sms);
      } catch (err) {
        return { kind: 'retry', error: `could not check Twilio for an earlier try: ${(err as Error).message}`, uncertain: true };
      }
      if (earlier) {
        this.log.info('text was at Twilio already (an earlier try reached it); not sent again', { to: maskNumber(sms.to), message_id: earlier.sid, status: earlier.status });
        return { kind: 'accepted', messageIds: [earlier.sid] };
      }
    }
    await this.pace.take(sms.from);
    const statusCallback = this.cfg.webhook_path && this.cfg.publicUrl ? `${this.cfg.publicUrl.replace(/\/$/, '')}${this.cfg.webhook_path}` : undefined;
    let res: HttpAnswer;
    try {
      res = await this.http.request({
        method: 'POST',
        url: accountUrl(this.cfg.base_url, this.cfg.account_sid, '/Messages.json'),
        headers: this.headers(),
        form: { To: sms.to, From: sms.from, MessagingServiceSid: this.cfg.messaging_service_sid, Body: sms.text, StatusCallback: statusCallback },
      });
    } catch (err) {
      const e = err as HttpError;
      return { kind: 'retry', error: e.message, uncertain: e instanceof HttpError ? e.uncertain : true };
    }
    if (res.status === 200 || res.status === 201) {
      const sid = res.json<{ sid?: string }>()?.sid;
      // Taken, but no id to match its status by: a later try looks it up by its body.
      if (!sid) return { kind: 'retry', error: `Twilio answered ${res.status} without a message sid`, uncertain: true };
      return { kind: 'accepted', messageIds: [sid] };
    }
    return this.refusal(res);
  }

  /** A non-2xx answer to a send, as the outbox takes it. */
  private refusal(res: HttpAnswer): SubmitResult {
    const body = res.json<TwilioError>();
    const code = body?.code === undefined ? '' : String(body.code);
    const words = `${errorName(code || undefined, body?.message ?? `HTTP ${res.status}`)} (HTTP ${res.status})`;
    if (res.status === 429 || code === '20429') {
      this.pausedUntil = Math.max(this.pausedUntil, this.clock() + (res.retryAfterMs ?? 1000));
      return { kind: 'retry', error: words };
    }
    if (code === OPTED_OUT) return { kind: 'failed', error: words, optedOut: true };
    // Wrong credentials refuse every text alike: they wait for the fix instead of failing.
    if (res.status === 401 || code === '20003') return { kind: 'retry', error: `${words}: check sms.twilio.account_sid and auth_token (mctb doctor)` };
    return statusKind(res.status) === 'retry' ? { kind: 'retry', error: words } : { kind: 'failed', error: words };
  }

  /**
   * This text, sent to this number from this sender within the last day, in the account's
   * message list (newest first). Not filtered by DateSent: a message Twilio still holds
   * (queued, accepted) has no date_sent yet.
   */
  private async findEarlier(sms: OutgoingSms): Promise<TwilioMessage | undefined> {
    const q = new URLSearchParams({ To: sms.to, From: sms.from, PageSize: '50' });
    const res = await this.http.request({ method: 'GET', url: `${accountUrl(this.cfg.base_url, this.cfg.account_sid, '/Messages.json')}?${q}`, headers: this.headers() });
    if (res.status !== 200) throw new Error(errorName(res.json<TwilioError>()?.code, `HTTP ${res.status}`));
    const since = this.clock() - RESEND_LOOKBACK_MS;
    return res.json<MessagePage>()?.messages?.find((m) => m.direction?.startsWith('outbound') && m.body === sms.text && !(twilioDate(m.date_created) < since));
  }

  // --- webhooks ---------------------------------------------------------------------------

  private async webhook(req: WebhookRequest): Promise<WebhookAnswer> {
    if (req.method !== 'POST') return { status: 405, headers: { allow: 'POST' } };
    const params: Record<string, string | string[]> = {};
    for (const [k, v] of new URLSearchParams(req.body.toString('utf8'))) {
      const had = params[k];
      params[k] = had === undefined ? v : [...(typeof had === 'string' ? [had] : had), v];
    }
    const header = req.headers['x-twilio-signature'];
    const signature = Array.isArray(header) ? header[0] : header;
    const urls = this.signedUrls(req);
    if (!signature || !urls.some((u) => signatureMatches(signature, twilioSignature(this.cfg.auth_token, u, params)))) {
      this.log.warn('webhook refused: X-Twilio-Signature missing or wrong (answered 403)', {
        from: req.remoteAddress,
        path: req.url.split('?')[0],
        signed_url: urls[0],
        hint: this.cfg.publicUrl ? 'the URL set at Twilio must be exactly this one, and auth_token the account\'s current Auth Token' : 'set http.public_url to the address Twilio posts to: Twilio signs the URL it uses',
      });
      return { status: 403, headers: { 'content-type': 'text/plain' }, body: 'forbidden\n' };
    }
    const one = (k: string): string | undefined => {
      const v = params[k];
      return typeof v === 'string' ? v : v?.[0];
    };
    const sid = one('MessageSid') ?? one('SmsMessageSid') ?? one('SmsSid');
    const status = one('MessageStatus') ?? one('SmsStatus');
    const body = one('Body');
    if (!sid) return { status: 400, headers: { 'content-type': 'text/plain' }, body: 'no MessageSid\n' };
    const twiml = { status: 200, headers: { 'content-type': 'text/xml' }, body: EMPTY_TWIML };
    if (body !== undefined && (status === undefined || status === 'received' || status === 'receiving')) {
      // Answered only once stored: a failure throws, the listener answers 500, Twilio retries.
      await this.deliver({ from: one('From') ?? '', to: one('To') ?? '', text: body, carrierId: sid });
      return twiml;
    }
    const state = status === undefined ? undefined : receiptState(status);
    if (state) await this.receiptHandler({ messageId: sid, state, error: deliveryError(one('ErrorCode')) });
    return twiml;
  }

  /** The URLs Twilio may have signed: on http.public_url when set, else as the Host header says. */
  private signedUrls(req: WebhookRequest): string[] {
    if (this.cfg.publicUrl) return urlVariants(`${this.cfg.publicUrl.replace(/\/$/, '')}${req.url}`);
    const hostHeader = req.headers['x-forwarded-host'] ?? req.headers.host;
    const host = Array.isArray(hostHeader) ? hostHeader[0] : hostHeader;
    if (!host) return [];
    const proto = req.headers['x-forwarded-proto'];
    const schemes = typeof proto === 'string' ? [proto.split(',')[0].trim()] : ['https', 'http'];
    return schemes.flatMap((s) => urlVariants(`${s}://${host}${req.url}`));
  }

  private async deliver(sms: IncomingSms): Promise<void> {
    if (!this.messageHandler) throw new Error('no handler for incoming texts yet');
    await this.messageHandler(sms);
  }

  // --- polling ----------------------------------------------------------------------------

  private schedulePoll(delayMs: number): void {
    clearTimeout(this.pollTimer);
    if (this.stopping) return;
    this.pollTimer = setTimeout(() => {
      this.polling = this.pollAll().finally(() => {
        this.polling = undefined;
        this.schedulePoll(this.cfg.poll_interval_ms ?? 60_000);
      });
    }, delayMs);
  }

  /** One round: every business number's incoming texts since its cursor. */
  async pollAll(): Promise<void> {
    const numbers = this.deps?.numbers() ?? [];
    for (const number of numbers) {
      if (this.stopping) return;
      try {
        const n = await this.pollNumber(number);
        if (this.lastPollError !== undefined) this.log.info('polling Twilio works again', { stored: n });
        this.lastPollError = undefined;
      } catch (err) {
        const error = (err as Error).message;
        // Once per distinct problem, not every interval.
        if (error !== this.lastPollError) this.log.warn('could not poll Twilio for incoming texts; will try again', { number: maskNumber(number), error });
        this.lastPollError = error;
      }
    }
  }

  /** Reads the texts sent to `number` since its cursor, oldest first, and hands each on; returns how many. */
  private async pollNumber(number: string): Promise<number> {
    const store = this.deps!.store;
    const key = `twilio.poll.${number}`;
    const saved = Number(await store.get(key));
    const startedAt = this.clock();
    const cursor = Number.isFinite(saved) && saved > 0 ? saved : startedAt;
    const since = new Date(cursor - POLL_OVERLAP_MS).toISOString().replace(/\.\d{3}Z$/, 'Z');
    const q = new URLSearchParams({ To: number, 'DateSent>': since, PageSize: '100' });
    let url: string | undefined = `${accountUrl(this.cfg.base_url, this.cfg.account_sid, '/Messages.json')}?${q}`;
    const found: TwilioMessage[] = [];
    for (let page = 0; url && page < MAX_PAGES; page++) {
      const res = await this.http.request({ method: 'GET', url, headers: this.headers() });
      if (res.status !== 200) throw new Error(`${errorName(res.json<TwilioError>()?.code, res.json<TwilioError>()?.message ?? '')} (HTTP ${res.status})`);
      const body = res.json<MessagePage>();
      found.push(...(body?.messages ?? []));
      url = body?.next_page_uri ? this.absolute(body.next_page_uri) : undefined;
    }
    // Listed newest first; reversed, then sorted by date (stable: texts of one second keep their order).
    const inbound = found
      .filter((m) => m.direction === 'inbound' && m.status !== 'receiving' && Number.isFinite(twilioDate(m.date_sent ?? m.date_created)))
      .reverse()
      .sort((a, b) => twilioDate(a.date_sent ?? a.date_created) - twilioDate(b.date_sent ?? b.date_created));
    let newest = cursor;
    let all = true;
    for (const m of inbound) {
      if (this.stopping) {
        all = false;
        break;
      }
      // The inbox stores a text once by its sid: one seen by webhook, or in the overlap, is skipped.
      await this.deliver({ from: m.from, to: m.to, text: m.body ?? '', carrierId: m.sid });
      newest = Math.max(newest, twilioDate(m.date_sent ?? m.date_created));
    }
    // Everything up to this poll's start is read (a late-listed text is in the next overlap).
    if (all) newest = Math.max(newest, startedAt);
    if (newest !== saved) await store.set(key, String(newest));
    return inbound.length;
  }

  /** A next_page_uri, made absolute against base_url (which may have a path: SignalWire's /api/laml). */
  private absolute(uri: string): string {
    if (/^https?:\/\//.test(uri)) return uri;
    const base = new URL(this.cfg.base_url);
    const path = base.pathname.replace(/\/$/, '');
    return path && uri.startsWith(`${path}/`) ? `${base.origin}${uri}` : `${base.origin}${path}${uri}`;
  }
}
