// `mctb doctor`'s checks of Telnyx: the API key by a harmless read (the balance), the messaging
// profile, each business number on the account, in that profile and SMS-capable, a US long code
// assigned to a 10DLC campaign, and the webhook path answering on http.listen. Never prints the key.

import { checkWebhookServed } from '../http/webhook-check';
import { DOCTOR_TIMEOUT_MS, fail, pass, type CheckResult } from '../../cli/check';
import { FILTERED_FIX } from '../../records/states';
import { HttpClient, type HttpAnswer } from '../http/client';
import { errorWords, firstError } from './api';
import type { TelnyxSettings } from './transport';

const KEY_FIX = 'check sms.telnyx.api_key (api_key_file, or MCTB_TELNYX_API_KEY): an API v2 key from Mission Control → Account Settings → API Keys';

export async function checkTelnyx(s: TelnyxSettings, timeoutMs = DOCTOR_TIMEOUT_MS): Promise<CheckResult[]> {
  const http = new HttpClient({ secrets: () => [s.api_key], timeoutMs });
  const base = s.base_url.replace(/\/+$/, '');
  const get = (path: string) => http.request({ method: 'GET', url: `${base}${path}`, headers: { authorization: `Bearer ${s.api_key}` } });
  const out: CheckResult[] = [];
  const host = hostOf(base);

  let balance: HttpAnswer;
  try {
    balance = await get('/v2/balance');
  } catch (e) {
    out.push(fail('Telnyx API', http.redact(`${host}: ${(e as Error).message}`), `is sms.telnyx.base_url right (${base})? can this host reach it (DNS, firewall, proxy)?`));
    return out;
  }
  if (balance.status === 401 || balance.status === 403) {
    out.push(fail('Telnyx API', `${host} refused the API key (HTTP ${balance.status}: ${errorWords(firstError(balance.json()), balance.status)})`, KEY_FIX));
    return out;
  }
  if (balance.status !== 200) {
    out.push(fail('Telnyx API', `${host} answered HTTP ${balance.status} to a balance read (${errorWords(firstError(balance.json()), balance.status)})`, `is sms.telnyx.base_url right (${base})? else see status.telnyx.com`));
    return out;
  }
  const b = balance.json<{ data?: { balance?: string; currency?: string } }>()?.data;
  out.push(pass('Telnyx API', `the API key works${b?.balance !== undefined ? ` (balance ${b.balance} ${b.currency ?? ''})`.replace(' )', ')') : ''}`));

  try {
    const profile = await get(`/v2/messaging_profiles/${encodeURIComponent(s.messaging_profile_id)}`);
    if (profile.status === 200) {
      const p = profile.json<{ data?: { name?: string; enabled?: boolean } }>()?.data;
      if (p?.enabled === false) out.push(fail('Telnyx messaging profile', `"${p.name ?? s.messaging_profile_id}" is disabled`, 'enable it in Mission Control → Messaging'));
      else out.push(pass('Telnyx messaging profile', `"${p?.name ?? s.messaging_profile_id}" (${s.messaging_profile_id})`));
    } else {
      out.push(fail('Telnyx messaging profile', `${s.messaging_profile_id}: HTTP ${profile.status} (${errorWords(firstError(profile.json()), profile.status)})`, 'check sms.telnyx.messaging_profile_id: copy the id from Mission Control → Messaging'));
    }
  } catch (e) {
    out.push(fail('Telnyx messaging profile', http.redact((e as Error).message), 'run doctor again; check the network to Telnyx'));
  }

  for (const number of s.numbers) {
    for (const c of await checkNumber(number, s, get, http)) out.push(c);
  }

  out.push(await checkWebhook(s, timeoutMs));
  return out;
}

async function checkNumber(number: string, s: TelnyxSettings, get: (path: string) => Promise<HttpAnswer>, http: HttpClient): Promise<CheckResult[]> {
  const name = `number ${number}`;
  try {
    const listed = await get(`/v2/phone_numbers?${new URLSearchParams({ 'filter[phone_number]': number })}`);
    if (listed.status !== 200) return [fail(name, `the number list answered HTTP ${listed.status} (${errorWords(firstError(listed.json()), listed.status)})`, 'run doctor again; if it persists, check the API key\'s permissions')];
    const found = listed.json<{ data?: { phone_number?: string; status?: string }[] }>()?.data?.find((n) => n.phone_number === number);
    if (!found) return [fail(name, 'not on this Telnyx account', `buy or port ${number} into this Telnyx account, or correct the business's DIDs (sms_from) in the config`)];
    if (found.status && found.status !== 'active') return [fail(name, `on the account but ${found.status}`, 'wait for the order or port to complete (Mission Control → Numbers)')];

    const messaging = await get(`/v2/messaging_phone_numbers/${encodeURIComponent(number)}`);
    const m = messaging.status === 200 ? messaging.json<{ data?: { messaging_profile_id?: string | null; features?: { sms?: unknown } } }>()?.data : undefined;
    if (!m || !m.features?.sms) return [fail(name, 'on the account but cannot send SMS', `enable messaging on ${number} (Mission Control → Numbers → Messaging)`)];
    if (m.messaging_profile_id !== s.messaging_profile_id) {
      return [fail(name, m.messaging_profile_id ? `in another messaging profile (${m.messaging_profile_id})` : 'in no messaging profile', `assign ${number} to messaging profile ${s.messaging_profile_id} (Mission Control → Numbers → Messaging Profile)`)];
    }
    const out = [pass(name, `on the account, SMS-capable, in the messaging profile`)];
    out.push(await check10dlc(number, get));
    return out;
  } catch (e) {
    return [fail(name, http.redact((e as Error).message), 'run doctor again; check the network to Telnyx')];
  }
}

/** A US or Canadian long code must be assigned to a registered campaign; toll-free numbers are verified instead. */
async function check10dlc(number: string, get: (path: string) => Promise<HttpAnswer>): Promise<CheckResult> {
  const name = `10DLC ${number}`;
  if (!number.startsWith('+1')) return pass(name, 'not a US number: 10DLC does not apply');
  if (/^\+18(00|33|44|55|66|77|88)/.test(number)) return pass(name, 'toll-free: toll-free verification applies, not 10DLC (not checked here)');
  const a = await get(`/v2/10dlc/phone_number_campaigns/${encodeURIComponent(number)}`);
  if (a.status === 404) return fail(name, 'not assigned to a 10DLC campaign: US carriers filter its texts (Telnyx error 40010)', FILTERED_FIX);
  if (a.status !== 200) return fail(name, `the campaign lookup answered HTTP ${a.status} (${errorWords(firstError(a.json()), a.status)})`, 'run doctor again; the API key needs access to 10DLC');
  const c = a.json<{ campaignId?: string; tcrCampaignId?: string; assignmentStatus?: string }>();
  if (!c?.campaignId) return fail(name, 'not assigned to a 10DLC campaign', FILTERED_FIX);
  if (c.assignmentStatus && c.assignmentStatus !== 'ASSIGNED') return fail(name, `campaign ${c.tcrCampaignId ?? c.campaignId}: assignment ${c.assignmentStatus}`, 'wait for the assignment to complete, or fix it in Mission Control → Messaging → 10DLC');
  return pass(name, `assigned to campaign ${c.tcrCampaignId ?? c.campaignId}`);
}

/** The webhook path answers on http.listen (src/sms/http/webhook-check.ts). */
async function checkWebhook(s: TelnyxSettings, timeoutMs: number): Promise<CheckResult> {
  const name = 'Telnyx webhook';
  if (!s.webhook_path) return pass(name, 'no webhook_path: replies and delivery status are not received (Telnyx has no list of received texts to poll)');
  return checkWebhookServed(
    { name, path: s.webhook_path, listen: s.listen, request: { method: 'POST', json: { doctor: true } }, noListenFix: 'set http.listen (and http.public_url, the address Telnyx posts to)', note: s.webhookUrl ? `; Telnyx posts to ${s.webhookUrl}` : '' },
    timeoutMs,
  );
}

function hostOf(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return url;
  }
}
