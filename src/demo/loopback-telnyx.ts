// A stand-in for Telnyx's Messaging API v2 on loopback, as Telnyx's public API reference describes
// it: Bearer API-key auth, POST /v2/messages with its answer and error bodies ({ errors: [{ code,
// title, detail }] }), 429 with Retry-After, message detail records, the balance, messaging
// profiles, numbers and 10DLC campaign assignments, and message webhooks (message.sent,
// message.finalized, message.received) signed with Ed25519 over `${timestamp}|${body}` with
// its own key pair. Used by `mctb demo --transport telnyx` and the tests.

import { generateKeyPairSync, randomUUID, type KeyObject } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { MessageDetailRecord, TelnyxError, TelnyxEvent, TelnyxMessage } from '../sms/telnyx/api';
import { rawPublicKey, signedHeaders } from '../sms/telnyx/signature';

/** What the next POST /v2/messages gets instead of a plain acceptance. */
export type SendBehaviour =
  | { status: number; error?: TelnyxError; retryAfterS?: number }
  /** Taken and recorded (it goes out), but the answer never comes: the client times out. */
  | { acceptThenHang: true }
  /** Taken; the answer comes this late (after the message's webhooks, which then race it). */
  | { answerAfterMs: number };

export interface LoopbackTelnyxOptions {
  apiKey?: string;
  profileId?: string;
  /** Numbers on the account, SMS-enabled, in the profile. */
  numbers?: string[];
  /** Of those, the ones assigned to a 10DLC campaign (default: all). */
  campaign?: string[];
  /** Delay before message.sent / message.finalized are posted. */
  receiptDelayMs?: number;
  /** Webhook URL of the messaging profile (settable later with setWebhookUrl). */
  webhookUrl?: string;
}

export interface SentMessage {
  id: string;
  from: string;
  to: string;
  text: string;
  createdAt: number;
  idempotencyKey?: string;
  webhookUrl?: string;
}

export class LoopbackTelnyx {
  readonly apiKey: string;
  readonly profileId: string;
  readonly numbers: string[];
  readonly campaign: Set<string>;
  readonly privateKey: KeyObject;
  /** The account's public key as Mission Control shows it (base64 of the raw 32 bytes). */
  readonly publicKey: string;
  /** Every message Telnyx took (what a phone would get). */
  readonly sent: SentMessage[] = [];
  /** Every inbound text, as MDRs list them. */
  readonly inbound: SentMessage[] = [];
  /** Every request: method, path, and whether it was authorised. */
  readonly requests: { method: string; path: string; authorised: boolean }[] = [];
  /** Webhooks posted: event type, message id, HTTP status of the answer. */
  readonly webhooks: { type: string; messageId: string; status: number }[] = [];
  /** The next answers to POST /v2/messages, in order. */
  readonly behaviours: SendBehaviour[] = [];
  /** Final status per recipient (default: delivered), with its error. */
  readonly finals = new Map<string, { status: 'delivered' | 'delivery_failed' | 'sending_failed'; error?: TelnyxError }>();
  /** Recipients who texted STOP: Telnyx refuses to send to them (40300). */
  readonly blocked = new Set<string>();
  private webhookUrl?: string;
  private server?: Server;
  private readonly sockets = new Set<Socket>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly receiptDelayMs: number;

  constructor(opts: LoopbackTelnyxOptions = {}) {
    this.apiKey = opts.apiKey ?? 'KEYloopback0123456789';
    this.profileId = opts.profileId ?? '40017f8e-0000-4000-8000-000000000001';
    this.numbers = opts.numbers ?? ['+15550001000'];
    this.campaign = new Set(opts.campaign ?? this.numbers);
    this.receiptDelayMs = opts.receiptDelayMs ?? 50;
    this.webhookUrl = opts.webhookUrl;
    const pair = generateKeyPairSync('ed25519');
    this.privateKey = pair.privateKey;
    this.publicKey = rawPublicKey(pair.publicKey);
  }

  async listen(port = 0): Promise<number> {
    const server = createServer((req, res) => this.route(req, res));
    server.on('connection', (s) => {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
    });
    await new Promise<void>((r) => server.listen(port, '127.0.0.1', r));
    this.server = server;
    return (server.address() as AddressInfo).port;
  }

  get url(): string {
    return `http://127.0.0.1:${(this.server!.address() as AddressInfo).port}`;
  }

  setWebhookUrl(url: string): void {
    this.webhookUrl = url;
  }

  async close(): Promise<void> {
    for (const t of this.timers) clearTimeout(t);
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((r) => (this.server ? this.server.close(() => r()) : r()));
  }

  /** A phone texts a business number: message.received to the profile's webhook. */
  async receiveText(from: string, to: string, text: string, opts: { id?: string; timestampS?: number; forge?: boolean } = {}): Promise<{ id: string; status: number }> {
    const id = opts.id ?? randomUUID();
    if (!this.inbound.some((m) => m.id === id)) this.inbound.push({ id, from, to, text, createdAt: Date.now() });
    const payload: TelnyxMessage = {
      record_type: 'message',
      id,
      direction: 'inbound',
      from: { phone_number: from, carrier: 'T-Mobile USA', line_type: 'Wireless' },
      to: [{ phone_number: to, status: 'webhook_delivered', carrier: 'Telnyx', line_type: 'Wireless' }],
      text,
      type: 'SMS',
      messaging_profile_id: this.profileId,
      parts: 1,
      errors: [],
      received_at: new Date().toISOString(),
    };
    const status = await this.post(this.webhookUrl, this.event('message.received', payload), opts);
    return { id, status };
  }

  /** Posts an event body to a webhook URL, signed (or, with `forge`, signed by another key). */
  async post(url: string | undefined, body: string, opts: { timestampS?: number; forge?: boolean } = {}): Promise<number> {
    if (!url) throw new Error('the loopback carrier has no webhook URL');
    const key = opts.forge ? generateKeyPairSync('ed25519').privateKey : this.privateKey;
    const headers = signedHeaders(key, body, opts.timestampS ?? Math.floor(Date.now() / 1000));
    const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', 'user-agent': 'telnyx-webhooks', ...headers }, body });
    await res.text();
    const event = JSON.parse(body) as TelnyxEvent;
    this.webhooks.push({ type: event.data.event_type, messageId: event.data.payload.id, status: res.status });
    return res.status;
  }

  /** A message event body as Telnyx posts it. */
  event(type: string, payload: TelnyxMessage): string {
    const e: TelnyxEvent = { data: { record_type: 'event', event_type: type, id: randomUUID(), occurred_at: new Date().toISOString(), payload }, meta: { attempt: 1, delivered_to: this.webhookUrl ?? '' } };
    return JSON.stringify(e);
  }

  /** message.finalized for a sent message (status and errors as given), to its webhook URL. */
  async finalize(m: SentMessage, status: string, errors: TelnyxError[] = []): Promise<number> {
    const payload: TelnyxMessage = { record_type: 'message', id: m.id, direction: 'outbound', from: { phone_number: m.from }, to: [{ phone_number: m.to, status }], text: m.text, type: 'SMS', messaging_profile_id: this.profileId, parts: 1, errors, completed_at: new Date().toISOString() };
    return this.post(m.webhookUrl ?? this.webhookUrl, this.event('message.finalized', payload));
  }

  private route(req: IncomingMessage, res: ServerResponse): void {
    let raw = '';
    req.on('data', (c: Buffer) => (raw += c.toString('utf8')));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://loopback');
      const authorised = req.headers.authorization === `Bearer ${this.apiKey}`;
      this.requests.push({ method: req.method ?? '', path: url.pathname, authorised });
      if (!authorised) return send(res, 401, { errors: [{ code: '10009', title: 'Authentication failed', detail: 'The required authentication headers were either invalid or not included in the request.' }] });
      const m = url.pathname;
      if (req.method === 'POST' && m === '/v2/messages') return this.sendMessage(req, raw, res);
      if (req.method !== 'GET') return notFound(res);
      if (m === '/v2/balance') return send(res, 200, { data: { record_type: 'balance', balance: '42.00', credit_limit: '0.00', available_credit: '42.00', currency: 'USD' } });
      if (m === `/v2/messaging_profiles/${this.profileId}`) return send(res, 200, { data: { record_type: 'messaging_profile', id: this.profileId, name: 'mctb', enabled: true, webhook_url: this.webhookUrl ?? null } });
      if (m.startsWith('/v2/messaging_profiles/')) return notFound(res);
      if (m === '/v2/phone_numbers') {
        const n = url.searchParams.get('filter[phone_number]');
        const data = this.numbers.filter((x) => !n || x === n).map((x) => ({ record_type: 'phone_number', id: x.slice(1), phone_number: x, status: 'active', messaging_profile_id: this.profileId }));
        return send(res, 200, { data, meta: { total_pages: 1, total_results: data.length, page_number: 1, page_size: 20 } });
      }
      const messaging = /^\/v2\/messaging_phone_numbers\/(.+)$/.exec(m);
      if (messaging) {
        const n = decodeURIComponent(messaging[1]);
        if (!this.numbers.includes(n)) return notFound(res);
        return send(res, 200, { data: { record_type: 'messaging_phone_number', phone_number: n, messaging_profile_id: this.profileId, features: { sms: { domestic_two_way: true, international_inbound: true, international_outbound: true } } } });
      }
      const campaign = /^\/v2\/10dlc\/phone_number_campaigns\/(.+)$/.exec(m);
      if (campaign) {
        const n = decodeURIComponent(campaign[1]);
        if (!this.campaign.has(n)) return notFound(res);
        return send(res, 200, { phoneNumber: n, campaignId: '4b30019a-0000-4000-8000-00000000cafe', tcrCampaignId: 'CLOOPBK', assignmentStatus: 'ASSIGNED', createdAt: new Date().toISOString(), updatedAt: new Date().toISOString() });
      }
      if (m === '/v2/detail_records') return this.detailRecords(url.searchParams, res);
      return notFound(res);
    });
  }

  private sendMessage(req: IncomingMessage, raw: string, res: ServerResponse): void {
    let body: { from?: string; to?: string; text?: string; messaging_profile_id?: string; webhook_url?: string };
    try {
      body = JSON.parse(raw) as typeof body;
    } catch {
      return send(res, 400, { errors: [{ code: '10015', title: 'Bad Request', detail: 'The request failed because it was not well-formed.' }] });
    }
    const behaviour = this.behaviours.shift();
    if (behaviour && 'status' in behaviour) {
      const headers = behaviour.retryAfterS !== undefined ? { 'retry-after': String(behaviour.retryAfterS) } : undefined;
      const error = behaviour.error ?? (behaviour.status === 429 ? { code: '10011', title: 'Too many requests', detail: 'You have exceeded the maximum number of allowed requests.' } : { code: '10007', title: 'Unexpected error', detail: 'An unexpected error occured.' });
      return send(res, behaviour.status, { errors: [error] }, headers);
    }
    if (!body.to || !/^\+\d{8,15}$/.test(body.to)) return send(res, 400, { errors: [{ code: '10016', title: 'Phone number must be in +E.164 format', detail: "The 'to' parameter must be in +E.164 format.", source: { pointer: '/to' } }] });
    if (!body.from || !this.numbers.includes(body.from)) return send(res, 400, { errors: [{ code: '40305', title: 'Invalid source number', detail: "The 'from' number is not a number on your account.", source: { pointer: '/from' } }] });
    if (!body.text) return send(res, 400, { errors: [{ code: '10004', title: 'Missing required parameter', detail: "The 'text' parameter is required.", source: { pointer: '/text' } }] });
    if (this.blocked.has(body.to)) return send(res, 400, { errors: [{ code: '40300', title: 'Blocked due to STOP message', detail: `Messages cannot be sent from '${body.from}' to '${body.to}' due to an existing block rule.` }] });
    const key = req.headers['idempotency-key'];
    const m: SentMessage = { id: randomUUID(), from: body.from, to: body.to, text: body.text, createdAt: Date.now(), idempotencyKey: typeof key === 'string' ? key : undefined, webhookUrl: body.webhook_url };
    this.sent.push(m);
    this.later(async () => {
      const sentPayload: TelnyxMessage = { record_type: 'message', id: m.id, direction: 'outbound', from: { phone_number: m.from }, to: [{ phone_number: m.to, status: 'sent' }], text: m.text, type: 'SMS', errors: [], sent_at: new Date().toISOString() };
      await this.post(m.webhookUrl ?? this.webhookUrl, this.event('message.sent', sentPayload));
      const final = this.finals.get(m.to) ?? { status: 'delivered' as const };
      await this.finalize(m, final.status, final.error ? [final.error] : []);
    });
    // Never answered: the request reached Telnyx and the message went out.
    if (behaviour && 'acceptThenHang' in behaviour) return;
    const delay = behaviour && 'answerAfterMs' in behaviour ? behaviour.answerAfterMs : 0;
    const data: TelnyxMessage & Record<string, unknown> = {
      record_type: 'message',
      direction: 'outbound',
      id: m.id,
      type: 'SMS',
      messaging_profile_id: body.messaging_profile_id ?? this.profileId,
      from: { phone_number: m.from, carrier: 'Telnyx', line_type: 'Wireless' },
      to: [{ phone_number: m.to, status: 'queued', carrier: 'T-MOBILE USA, INC.', line_type: 'Wireless' }],
      text: m.text,
      parts: 1,
      encoding: 'GSM-7',
      errors: [],
      sent_at: null,
      completed_at: null,
      webhook_url: body.webhook_url ?? this.webhookUrl ?? null,
    };
    if (delay > 0) this.later(async () => send(res, 200, { data }), delay);
    else send(res, 200, { data });
  }

  /** GET /v2/detail_records?filter[record_type]=messaging with exact cli/cld/direction and created_at[gte]. */
  private detailRecords(q: URLSearchParams, res: ServerResponse): void {
    if (q.get('filter[record_type]') !== 'messaging') return send(res, 400, { errors: [{ code: '10015', title: 'Bad Request', detail: 'filter[record_type] must be specified.' }] });
    const since = q.get('filter[created_at][gte]');
    const sinceMs = since ? Date.parse(since) : 0;
    const rows: MessageDetailRecord[] = [
      ...this.sent.map((m) => ({ m, direction: 'outbound' as const })),
      ...this.inbound.map((m) => ({ m, direction: 'inbound' as const })),
    ]
      .filter(({ m, direction }) => (!q.get('filter[direction]') || q.get('filter[direction]') === direction) && (!q.get('filter[cli]') || q.get('filter[cli]') === m.from) && (!q.get('filter[cld]') || q.get('filter[cld]') === m.to) && m.createdAt >= sinceMs)
      .sort((a, b) => b.m.createdAt - a.m.createdAt)
      .map(({ m, direction }) => ({ record_type: 'message_detail_record', uuid: m.id, cli: m.from, cld: m.to, direction, status: direction === 'inbound' ? 'received' : 'delivered', created_at: new Date(m.createdAt).toISOString(), profile_id: this.profileId }));
    send(res, 200, { data: rows, meta: { total_pages: 1, total_results: rows.length, page_number: 1, page_size: 20 } });
  }

  private later(fn: () => Promise<unknown>, delayMs = this.receiptDelayMs): void {
    const t = setTimeout(() => {
      this.timers.delete(t);
      fn().catch(() => undefined);
    }, delayMs);
    this.timers.add(t);
  }
}

function send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'application/json', ...headers }).end(JSON.stringify(body));
}

function notFound(res: ServerResponse): void {
  send(res, 404, { errors: [{ code: '10005', title: 'Resource not found', detail: 'The requested resource or URL could not be found.' }] });
}
