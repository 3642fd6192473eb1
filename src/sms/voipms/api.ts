// VoIP.ms's REST/JSON API as mctb uses it: one endpoint (`base_url`, https://voip.ms/api/v1/rest.php)
// taking api_username, api_password, method and the method's parameters, answering JSON
// `{ "status": "success", ... }` or `{ "status": "<error code>" }` (invalid_credentials,
// ip_not_enabled, missing_did, sms_failed, limit_reached...), mostly with HTTP 200.
//
// The API takes its parameters in the query (GET) or in the body (POST). mctb POSTs them as a
// form: the credentials then never sit in a URL, where proxies and access logs keep them. The
// shared HttpClient redacts them from every error anyway.

import { HttpClient, HttpError, statusKind } from '../http/client';

/** What a call came to: the answer's fields, or why there is none. */
export type ApiResult =
  | { kind: 'ok'; body: Record<string, unknown> }
  /** VoIP.ms answered with an error status (its `status` field). */
  | { kind: 'refused'; status: string }
  /** HTTP 429 or 5xx, a body that is not the API's JSON, or no answer: nothing known. `uncertain`: the request may have taken effect. */
  | { kind: 'unavailable'; error: string; uncertain: boolean; retryAfterMs?: number };

/** Each error status mctb may meet, in words, and whether trying again later may work. */
export const STATUS_WORDS: Readonly<Record<string, { what: string; transient?: boolean }>> = {
  invalid_credentials: { what: 'the API username or password is wrong', transient: true },
  missing_credentials: { what: 'no API username or password was given', transient: true },
  ip_not_enabled: { what: "this host's IP address is not enabled for the API", transient: true },
  api_not_enabled: { what: 'the API is not enabled on this account', transient: true },
  api_limit_exceeded: { what: 'too many API requests', transient: true },
  limit_reached: { what: "the account's SMS limit is reached (100 a day unless VoIP.ms raised it)", transient: true },
  sms_failed: { what: 'VoIP.ms could not send the text just now', transient: true },
  missing_did: { what: 'no sending DID was given' },
  invalid_did: { what: 'the sending number is not a DID of this account (or has no SMS)' },
  sms_disabled: { what: 'SMS is not enabled on the sending DID' },
  missing_dst: { what: 'no destination was given' },
  invalid_dst: { what: 'the destination is not a number VoIP.ms can text' },
  missing_sms: { what: 'the text is empty' },
  message_empty: { what: 'the text is empty' },
  invalid_sms: { what: 'VoIP.ms refused the text' },
  sms_toolong: { what: 'the text is longer than 160 characters' },
  invalid_method: { what: 'VoIP.ms does not know this API method (is base_url the REST/JSON API?)' },
  no_sms: { what: 'no texts match' },
  no_did: { what: 'the account has no DIDs' },
};

export function statusWords(status: string): string {
  return STATUS_WORDS[status]?.what ?? 'VoIP.ms refused the request';
}

export interface VoipmsCredentials {
  base_url: string;
  username: string;
  api_password: string;
}

export class VoipmsApi {
  readonly http: HttpClient;

  constructor(
    private readonly cfg: VoipmsCredentials,
    timeoutMs?: number,
    /** Other secrets that must never appear in an error (the webhook token). */
    extraSecrets: readonly (string | undefined)[] = [],
  ) {
    this.http = new HttpClient({ secrets: () => [cfg.api_password, ...extraSecrets], timeoutMs });
  }

  async call(method: string, params: Record<string, string | undefined> = {}, timeoutMs?: number): Promise<ApiResult> {
    let answer;
    try {
      answer = await this.http.request({
        method: 'POST',
        url: this.cfg.base_url,
        form: { api_username: this.cfg.username, api_password: this.cfg.api_password, method, ...params },
        timeoutMs,
      });
    } catch (err) {
      const e = err as HttpError;
      return { kind: 'unavailable', error: this.http.redact(e.message), uncertain: e instanceof HttpError ? e.uncertain : true };
    }
    const kind = statusKind(answer.status);
    const body = answer.json<Record<string, unknown>>();
    if (kind === 'retry') return { kind: 'unavailable', error: `HTTP ${answer.status}`, uncertain: answer.status !== 429, retryAfterMs: answer.retryAfterMs };
    if (!body || typeof body !== 'object' || typeof body.status !== 'string') {
      // A login page, a proxy's error page: not the API. The request may still have reached it.
      return { kind: 'unavailable', error: `HTTP ${answer.status}, not the API's JSON answer (is base_url ${this.where()} the REST/JSON API?)`, uncertain: kind === 'ok' };
    }
    if (body.status === 'success') return { kind: 'ok', body };
    return { kind: 'refused', status: body.status };
  }

  /** The API's host, for messages (never the query). */
  where(): string {
    try {
      return new URL(this.cfg.base_url).host;
    } catch {
      return this.cfg.base_url;
    }
  }
}

/**
 * The number as VoIP.ms writes a DID or a North American contact: 10 digits, no +1
 * ("+15550001000" → "5550001000"). Others keep their digits (011... is how VoIP.ms dials abroad).
 */
export function apiNumber(e164: string): string {
  const digits = e164.replace(/[^\d]/g, '');
  if (/^1\d{10}$/.test(digits) && e164.trim().startsWith('+')) return digits.slice(1);
  if (/^\d{10}$/.test(digits)) return digits;
  return e164.trim().startsWith('+') ? `011${digits}` : digits;
}

/** A number as VoIP.ms gives it (10 digits for North America), in E.164. */
export function e164Of(number: string): string {
  const digits = number.replace(/[^\d]/g, '');
  if (/^\d{10}$/.test(digits)) return `+1${digits}`;
  if (/^1\d{10}$/.test(digits)) return `+${digits}`;
  if (digits.startsWith('011')) return `+${digits.slice(3)}`;
  return number.trim().startsWith('+') ? `+${digits}` : number.trim();
}

/** A North American number (VoIP.ms texts from US and Canadian DIDs only). */
export function isNanp(e164: string): boolean {
  return /^\+1\d{10}$/.test(e164);
}

/** A field of an answer as text (VoIP.ms writes numbers as strings, mostly): '' for anything else. */
export function field(v: unknown): string {
  return typeof v === 'string' ? v : typeof v === 'number' ? String(v) : '';
}

/** The day of `ms` in UTC, as getSMS takes it ("2024-03-30"). */
export function apiDate(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}

/**
 * A text cut into sendSMS-sized pieces: VoIP.ms takes at most 160 characters per sendSMS, so a
 * longer text goes as several texts, cut at a space where one is near the end of the piece (a
 * word is cut only when it is longer than a piece). Characters are code points, so no emoji is
 * split in half.
 */
export function splitForSendSms(text: string, max = 160): string[] {
  const chars = [...text];
  if (chars.length <= max) return [text];
  const parts: string[] = [];
  let rest = chars;
  while (rest.length > max) {
    let cut = max;
    for (let i = max; i > max / 2; i--) {
      if (rest[i] === ' ' || rest[i] === '\n') {
        cut = i;
        break;
      }
    }
    parts.push(rest.slice(0, cut).join('').trimEnd());
    rest = rest.slice(cut);
    while (rest.length > 0 && (rest[0] === ' ' || rest[0] === '\n')) rest = rest.slice(1);
  }
  if (rest.length > 0) parts.push(rest.join(''));
  return parts;
}
