// `mctb doctor`: checks everything mctb needs, one line each, `✓ name: detail` or
// `✗ name: problem — fix: what to do`. The config; the ledger (directory writable, file opens,
// schema up to date); the PBX (AMI: TCP, banner, Login, Ping, Getvar; or ARI: HTTP with the
// credentials); the SMS side (SMPP bind, the modem's device, or the dry run). Exit 0 all good,
// 1 any ✗, 2 config unreadable.

import net from 'node:net';
import { randomBytes } from 'node:crypto';
import { accessSync, constants, existsSync, mkdirSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import sqlite3 from 'sqlite3';
import { formatProblem } from '../config/load';
import type { AmiConfig, AriConfig, Config, ModemConfig, SmppConfig } from '../config/types';
import { Ledger } from '../ledger/ledger';
import { MIGRATIONS } from '../ledger/migrations';
import { SqliteFile } from '../ledger/sqlite';
import smpp, { smppStatusName } from '../sms/smpp-lib';
import { readConfig, reportConfigError } from './read-config';

/** Every network step gives up after this. */
export const DOCTOR_TIMEOUT_MS = 5000;

export interface CheckResult {
  ok: boolean;
  name: string;
  detail: string;
  fix?: string;
}

const pass = (name: string, detail: string): CheckResult => ({ ok: true, name, detail });
const fail = (name: string, detail: string, fix: string): CheckResult => ({ ok: false, name, detail, fix });

export function formatCheck(c: CheckResult): string {
  return c.ok ? `✓ ${c.name}: ${c.detail}` : `✗ ${c.name}: ${c.detail} — fix: ${c.fix}`;
}

function who(): string {
  try {
    return userInfo().username;
  } catch {
    return `uid ${process.getuid?.() ?? '?'}`;
  }
}

function errCode(e: unknown): string {
  const err = e as NodeJS.ErrnoException & { cause?: NodeJS.ErrnoException };
  return err?.code ?? err?.cause?.code ?? '';
}

function netProblem(e: unknown, timeoutMs: number): string {
  const code = errCode(e);
  if (code === 'ECONNREFUSED') return 'connection refused';
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return 'host name not found';
  if (code === 'EHOSTUNREACH' || code === 'ENETUNREACH') return 'host unreachable';
  if (code === 'ECONNRESET') return 'connection reset';
  if (e instanceof TimeoutError || code === 'ETIMEDOUT' || (e as Error)?.name === 'TimeoutError') return `no answer within ${timeoutMs / 1000} s`;
  return (e as Error)?.message ?? String(e);
}

class TimeoutError extends Error {
  constructor(what: string) {
    super(`no ${what} in time`);
    this.name = 'TimeoutError';
  }
}

// ---------------------------------------------------------------------------------------------
// Ledger
// ---------------------------------------------------------------------------------------------

export function checkLedgerDirectory(path: string): CheckResult {
  const name = 'ledger directory';
  if (path === ':memory:') return pass(name, 'the ledger is in memory (nothing on disk)');
  const dir = dirname(resolve(path));
  // The nearest part of the path that exists must be a directory.
  let existing = dir;
  while (!existsSync(existing) && dirname(existing) !== existing) existing = dirname(existing);
  try {
    if (!statSync(existing).isDirectory()) {
      return fail(name, `${existing} is a file, not a directory, so ${path} cannot be created`, `point ledger.path at a file inside a directory, e.g. /var/lib/mctb/mctb.db`);
    }
  } catch (e) {
    return fail(name, `cannot look at ${existing}: ${(e as Error).message}`, `point ledger.path at a directory mctb can use, e.g. /var/lib/mctb/mctb.db`);
  }
  const probe = join(dir, `.mctb-doctor-${process.pid}-${randomBytes(4).toString('hex')}`);
  try {
    mkdirSync(dir, { recursive: true });
    writeFileSync(probe, '', { flag: 'wx' });
    unlinkSync(probe);
  } catch (e) {
    const code = errCode(e);
    const user = who();
    if (code === 'EROFS') return fail(name, `${dir} is on a read-only file system`, `put ledger.path on a writable file system, e.g. /var/lib/mctb/mctb.db`);
    return fail(
      name,
      `${dir} is not writable by ${user} (${code || (e as Error).message})`,
      `let ${user} write there (\`chown ${user} ${dir}\`), or set ledger.path to a directory it owns; SQLite creates its -wal and -shm files next to the ledger`,
    );
  }
  return pass(name, `${dir} is writable by ${who()}`);
}

export async function checkLedger(path: string): Promise<CheckResult> {
  const name = 'ledger';
  const latest = MIGRATIONS.length;
  let before: number | undefined;
  if (path !== ':memory:' && existsSync(path)) {
    try {
      const raw = await SqliteFile.open(path, sqlite3.OPEN_READONLY);
      try {
        before = (await raw.get<{ user_version: number }>('PRAGMA user_version'))?.user_version ?? 0;
      } finally {
        await raw.close();
      }
    } catch (e) {
      return ledgerOpenProblem(path, e);
    }
    if (before > latest) {
      return fail(name, `${path} has schema version ${before}, newer than this mctb knows (${latest})`, 'a newer mctb wrote it: upgrade mctb (never run an older mctb on a newer ledger)');
    }
  }
  let ledger: Ledger;
  try {
    ledger = await Ledger.open(path);
  } catch (e) {
    return ledgerOpenProblem(path, e);
  }
  try {
    const version = await ledger.schemaVersion();
    const waiting = await ledger.sends.countOpen();
    if (version !== latest) return fail(name, `${path} is at schema version ${version}, expected ${latest}`, 'run `mctb doctor` again; if it stays, restore the ledger from a backup');
    const migrated = before === undefined ? ' (created now)' : before < latest ? ` (migrated now from ${before})` : '';
    return pass(name, `${path} opens; schema version ${version}, the latest${migrated}; ${waiting} text${waiting === 1 ? '' : 's'} waiting to go out`);
  } finally {
    await ledger.close();
  }
}

function ledgerOpenProblem(path: string, e: unknown): CheckResult {
  const message = (e as Error).message ?? String(e);
  if (/SQLITE_NOTADB|not a database/i.test(message)) {
    return fail('ledger', `${path} is not an SQLite database (${message})`, 'point ledger.path at the mctb ledger, or restore it from a backup (`mctb ledger backup` makes them)');
  }
  if (/SQLITE_CORRUPT/i.test(message)) return fail('ledger', `${path} is damaged (${message})`, 'restore the ledger from a backup (`mctb ledger backup` makes them)');
  if (/SQLITE_BUSY|locked/i.test(message)) return fail('ledger', `${path} is locked (${message})`, 'another process holds a write lock for long: find it (`fuser` on the file) and stop it');
  return fail('ledger', `${path} does not open: ${message}`, `check that ${who()} can read and write ${path} and its directory`);
}

// ---------------------------------------------------------------------------------------------
// AMI
// ---------------------------------------------------------------------------------------------

type Frame = Record<string, string>;

/** A little AMI client: the banner line, then frames ending in a blank line. */
class AmiProbe {
  private buffer = '';
  private failure?: Error;
  private wake?: () => void;

  constructor(private readonly socket: net.Socket) {
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      this.buffer += chunk;
      this.wake?.();
    });
    socket.on('error', (e) => {
      this.failure ??= e;
      this.wake?.();
    });
    socket.on('close', () => {
      this.failure ??= new Error('the PBX closed the connection');
      this.wake?.();
    });
  }

  static connect(host: string, port: number, timeoutMs: number): Promise<AmiProbe> {
    return new Promise((resolvePromise, reject) => {
      const socket = net.connect({ host, port });
      const t = setTimeout(() => {
        socket.destroy();
        reject(new TimeoutError('TCP connection'));
      }, timeoutMs);
      socket.once('connect', () => {
        clearTimeout(t);
        resolvePromise(new AmiProbe(socket));
      });
      socket.once('error', (e) => {
        clearTimeout(t);
        socket.destroy();
        reject(e);
      });
    });
  }

  private next<T>(take: () => T | undefined, what: string, timeoutMs: number): Promise<T> {
    return new Promise((resolvePromise, reject) => {
      const done = () => {
        clearTimeout(t);
        this.wake = undefined;
      };
      const t = setTimeout(() => {
        done();
        reject(new TimeoutError(what));
      }, timeoutMs);
      const check = () => {
        const v = take();
        if (v !== undefined) {
          done();
          resolvePromise(v);
        } else if (this.failure) {
          done();
          reject(this.failure);
        }
      };
      this.wake = check;
      check();
    });
  }

  banner(timeoutMs: number): Promise<string> {
    return this.next(
      () => {
        const i = this.buffer.indexOf('\n');
        if (i < 0) return this.buffer.length > 200 ? this.buffer.slice(0, 200) : undefined;
        const line = this.buffer.slice(0, i).replace(/\r$/, '');
        this.buffer = this.buffer.slice(i + 1);
        return line;
      },
      'banner',
      timeoutMs,
    );
  }

  /** Sends an action and waits for its response (events in between are skipped). */
  async action(fields: Record<string, string>, timeoutMs: number): Promise<Frame> {
    const actionId = `mctb-doctor-${fields.Action}-${randomBytes(3).toString('hex')}`;
    const lines = Object.entries({ ...fields, ActionID: actionId }).map(([k, v]) => `${k}: ${v}\r\n`);
    this.socket.write(lines.join('') + '\r\n');
    return this.next(
      () => {
        for (;;) {
          const end = this.buffer.indexOf('\r\n\r\n');
          if (end < 0) return undefined;
          const frame = parseFrame(this.buffer.slice(0, end));
          this.buffer = this.buffer.slice(end + 4);
          if (frame.response !== undefined && (frame.actionid === undefined || frame.actionid === actionId)) return frame;
        }
      },
      `answer to ${fields.Action}`,
      timeoutMs,
    );
  }

  close(): void {
    this.socket.destroy();
  }
}

function parseFrame(text: string): Frame {
  const out: Frame = {};
  for (const line of text.split(/\r?\n/)) {
    const i = line.indexOf(':');
    if (i > 0) out[line.slice(0, i).trim().toLowerCase()] = line.slice(i + 1).trim();
  }
  return out;
}

export async function checkAmi(cfg: AmiConfig, timeoutMs = DOCTOR_TIMEOUT_MS): Promise<CheckResult[]> {
  const where = `${cfg.host}:${cfg.port}`;
  const reachFix = `is Asterisk running? is AMI on: manager.conf [general] \`enabled = yes\`, \`port = ${cfg.port}\`, and \`bindaddr\` an address this host can reach (then \`asterisk -rx "manager reload"\`)? is a firewall in the way? are asterisk.ami.host and port right?`;
  let probe: AmiProbe;
  try {
    probe = await AmiProbe.connect(cfg.host, cfg.port, timeoutMs);
  } catch (e) {
    return [fail('AMI connect', `${where}: ${netProblem(e, timeoutMs)}`, reachFix)];
  }
  const out: CheckResult[] = [];
  try {
    let banner: string;
    try {
      banner = await probe.banner(timeoutMs);
    } catch (e) {
      return [fail('AMI connect', `${where} accepted the connection but sent no AMI banner (${netProblem(e, timeoutMs)})`, `check asterisk.ami.port: AMI usually listens on 5038 (8088 is Asterisk's HTTP/ARI port)`)];
    }
    if (!banner.startsWith('Asterisk Call Manager/')) {
      return [fail('AMI connect', `${where} answered ${JSON.stringify(banner.slice(0, 60))}, not the Asterisk Manager Interface`, `check asterisk.ami.host and port: AMI greets with "Asterisk Call Manager/…" (usually on port 5038)`)];
    }
    out.push(pass('AMI connect', `${where} answered (${banner})`));

    const login = await probe.action({ Action: 'Login', Username: cfg.username, Secret: cfg.secret, Events: 'off' }, timeoutMs);
    if ((login.response ?? '').toLowerCase() !== 'success') {
      out.push(
        fail(
          'AMI login',
          `user "${cfg.username}" refused: ${login.message ?? login.response}`,
          `asterisk.ami.username and secret (secret_file, or MCTB_AMI_SECRET) must match a [${cfg.username}] section of manager.conf, whose permit= allows this host; then \`asterisk -rx "manager reload"\``,
        ),
      );
      return out;
    }
    out.push(pass('AMI login', `accepted for user "${cfg.username}" (its event classes cannot be read back over AMI: manager.conf needs \`read = call,dialplan,agent\`, see dialplan/manager_mctb.conf)`));

    try {
      const ping = await probe.action({ Action: 'Ping' }, timeoutMs);
      out.push(
        (ping.response ?? '').toLowerCase() === 'success'
          ? pass('AMI ping', 'answered (mctb pings every asterisk.ami.ping_interval to notice a PBX that hangs)')
          : fail('AMI ping', `answered ${ping.response}: ${ping.message ?? ''}`, 'Ping needs no permission: check the Asterisk log for why it refuses'),
      );
    } catch (e) {
      out.push(fail('AMI ping', netProblem(e, timeoutMs), 'the PBX took the login but does not answer Ping: check the Asterisk log (manager writetimeout, a busy PBX)'));
    }

    try {
      const getvar = await probe.action({ Action: 'Getvar', Variable: 'CALLERID(pres)' }, timeoutMs);
      const denied = /permission denied/i.test(getvar.message ?? '');
      if (!denied) out.push(pass('AMI Getvar', 'permitted (mctb reads CALLERID(pres) with it to spot withheld callers)'));
      else if (!cfg.check_presentation) out.push(pass('AMI Getvar', 'not permitted, and not needed (asterisk.ami.check_presentation: false)'));
      else
        out.push(
          fail(
            'AMI Getvar',
            'Permission denied: mctb cannot read CALLERID(pres), so a withheld caller behind a trunk that trusts P-Asserted-Identity could be texted',
            `add \`write = call\` (or reporting) to the [${cfg.username}] user in manager.conf (needed to read CALLERID(pres)), then \`asterisk -rx "manager reload"\`; or set asterisk.ami.check_presentation: false and add the dialplan line in dialplan/README.md`,
          ),
        );
    } catch (e) {
      out.push(fail('AMI Getvar', netProblem(e, timeoutMs), 'the PBX does not answer Getvar: check the Asterisk log'));
    }
    await probe.action({ Action: 'Logoff' }, Math.min(timeoutMs, 1000)).catch(() => undefined);
    return out;
  } catch (e) {
    out.push(fail('AMI login', `${where}: ${netProblem(e, timeoutMs)}`, reachFix));
    return out;
  } finally {
    probe.close();
  }
}

// ---------------------------------------------------------------------------------------------
// ARI
// ---------------------------------------------------------------------------------------------

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

// ---------------------------------------------------------------------------------------------
// SMS
// ---------------------------------------------------------------------------------------------

interface ProbePdu {
  command_status: number;
}
interface ProbeSession {
  on(event: string, fn: (...args: unknown[]) => void): void;
  bind_transceiver(opts: Record<string, unknown>, cb: (resp: ProbePdu) => void): void;
  unbind(opts: Record<string, unknown>, cb: (resp: ProbePdu) => void): void;
  destroy(): void;
}

const BIND_FIXES: Record<string, string> = {
  ESME_RBINDFAIL: 'check sms.smpp.system_id and password (password_file, or MCTB_SMPP_PASSWORD) with your gateway provider; some gateways also refuse a second session on one account: if `mctb run` is bound, stop it and run doctor again',
  ESME_RINVPASWD: 'check sms.smpp.password (password_file, or MCTB_SMPP_PASSWORD)',
  ESME_RINVSYSID: 'check sms.smpp.system_id',
  ESME_RINVSYSTYP: 'check sms.smpp.system_type (most gateways want it empty)',
  ESME_RALYBND: 'the gateway says this account is bound already: stop the other session (`mctb run`?) and run doctor again',
};

export async function checkSmpp(cfg: SmppConfig, timeoutMs = DOCTOR_TIMEOUT_MS): Promise<CheckResult[]> {
  const where = `${cfg.host}:${cfg.port}${cfg.tls ? ' (TLS)' : ''}`;
  const session = smpp.connect({ host: cfg.host, port: cfg.port, tls: cfg.tls }) as ProbeSession;
  let failure: unknown;
  let wake: (() => void) | undefined;
  session.on('error', (e) => {
    failure ??= e;
    wake?.();
  });
  session.on('close', () => {
    failure ??= new Error('the gateway closed the connection');
    wake?.();
  });
  const wait = <T>(what: string, start: (done: (v: T) => void) => void): Promise<T> =>
    new Promise((resolvePromise, reject) => {
      const t = setTimeout(() => finish(() => reject(new TimeoutError(what))), timeoutMs);
      const finish = (then: () => void) => {
        clearTimeout(t);
        wake = undefined;
        then();
      };
      wake = () => failure !== undefined && finish(() => reject(failure));
      start((v) => finish(() => resolvePromise(v)));
      if (failure !== undefined) finish(() => reject(failure));
    });
  const out: CheckResult[] = [];
  try {
    try {
      await wait<void>('TCP connection', (done) => {
        session.on('connect', () => done());
        session.on('secureConnect', () => done());
      });
    } catch (e) {
      return [
        fail(
          'SMPP connect',
          `${where}: ${netProblem(e, timeoutMs)}`,
          'is the gateway address right (sms.smpp.host and port; 2775 is the usual SMPP port)? does the provider allow this host\'s IP address? is sms.smpp.tls right? is a firewall in the way?',
        ),
      ];
    }
    out.push(pass('SMPP connect', `${where} accepted the connection`));
    let resp: ProbePdu;
    try {
      resp = await wait<ProbePdu>('bind_transceiver_resp', (done) =>
        session.bind_transceiver({ system_id: cfg.system_id, password: cfg.password, system_type: cfg.system_type, interface_version: 0x34 }, done),
      );
    } catch (e) {
      out.push(fail('SMPP bind', `no answer to bind_transceiver (${netProblem(e, timeoutMs)})`, 'the port takes connections but does not speak SMPP: check sms.smpp.port and sms.smpp.tls with your provider'));
      return out;
    }
    if (resp.command_status !== 0) {
      const status = smppStatusName(resp.command_status);
      out.push(fail('SMPP bind', `bind_transceiver as "${cfg.system_id}" refused: ${status}`, BIND_FIXES[status] ?? `ask the gateway provider what ${status} means for a bind_transceiver from "${cfg.system_id}"`));
      return out;
    }
    out.push(pass('SMPP bind', `bound as "${cfg.system_id}" (bind_transceiver), then unbound`));
    await wait<ProbePdu>('unbind_resp', (done) => session.unbind({}, done)).catch(() => undefined);
    return out;
  } finally {
    wake = undefined;
    session.on('error', () => undefined);
    session.destroy();
  }
}

export function checkModem(cfg: ModemConfig | undefined): CheckResult {
  const name = 'GSM modem';
  if (!cfg) return fail(name, 'sms.transport is modem but sms.modem is missing', 'add sms.modem: { device: /dev/serial/by-id/… }');
  let st;
  try {
    st = statSync(cfg.device);
  } catch {
    return fail(name, `${cfg.device} does not exist`, 'is the modem plugged in and powered? list /dev/serial/by-id/ and set sms.modem.device to its AT port (a by-id path survives reboots)');
  }
  if (!st.isCharacterDevice()) return fail(name, `${cfg.device} is not a serial device`, 'set sms.modem.device to the modem\'s AT port, e.g. /dev/serial/by-id/usb-…-if02-port0 or /dev/ttyUSB2');
  try {
    accessSync(cfg.device, constants.R_OK | constants.W_OK);
  } catch {
    const user = who();
    return fail(name, `${cfg.device} is not readable and writable by ${user}`, `add ${user} to the group that owns it (usually dialout: \`usermod -aG dialout ${user}\`), then restart mctb`);
  }
  return pass(name, `${cfg.device} exists and is readable and writable (the modem itself is not queried yet: doctor has no AT check so far)`);
}

// ---------------------------------------------------------------------------------------------
// The command
// ---------------------------------------------------------------------------------------------

export async function doctor(opts: { config?: string }, out: NodeJS.WritableStream = process.stdout, err: NodeJS.WritableStream = process.stderr): Promise<number> {
  let config: Config;
  let warnings;
  try {
    ({ config, warnings } = readConfig(opts.config));
  } catch (e) {
    return reportConfigError(e, err);
  }
  let failed = 0;
  let total = 0;
  const report = (c: CheckResult) => {
    total++;
    if (!c.ok) failed++;
    out.write(formatCheck(c) + '\n');
  };
  report(pass('config', `${config.file} is valid (${config.businesses.length} business${config.businesses.length === 1 ? '' : 'es'}, events from ${config.asterisk.source}, texts by ${config.sms.transport})${warnings.length ? `, ${warnings.length} warning${warnings.length === 1 ? '' : 's'}:` : ''}`));
  for (const w of warnings) out.write(`    warning: ${formatProblem(w)}\n`);

  const dir = checkLedgerDirectory(config.ledger.path);
  report(dir);
  if (dir.ok) report(await checkLedger(config.ledger.path));
  else report(fail('ledger', `${config.ledger.path} not opened`, 'fix the ledger directory (above) first'));

  if (config.asterisk.source === 'ari') {
    if (config.asterisk.ari) for (const c of await checkAri(config.asterisk.ari)) report(c);
    else report(fail('ARI', 'asterisk.source is ari but asterisk.ari is missing', 'add asterisk.ari: { url, username, password, app }'));
  } else {
    for (const c of await checkAmi(config.asterisk.ami)) report(c);
  }

  const sms = config.sms;
  if (sms.transport === 'smpp') {
    if (sms.smpp) for (const c of await checkSmpp(sms.smpp)) report(c);
    else report(fail('SMPP', 'sms.transport is smpp but sms.smpp is missing', 'add sms.smpp: { host, port, system_id, password_file, source_addr }'));
  } else if (sms.transport === 'modem') {
    report(checkModem(sms.modem));
  } else {
    report(pass('SMS', 'sms.transport is log: dry run: texts are logged, not sent'));
  }

  out.write(failed === 0 ? `all ${total} checks passed\n` : `${failed} of ${total} checks failed\n`);
  return failed === 0 ? 0 : 1;
}
