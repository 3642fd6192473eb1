// Bringing a freshly opened modem up: is something answering AT, echo off, verbose errors, the SIM
// unlocked, PDU mode (AT+CMGF=0), new-message indications, and the SIM's own number. Run at every
// (re)open: a modem that was unplugged or rebooted has lost its SIM unlock and its settings.
//
// Indications: AT+CNMI=2,1,0,1,0 with AT+CSMS=0: new texts are stored on the SIM and announced
// with +CMTI; status reports arrive inline as +CDS (incoming.ts). Modems that refuse that mode get
// 2,1,0,2,0 (reports stored, +CDSI) or less, and a stored-message poll.

import type { Logger } from '../../log';
import { describe, type AtResult } from './at-channel';
import { slug } from './cms';

export class InitError extends Error {
  constructor(
    message: string,
    /** Will not fix itself soon (no PIN, wrong PIN, no SIM): wait the longest before trying again. */
    readonly refused = false,
  ) {
    super(message);
  }
}

const CNMI_MODES = ['AT+CNMI=2,1,0,1,0', 'AT+CNMI=2,1,0,2,0', 'AT+CNMI=1,1,0,1,0', 'AT+CNMI=2,1,0,0,0', 'AT+CNMI=1,1,0,0,0'];

/** The open connection, as the init drives it. */
export interface InitSession {
  readonly live: boolean;
  /** A command on this connection; a TIMEOUT drops the connection. */
  at(cmd: string, opts?: { timeoutMs?: number; shown?: string }): Promise<AtResult>;
  /** "AT" with a short timeout that does not drop the connection (the modem may still be booting). */
  probe(timeoutMs: number): Promise<AtResult>;
  sleep(ms: number): Promise<void>;
}

export interface InitSettings {
  device: string;
  pin?: string;
  probeAttempts: number;
  probeTimeoutMs: number;
  commandTimeoutMs: number;
}

/** What the init found out. */
export interface Initialised {
  /** No new-message indications could be set up: poll the SIM instead. */
  pollSim: boolean;
  ownNumber?: string;
}

/** A PIN the SIM refused, kept across reopens: never sent again, or three tries lock the SIM (PUK). */
export interface PinMemory {
  rejected?: string;
}

/** Runs the init; throws InitError (also 'gone' when the connection went meanwhile). */
export async function initModem(session: InitSession, s: InitSettings, pins: PinMemory, log: Logger): Promise<Initialised> {
  const must = async (cmd: string, shown?: string): Promise<AtResult> => {
    const r = await session.at(cmd, { shown });
    if (!session.live) throw new InitError('gone');
    if (r.final !== 'OK') throw new InitError(`${shown ?? cmd} answered ${describe(r)}`);
    return r;
  };
  let answered = false;
  for (let i = 0; i < s.probeAttempts && session.live; i++) {
    const r = await session.probe(s.probeTimeoutMs);
    if (r.final === 'OK') {
      answered = true;
      break;
    }
  }
  if (!session.live) throw new InitError('gone');
  if (!answered) throw new InitError(`${s.device} does not answer AT: is it the modem's AT port?`);
  await must('ATE0');
  await must('AT+CMEE=2');
  await unlockSim(session, s, pins, log);
  await must('AT+CMGF=0');
  await session.at('AT+CSMS=0'); // phase 2 behaviour: +CDS/+CMT need no AT+CNMA; some modems refuse, fine
  if (!session.live) throw new InitError('gone');
  let pollSim = true;
  for (const mode of CNMI_MODES) {
    const r = await session.at(mode);
    if (!session.live) throw new InitError('gone');
    if (r.final === 'OK') {
      pollSim = false;
      if (mode !== CNMI_MODES[0]) log.warn('modem refused AT+CNMI=2,1,0,1,0; using a fallback', { mode });
      break;
    }
  }
  if (pollSim) log.warn('modem refused every AT+CNMI mode; incoming texts are found by polling the SIM');
  const ownNumber = await readOwnNumber(session);
  if (!session.live) throw new InitError('gone');
  return { pollSim, ownNumber };
}

async function unlockSim(session: InitSession, s: InitSettings, pins: PinMemory, log: Logger): Promise<void> {
  for (let attempt = 0; attempt < 20; attempt++) {
    const r = await session.at('AT+CPIN?');
    if (!session.live) throw new InitError('gone');
    if (r.final === 'CME') {
      const why = slug(r.code ?? '');
      if (/not_inserted|^10$/.test(why)) throw new InitError('no SIM card in the modem', true);
      if (/busy|^14$|not_ready/.test(why)) {
        await session.sleep(1000);
        continue;
      }
      throw new InitError(`AT+CPIN? answered ${describe(r)}`, true);
    }
    if (r.final !== 'OK') throw new InitError(`AT+CPIN? answered ${describe(r)}`);
    const status = r.lines.map((l) => /^\+CPIN:\s*(.+)$/.exec(l)?.[1]?.trim()).find(Boolean) ?? '';
    if (status === 'READY') return;
    if (status === 'SIM PIN') {
      const pin = s.pin;
      if (!pin) throw new InitError('the SIM asks for a PIN: set sms.modem.pin or sms.modem.pin_file', true);
      if (pin === pins.rejected) {
        throw new InitError('the SIM refused this PIN before; it is not tried again (three wrong PINs lock the SIM): fix sms.modem.pin', true);
      }
      const u = await session.at(`AT+CPIN="${pin}"`, { shown: 'AT+CPIN="****"', timeoutMs: Math.max(s.commandTimeoutMs, 20_000) });
      if (!session.live) throw new InitError('gone');
      if (u.final === 'OK') {
        log.info('SIM unlocked with its PIN');
        continue; // ask again: some SIMs take a moment before READY
      }
      if (u.final === 'CME' && /incorrect_password|^16$/.test(slug(u.code ?? ''))) {
        pins.rejected = pin;
        throw new InitError('the SIM refused the PIN in sms.modem.pin; it is not tried again (three wrong PINs lock the SIM)', true);
      }
      throw new InitError(`AT+CPIN="****" answered ${describe(u)}`);
    }
    if (status === 'SIM PUK') throw new InitError('the SIM is locked (PUK) after wrong PINs: unlock it in a phone', true);
    throw new InitError(`the SIM asks for "${status || 'something'}", which mctb cannot give`, true);
  }
  throw new InitError('the SIM did not become ready');
}

async function readOwnNumber(session: InitSession): Promise<string | undefined> {
  const r = await session.at('AT+CNUM');
  if (r.final !== 'OK') return undefined;
  for (const line of r.lines) {
    const m = /^\+CNUM:\s*"[^"]*"\s*,\s*"([^"]+)"\s*,\s*(\d+)/.exec(line);
    if (m) {
      const number = m[1]!;
      return Number(m[2]) === 145 && !number.startsWith('+') ? `+${number}` : number;
    }
  }
  return undefined;
}
