// A loopback Twilio: the parts of the REST API mctb uses, behaving as Twilio documents them
// (twilio.com/docs/messaging/api/message-resource, /docs/usage/webhooks/webhooks-security), for
// `mctb demo --transport twilio` and the tests. HTTP Basic auth (Account SID : Auth Token);
// POST Messages.json answers 201 with the Message (sid SM…, status queued) or Twilio's error body
// `{ code, message, more_info, status }` (20003, 21211, 21606, 21610, 20429 with Retry-After);
// GET Messages.json lists newest first with To/From/DateSent> filters and next_page_uri paging;
// the account, IncomingPhoneNumbers, and a Messaging Service's numbers and A2P campaign
// (messaging.twilio.com's /v1/Services paths, served here too). Status callbacks and incoming-text
// webhooks are form POSTs signed with X-Twilio-Signature over the URL as configured.

import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { twilioSignature } from '../sms/twilio/api';

export interface LoopbackMessage {
  sid: string;
  account_sid: string;
  from: string;
  to: string;
  body: string;
  status: string;
  direction: 'inbound' | 'outbound-api';
  date_created: string;
  date_sent: string | null;
  date_updated: string;
  error_code: number | null;
  error_message: string | null;
  num_segments: string;
  messaging_service_sid: string | null;
  uri: string;
  /** Not in Twilio's answer: when it was created (ms), for sorting and filters. */
  createdMs: number;
  statusCallback?: string;
}

export interface TwilioBehaviour {
  accountSid?: string;
  authToken?: string;
  /** Numbers on the account (IncomingPhoneNumbers); `sms: false` makes one not SMS-capable. */
  numbers?: { phone_number: string; sms?: boolean }[];
  /** Recipients who replied STOP: a send to them is refused with 21610. */
  optedOut?: string[];
  /** The next sends are answered with these errors (then normal again). */
  failNext?: { status: number; code: number; message?: string; retryAfter?: number }[];
  /** The next N sends are stored (and will be delivered) but answered only after this long: the client times out. */
  stallNext?: { count: number; ms: number };
  /** At most this many requests a second, else 429 (20429) with Retry-After: 1. */
  requestsPerSecond?: number;
  /** What a sent text's status callback says in the end (default delivered), per recipient. */
  outcome?: (to: string) => { status: 'delivered' | 'undelivered' | 'failed'; errorCode?: string };
  /** Milliseconds before the final status callback. */
  callbackDelayMs?: number;
  /** Messaging Services: their numbers and A2P campaign status. */
  services?: Record<string, { numbers: string[]; campaignStatus?: string }>;
  /** The URL set at Twilio for incoming texts (signed as is). */
  smsUrl?: string;
}

const rfc2822 = (ms: number) => new Date(ms).toUTCString().replace('GMT', '+0000');
const sid = (prefix: string) => prefix + randomBytes(16).toString('hex');

export class LoopbackTwilio {
  readonly accountSid: string;
  authToken: string;
  readonly messages: LoopbackMessage[] = [];
  /** Every request: method, path and query, and for POSTs the form. */
  readonly requests: { method: string; url: string; form?: Record<string, string>; auth?: string }[] = [];
  /** Every webhook it posted: URL, form, signature and the answer's status. */
  readonly posted: { url: string; form: Record<string, string>; signature: string; status: number; body: string }[] = [];
  /**
   * Where a webhook URL is actually reached (a reverse proxy in front of mctb): the URL's origin
   * replaced by this one. The signature is over the URL as configured, as Twilio's is.
   */
  via?: string;
  private server?: Server;
  private window: number[] = [];
  private readonly timers = new Set<NodeJS.Timeout>();

  constructor(readonly behaviour: TwilioBehaviour = {}) {
    this.accountSid = behaviour.accountSid ?? `AC${'0'.repeat(31)}1`;
    this.authToken = behaviour.authToken ?? 'loopback-auth-token-0123456789';
  }

  async listen(port = 0): Promise<number> {
    this.server = createServer((req, res) => void this.serve(req, res));
    await new Promise<void>((resolve) => this.server!.listen(port, '127.0.0.1', resolve));
    return (this.server.address() as AddressInfo).port;
  }

  get url(): string {
    return `http://127.0.0.1:${(this.server!.address() as AddressInfo).port}`;
  }

  async close(): Promise<void> {
    for (const t of this.timers) clearTimeout(t);
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  /** Outbound texts, oldest first. */
  get sent(): LoopbackMessage[] {
    return this.messages.filter((m) => m.direction === 'outbound-api');
  }

  /**
   * A person texts `to`: stored as an inbound message (listed by GET Messages.json) and, when
   * `webhook` (default: when smsUrl is set), posted to smsUrl. Returns the message and the
   * webhook's answer status.
   */
  async sendText(from: string, to: string, text: string, opts: { webhook?: boolean; messageSid?: string } = {}): Promise<{ message: LoopbackMessage; status?: number }> {
    const now = Date.now();
    const m = this.store({ from, to, body: text, direction: 'inbound', status: 'received', date_sent: rfc2822(now), sid: opts.messageSid }, now);
    if (opts.webhook ?? this.behaviour.smsUrl !== undefined) {
      if (!this.behaviour.smsUrl) throw new Error('no smsUrl set for incoming texts');
      const status = await this.post(this.behaviour.smsUrl, this.inboundForm(m));
      return { message: m, status };
    }
    return { message: m };
  }

  /** The form Twilio posts for an incoming text. */
  inboundForm(m: LoopbackMessage): Record<string, string> {
    return {
      ToCountry: 'US',
      SmsMessageSid: m.sid,
      NumMedia: '0',
      SmsSid: m.sid,
      SmsStatus: 'received',
      Body: m.body,
      To: m.to,
      NumSegments: m.num_segments,
      MessageSid: m.sid,
      AccountSid: this.accountSid,
      From: m.from,
      ApiVersion: '2010-04-01',
    };
  }

  /** Posts a status callback for a sent text now (tests: a callback for an id mctb has not stored yet). */
  statusCallback(url: string, messageSid: string, status: string, errorCode?: string): Promise<number> {
    const m = this.messages.find((x) => x.sid === messageSid);
    const form: Record<string, string> = {
      SmsSid: messageSid,
      SmsStatus: status,
      MessageStatus: status,
      To: m?.to ?? '+15550009999',
      MessageSid: messageSid,
      AccountSid: this.accountSid,
      From: m?.from ?? '+15550001000',
      ApiVersion: '2010-04-01',
    };
    if (errorCode) form.ErrorCode = errorCode;
    return this.post(url, form);
  }

  /** Signs and posts a form to a webhook URL as Twilio does; the answer's status (0: no answer). */
  async post(url: string, form: Record<string, string>): Promise<number> {
    const signature = twilioSignature(this.authToken, url, form);
    const target = this.via ? `${this.via.replace(/\/$/, '')}${url.replace(/^https?:\/\/[^/]+/, '')}` : url;
    try {
      const res = await fetch(target, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-twilio-signature': signature, 'user-agent': 'TwilioProxy/1.1' },
        body: new URLSearchParams(form).toString(),
        signal: AbortSignal.timeout(5000),
      });
      const body = await res.text();
      this.posted.push({ url, form, signature, status: res.status, body });
      return res.status;
    } catch {
      this.posted.push({ url, form, signature, status: 0, body: '' });
      return 0;
    }
  }

  private store(m: Partial<LoopbackMessage> & Pick<LoopbackMessage, 'from' | 'to' | 'body' | 'direction' | 'status'>, now: number): LoopbackMessage {
    const id = m.sid ?? sid('SM');
    for (const k of Object.keys(m) as (keyof typeof m)[]) if (m[k] === undefined) delete m[k];
    const full: LoopbackMessage = {
      sid: id,
      account_sid: this.accountSid,
      date_created: rfc2822(now),
      date_sent: null,
      date_updated: rfc2822(now),
      error_code: null,
      error_message: null,
      num_segments: String(Math.max(1, Math.ceil(m.body.length / 153))),
      messaging_service_sid: null,
      uri: `/2010-04-01/Accounts/${this.accountSid}/Messages/${id}.json`,
      createdMs: now,
      ...m,
    };
    this.messages.push(full);
    return full;
  }

  private async serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const raw = Buffer.concat(chunks).toString('utf8');
    const url = new URL(req.url ?? '/', 'http://loopback');
    const form = req.method === 'POST' ? Object.fromEntries(new URLSearchParams(raw)) : undefined;
    this.requests.push({ method: req.method ?? '', url: req.url ?? '', form, auth: req.headers.authorization });
    const send = (status: number, body: unknown, headers: Record<string, string> = {}) => {
      res.writeHead(status, { 'content-type': 'application/json', ...headers }).end(JSON.stringify(body));
    };
    const error = (status: number, code: number, message: string, headers: Record<string, string> = {}) =>
      send(status, { code, message, more_info: `https://www.twilio.com/docs/errors/${code}`, status }, headers);

    const limit = this.behaviour.requestsPerSecond;
    if (limit) {
      const now = Date.now();
      this.window = this.window.filter((t) => t > now - 1000);
      if (this.window.length >= limit) return error(429, 20429, 'Too Many Requests', { 'retry-after': '1' });
      this.window.push(now);
    }
    const expected = `Basic ${Buffer.from(`${this.accountSid}:${this.authToken}`).toString('base64')}`;
    if (req.headers.authorization !== expected) return error(401, 20003, 'Authenticate', { 'www-authenticate': 'Basic realm="Twilio API"' });

    const account = `/2010-04-01/Accounts/${this.accountSid}`;
    const path = url.pathname;
    if (path.startsWith('/2010-04-01/Accounts/') && !path.startsWith(`${account}.json`) && !path.startsWith(`${account}/`)) {
      return error(404, 20404, `The requested resource ${path} was not found`);
    }
    if (req.method === 'GET' && path === `${account}.json`) {
      return send(200, { sid: this.accountSid, friendly_name: 'Loopback account', status: 'active', type: 'Full', uri: `${account}.json` });
    }
    if (path === `${account}/Messages.json` && req.method === 'POST') return this.create(form ?? {}, res, send, error);
    if (path === `${account}/Messages.json` && req.method === 'GET') return this.list(url, account, send);
    if (req.method === 'GET' && path === `${account}/IncomingPhoneNumbers.json`) {
      const want = url.searchParams.get('PhoneNumber');
      const list = (this.behaviour.numbers ?? []).filter((n) => !want || n.phone_number === want);
      return send(200, {
        incoming_phone_numbers: list.map((n) => ({ sid: `PN${n.phone_number.replace(/\D/g, '').padStart(32, '0')}`, phone_number: n.phone_number, capabilities: { sms: n.sms !== false, mms: n.sms !== false, voice: true } })),
        next_page_uri: null,
        page: 0,
        page_size: 50,
      });
    }
    const service = /^\/v1\/Services\/([^/]+)\/(PhoneNumbers|Compliance\/Usa2p)$/.exec(path);
    if (req.method === 'GET' && service) {
      const s = this.behaviour.services?.[service[1]];
      if (!s) return error(404, 20404, 'The requested resource was not found');
      if (service[2] === 'PhoneNumbers') {
        return send(200, { phone_numbers: s.numbers.map((n) => ({ sid: sid('PN'), phone_number: n, service_sid: service[1], capabilities: ['SMS'] })), meta: { key: 'phone_numbers', next_page_url: null, page: 0 } });
      }
      const campaigns = s.campaignStatus ? [{ sid: sid('QE'), messaging_service_sid: service[1], campaign_id: 'CLOOPBK', campaign_status: s.campaignStatus }] : [];
      return send(200, { compliance: campaigns, meta: { key: 'compliance', next_page_url: null, page: 0 } });
    }
    return error(404, 20404, `The requested resource ${path} was not found`);
  }

  private create(form: Record<string, string>, res: ServerResponse, send: (s: number, b: unknown) => void, error: (s: number, c: number, m: string, h?: Record<string, string>) => void): void {
    const b = this.behaviour;
    const fail = b.failNext?.shift();
    if (fail) return error(fail.status, fail.code, fail.message ?? 'loopback failure', fail.retryAfter !== undefined ? { 'retry-after': String(fail.retryAfter) } : {});
    if (!form.To) return error(400, 21604, "A 'To' phone number is required.");
    if (!form.Body) return error(400, 21602, 'Message body is required.');
    if (!form.From && !form.MessagingServiceSid) return error(400, 21603, "A 'From' phone number is required.");
    if (!/^\+[1-9]\d{6,14}$/.test(form.To)) return error(400, 21211, `The 'To' number ${form.To} is not a valid phone number.`);
    if (form.From && b.numbers && !b.numbers.some((n) => n.phone_number === form.From && n.sms !== false)) {
      return error(400, 21606, `The From phone number ${form.From} is not a valid, SMS-capable inbound phone number or short code for your account.`);
    }
    if (b.optedOut?.includes(form.To)) return error(400, 21610, 'Attempt to send to unsubscribed recipient');
    const now = Date.now();
    const m = this.store({ from: form.From ?? '', to: form.To, body: form.Body, direction: 'outbound-api', status: 'queued', messaging_service_sid: form.MessagingServiceSid ?? null, statusCallback: form.StatusCallback }, now);
    const { createdMs: _c, statusCallback: _s, ...answer } = m;
    const reply = () => {
      if (!res.destroyed) send(201, answer);
    };
    if (b.stallNext && b.stallNext.count > 0) {
      b.stallNext.count--;
      this.later(b.stallNext.ms, reply);
    } else reply();
    this.later(20, () => {
      m.status = 'sent';
      m.date_sent = rfc2822(Date.now());
      if (m.statusCallback) void this.statusCallback(m.statusCallback, m.sid, 'sent');
      this.later(b.callbackDelayMs ?? 50, () => {
        const out = b.outcome?.(m.to) ?? { status: 'delivered' as const };
        m.status = out.status;
        m.error_code = out.errorCode ? Number(out.errorCode) : null;
        if (m.statusCallback) void this.statusCallback(m.statusCallback, m.sid, out.status, out.errorCode);
      });
    });
  }

  private list(url: URL, account: string, send: (s: number, b: unknown) => void): void {
    const q = url.searchParams;
    const after = q.get('DateSent>');
    const afterMs = after ? Date.parse(/^\d{4}-\d{2}-\d{2}$/.test(after) ? `${after}T00:00:00Z` : after) : undefined;
    const pageSize = Math.min(1000, Number(q.get('PageSize') ?? 50));
    const page = Number(q.get('Page') ?? 0);
    // Newest first (reversed first, so texts of one millisecond are newest first too).
    const all = [...this.messages]
      .reverse()
      .filter((m) => (!q.get('To') || m.to === q.get('To')) && (!q.get('From') || m.from === q.get('From')))
      // DateSent filters on date_sent: a message not sent yet (queued) has none and is not listed.
      .filter((m) => afterMs === undefined || (m.date_sent !== null && Date.parse(m.date_sent) >= afterMs))
      .sort((a, b) => b.createdMs - a.createdMs);
    const slice = all.slice(page * pageSize, (page + 1) * pageSize);
    const next = new URLSearchParams(q);
    next.set('Page', String(page + 1));
    next.set('PageSize', String(pageSize));
    send(200, {
      messages: slice.map(({ createdMs: _c, statusCallback: _s, ...m }) => m),
      page,
      page_size: pageSize,
      start: page * pageSize,
      end: page * pageSize + slice.length - 1,
      uri: `${account}/Messages.json?${q}`,
      first_page_uri: `${account}/Messages.json?PageSize=${pageSize}&Page=0`,
      next_page_uri: (page + 1) * pageSize < all.length ? `${account}/Messages.json?${next}` : null,
      previous_page_uri: page > 0 ? `${account}/Messages.json?PageSize=${pageSize}&Page=${page - 1}` : null,
    });
  }

  private later(ms: number, fn: () => void): void {
    const t = setTimeout(() => {
      this.timers.delete(t);
      fn();
    }, ms);
    this.timers.add(t);
  }
}
