// VoIP.ms as an SMS transport: sendSMS from the DID the conversation is on, incoming texts by its
// "SMS URL Callback" (a GET to our webhook_path, authenticated by a token in the URL) and/or by
// polling getSMS. VoIP.ms gives no delivery status: its texts stay `submitted`.
//
// Nothing doubled: VoIP.ms takes no idempotency key, so the pieces of a text sent as several are
// kept (deps.store) the moment VoIP.ms accepts each, and a try that follows one whose answer never
// came (`resend`) first looks the piece up among the account's sent texts (getSMS) before sending it.

import { BlockList, isIP } from 'node:net';
import { createHash, timingSafeEqual } from 'node:crypto';
import type { Logger } from '../../log';
import { maskNumber } from '../../numbers/phone';
import { PerSender } from '../rate';
import type { MessageHandler, OutgoingSms, SmsTransport, SubmitResult, TransportDeps, WebhookAnswer, WebhookRequest, WebhookRoute } from '../transport';
import { apiDate, apiNumber, e164Of, field, splitForSendSms, STATUS_WORDS, statusWords, VoipmsApi } from './api';
import type { VoipmsSettings } from './index';

const DAY_MS = 86_400_000;
/** getSMS reads at most this far back (VoIP.ms answers ranges of about 90 days). */
const MAX_LOOKBACK_MS = 89 * DAY_MS;
const POLL_LIMIT = '1000';

interface Cursor {
  /** The highest VoIP.ms id delivered. */
  id: number;
  /** When polling last saw it (ms), to bound getSMS's date range. */
  at: number;
}

export class VoipmsTransport implements SmsTransport {
  readonly name = 'voipms';
  readonly webhooks: readonly WebhookRoute[];
  private readonly api: VoipmsApi;
  private readonly pace: PerSender;
  private messageHandler?: MessageHandler;
  /** Deliveries under way by VoIP.ms id: a webhook and a poll carrying one text store it once. */
  private readonly delivering = new Map<string, Promise<void>>();
  /** Retry-After from the API: nothing is sent before this. */
  private pausedUntil = 0;
  private pollTimer?: NodeJS.Timeout;
  private polling?: Promise<void>;
  private stopped = true;
  private readonly allow?: { list: BlockList; prefixes: string[] };
  /** Without a ledger (send-test): the pieces accepted, in memory. */
  private readonly memory = new Map<string, string>();

  constructor(
    private readonly cfg: VoipmsSettings,
    private readonly log: Logger,
    private readonly deps?: TransportDeps,
    private readonly clock: () => number = Date.now,
    /** Each API request's timeout (the HttpClient's 15 s by default). */
    timeoutMs?: number,
  ) {
    if (cfg.webhook_path && !cfg.webhook_token) throw new Error('sms.voipms.webhook_path is set without webhook_token (or webhook_token_file): the callback could not be told from a forgery');
    this.api = new VoipmsApi(cfg, timeoutMs, [cfg.webhook_token]);
    this.pace = new PerSender(cfg.tps);
    this.webhooks = cfg.webhook_path ? [{ path: cfg.webhook_path, handle: (req) => this.callback(req) }] : [];
    if (cfg.allow_from && cfg.allow_from.length > 0) this.allow = allowList(cfg.allow_from);
  }

  /** Always, but for a Retry-After the API asked for. */
  get ready(): boolean {
    return this.clock() >= this.pausedUntil;
  }

  onReceipt(): void {
    // VoIP.ms reports no delivery status.
  }

  onMessage(handler: MessageHandler): void {
    this.messageHandler = handler;
  }

  start(): void {
    this.stopped = false;
    if (this.cfg.poll_interval_ms) this.schedulePoll(0);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.pollTimer);
    await this.polling?.catch(() => undefined);
  }

  async submit(sms: OutgoingSms): Promise<SubmitResult> {
    if (!this.ready) return { kind: 'retry', error: `VoIP.ms asked to wait (Retry-After) until ${new Date(this.pausedUntil).toISOString()}` };
    const pieces = splitForSendSms(sms.text);
    const did = apiNumber(sms.from);
    const dst = apiNumber(sms.to);
    const key = sms.key ?? `${sms.from}>${sms.to}:${sms.reference}:${sms.text}`;
    const done = await this.piecesSent(key);
    const ids: string[] = [];
    for (let i = 0; i < pieces.length; i++) {
      if (done[i]) {
        ids.push(done[i]);
        continue;
      }
      if (sms.resend) {
        // An earlier try may have reached VoIP.ms without its answer reaching us: look first.
        const found = await this.findSent(did, dst, pieces[i], ids);
        if (found.kind === 'unknown') return { kind: 'retry', error: `cannot check whether VoIP.ms has it already (${found.error}); will look again before sending`, uncertain: true };
        if (found.kind === 'found') {
          this.log.info('VoIP.ms has this text already (an earlier try reached it); not sent again', { to: maskNumber(sms.to), sms_id: found.id });
          done[i] = found.id;
          ids.push(found.id);
          await this.keepPieces(key, done, pieces.length);
          continue;
        }
      }
      await this.pace.take(sms.from);
      const r = await this.api.call('sendSMS', { did, dst, message: pieces[i] });
      if (r.kind === 'ok') {
        const id = field(r.body.sms);
        done[i] = id;
        ids.push(id);
        await this.keepPieces(key, done, pieces.length);
        continue;
      }
      // A text sent as several pieces and cut short is taken up where it stopped: the pieces
      // VoIP.ms took are kept above, so the next try sends the rest, none twice.
      if (r.kind === 'unavailable') {
        if (r.retryAfterMs !== undefined && r.retryAfterMs > 0) this.pausedUntil = this.clock() + Math.min(r.retryAfterMs, 10 * 60_000);
        return { kind: 'retry', error: r.error, uncertain: r.uncertain };
      }
      const error = `${r.status}: ${statusWords(r.status)}`;
      if (STATUS_WORDS[r.status]?.transient) return { kind: 'retry', error };
      return { kind: 'failed', error };
    }
    return { kind: 'accepted', messageIds: ids };
  }


  private async piecesSent(key: string): Promise<string[]> {
    const raw = this.deps ? await this.deps.store.get(`voipms:sent:${key}`) : this.memory.get(key);
    try {
      return raw ? (JSON.parse(raw) as string[]) : [];
    } catch {
      return [];
    }
  }

  /**
   * Kept only for a text sent as several pieces: a one-piece text that got its answer is never
   * tried again, and one that did not is looked up (getSMS). The store has no delete, so this
   * keeps one small row per long text.
   */
  private async keepPieces(key: string, done: string[], pieces: number): Promise<void> {
    if (pieces < 2) return;
    const value = JSON.stringify(done);
    if (this.deps) await this.deps.store.set(`voipms:sent:${key}`, value);
    else this.memory.set(key, value);
  }

  /** This piece among the texts sent from `did` to `dst` around now (getSMS, type 0 = sent). */
  private async findSent(did: string, dst: string, text: string, taken: readonly string[]): Promise<{ kind: 'found'; id: string } | { kind: 'absent' } | { kind: 'unknown'; error: string }> {
    const now = this.clock();
    const r = await this.api.call('getSMS', { type: '0', did, contact: dst, from: apiDate(now - DAY_MS), to: apiDate(now + DAY_MS), limit: POLL_LIMIT });
    if (r.kind === 'refused' && r.status === 'no_sms') return { kind: 'absent' };
    if (r.kind === 'refused') return { kind: 'unknown', error: `${r.status}: ${statusWords(r.status)}` };
    if (r.kind === 'unavailable') return { kind: 'unknown', error: r.error };
    const hit = smsList(r.body).find((m) => m.message === text && !taken.includes(m.id));
    return hit ? { kind: 'found', id: hit.id } : { kind: 'absent' };
  }

  /** VoIP.ms's SMS URL Callback: GET {webhook_path}?token=…&from={FROM}&to={TO}&message={MESSAGE}&id={ID}&date={DATE}. */
  private async callback(req: WebhookRequest): Promise<WebhookAnswer> {
    const address = req.remoteAddress.replace(/^::ffff:/, '');
    const url = new URL(req.url, 'http://mctb.invalid');
    const q = url.searchParams;
    if (req.method === 'POST' && req.body.length > 0) for (const [k, v] of new URLSearchParams(req.body.toString('utf8'))) if (!q.has(k)) q.set(k, v);
    const refuse = (why: string): WebhookAnswer => {
      this.log.warn('VoIP.ms callback refused', { address, reason: why });
      return { status: 403, body: 'forbidden (mctb voipms webhook)\n' };
    };
    if (req.method !== 'GET' && req.method !== 'POST') return refuse(`method ${req.method}`);
    if (this.allow && !allowed(this.allow, address)) return refuse('address not in sms.voipms.allow_from');
    if (!sameSecret(q.get('token') ?? '', this.cfg.webhook_token ?? '')) return refuse(q.has('token') ? 'wrong token' : 'no token in the URL');
    const id = q.get('id') ?? '';
    const from = q.get('from') ?? '';
    const to = q.get('to') ?? '';
    if (!/^\d+$/.test(id) || !from || !to || !q.has('message')) {
      this.log.warn('VoIP.ms callback without id, from, to or message: is the URL set as `mctb config check` prints it?', { address });
      return { status: 400, body: 'id, from, to and message are required\n' };
    }
    await this.deliver({ id, from, to, message: q.get('message') ?? '' }, 'callback');
    // VoIP.ms expects "ok" once the text is taken.
    return { status: 200, body: 'ok' };
  }

  /** Hands one text to the daemon; resolves once it is stored (or was already). */
  private deliver(m: { id: string; from: string; to: string; message: string }, via: 'callback' | 'poll'): Promise<void> {
    const handler = this.messageHandler;
    if (!handler) return Promise.reject(new Error('not taking texts yet'));
    const running = this.delivering.get(m.id);
    if (running) return running;
    const p = handler({ from: e164Of(m.from), to: e164Of(m.to), text: m.message, carrierId: m.id }).finally(() => this.delivering.delete(m.id));
    this.delivering.set(m.id, p);
    this.log.debug('VoIP.ms text in', { via, sms_id: m.id, from: maskNumber(e164Of(m.from)) });
    return p;
  }

  private schedulePoll(delayMs: number): void {
    clearTimeout(this.pollTimer);
    if (this.stopped) return;
    this.pollTimer = setTimeout(() => {
      this.polling = this.pollOnce()
        .catch((err: Error) => {
          this.log.warn('VoIP.ms poll failed; trying again at the next interval', { error: this.api.http.redact(err.message) });
        })
        .finally(() => {
          this.polling = undefined;
          this.schedulePoll(this.cfg.poll_interval_ms ?? 30_000);
        });
    }, delayMs);
  }

  /** One round of getSMS (type 1 = received) per business number, from each one's cursor. */
  async pollOnce(): Promise<void> {
    const dids = [...new Set((this.deps?.numbers() ?? this.cfg.numbers).filter((n) => /^\+1\d{10}$/.test(n)))];
    for (const number of dids) {
      if (this.stopped) return;
      await this.pollDid(number);
    }
  }

  private async pollDid(number: string): Promise<void> {
    const did = apiNumber(number);
    const key = `voipms:poll:${did}`;
    const now = this.clock();
    const raw = this.deps ? await this.deps.store.get(key) : this.memory.get(key);
    let cursor: Cursor | undefined;
    try {
      cursor = raw ? (JSON.parse(raw) as Cursor) : undefined;
    } catch {
      cursor = undefined;
    }
    const since = Math.max(now - MAX_LOOKBACK_MS, (cursor?.at ?? now) - DAY_MS);
    const r = await this.api.call('getSMS', { type: '1', did, from: apiDate(since), to: apiDate(now + DAY_MS), limit: POLL_LIMIT });
    if (r.kind === 'unavailable') throw new Error(r.error);
    if (r.kind === 'refused' && r.status !== 'no_sms') throw new Error(`getSMS for ${did}: ${r.status}: ${statusWords(r.status)}`);
    const texts = (r.kind === 'ok' ? smsList(r.body) : []).filter((m) => m.type !== '0').sort((a, b) => Number(a.id) - Number(b.id));
    const save = async (c: Cursor) => {
      if (this.deps) await this.deps.store.set(key, JSON.stringify(c));
      else this.memory.set(key, JSON.stringify(c));
    };
    if (!cursor) {
      // First poll of this DID: start from now. Texts from before mctb polled are history, not replies.
      const last = texts.at(-1);
      await save({ id: last ? Number(last.id) : 0, at: now });
      this.log.info('VoIP.ms polling starts', { did: number, after_sms_id: last?.id ?? 'none' });
      return;
    }
    let seen = cursor;
    for (const m of texts) {
      if (Number(m.id) <= seen.id) continue;
      await this.deliver({ id: m.id, from: m.contact, to: m.did || did, message: m.message }, 'poll');
      seen = { id: Number(m.id), at: now };
      await save(seen);
    }
    if (seen === cursor) await save({ id: cursor.id, at: now });
  }
}

interface ApiSms {
  id: string;
  date: string;
  type: string;
  did: string;
  contact: string;
  message: string;
}

/** getSMS's `sms` list, each field as a string. */
function smsList(body: Record<string, unknown>): ApiSms[] {
  const list = Array.isArray(body.sms) ? (body.sms as Record<string, unknown>[]) : [];
  return list
    .filter((m) => m && typeof m === 'object' && field(m.id) !== '')
    .map((m) => ({ id: field(m.id), date: field(m.date), type: field(m.type), did: field(m.did), contact: field(m.contact), message: field(m.message) }));
}

/** Compares in constant time (over digests, so the length leaks nothing either). */
function sameSecret(given: string, expected: string): boolean {
  if (!expected) return false;
  const a = createHash('sha256').update(given).digest();
  const b = createHash('sha256').update(expected).digest();
  return timingSafeEqual(a, b);
}

/** allow_from: addresses ("184.75.215.10"), networks ("184.75.215.0/24") or text prefixes ("184.75."). */
function allowList(entries: readonly string[]): { list: BlockList; prefixes: string[] } {
  const list = new BlockList();
  const prefixes: string[] = [];
  for (const e of entries) {
    const [addr, bits] = e.split('/');
    const family = isIP(addr);
    if (family && bits !== undefined) list.addSubnet(addr, Number(bits), family === 6 ? 'ipv6' : 'ipv4');
    else if (family) list.addAddress(addr, family === 6 ? 'ipv6' : 'ipv4');
    else prefixes.push(e);
  }
  return { list, prefixes };
}

function allowed(allow: { list: BlockList; prefixes: string[] }, address: string): boolean {
  const family = isIP(address);
  if (family && allow.list.check(address, family === 6 ? 'ipv6' : 'ipv4')) return true;
  return allow.prefixes.some((p) => address.startsWith(p));
}
