// A GSM modem on a serial port (USB stick, HAT) as the SMS transport, in PDU mode (AT+CMGF=0).
// The parts, each in this folder:
//   at-channel.ts   one open port: lines, the command queue, unsolicited result codes
//   init.ts         bringing a (re)opened modem up: probe, SIM PIN, PDU mode, indications
//   incoming.ts     texts and status reports coming in, from the SIM's storage or inline
//   message-id.ts   the ids of texts sent, and finding them from status reports
//   cms.ts          what a +CMS ERROR means for a text
//   pdu.ts          SMS-SUBMIT / SMS-DELIVER / SMS-STATUS-REPORT PDUs
//   doctor.ts       `mctb doctor`'s check of the modem
// Here: opening the port (src/link/lifecycle.ts reopens it with backoff), waiting for the
// network, the health poll, and sending.
//
// A command that times out means the modem is stuck: the port is closed and reopened. A submit
// cut short by that, or by the port vanishing, returns `retry`; if the modem had already passed
// it on before it died, the person may get the text twice (at-least-once, like SMPP).

import { EventEmitter } from 'node:events';
import type { SerialPort } from 'serialport';
import type { ModemConfig } from '../../config/types';
import { Link, type Attempt, type LinkEvents } from '../../link/lifecycle';
import type { Logger } from '../../log';
import { maskNumber } from '../../numbers/phone';
import { settledWithin } from '../../settle';
import { TokenBucket } from '../rate';
import type { MessageHandler, OutgoingSms, ReceiptHandler, SmsTransport, SubmitResult } from '../transport';
import { AtChannel, describe, type AtResult } from './at-channel';
import { cmsError } from './cms';
import { IncomingTexts } from './incoming';
import { InitError, initModem, type PinMemory } from './init';
import { SentTexts } from './message-id';
import { encodeSubmit } from './pdu';

export interface ModemOptions {
  /** First wait before reopening a port that went away (doubles up to reopenMaxMs). */
  reopenMinMs?: number;
  reopenMaxMs?: number;
  /** Answer timeout for ordinary commands (default 10 s). */
  commandTimeoutMs?: number;
  /** Answer timeout for AT+CMGS after the PDU went in (default 60 s: the network can be slow). */
  sendTimeoutMs?: number;
  /** Timeout of each "AT" probe while the modem boots (default 1 s), and how many (default 10). */
  probeTimeoutMs?: number;
  probeAttempts?: number;
  /** Wait between AT+CREG? checks while not registered (doubles up to registrationMaxMs). */
  registrationMinMs?: number;
  registrationMaxMs?: number;
  /** Health check (AT+CREG?), retry of texts left on the SIM and of receipts not yet stored (default 30 s). */
  pollMs?: number;
  /** Submits per second (default 1). */
  tps?: number;
  /** Relative validity period asked for each text, in minutes; none: the SMSC's default. */
  validityMinutes?: number;
}

const REGISTRATION: Readonly<Record<number, string>> = { 0: 'not_searching', 1: 'home', 2: 'searching', 3: 'denied', 4: 'unknown', 5: 'roaming' };

/** The port of one connection, with what incoming work and the init need of it. */
interface Session {
  readonly attempt: Attempt;
  readonly live: boolean;
  at(cmd: string, opts?: { timeoutMs?: number; shown?: string }): Promise<AtResult>;
}

export class ModemTransport implements SmsTransport {
  readonly name = 'modem';
  readonly events = new EventEmitter<LinkEvents>();
  private readonly link: Link;
  private port?: SerialPort;
  private channel?: AtChannel;
  private session?: Session;
  private readonly bucket: TokenBucket;
  private cancelPoll?: () => void;
  private wake?: () => void;
  private readonly inFlight = new Set<Promise<unknown>>();
  private readonly incoming: IncomingTexts;
  private readonly sent = new SentTexts();
  /** No new-message indications could be set up: poll the SIM instead. */
  private pollSim = false;
  private readonly pins: PinMemory = {};
  private readonly o: Required<Omit<ModemOptions, 'validityMinutes'>> & Pick<ModemOptions, 'validityMinutes'>;

  constructor(
    private readonly cfg: ModemConfig,
    private readonly log: Logger,
    opts: ModemOptions = {},
  ) {
    this.o = {
      reopenMinMs: 1000,
      reopenMaxMs: 60_000,
      commandTimeoutMs: 10_000,
      sendTimeoutMs: 60_000,
      probeTimeoutMs: 1000,
      probeAttempts: 10,
      registrationMinMs: 1000,
      registrationMaxMs: 30_000,
      pollMs: 30_000,
      tps: 1,
      ...opts,
    };
    this.bucket = new TokenBucket(this.o.tps, 1);
    this.incoming = new IncomingTexts(log, this.sent);
    this.link = new Link(
      log,
      {
        messages: { up: 'GSM modem ready', down: 'GSM modem unavailable; texts wait in the ledger and go out when it is back' },
        fields: { device: cfg.device },
        where: cfg.device,
        minMs: this.o.reopenMinMs,
        maxMs: this.o.reopenMaxMs,
        onState: (state, detail) => this.events.emit('state', state, detail),
      },
      { open: (attempt) => this.open(attempt), close: () => this.close() },
    );
  }

  /** Registered with the network: a submit now goes out. */
  get ready(): boolean {
    return this.link.isUp;
  }

  onReceipt(handler: ReceiptHandler): void {
    this.incoming.receiptHandler = handler;
  }

  onMessage(handler: MessageHandler): void {
    this.incoming.messageHandler = handler;
  }

  start(): void {
    this.link.start();
  }

  /** Waits (bounded) for submits on the wire, then closes the port. */
  async stop(waitMs = 5000): Promise<void> {
    await this.link.stop(() => settledWithin(this.inFlight, waitMs));
  }

  // ------------------------------------------------------------------------------ sending

  async submit(sms: OutgoingSms): Promise<SubmitResult> {
    if (!this.ready || !this.channel) return { kind: 'retry', error: 'modem_not_ready' };
    let encoded;
    try {
      encoded = encodeSubmit({ to: sms.to, text: sms.text, reference: sms.reference, smsc: this.cfg.smsc, statusReport: true, validityMinutes: this.o.validityMinutes });
    } catch (err) {
      const message = (err as Error).message;
      // The number is not repeated in the error: it ends up in logs, where numbers are masked.
      return { kind: 'failed', error: /phone number/.test(message) ? 'bad_number' : `text_too_long: ${message}` };
    }
    const messageIds: string[] = [];
    for (const part of encoded.parts) {
      await this.bucket.take();
      const session = this.session;
      const channel = this.channel;
      // A multipart text cut short is retried whole: the phone discards the lone parts.
      if (!this.ready || !channel || !session) return { kind: 'retry', error: 'modem_not_ready' };
      const r = await this.track(
        channel.exec(`AT+CMGS=${part.tpduLength}`, { pdu: part.hex, timeoutMs: this.o.sendTimeoutMs, promptTimeoutMs: this.o.commandTimeoutMs }),
      );
      const alive = session.attempt.live;
      switch (r.final) {
        case 'OK': {
          const mr = r.lines.map((l) => /^\+CMGS:\s*(\d+)/.exec(l)).find(Boolean)?.[1];
          if (mr === undefined) {
            this.log.warn('modem took a text without saying its message reference; its receipt cannot be matched', { to: maskNumber(sms.to) });
            messageIds.push(`mr:none:${Date.now().toString(36)}:${part.seq}`);
          } else {
            messageIds.push(this.sent.remember(Number(mr), sms.to));
          }
          break;
        }
        case 'CMS': {
          const e = cmsError(r.code ?? '');
          if (e.code === 330) this.log.error('the modem knows no SMSC: set sms.modem.smsc (the SMSC number of the SIM\'s operator)');
          if (e.reinit && alive) this.link.lost(`AT+CMGS answered ${e.name}`);
          else if ((e.code === 331 || e.code === 332) && alive && this.ready) this.recheckRegistration(session);
          return e.transient ? { kind: 'retry', error: e.name } : { kind: 'failed', error: e.name };
        }
        case 'CME':
        case 'ERROR':
          // Not an answer about this text: the modem is in a state we did not leave it in.
          if (alive) this.link.lost(`AT+CMGS answered ${describe(r)}`);
          return { kind: 'retry', error: `modem_error${r.code ? `: ${r.code}` : ''}` };
        case 'TIMEOUT':
          if (alive) this.link.lost('no answer to AT+CMGS');
          return { kind: 'retry', error: 'modem_timeout', uncertain: true };
        case 'GONE':
          // The PDU may have left before the port vanished.
          return { kind: 'retry', error: 'modem_gone', uncertain: true };
      }
    }
    return { kind: 'accepted', messageIds };
  }

  private track<T>(p: Promise<T>): Promise<T> {
    this.inFlight.add(p);
    p.finally(() => this.inFlight.delete(p)).catch(() => undefined);
    return p;
  }

  // ------------------------------------------------------------------------------ the port

  private open(attempt: Attempt): void {
    // Loaded on first use: a daemon on SMPP never pays serialport's native module and its memory.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { SerialPort: Port } = require('serialport') as typeof import('serialport');
    const port = new Port({ path: this.cfg.device, baudRate: this.cfg.baud_rate, autoOpen: false });
    this.port = port;
    // Always listen: serialport emits 'error' (EIO) when the device vanishes, and an 'error'
    // without a listener would end the process.
    port.on('error', (err: Error) => {
      if (attempt.live) this.link.lost(`serial port error: ${err.message}`);
      else this.log.debug('serial port error after close', { error: err.message });
    });
    port.on('close', (err?: Error | null) => {
      if (attempt.live) this.link.lost(err ? `port closed: ${err.message}` : 'port closed');
    });
    port.open((err) => {
      if (!attempt.live) {
        if (!err) port.close(() => undefined);
        return;
      }
      if (err) {
        this.link.lost(`cannot open ${this.cfg.device}: ${err.message}`);
        return;
      }
      const link = this.link;
      const session: Session = {
        attempt,
        get live() {
          return attempt.live && !link.stopped;
        },
        at: (cmd, opts) => this.at(attempt, cmd, opts),
      };
      this.session = session;
      this.channel = new AtChannel(port, this.log, (urc) => this.incoming.onUrc(session, urc));
      void this.bringUp(session);
    });
  }

  /** The lifecycle's teardown of one connection (its generation has moved on). */
  private close(): Promise<void> {
    this.wake?.();
    this.wake = undefined;
    this.cancelPoll = undefined;
    this.session = undefined;
    this.channel?.close();
    this.channel = undefined;
    const port = this.port;
    this.port = undefined;
    if (!port?.isOpen) return Promise.resolve();
    return new Promise((resolve) => {
      const t = setTimeout(resolve, 1000);
      port.close(() => {
        clearTimeout(t);
        resolve();
      });
    });
  }

  /** A command on this connection; no answer in time means the modem is stuck: reopen. */
  private async at(attempt: Attempt, cmd: string, opts: { timeoutMs?: number; shown?: string } = {}): Promise<AtResult> {
    const channel = this.channel;
    if (!attempt.live || !channel) return { final: 'GONE', lines: [] };
    const r = await channel.exec(cmd, { timeoutMs: opts.timeoutMs ?? this.o.commandTimeoutMs, shown: opts.shown });
    if (r.final === 'TIMEOUT' && attempt.live) this.link.lost(`no answer to ${opts.shown ?? cmd}`);
    return r;
  }

  /** Waits `ms`, or less when the connection is torn down meanwhile. */
  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(() => {
        this.wake = undefined;
        resolve();
      }, ms);
      this.wake = () => {
        clearTimeout(t);
        resolve();
      };
    });
  }

  // ------------------------------------------------------------------------------ init and the network

  private async bringUp(session: Session): Promise<void> {
    try {
      this.link.setState('connecting', 'initialising');
      const channel = this.channel;
      const found = await initModem(
        {
          get live() {
            return session.live;
          },
          at: (cmd, opts) => session.at(cmd, opts),
          probe: (timeoutMs) => (session.live && channel ? channel.exec('AT', { timeoutMs }) : Promise.resolve({ final: 'GONE', lines: [] })),
          sleep: (ms) => this.sleep(ms),
        },
        { device: this.cfg.device, pin: this.cfg.pin, probeAttempts: this.o.probeAttempts, probeTimeoutMs: this.o.probeTimeoutMs, commandTimeoutMs: this.o.commandTimeoutMs },
        this.pins,
        this.log,
      );
      this.pollSim = found.pollSim;
      if (found.ownNumber) this.incoming.ownNumber = found.ownNumber;
      // Texts that came while we were away (or that a handler could not store) are on the SIM.
      this.incoming.queue(session, () => this.incoming.scanStored(session));
      await this.waitRegistered(session);
    } catch (err) {
      if (!session.live) return;
      const e = err as Error;
      const refused = err instanceof InitError && err.refused;
      if (refused) {
        this.log.error(`GSM modem: ${e.message}`);
        this.link.refused();
      }
      this.link.lost(e.message);
    }
  }

  /** AT+CREG? until registered (home or roaming), waiting longer each time; then ready. */
  private async waitRegistered(session: Session): Promise<void> {
    let delay = this.o.registrationMinMs;
    let announced = false;
    while (session.live) {
      const r = await session.at('AT+CREG?');
      if (!session.attempt.live) return;
      const stat = r.final === 'OK' ? registration(r.lines) : undefined;
      if (stat === 1 || stat === 5) {
        const own = this.incoming.ownNumber;
        this.link.up({ network: REGISTRATION[stat], ...(own ? { number: maskNumber(own) } : {}) }, REGISTRATION[stat]!);
        this.schedulePoll(session);
        return;
      }
      const name = stat === undefined ? describe(r) : (REGISTRATION[stat] ?? String(stat));
      if (!announced) {
        announced = true;
        this.log.warn('GSM modem not registered with the network; texts wait until it is', { registration: name });
      }
      this.link.setState('connecting', `searching (${name})`);
      await this.sleep(delay);
      delay = Math.min(delay * 2, this.o.registrationMaxMs);
    }
  }

  private recheckRegistration(session: Session): void {
    this.cancelPoll?.();
    this.link.setState('connecting', 'searching (checking)');
    void this.waitRegistered(session);
  }

  private schedulePoll(session: Session): void {
    this.cancelPoll?.();
    this.cancelPoll = this.link.after(this.o.pollMs, () => void this.poll(session));
  }

  /** The health check: still registered? Texts left on the SIM, receipts not yet stored: again. */
  private async poll(session: Session): Promise<void> {
    if (!session.live) return;
    const r = await session.at('AT+CREG?');
    if (!session.attempt.live) return;
    const stat = r.final === 'OK' ? registration(r.lines) : undefined;
    if (stat !== 1 && stat !== 5) {
      this.recheckRegistration(session);
      return;
    }
    if (this.incoming.leftovers || this.pollSim) this.incoming.queue(session, () => this.incoming.scanStored(session));
    if (this.incoming.receiptsWaiting) this.incoming.queue(session, () => this.incoming.retryReceipts());
    this.schedulePoll(session);
  }
}

function registration(lines: readonly string[]): number | undefined {
  for (const line of lines) {
    const m = /^\+CREG:\s*(\d+)(?:\s*,\s*(\d+))?/.exec(line);
    if (m) return Number(m[2] ?? m[1]);
  }
  return undefined;
}
