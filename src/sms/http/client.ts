// The one small HTTP client the carrier transports share (Twilio, Telnyx, VoIP.ms): a timeout on
// every request, the carrier's credentials redacted from every error and log line, and the
// distinction the outbox needs between "not sent" (retry freely) and "may have been sent" (the
// request went out and no answer came: check the carrier's record before sending again).
//
// Node's own fetch (undici) does the work; no retries happen here for a POST, because a retried
// send could send twice: the outbox retries, with the send's idempotency key (OutgoingSms.key).

export interface HttpCall {
  method: 'GET' | 'POST' | 'DELETE';
  url: string;
  headers?: Record<string, string>;
  /** application/x-www-form-urlencoded (Twilio, VoIP.ms); an array value repeats the field. */
  form?: Record<string, string | readonly string[] | undefined>;
  /** application/json (Telnyx). */
  json?: unknown;
  timeoutMs?: number;
}

export interface HttpAnswer {
  status: number;
  headers: Headers;
  text: string;
  /** The body as JSON, or undefined when it is not JSON. */
  json<T = unknown>(): T | undefined;
  /** From Retry-After (seconds or a date), when the answer has one. */
  retryAfterMs?: number;
}

/** No answer came. `uncertain`: the request may have reached the carrier (timeout, reset), so a POST may have taken effect. */
export class HttpError extends Error {
  constructor(
    message: string,
    readonly code: string,
    readonly uncertain: boolean,
  ) {
    super(message);
    this.name = 'HttpError';
  }
}

/** Failures that happen before a request can reach the server: nothing was sent. */
const NOT_SENT = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'CERT_HAS_EXPIRED', 'DEPTH_ZERO_SELF_SIGNED_CERT', 'UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'ERR_TLS_CERT_ALTNAME_INVALID']);

export class HttpClient {
  constructor(
    private readonly opts: {
      /** Every credential this client may carry (tokens, passwords, keys): never in an error or log. */
      secrets: () => readonly (string | undefined)[];
      timeoutMs?: number;
    },
  ) {}

  async request(call: HttpCall): Promise<HttpAnswer> {
    const headers: Record<string, string> = { 'user-agent': 'mctb', accept: 'application/json', ...call.headers };
    let body: string | undefined;
    if (call.form) {
      const p = new URLSearchParams();
      for (const [k, v] of Object.entries(call.form)) {
        if (v === undefined) continue;
        for (const item of typeof v === 'string' ? [v] : v) p.append(k, item);
      }
      body = p.toString();
      headers['content-type'] = 'application/x-www-form-urlencoded';
    } else if (call.json !== undefined) {
      body = JSON.stringify(call.json);
      headers['content-type'] = 'application/json';
    }
    let res: Response;
    try {
      res = await fetch(call.url, { method: call.method, headers, body, signal: AbortSignal.timeout(call.timeoutMs ?? this.opts.timeoutMs ?? 15_000), redirect: 'error' });
    } catch (err) {
      const e = err as Error & { cause?: { code?: string; message?: string } };
      if (e.name === 'TimeoutError') throw new HttpError(`no answer within ${Math.round((call.timeoutMs ?? this.opts.timeoutMs ?? 15_000) / 1000)} s from ${this.where(call.url)}`, 'timeout', true);
      const code = e.cause?.code ?? 'network';
      throw new HttpError(this.redact(`${this.where(call.url)}: ${e.cause?.message ?? e.message} (${code})`), code, !NOT_SENT.has(code));
    }
    let text: string;
    try {
      text = await res.text();
    } catch (err) {
      // The answer started but broke off: the carrier has the request.
      throw new HttpError(this.redact(`${this.where(call.url)}: the answer broke off (${(err as Error).message})`), 'truncated', true);
    }
    return {
      status: res.status,
      headers: res.headers,
      text,
      json: <T>() => {
        try {
          return JSON.parse(text) as T;
        } catch {
          return undefined;
        }
      },
      retryAfterMs: retryAfter(res.headers.get('retry-after')),
    };
  }

  /** `text` with every credential replaced by "[redacted]" (and URL-encoded forms of them). */
  redact(text: string): string {
    let out = text;
    for (const s of this.opts.secrets()) {
      if (!s || s.length < 4) continue;
      for (const form of new Set([s, encodeURIComponent(s), Buffer.from(s).toString('base64')])) out = out.split(form).join('[redacted]');
    }
    return out;
  }

  /** The host of a URL, for messages (never its query, which may hold credentials). */
  private where(url: string): string {
    try {
      return new URL(url).host;
    } catch {
      return 'the carrier';
    }
  }
}

/** How the outbox should take an HTTP status: 2xx sent; 429 and 5xx again later; any other 4xx never. */
export function statusKind(status: number): 'ok' | 'retry' | 'failed' {
  if (status >= 200 && status < 300) return 'ok';
  if (status === 429 || status === 408 || status >= 500) return 'retry';
  return 'failed';
}

function retryAfter(value: string | null): number | undefined {
  if (!value) return undefined;
  const s = Number(value);
  if (Number.isFinite(s)) return Math.max(0, s * 1000);
  const at = Date.parse(value);
  return Number.isFinite(at) ? Math.max(0, at - Date.now()) : undefined;
}
