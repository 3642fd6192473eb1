// `mctb doctor`'s checks of VoIP.ms: the credentials and this host's IP by a harmless read
// (getBalance), each business's sending DID on the account with SMS enabled (getDIDsInfo), how
// incoming texts arrive, and that the webhook path answers on http.listen. No check prints a
// credential: the API password travels in a POST body, and every error passes the redaction.

import { checkWebhookServed } from '../http/webhook-check';
import { DOCTOR_TIMEOUT_MS, fail, pass, type CheckResult } from '../../cli/check';
import { apiNumber, field, isNanp, statusWords, VoipmsApi, type ApiResult } from './api';
import type { VoipmsSettings } from './index';

const API_PAGE = 'the VoIP.ms portal, Main Menu → SOAP and REST/JSON API';

const ACCOUNT_FIXES: Record<string, string> = {
  invalid_credentials: `sms.voipms.username is the account e-mail and api_password (api_password_file, or $MCTB_VOIPMS_API_PASSWORD) is the API password set in ${API_PAGE} (not the portal login password)`,
  missing_credentials: 'set sms.voipms.username and api_password (or api_password_file)',
  ip_not_enabled: `add this host's public IP address under "Enable IP Addresses" in ${API_PAGE} (the getIP method, or \`curl ifconfig.me\`, tells it), then wait a minute`,
  api_not_enabled: `click "Enable/Disable API" in ${API_PAGE}`,
};

export async function checkVoipms(cfg: VoipmsSettings, timeoutMs = DOCTOR_TIMEOUT_MS): Promise<CheckResult[]> {
  const api = new VoipmsApi(cfg, timeoutMs, [cfg.webhook_token]);
  const out: CheckResult[] = [];
  const where = api.where();

  const balance = await api.call('getBalance');
  if (balance.kind !== 'ok') {
    out.push(problem('VoIP.ms API', `getBalance at ${where}`, balance, ACCOUNT_FIXES));
    return out;
  }
  const b = balance.body.balance as { current_balance?: unknown } | undefined;
  const amount = b && b.current_balance !== undefined ? `; balance ${Number(b.current_balance).toFixed(2)}` : '';
  out.push(pass('VoIP.ms API', `${where} accepted the credentials of ${cfg.username} from this host (getBalance${amount})`));

  const info = await api.call('getDIDsInfo');
  const dids = new Map<string, { sms_enabled: boolean }>();
  if (info.kind === 'ok' && Array.isArray(info.body.dids)) {
    for (const d of info.body.dids as Record<string, unknown>[]) dids.set(field(d.did), { sms_enabled: field(d.sms_enabled) === '1' });
  } else if (info.kind !== 'ok' && !(info.kind === 'refused' && info.status === 'no_did')) {
    out.push(problem('VoIP.ms DIDs', 'getDIDsInfo', info, ACCOUNT_FIXES));
    return out;
  }
  if (cfg.numbers.length === 0) out.push(fail('VoIP.ms DIDs', 'no business has a number to text from', 'list each business\'s VoIP.ms DIDs under its dids (texts go from the DID dialled)'));
  for (const number of cfg.numbers) {
    const name = `VoIP.ms DID ${number}`;
    if (!isNanp(number)) {
      out.push(fail(name, 'not a US or Canadian number: VoIP.ms texts only from its North American DIDs', 'text from one of the account\'s US/Canadian DIDs (sms_from, or the business\'s dids)'));
      continue;
    }
    const did = dids.get(apiNumber(number));
    if (!did) out.push(fail(name, `not a DID of the account ${cfg.username}`, 'list only this account\'s DIDs as senders, or check sms.voipms.username: is the DID on a sub-account or another account?'));
    else if (!did.sms_enabled) out.push(fail(name, 'on the account, SMS not enabled (sms_enabled 0)', 'DID Numbers → Manage DIDs → edit the DID → Message Service (SMS/MMS): enable it'));
    else out.push(pass(name, 'on the account, SMS enabled'));
  }

  if (!cfg.webhook_path && !cfg.poll_interval_ms) {
    out.push(fail('VoIP.ms incoming texts', 'neither webhook_path nor poll_interval is set: replies, STOP included, never reach mctb', 'set sms.voipms.poll_interval (e.g. 30s), or webhook_path and webhook_token with the SMS URL Callback `mctb config check` prints'));
  } else {
    const ways = [cfg.webhook_path ? `SMS URL Callback to ${cfg.webhook_path}` : '', cfg.poll_interval_ms ? `polling getSMS every ${Math.round(cfg.poll_interval_ms / 1000)} s` : ''].filter(Boolean);
    out.push(pass('VoIP.ms incoming texts', `${ways.join(' and ')}; VoIP.ms gives no delivery receipts (texts stay submitted)`));
  }
  if (cfg.webhook_path) out.push(await checkWebhookPath(cfg, timeoutMs));
  return out;
}

/** The webhook path answers on http.listen (src/sms/http/webhook-check.ts): a callback without the token gets 403. */
function checkWebhookPath(cfg: VoipmsSettings, timeoutMs: number): Promise<CheckResult> {
  return checkWebhookServed(
    {
      name: 'VoIP.ms webhook',
      path: cfg.webhook_path ?? '',
      listen: cfg.listen,
      request: { method: 'GET' },
      noListenFix: 'set http.listen (and http.public_url to the address VoIP.ms reaches), or leave webhook_path out and poll',
    },
    timeoutMs,
  );
}

function problem(name: string, what: string, r: Exclude<ApiResult, { kind: 'ok' }>, fixes: Record<string, string>): CheckResult {
  if (r.kind === 'refused') return fail(name, `${what}: ${r.status} (${statusWords(r.status)})`, fixes[r.status] ?? `see what ${r.status} means in ${API_PAGE} (API documentation)`);
  return fail(name, `${what}: ${r.error}`, 'is sms.voipms.base_url right (https://voip.ms/api/v1/rest.php)? can this host reach it (proxy, firewall, DNS)?');
}
