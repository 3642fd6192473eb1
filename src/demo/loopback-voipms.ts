// A loopback VoIP.ms REST/JSON API for `mctb demo --transport voipms` and the tests, behaving as
// VoIP.ms documents it (https://voip.ms/m/apidocs.php): one endpoint, /api/v1/rest.php, taking
// api_username, api_password, method and the method's parameters in the query (GET) or the body
// (POST, form-encoded), answering HTTP 200 with JSON `{ "status": "success", ... }` or
// `{ "status": "<error code>" }`. Methods: getBalance, getDIDsInfo, getIP, sendSMS (did, dst,
// message of at most 160 characters → `{ status, sms: <id> }`), getSMS (sms, type 1 received /
// 0 sent, did, contact, from/to dates, limit → `{ status, sms: [{ id, date, type, did, contact,
// message }] }`, or status no_sms). A text to one of its DIDs is kept for getSMS and, when a
// callback URL is set on the DID, sent to it by GET with {FROM} {TO} {MESSAGE} {ID} {DATE}
// filled in, as VoIP.ms's "SMS URL Callback" does. VoIP.ms has no delivery status and signs
// nothing; neither does this.
//
// Test behaviour: `script` answers the next sendSMS calls otherwise (HTTP 429 with Retry-After,
// HTTP 500, an error status, or accepting the text and then dropping the connection, or not
// answering for a minute).

import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

/** 'pass': answer as usual (to script a later call). */
export type ScriptStep = 'pass' | 'http429' | 'http500' | 'drop-after-accept' | 'hang-after-accept' | { status: string };

export interface LoopbackVoipmsOptions {
  username?: string;
  password?: string;
  /** The account's DIDs, 10 digits; SMS enabled unless listed in smsDisabled. */
  dids?: string[];
  smsDisabled?: string[];
  /** false: every call answers ip_not_enabled (the caller's IP is not enabled for the API). */
  ipEnabled?: boolean;
  /** Texts a day before limit_reached (VoIP.ms: 100 unless raised). */
  dailyLimit?: number;
}

export interface StoredSms {
  id: number;
  /** "YYYY-MM-DD HH:MM:SS", UTC. */
  date: string;
  /** 1 received, 0 sent. */
  type: 0 | 1;
  did: string;
  contact: string;
  message: string;
}

export class LoopbackVoipms {
  readonly username: string;
  readonly password: string;
  /** Every API call, the password left out. */
  readonly calls: { method: string; params: Record<string, string>; http: 'GET' | 'POST' }[] = [];
  readonly messages: StoredSms[] = [];
  /** Each callback made: the URL and what it answered. */
  readonly callbacks: { url: string; status: number; body: string }[] = [];
  readonly script: ScriptStep[] = [];
  private readonly dids: Map<string, { smsEnabled: boolean; callback?: string }>;
  private nextId = 4_100_000;
  private server?: Server;
  private readonly sockets = new Set<Socket>();
  private port = 0;

  constructor(private readonly opts: LoopbackVoipmsOptions = {}) {
    this.username = opts.username ?? 'demo@example.com';
    this.password = opts.password ?? 'loopback-api-password';
    this.dids = new Map((opts.dids ?? ['5550001000']).map((d) => [d, { smsEnabled: !(opts.smsDisabled ?? []).includes(d) }]));
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}/api/v1/rest.php`;
  }

  /** The texts sent (sendSMS accepted), oldest first. */
  get sent(): StoredSms[] {
    return this.messages.filter((m) => m.type === 0);
  }

  async listen(port = 0): Promise<number> {
    const server = createServer((req, res) => void this.handle(req, res));
    server.on('connection', (s) => {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
    });
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => resolve());
    });
    this.port = (server.address() as AddressInfo).port;
    return this.port;
  }

  /** Sets the DID's SMS URL Callback (the portal's Message Service page), placeholders and all. */
  setCallback(did: string, url: string | undefined): void {
    const d = this.dids.get(did);
    if (!d) throw new Error(`${did} is not a DID of this account`);
    d.callback = url;
  }

  /**
   * A phone texts one of the account's DIDs: kept for getSMS and, when the DID has a callback
   * URL, sent to it (resolves once the callback answered). `from`/`to` E.164 or 10 digits.
   */
  async receive(from: string, to: string, text: string): Promise<{ id: number; callback?: { status: number; body: string } }> {
    const did = tenDigits(to);
    const sms = this.store(1, did, tenDigits(from), text);
    const template = this.dids.get(did)?.callback;
    if (!template) return { id: sms.id };
    return { id: sms.id, callback: await this.callback(sms) };
  }

  /** Calls the DID's callback for a text again (VoIP.ms retries when the answer is not "ok"). */
  async callback(sms: StoredSms): Promise<{ status: number; body: string }> {
    const template = this.dids.get(sms.did)?.callback;
    if (!template) throw new Error(`no callback URL on ${sms.did}`);
    const fill: Record<string, string> = { '{FROM}': sms.contact, '{TO}': sms.did, '{MESSAGE}': sms.message, '{ID}': String(sms.id), '{DATE}': sms.date };
    const url = template.replace(/\{(FROM|TO|MESSAGE|ID|DATE)\}/g, (m) => encodeURIComponent(fill[m]));
    let status = 0;
    let body = '';
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(10_000) });
      status = res.status;
      body = await res.text();
    } catch (err) {
      body = (err as Error).message;
    }
    this.callbacks.push({ url, status, body });
    return { status, body };
  }

  async close(): Promise<void> {
    const server = this.server;
    if (!server) return;
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private store(type: 0 | 1, did: string, contact: string, message: string): StoredSms {
    const sms: StoredSms = { id: this.nextId++, date: new Date().toISOString().replace('T', ' ').slice(0, 19), type, did, contact, message };
    this.messages.push(sms);
    return sms;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://loopback');
    if (url.pathname !== '/api/v1/rest.php') {
      res.writeHead(404, { 'content-type': 'text/html' }).end('<h1>Not Found</h1>');
      return;
    }
    const params = new URLSearchParams(url.search);
    if (req.method === 'POST') {
      let body = '';
      for await (const c of req) body += String(c);
      for (const [k, v] of new URLSearchParams(body)) params.set(k, v);
    }
    const p = Object.fromEntries(params) as Record<string, string>;
    const { api_password: _hidden, ...shown } = p;
    const method = p.method ?? '';
    this.calls.push({ method, params: shown, http: req.method === 'POST' ? 'POST' : 'GET' });
    const answer = (o: Record<string, unknown>) => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(o));

    if (!p.api_username || !p.api_password) return void answer({ status: 'missing_credentials' });
    if (p.api_username !== this.username || p.api_password !== this.password) return void answer({ status: 'invalid_credentials' });
    if (this.opts.ipEnabled === false) return void answer({ status: 'ip_not_enabled' });

    switch (method) {
      case 'getIP':
        return void answer({ status: 'success', ip: '127.0.0.1' });
      case 'getBalance':
        return void answer({ status: 'success', balance: { current_balance: '25.4210' } });
      case 'getDIDsInfo': {
        if (this.dids.size === 0) return void answer({ status: 'no_did' });
        const dids = [...this.dids].map(([did, d]) => ({ did, description: '', routing: 'account:100000', sms_available: '1', sms_enabled: d.smsEnabled ? '1' : '0' }));
        return void answer({ status: 'success', dids });
      }
      case 'sendSMS':
        return this.sendSms(p, res, answer);
      case 'getSMS':
        return void answer(this.getSms(p));
      default:
        return void answer({ status: 'invalid_method' });
    }
  }

  private sendSms(p: Record<string, string>, res: ServerResponse, answer: (o: Record<string, unknown>) => void): void {
    const step = this.script.shift();
    if (step === 'http429') return void res.writeHead(429, { 'retry-after': '1', 'content-type': 'text/plain' }).end('Too Many Requests');
    if (step === 'http500') return void res.writeHead(500, { 'content-type': 'text/html' }).end('<h1>500 Internal Server Error</h1>');
    if (step && typeof step === 'object') return void answer({ status: step.status });
    if (!p.did) return void answer({ status: 'missing_did' });
    const did = this.dids.get(p.did);
    if (!did || !did.smsEnabled) return void answer({ status: 'invalid_did' });
    if (!p.dst) return void answer({ status: 'missing_dst' });
    if (!/^1?\d{10}$/.test(p.dst)) return void answer({ status: 'invalid_dst' });
    if (p.message === undefined) return void answer({ status: 'missing_sms' });
    if (p.message === '') return void answer({ status: 'message_empty' });
    if ([...p.message].length > 160) return void answer({ status: 'sms_toolong' });
    const today = new Date().toISOString().slice(0, 10);
    if (this.opts.dailyLimit !== undefined && this.sent.filter((m) => m.date.startsWith(today)).length >= this.opts.dailyLimit) return void answer({ status: 'limit_reached' });
    const sms = this.store(0, p.did, p.dst.replace(/^1(\d{10})$/, '$1'), p.message);
    // Taken, and the answer lost on the way (the case an idempotent retry exists for).
    if (step === 'drop-after-accept') return void res.socket?.destroy();
    // Taken, and no answer for a minute: the sender times out.
    if (step === 'hang-after-accept') return void setTimeout(() => answer({ status: 'success', sms: sms.id }), 60_000).unref();
    answer({ status: 'success', sms: sms.id });
  }

  private getSms(p: Record<string, string>): Record<string, unknown> {
    const today = new Date().toISOString().slice(0, 10);
    const from = p.from || today;
    const to = p.to || today;
    const limit = Number(p.limit || 50);
    const found = this.messages
      .filter((m) => (p.sms ? String(m.id) === p.sms : true))
      .filter((m) => (p.type === undefined || p.type === '' ? true : String(m.type) === p.type))
      .filter((m) => (p.did ? m.did === p.did : true))
      .filter((m) => (p.contact ? m.contact === p.contact : true))
      .filter((m) => m.date.slice(0, 10) >= from && m.date.slice(0, 10) <= to)
      .sort((a, b) => b.id - a.id)
      .slice(0, limit);
    if (found.length === 0) return { status: 'no_sms' };
    return { status: 'success', sms: found.map((m) => ({ id: String(m.id), date: m.date, type: String(m.type), did: m.did, contact: m.contact, message: m.message })) };
  }
}

/** 10 digits, as VoIP.ms writes North American numbers. */
function tenDigits(n: string): string {
  const d = n.replace(/\D/g, '');
  return d.length === 11 && d.startsWith('1') ? d.slice(1) : d;
}
