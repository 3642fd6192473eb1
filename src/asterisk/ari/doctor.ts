// `mctb doctor`'s check of ARI: GET /ari/asterisk/info with the configured user (the event
// WebSocket itself is opened by `mctb run`).

import type { AriConfig } from '../../config/types';
import { DOCTOR_TIMEOUT_MS, fail, netProblem, pass, type CheckResult } from '../../cli/check';

export async function checkAri(cfg: AriConfig, timeoutMs = DOCTOR_TIMEOUT_MS): Promise<CheckResult[]> {
  const url = `${cfg.url.replace(/\/+$/, '')}/ari/asterisk/info`;
  const auth = 'Basic ' + Buffer.from(`${cfg.username}:${cfg.password}`).toString('base64');
  let res: Response;
  try {
    res = await fetch(url, { headers: { Authorization: auth }, signal: AbortSignal.timeout(timeoutMs) });
  } catch (e) {
    return [
      fail(
        'ARI',
        `${url}: ${netProblem(e, timeoutMs)}`,
        `is Asterisk running with its HTTP server on: http.conf \`enabled = yes\`, \`bindport\` and \`bindaddr\` matching asterisk.ari.url (${cfg.url})? is a firewall in the way?`,
      ),
    ];
  }
  const body = await res.text().catch(() => '');
  if (res.status === 401 || res.status === 403) {
    return [fail('ARI', `${url}: user "${cfg.username}" refused (HTTP ${res.status})`, `asterisk.ari.username and password must match a user in ari.conf (\`[${cfg.username}]\`, \`type = user\`, \`password = …\`); then \`asterisk -rx "module reload res_ari.so"\``)];
  }
  if (res.status === 404) {
    return [fail('ARI', `${url}: not found (HTTP 404): the HTTP server answers but ARI is off`, 'enable ARI: ari.conf `[general] enabled = yes` with res_ari loaded; asterisk.ari.url is the HTTP server\'s base URL, e.g. http://127.0.0.1:8088')];
  }
  if (res.status !== 200) return [fail('ARI', `${url}: HTTP ${res.status}`, 'check the Asterisk log; /ari/asterisk/info answers 200 on a working ARI')];
  let version = '';
  try {
    version = (JSON.parse(body) as { system?: { version?: string } }).system?.version ?? '';
  } catch {
    /* not JSON: still 200 */
  }
  return [pass('ARI', `${url} answered for user "${cfg.username}"${version ? ` (Asterisk ${version})` : ''}; the event WebSocket for app "${cfg.app}" is opened by \`mctb run\``)];
}
