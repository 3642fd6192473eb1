// `mctb doctor`'s check that a carrier's webhook path is served by the running mctb on
// http.listen: a request the route cannot authenticate must get the route's 403 (a 404 is mctb
// not serving that path; anything else is another program on the port). One check for every
// carrier; each says what it sends and how to fix what it finds.

import { fail, pass, type CheckResult } from '../../cli/check';
import { HttpClient, HttpError, type HttpCall } from './client';

export interface WebhookCheck {
  /** The check's name, e.g. "Twilio webhook". */
  name: string;
  path: string;
  listen?: { host: string; port: number };
  /** A request the route refuses (unsigned, no token). */
  request: Pick<HttpCall, 'method' | 'form' | 'json'>;
  /** Fix when http.listen is not set. */
  noListenFix: string;
  /** Appended to the pass line (e.g. the public URL to give the carrier). */
  note?: string;
}

export async function checkWebhookServed(c: WebhookCheck, timeoutMs: number): Promise<CheckResult> {
  if (!c.listen) return fail(c.name, `webhook_path ${c.path} is set but http.listen is not: nothing serves it`, c.noListenFix);
  // A listener on every address is asked on loopback.
  const host = c.listen.host === '0.0.0.0' || c.listen.host === '::' ? '127.0.0.1' : c.listen.host;
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${c.listen.port}${c.path}`;
  try {
    const res = await new HttpClient({ secrets: () => [], timeoutMs }).request({ ...c.request, url });
    if (res.status === 403) return pass(c.name, `${url} answers and refuses a request it cannot authenticate, as it should${c.note ?? ''}`);
    if (res.status === 404) return fail(c.name, `${url} answers 404: the running mctb does not serve this path`, 'restart mctb after changing the carrier section (systemctl restart mctb)');
    return fail(c.name, `${url} answered HTTP ${res.status}, not mctb's 403 to an unauthenticated request`, 'is another program on http.listen? check the port');
  } catch (e) {
    const refused = e instanceof HttpError && e.code === 'ECONNREFUSED';
    return fail(c.name, `${url}: ${refused ? 'nothing answers' : (e as Error).message}`, 'start mctb (systemctl start mctb): the webhook is served by the running daemon on http.listen');
  }
}
