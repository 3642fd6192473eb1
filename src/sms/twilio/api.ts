// Twilio's REST API as mctb uses it (Programmable Messaging, API version 2010-04-01; SignalWire's
// Compatibility API has the same paths under its own base URL): where things are, what its error
// codes mean, and how it signs the webhooks it sends (X-Twilio-Signature). Pure functions: the
// transport, its doctor and the loopback server (src/demo/loopback-twilio.ts) share them.

import { createHmac, timingSafeEqual } from 'node:crypto';
import { filteredError } from '../../records/states';

export const TWILIO_API = 'https://api.twilio.com';
/** Messaging Services (and their A2P 10DLC campaign) live on their own host. */
export const TWILIO_MESSAGING_API = 'https://messaging.twilio.com';

/** `{base}/2010-04-01/Accounts/{sid}{rest}`: the account's resources. */
export function accountUrl(baseUrl: string, accountSid: string, rest = '.json'): string {
  return `${baseUrl.replace(/\/$/, '')}/2010-04-01/Accounts/${encodeURIComponent(accountSid)}${rest}`;
}

/**
 * Where the Messaging Services API is: messaging.twilio.com when base_url is Twilio's own API,
 * else base_url itself (a proxy or a test server serving both); undefined for SignalWire, which
 * has no Messaging Services (its 10DLC registration is in its own dashboard).
 */
export function messagingBase(baseUrl: string): string | undefined {
  const host = hostOf(baseUrl);
  if (host === 'api.twilio.com') return TWILIO_MESSAGING_API;
  if (host.endsWith('.signalwire.com')) return undefined;
  return baseUrl.replace(/\/$/, '');
}

export function hostOf(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return '';
  }
}

/** HTTP Basic credentials: the Account SID and the Auth Token. */
export function basicAuth(accountSid: string, authToken: string): string {
  return `Basic ${Buffer.from(`${accountSid}:${authToken}`).toString('base64')}`;
}

/** Twilio's error body: `{ code, message, more_info, status }`. */
export interface TwilioError {
  code?: number;
  message?: string;
  more_info?: string;
  status?: number;
}

/**
 * The codes mctb meets, in a few words each (twilio.com/docs/api/errors/<code>). Send errors
 * (2xxxx) come back from POST Messages.json; delivery errors (3xxxx) in status callbacks.
 */
export const TWILIO_ERRORS: Readonly<Record<string, string>> = {
  '20003': 'authentication failed',
  '20404': 'not found',
  '20429': 'too many requests',
  '21211': "invalid 'To' number",
  '21408': 'sending to this region is not enabled',
  '21603': "'From' number required",
  '21606': "'From' number is not SMS-capable or not on the account",
  '21608': 'unverified number (trial account)',
  '21610': 'recipient opted out (replied STOP)',
  '21612': "'To' number not reachable from this 'From' number",
  '21614': "'To' number is not a mobile number",
  '21617': 'body too long',
  '21660': "'From' number does not belong to the account",
  '21703': 'messaging service has no senders',
  '30001': 'queue overflow',
  '30002': 'account suspended',
  '30003': 'unreachable destination handset',
  '30004': 'message blocked',
  '30005': 'unknown destination handset',
  '30006': 'landline or unreachable carrier',
  '30007': 'message filtered by the carrier',
  '30008': 'unknown error',
  '30034': 'message from an unregistered number (A2P 10DLC)',
};

/** The opted-out code: the person replied STOP to this sender at Twilio. */
export const OPTED_OUT = '21610';
/** Delivery errors that are carrier filtering of unregistered traffic ("filtered, not delivered"). */
export const FILTERED_CODES: ReadonlySet<string> = new Set(['30007', '30034']);

/** `twilio_21211 invalid 'To' number` (the name from the table, else Twilio's own message). */
export function errorName(code: string | number | undefined, message?: string): string {
  const c = code === undefined || code === '' ? '' : String(code);
  const name = TWILIO_ERRORS[c] ?? (message ? message.replace(/\+?\d{6,}/g, '…').slice(0, 120) : 'error');
  return c ? `twilio_${c} ${name}` : `twilio ${name}`;
}

/** A status callback's error, as the ledger keeps it: filtering named as such (FILTERED_PREFIX). */
export function deliveryError(code: string | undefined): string | null {
  if (!code) return null;
  if (FILTERED_CODES.has(code)) return filteredError(code, `twilio ${TWILIO_ERRORS[code]}`);
  return errorName(code);
}

/**
 * X-Twilio-Signature: base64(HMAC-SHA1(auth token, the full URL Twilio requested followed by
 * each POST parameter's name and value, sorted by name)) (twilio.com/docs/usage/webhooks/webhooks-security).
 */
export function twilioSignature(authToken: string, url: string, params: Readonly<Record<string, string | readonly string[]>>): string {
  let data = url;
  for (const name of Object.keys(params).sort()) {
    const v = params[name];
    for (const value of typeof v === 'string' ? [v] : [...v].sort()) data += name + value;
  }
  return createHmac('sha1', authToken).update(Buffer.from(data, 'utf8')).digest('base64');
}

/** Constant-time comparison of a received signature with the expected one. */
export function signatureMatches(received: string, expected: string): boolean {
  const a = Buffer.from(received);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

/**
 * The URLs Twilio may have signed for one request: as given, and with the scheme's default port
 * added or removed (Twilio signs the URL as configured; a proxy may or may not show the port).
 */
export function urlVariants(url: string): string[] {
  const out = [url];
  try {
    const u = new URL(url);
    const dflt = u.protocol === 'https:' ? '443' : '80';
    if (u.port === '') {
      const withPort = `${u.protocol}//${u.hostname}:${dflt}${u.pathname}${u.search}`;
      out.push(withPort);
    } else if (u.port === dflt) {
      out.push(`${u.protocol}//${u.hostname}${u.pathname}${u.search}`);
    }
  } catch {
    // not a URL: only as given
  }
  return out;
}

/** Twilio's message states, as the ledger keeps receipts; undefined: not final yet (queued, sent…). */
export function receiptState(status: string): 'delivered' | 'undeliverable' | 'rejected' | 'deleted' | undefined {
  switch (status) {
    case 'delivered':
    case 'read':
      return 'delivered';
    case 'undelivered':
      return 'undeliverable';
    case 'failed':
      return 'rejected';
    case 'canceled':
      return 'deleted';
    default:
      return undefined;
  }
}

/** A Message resource, the fields mctb reads. */
export interface TwilioMessage {
  sid: string;
  from: string;
  to: string;
  body: string;
  status: string;
  direction: string;
  date_sent: string | null;
  date_created?: string;
  error_code?: number | null;
  num_segments?: string;
}

export interface MessagePage {
  messages: TwilioMessage[];
  next_page_uri: string | null;
}

/** Twilio dates are RFC 2822 ("Thu, 30 Jul 2015 20:12:31 +0000"); ms since the epoch, or NaN. */
export function twilioDate(value: string | null | undefined): number {
  return value ? Date.parse(value) : NaN;
}
