// `mctb doctor`'s check of the AMI connection: TCP, the `Asterisk Call Manager/` banner, Login
// with the configured user, Ping, and whether Getvar is permitted (CALLERID(pres)). Its own small
// client, not asterisk-manager: each step gets its own timeout and its own fix.

import net from 'node:net';
import { randomBytes } from 'node:crypto';
import type { AmiConfig } from '../../config/types';
import { DOCTOR_TIMEOUT_MS, TimeoutError, fail, netProblem, pass, type CheckResult } from '../../cli/check';

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

/**
 * The fix when something answered at asterisk.ami.port but not as AMI. "AMI usually listens on
 * 5038" is advice only when the port is another one.
 */
export function amiPortFix(port: number, what: 'no banner' | 'not AMI'): string {
  if (port === 5038) {
    return what === 'no banner'
      ? 'port 5038 is AMI\'s usual port, yet no "Asterisk Call Manager/…" greeting came: is it Asterisk listening there (manager.conf [general] `enabled = yes`), and is asterisk.ami.host the right machine?'
      : 'port 5038 is AMI\'s usual port, but another service answers there: check asterisk.ami.host, and which program holds port 5038 on that machine (`ss -ltnp`)';
  }
  return what === 'no banner'
    ? `check asterisk.ami.port (${port}): AMI usually listens on 5038 (8088 is Asterisk's HTTP/ARI port)`
    : `check asterisk.ami.host and port (${port}): AMI greets with "Asterisk Call Manager/…", usually on port 5038`;
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
      return [fail('AMI connect', `${where} accepted the connection but sent no AMI banner (${netProblem(e, timeoutMs)})`, amiPortFix(cfg.port, 'no banner'))];
    }
    if (!banner.startsWith('Asterisk Call Manager/')) {
      return [fail('AMI connect', `${where} answered ${JSON.stringify(banner.slice(0, 60))}, not the Asterisk Manager Interface`, amiPortFix(cfg.port, 'not AMI'))];
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
