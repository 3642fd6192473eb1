// `mctb doctor`'s checks of Twilio: the credentials (a read of the account), each business's
// sending number on the account and SMS-capable, A2P 10DLC (the US long codes in the Messaging
// Service, and its campaign registered) where messaging_service_sid is set, and that the webhook
// path answers on http.listen. No line ever shows the Auth Token (the HTTP client redacts it).

import { checkWebhookServed } from '../http/webhook-check';
import { DOCTOR_TIMEOUT_MS, fail, pass, type CheckResult } from '../../cli/check';
import { HttpClient, HttpError, type HttpAnswer } from '../http/client';
import { accountUrl, basicAuth, errorName, hostOf, messagingBase, type TwilioError } from './api';
import type { TwilioSettings } from './transport';

const CREDENTIALS_FIX = "check sms.twilio.account_sid and the Auth Token (auth_token, auth_token_file or $MCTB_TWILIO_AUTH_TOKEN) against the Twilio console's Account Info (for SignalWire: the Project ID and an API token, with base_url your space's https://<space>.signalwire.com/api/laml)";

/** A US (or Canadian) number that is not toll-free: a 10DLC long code. */
function isUsLongCode(n: string): boolean {
  return /^\+1\d{10}$/.test(n) && !/^\+1(800|833|844|855|866|877|888)/.test(n);
}

export async function checkTwilio(cfg: TwilioSettings, timeoutMs = DOCTOR_TIMEOUT_MS): Promise<CheckResult[]> {
  const http = new HttpClient({ secrets: () => [cfg.auth_token], timeoutMs });
  const headers = { authorization: basicAuth(cfg.account_sid, cfg.auth_token) };
  const get = (url: string) => http.request({ method: 'GET', url, headers });
  const where = hostOf(cfg.base_url) || cfg.base_url;
  const out: CheckResult[] = [];
  const problem = (res: HttpAnswer) => {
    const e = res.json<TwilioError>();
    return `${errorName(e?.code, e?.message ?? `HTTP ${res.status}`)} (HTTP ${res.status})`;
  };

  let account: HttpAnswer;
  try {
    account = await get(accountUrl(cfg.base_url, cfg.account_sid));
  } catch (e) {
    return [fail('Twilio API', `${where}: ${(e as HttpError).message}`, 'is sms.twilio.base_url right (default https://api.twilio.com)? can this host reach it (DNS, firewall, proxy)?')];
  }
  if (account.status === 401 || account.status === 403 || account.status === 404) {
    return [fail('Twilio credentials', `${where} refused account ${cfg.account_sid}: ${problem(account)}`, CREDENTIALS_FIX)];
  }
  if (account.status !== 200) return [fail('Twilio credentials', `${where} answered ${problem(account)} to a read of the account`, 'try again later; if it stays, check the carrier\'s status page')];
  const acct = account.json<{ friendly_name?: string; status?: string; type?: string }>() ?? {};
  if (acct.status && acct.status !== 'active') {
    return [fail('Twilio credentials', `account ${cfg.account_sid} is ${acct.status}`, 'reactivate the account in the Twilio console: a suspended or closed account sends nothing')];
  }
  out.push(pass('Twilio credentials', `account ${cfg.account_sid}${acct.friendly_name ? ` ("${acct.friendly_name}")` : ''} is ${acct.status ?? 'readable'}${acct.type === 'Trial' ? ' (a trial account: it texts only verified numbers)' : ''}`));

  const numbers = cfg.senders.filter((n) => /^\+\d{6,15}$/.test(n));
  for (const alpha of cfg.senders.filter((n) => !numbers.includes(n))) {
    out.push(pass(`sender ${alpha}`, 'an alphanumeric sender: not a number on the account (one-way; not allowed to the US or Canada)'));
  }
  for (const n of numbers) {
    let res: HttpAnswer;
    try {
      res = await get(`${accountUrl(cfg.base_url, cfg.account_sid, '/IncomingPhoneNumbers.json')}?${new URLSearchParams({ PhoneNumber: n })}`);
    } catch (e) {
      out.push(fail(`number ${n}`, (e as HttpError).message, 'run mctb doctor again'));
      continue;
    }
    if (res.status !== 200) {
      out.push(fail(`number ${n}`, `could not list the account's numbers: ${problem(res)}`, 'run mctb doctor again; if it stays, check the credentials'));
      continue;
    }
    const found = res.json<{ incoming_phone_numbers?: { phone_number: string; capabilities?: { sms?: boolean } }[] }>()?.incoming_phone_numbers?.find((p) => p.phone_number === n);
    if (!found) {
      out.push(fail(`number ${n}`, `not on account ${cfg.account_sid}`, 'buy or port the number into this Twilio account, or correct the business\'s dids / sms_from (a business texts from the number the caller dialled)'));
    } else if (found.capabilities?.sms === false) {
      out.push(fail(`number ${n}`, 'on the account but not SMS-capable', 'texts need an SMS-capable number: enable SMS on it with the carrier, or text from another number (sms_from)'));
    } else out.push(pass(`number ${n}`, 'on the account, SMS-capable'));
  }

  out.push(...(await checkA2p(cfg, numbers.filter(isUsLongCode), get)));

  if (cfg.webhook_path) out.push(await checkWebhook(cfg, timeoutMs));
  return out;
}

/** A2P 10DLC: every US long code in the Messaging Service, whose US A2P campaign is verified. */
async function checkA2p(cfg: TwilioSettings, usNumbers: string[], get: (url: string) => Promise<HttpAnswer>): Promise<CheckResult[]> {
  if (usNumbers.length === 0) return [];
  const base = messagingBase(cfg.base_url);
  if (!base) return [pass('A2P 10DLC', `not checked: ${hostOf(cfg.base_url)} has no Messaging Services API; check the 10DLC campaign of ${usNumbers.join(', ')} in the carrier's dashboard`)];
  if (!cfg.messaging_service_sid) {
    return [pass('A2P 10DLC', `not checked (no sms.twilio.messaging_service_sid): US long codes (${usNumbers.join(', ')}) must be in a Messaging Service with a registered A2P 10DLC campaign, or carriers filter their texts (30034); set messaging_service_sid to have doctor check it`)];
  }
  const mg = encodeURIComponent(cfg.messaging_service_sid);
  const out: CheckResult[] = [];
  try {
    const inService = new Set<string>();
    let url: string | undefined = `${base}/v1/Services/${mg}/PhoneNumbers?PageSize=1000`;
    for (let page = 0; url && page < 20; page++) {
      const res = await get(url);
      if (res.status === 404) return [fail('A2P 10DLC', `Messaging Service ${cfg.messaging_service_sid} not found on the account`, 'correct sms.twilio.messaging_service_sid (Twilio console: Messaging → Services)')];
      if (res.status !== 200) return [fail('A2P 10DLC', `could not read the Messaging Service's numbers: HTTP ${res.status}`, 'run mctb doctor again')];
      const body = res.json<{ phone_numbers?: { phone_number: string }[]; meta?: { next_page_url?: string | null } }>();
      for (const p of body?.phone_numbers ?? []) inService.add(p.phone_number);
      url = body?.meta?.next_page_url ?? undefined;
    }
    const missing = usNumbers.filter((n) => !inService.has(n));
    if (missing.length > 0) {
      out.push(fail('A2P 10DLC', `${missing.join(', ')} not in Messaging Service ${cfg.messaging_service_sid}`, 'add the number to the Messaging Service that holds your registered A2P 10DLC campaign (Twilio console: Messaging → Services → Sender Pool); unregistered US long codes are filtered (30034)'));
    }
    const res = await get(`${base}/v1/Services/${mg}/Compliance/Usa2p`);
    if (res.status !== 200) {
      out.push(fail('A2P 10DLC', `could not read the service's A2P campaign: HTTP ${res.status}`, 'run mctb doctor again'));
      return out;
    }
    const body = res.json<Record<string, unknown> & { meta?: { key?: string } }>() ?? {};
    const campaigns = (body[body.meta?.key ?? 'compliance'] as { campaign_status?: string; campaign_id?: string }[] | undefined) ?? [];
    const verified = campaigns.find((c) => c.campaign_status === 'VERIFIED');
    if (verified) {
      if (missing.length === 0) out.push(pass('A2P 10DLC', `${usNumbers.join(', ')} in Messaging Service ${cfg.messaging_service_sid}, campaign ${verified.campaign_id ?? ''} verified`.replace(' campaign  ', ' campaign ')));
    } else {
      const status = campaigns.map((c) => c.campaign_status).join(', ') || 'none';
      out.push(fail('A2P 10DLC', `Messaging Service ${cfg.messaging_service_sid} has no verified US A2P campaign (campaign status: ${status})`, 'register a brand and an A2P 10DLC campaign for this Messaging Service (Twilio console: Messaging → Regulatory Compliance); until it is verified, carriers filter the texts (30007, 30034)'));
    }
  } catch (e) {
    out.push(fail('A2P 10DLC', (e as Error).message, 'run mctb doctor again'));
  }
  return out;
}

/** The webhook path answers on http.listen (src/sms/http/webhook-check.ts). */
function checkWebhook(cfg: TwilioSettings, timeoutMs: number): Promise<CheckResult> {
  const note = cfg.publicUrl ? `; give Twilio ${cfg.publicUrl.replace(/\/$/, '')}${cfg.webhook_path}` : '; http.public_url is not set: Twilio signs the URL it posts to, so set it to that address';
  return checkWebhookServed(
    {
      name: 'Twilio webhook',
      path: cfg.webhook_path ?? '',
      listen: cfg.listen,
      request: { method: 'POST', form: { MessageSid: 'SMdoctor' } },
      noListenFix: 'set http.listen (and http.public_url, the address Twilio reaches it at), or remove webhook_path and use poll_interval',
      note,
    },
    timeoutMs,
  );
}
