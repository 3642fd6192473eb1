// `mctb doctor`'s check of the SMPP gateway: TCP (or TLS), then bind_transceiver with the
// configured credentials, then unbind.

import smpp, { smppStatusName } from './lib';
import type { SmppConfig } from '../../config/types';
import { DOCTOR_TIMEOUT_MS, TimeoutError, fail, netProblem, pass, type CheckResult } from '../../cli/check';

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
