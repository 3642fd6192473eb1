// A GSM modem on a serial port (USB stick, HAT) as the SMS transport, in PDU mode (AT+CMGF=0).
//
// Each (re)open runs the whole init again: a modem that was unplugged, or rebooted, has lost
// its SIM unlock and its settings. Commands go one at a time through a queue, each with a
// timeout; unsolicited result codes (+CMTI, +CDS, +CMT, +CDSI) are recognised whenever they
// arrive, also between a command and its answer.
//
// Choices:
// * AT+CNMI=2,1,0,1,0 with AT+CSMS=0: new texts are stored on the SIM and announced with
//   +CMTI (read with AT+CMGR, deleted with AT+CMGD only after the MessageHandler resolved, so a
//   text the daemon could not store stays on the SIM and is read again: on the next poll, and
//   by AT+CMGL=4 at every init); status reports arrive inline as +CDS. With <service> 0 of
//   AT+CSMS neither +CMTI nor +CDS needs an AT+CNMA acknowledgement. Modems that refuse that
//   mode get 2,1,0,2,0 (reports stored, +CDSI) or less, and a stored-message poll.
// * Message ids: TP-MR is one octet that the modem counts up and wraps at 255 (and may restart
//   after a reboot), so the id is "mr:<mr>:<yyyymmdd>:<h>": the MR, the UTC day of the submit,
//   and 8 hex digits of a SHA-256 of the recipient's digits (not the number itself: ids are
//   logged). A status report carries the MR, the recipient and the SMSC's time of the submit,
//   so the same id is rebuilt from it; within one run the id handed out at submit is looked up
//   by MR and recipient first, so SMSC clock or number-format quirks only matter for reports
//   that arrive after a daemon restart. Two texts get the same id only when the same number is
//   sent two texts with the same MR on the same UTC day (256 texts apart, or across a modem
//   that reset its MR).
// * +CMS ERROR codes: those that say "not now" (network out of order, congestion, temporary
//   failure, no network, network timeout, SMSC busy, unknown error, vendor codes 512+, SIM busy
//   or SIM state lost) return `retry`; SIM-state errors (310-318) and "operation not allowed"
//   (302: the modem lost its PDU-mode setting) also re-run the init. The rest (unassigned
//   number, barred, invalid PDU, ...) return `failed`. Names look like "CMS_38_network_out_of_order".
// * A command that times out means the modem is stuck: the port is closed and reopened. A submit
//   cut short by that, or by the port vanishing, returns `retry`; if the modem had already
//   passed it on before it died, the person may get the text twice (at-least-once, like SMPP).

import { createHash } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { readFileSync } from 'node:fs';
import type { SerialPort } from 'serialport';
import type { Logger } from '../log';
import { maskNumber } from '../numbers/phone';
import { Reconnect } from '../reconnect';
import { decodePdu, encodeSubmit, type StatusReportPdu } from './pdu';
import { TokenBucket } from './rate';
import type { DeliveryReceipt, IncomingSms, MessageHandler, OutgoingSms, ReceiptHandler, SmsTransport, SubmitResult } from './transport';
import { settledWithin } from '../settle';

export interface ModemConfig {
  /** Serial device, e.g. /dev/ttyUSB2 (the modem's AT port). */
  device: string;
  baud_rate: number;
  /** SIM PIN, when the SIM asks for one. */
  pin?: string;
  /** File holding the SIM PIN (read at each init; `pin` wins). */
  pin_file?: string;
  /** SMSC number put in every PDU; none: the SIM's own (AT+CSCA). */
  smsc?: string;
}

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

export type ModemState = 'opening' | 'initialising' | 'searching' | 'ready' | 'down' | 'stopped';

// ------------------------------------------------------------------------------- +CMS ERROR

const CMS_NAMES: Readonly<Record<number, string>> = {
  1: 'unassigned_number',
  8: 'operator_determined_barring',
  10: 'call_barred',
  21: 'short_message_transfer_rejected',
  27: 'destination_out_of_service',
  28: 'unidentified_subscriber',
  29: 'facility_rejected',
  30: 'unknown_subscriber',
  38: 'network_out_of_order',
  41: 'temporary_failure',
  42: 'congestion',
  47: 'resources_unavailable',
  50: 'requested_facility_not_subscribed',
  69: 'requested_facility_not_implemented',
  81: 'invalid_short_message_transfer_reference',
  95: 'invalid_message',
  96: 'invalid_mandatory_information',
  97: 'message_type_nonexistent',
  98: 'message_not_compatible',
  99: 'information_element_nonexistent',
  111: 'protocol_error',
  127: 'interworking_unspecified',
  128: 'telematic_interworking_not_supported',
  129: 'short_message_type_0_not_supported',
  130: 'cannot_replace_short_message',
  143: 'unspecified_tp_pid_error',
  144: 'data_coding_scheme_not_supported',
  145: 'message_class_not_supported',
  159: 'unspecified_tp_dcs_error',
  160: 'command_cannot_be_actioned',
  161: 'command_unsupported',
  175: 'unspecified_tp_command_error',
  176: 'tpdu_not_supported',
  192: 'sc_busy',
  193: 'no_sc_subscription',
  194: 'sc_system_failure',
  195: 'invalid_sme_address',
  196: 'destination_sme_barred',
  197: 'sm_rejected_duplicate_sm',
  198: 'tp_vpf_not_supported',
  199: 'tp_vp_not_supported',
  208: 'sim_sms_storage_full',
  209: 'no_sms_storage_capability_in_sim',
  210: 'error_in_ms',
  211: 'memory_capacity_exceeded',
  212: 'sim_application_toolkit_busy',
  213: 'sim_data_download_error',
  255: 'unspecified_error_cause',
  300: 'me_failure',
  301: 'sms_service_of_me_reserved',
  302: 'operation_not_allowed',
  303: 'operation_not_supported',
  304: 'invalid_pdu_mode_parameter',
  305: 'invalid_text_mode_parameter',
  310: 'sim_not_inserted',
  311: 'sim_pin_required',
  312: 'ph_sim_pin_required',
  313: 'sim_failure',
  314: 'sim_busy',
  315: 'sim_wrong',
  316: 'sim_puk_required',
  317: 'sim_pin2_required',
  318: 'sim_puk2_required',
  320: 'memory_failure',
  321: 'invalid_memory_index',
  322: 'memory_full',
  330: 'smsc_address_unknown',
  331: 'no_network_service',
  332: 'network_timeout',
  340: 'no_cnma_acknowledgement_expected',
  500: 'unknown_error',
  515: 'device_busy',
};

/** "Not now": the same text may well go through later. */
const CMS_TRANSIENT = new Set([38, 41, 42, 47, 192, 194, 212, 300, 302, 310, 311, 312, 313, 314, 316, 317, 318, 330, 331, 332, 500]);
/** The modem or SIM lost its state: run the init again. */
const CMS_REINIT = new Set([302, 310, 311, 312, 313, 316, 317, 318]);

export interface CmsError {
  code: number | undefined;
  /** "CMS_38_network_out_of_order" */
  name: string;
  transient: boolean;
  reinit: boolean;
}

function slug(s: string): string {
  return s.toLowerCase().replace(/[^a-z0-9]+/g, '_').replace(/^_|_$/g, '');
}
const CMS_BY_SLUG = new Map(Object.entries(CMS_NAMES).map(([code, name]) => [name, Number(code)]));

/** What a "+CMS ERROR: <err>" means for the text: numeric codes, or the verbose text some modems give. */
export function cmsError(err: string | number): CmsError {
  const text = String(err).trim();
  let code: number | undefined = /^\d+$/.test(text) ? Number(text) : CMS_BY_SLUG.get(slug(text));
  if (code === undefined) {
    // An unknown verbose text: say what it said and try again later rather than lose the text.
    return { code, name: `CMS_${slug(text) || 'unknown'}`, transient: true, reinit: false };
  }
  const name = CMS_NAMES[code] ?? (code >= 512 ? 'manufacturer_specific' : 'unknown');
  return { code, name: `CMS_${code}_${name}`, transient: CMS_TRANSIENT.has(code) || code >= 512, reinit: CMS_REINIT.has(code) };
}

// ------------------------------------------------------------------------------- the AT channel

type Final = 'OK' | 'ERROR' | 'CME' | 'CMS' | 'TIMEOUT' | 'GONE';

export interface AtResult {
  final: Final;
  /** After +CME ERROR / +CMS ERROR. */
  code?: string;
  /** Information lines between the command and its final result. */
  lines: string[];
}

type Urc = { kind: 'cmti' | 'cdsi'; mem: string; index: number } | { kind: 'cds' | 'cmt'; pdu: string };

interface Pending {
  cmd: string;
  shown: string;
  pdu?: string;
  timeoutMs: number;
  promptTimeoutMs: number;
  awaitingPrompt: boolean;
  lines: string[];
  timer?: NodeJS.Timeout;
  resolve(r: AtResult): void;
}

const FINAL_ERRORS = new Set(['ERROR', 'NO CARRIER', 'COMMAND NOT SUPPORT', 'TOO MANY PARAMETERS']);
const MAX_BUFFER = 64 * 1024;

/** One open port: line parsing, the command queue, and unsolicited result codes. */
class AtChannel {
  private buf = '';
  private current?: Pending;
  private readonly queue: Pending[] = [];
  /** A +CDS:/+CMT: header was seen: its PDU is the next line. */
  private urcHeader?: 'cds' | 'cmt';
  private closed = false;

  constructor(
    private readonly port: SerialPort,
    private readonly log: Logger,
    private readonly onUrc: (urc: Urc) => void,
  ) {
    port.on('data', (chunk: Buffer) => this.onData(chunk));
  }

  exec(cmd: string, opts: { timeoutMs: number; pdu?: string; promptTimeoutMs?: number; shown?: string }): Promise<AtResult> {
    if (this.closed) return Promise.resolve({ final: 'GONE', lines: [] });
    return new Promise((resolve) => {
      this.queue.push({
        cmd,
        shown: opts.shown ?? cmd,
        pdu: opts.pdu,
        timeoutMs: opts.timeoutMs,
        promptTimeoutMs: opts.promptTimeoutMs ?? opts.timeoutMs,
        awaitingPrompt: false,
        lines: [],
        resolve,
      });
      this.next();
    });
  }

  /** The port is gone or being closed: everything waiting gets GONE. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    const all = [...(this.current ? [this.current] : []), ...this.queue.splice(0)];
    this.current = undefined;
    for (const p of all) {
      clearTimeout(p.timer);
      p.resolve({ final: 'GONE', lines: p.lines });
    }
  }

  private next(): void {
    if (this.current || this.closed) return;
    const p = this.queue.shift();
    if (!p) return;
    this.current = p;
    p.awaitingPrompt = p.pdu !== undefined;
    this.log.debug('AT >', { cmd: p.shown });
    this.write(`${p.cmd}\r`);
    this.arm(p, p.awaitingPrompt ? p.promptTimeoutMs : p.timeoutMs);
  }

  private arm(p: Pending, ms: number): void {
    clearTimeout(p.timer);
    p.timer = setTimeout(() => {
      if (this.current !== p) return;
      if (p.awaitingPrompt) this.write('\x1b'); // leave the PDU prompt, should it come late
      this.log.debug('AT command timed out', { cmd: p.shown, after_ms: ms });
      this.finish({ final: 'TIMEOUT', lines: p.lines });
    }, ms);
  }

  private finish(r: AtResult): void {
    const p = this.current;
    if (!p) return;
    clearTimeout(p.timer);
    this.current = undefined;
    p.resolve(r);
    this.next();
  }

  private write(data: string): void {
    if (this.closed) return;
    // A failed write shows up as the port's 'error'/'close', which the transport handles.
    this.port.write(Buffer.from(data, 'latin1'), (err) => {
      if (err) this.log.debug('write to the modem failed', { error: err.message });
    });
  }

  private onData(chunk: Buffer): void {
    if (this.closed) return;
    this.buf += chunk.toString('latin1');
    for (;;) {
      const cur = this.current;
      if (cur?.awaitingPrompt) {
        const prompt = /^[\r\n]*> ?/.exec(this.buf);
        if (prompt) {
          this.buf = this.buf.slice(prompt[0].length);
          cur.awaitingPrompt = false;
          this.write(`${cur.pdu}\x1a`);
          this.arm(cur, cur.timeoutMs);
          continue;
        }
      }
      const nl = this.buf.search(/[\r\n]/);
      if (nl < 0) break;
      const line = this.buf.slice(0, nl).trim();
      this.buf = this.buf.slice(nl + 1);
      if (line) this.onLine(line);
      if (this.closed) return;
    }
    if (this.buf.length > MAX_BUFFER) {
      this.log.warn('modem sent a very long line; discarded');
      this.buf = '';
    }
  }

  private onLine(line: string): void {
    const isPdu = /^[0-9A-Fa-f]+$/.test(line) && line.length >= 14;
    this.log.debug('AT <', { line: isPdu ? `<pdu ${line.length / 2} octets>` : /^AT\+CPIN=/i.test(line) ? 'AT+CPIN="****"' : line });
    if (this.urcHeader) {
      const kind = this.urcHeader;
      this.urcHeader = undefined;
      if (/^[0-9A-Fa-f]+$/.test(line)) {
        this.onUrc({ kind, pdu: line });
        return;
      }
    }
    let m = /^\+(CMTI|CDSI):\s*"?([^",]*)"?\s*,\s*(\d+)/.exec(line);
    if (m) {
      this.onUrc({ kind: m[1] === 'CMTI' ? 'cmti' : 'cdsi', mem: m[2]!, index: Number(m[3]) });
      return;
    }
    if (/^\+CDS:/.test(line)) {
      this.urcHeader = 'cds';
      return;
    }
    if (/^\+CMT:/.test(line)) {
      this.urcHeader = 'cmt';
      return;
    }
    const cur = this.current;
    if (!cur) {
      this.log.debug('unsolicited line from the modem ignored', { line });
      return;
    }
    if (line === cur.cmd) return; // echo (before ATE0)
    if (line === 'OK') return this.finish({ final: 'OK', lines: cur.lines });
    if (FINAL_ERRORS.has(line)) return this.finish({ final: 'ERROR', lines: cur.lines });
    if ((m = /^\+CME ERROR:\s*(.*)$/.exec(line))) return this.finish({ final: 'CME', code: m[1]!.trim(), lines: cur.lines });
    if ((m = /^\+CMS ERROR:\s*(.*)$/.exec(line))) return this.finish({ final: 'CMS', code: m[1]!.trim(), lines: cur.lines });
    cur.lines.push(line);
  }
}

function describe(r: AtResult): string {
  return r.code !== undefined ? `${r.final} ${r.code}` : r.final;
}

/** The PDU line following an information line that starts with `prefix`. */
function pdusAfter(lines: readonly string[], prefix: RegExp): { header: RegExpExecArray; pdu: string }[] {
  const out: { header: RegExpExecArray; pdu: string }[] = [];
  for (let i = 0; i < lines.length; i++) {
    const header = prefix.exec(lines[i]!);
    if (header && i + 1 < lines.length && /^[0-9A-Fa-f]+$/.test(lines[i + 1]!)) {
      out.push({ header, pdu: lines[i + 1]! });
      i++;
    }
  }
  return out;
}

class InitError extends Error {
  constructor(
    message: string,
    /** Will not fix itself soon (no PIN, wrong PIN, no SIM): wait the longest before trying again. */
    readonly refused = false,
  ) {
    super(message);
  }
}

const REGISTRATION: Readonly<Record<number, string>> = { 0: 'not_searching', 1: 'home', 2: 'searching', 3: 'denied', 4: 'unknown', 5: 'roaming' };
const CNMI_MODES = ['AT+CNMI=2,1,0,1,0', 'AT+CNMI=2,1,0,2,0', 'AT+CNMI=1,1,0,1,0', 'AT+CNMI=2,1,0,0,0', 'AT+CNMI=1,1,0,0,0'];
const SENT_KEEP_MS = 7 * 24 * 3600_000;
const MAX_PENDING_RECEIPTS = 1000;

interface SentRecord {
  id: string;
  digits: string;
  at: number;
}

// ------------------------------------------------------------------------------- the transport

export class ModemTransport implements SmsTransport {
  readonly name = 'modem';
  readonly events = new EventEmitter<{ state: [ModemState, string] }>();
  private state: ModemState = 'down';
  private stopped = true;
  private generation = 0;
  private port?: SerialPort;
  private channel?: AtChannel;
  private readonly reconnect: Reconnect;
  private readonly bucket: TokenBucket;
  private pollTimer?: NodeJS.Timeout;
  private wake?: () => void;
  private receiptHandler: ReceiptHandler = async () => undefined;
  private messageHandler?: MessageHandler;
  private readonly inFlight = new Set<Promise<unknown>>();
  private incoming: Promise<void> = Promise.resolve();
  /** Some text on the SIM was not handled (handler threw, read failed): look again on the next poll. */
  private leftovers = false;
  /** No new-message indications could be set up: poll the SIM instead. */
  private pollSim = false;
  private ownNumber?: string;
  /** A PIN the SIM refused: never sent again, or three tries lock the SIM (PUK). */
  private rejectedPin?: string;
  private readonly sent = new Map<number, SentRecord[]>();
  private readonly pendingReceipts: DeliveryReceipt[] = [];
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
    this.reconnect = new Reconnect(
      log,
      { up: 'GSM modem ready', down: 'GSM modem unavailable; texts wait in the ledger and go out when it is back' },
      this.o.reopenMinMs,
      this.o.reopenMaxMs,
    );
  }

  get ready(): boolean {
    return this.state === 'ready';
  }

  /** The state and what it is about ("opening", "searching", ...). */
  get status(): ModemState {
    return this.state;
  }

  onReceipt(handler: ReceiptHandler): void {
    this.receiptHandler = handler;
  }

  onMessage(handler: MessageHandler): void {
    this.messageHandler = handler;
  }

  start(): void {
    this.stopped = false;
    this.open();
  }

  /** Waits (bounded) for submits on the wire, then closes the port. */
  async stop(waitMs = 5000): Promise<void> {
    this.stopped = true;
    this.reconnect.cancel();
    await settledWithin(this.inFlight, waitMs);
    await this.teardown();
    this.setState('stopped', 'stopped');
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
      const generation = this.generation;
      const channel = this.channel;
      // A multipart text cut short is retried whole: the phone discards the lone parts.
      if (!this.ready || !channel) return { kind: 'retry', error: 'modem_not_ready' };
      const r = await this.track(
        channel.exec(`AT+CMGS=${part.tpduLength}`, { pdu: part.hex, timeoutMs: this.o.sendTimeoutMs, promptTimeoutMs: this.o.commandTimeoutMs }),
      );
      const alive = generation === this.generation;
      switch (r.final) {
        case 'OK': {
          const mr = r.lines.map((l) => /^\+CMGS:\s*(\d+)/.exec(l)).find(Boolean)?.[1];
          if (mr === undefined) {
            this.log.warn('modem took a text without saying its message reference; its receipt cannot be matched', { to: maskNumber(sms.to) });
            messageIds.push(`mr:none:${Date.now().toString(36)}:${part.seq}`);
          } else {
            messageIds.push(this.remember(Number(mr), sms.to));
          }
          break;
        }
        case 'CMS': {
          const e = cmsError(r.code ?? '');
          if (e.code === 330) this.log.error('the modem knows no SMSC: set sms.modem.smsc (the SMSC number of the SIM\'s operator)');
          if (e.reinit && alive) this.lost(`AT+CMGS answered ${e.name}`);
          else if ((e.code === 331 || e.code === 332) && alive && this.state === 'ready') this.recheckRegistration(generation);
          return e.transient ? { kind: 'retry', error: e.name } : { kind: 'failed', error: e.name };
        }
        case 'CME':
        case 'ERROR':
          // Not an answer about this text: the modem is in a state we did not leave it in.
          if (alive) this.lost(`AT+CMGS answered ${describe(r)}`);
          return { kind: 'retry', error: `modem_error${r.code ? `: ${r.code}` : ''}` };
        case 'TIMEOUT':
          if (alive) this.lost('no answer to AT+CMGS');
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

  /** The id for a submit the modem numbered `mr`; kept so its status report finds the same id. */
  private remember(mr: number, to: string): string {
    const now = Date.now();
    const digits = to.replace(/\D/g, '');
    const id = messageId(mr, new Date(now), digits);
    const list = (this.sent.get(mr) ?? []).filter((s) => now - s.at < SENT_KEEP_MS && s.id !== id);
    list.push({ id, digits, at: now });
    this.sent.set(mr, list.slice(-8));
    return id;
  }

  /** The id a status report belongs to: the one handed out for that MR and recipient, else rebuilt. */
  private receiptId(sr: StatusReportPdu): string {
    const digits = sr.recipient.replace(/\D/g, '');
    const list = this.sent.get(sr.mr) ?? [];
    for (let i = list.length - 1; i >= 0; i--) {
      const s = list[i]!;
      if (sameNumber(s.digits, digits)) {
        if (sr.final) list.splice(i, 1);
        return s.id;
      }
    }
    return messageId(sr.mr, Number.isNaN(sr.submittedAt.getTime()) ? new Date() : sr.submittedAt, digits);
  }

  // ------------------------------------------------------------------------------ the port

  private open(): void {
    if (this.stopped) return;
    const generation = ++this.generation;
    this.setState('opening', this.cfg.device);
    // Loaded on first use: a daemon on SMPP never pays serialport's native module and its memory.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { SerialPort: Port } = require('serialport') as typeof import('serialport');
    const port = new Port({ path: this.cfg.device, baudRate: this.cfg.baud_rate, autoOpen: false });
    this.port = port;
    // Always listen: serialport emits 'error' (EIO) when the device vanishes, and an 'error'
    // without a listener would end the process.
    port.on('error', (err: Error) => {
      if (generation === this.generation) this.lost(`serial port error: ${err.message}`);
      else this.log.debug('serial port error after close', { error: err.message });
    });
    port.on('close', (err?: Error | null) => {
      if (generation === this.generation) this.lost(err ? `port closed: ${err.message}` : 'port closed');
    });
    port.open((err) => {
      if (generation !== this.generation) {
        if (!err) port.close(() => undefined);
        return;
      }
      if (err) {
        this.lost(`cannot open ${this.cfg.device}: ${err.message}`);
        return;
      }
      this.channel = new AtChannel(port, this.log, (urc) => this.onUrc(generation, urc));
      void this.init(generation);
    });
  }

  private lost(why: string, refused = false): void {
    void this.teardown();
    if (this.stopped) return;
    this.setState('down', why);
    if (refused) this.reconnect.refused();
    this.reconnect.lost(why, { device: this.cfg.device }, () => this.open());
  }

  private teardown(): Promise<void> {
    this.generation++;
    clearTimeout(this.pollTimer);
    this.wake?.();
    this.wake = undefined;
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

  private setState(state: ModemState, detail: string): void {
    if (state === this.state) return;
    this.state = state;
    this.events.emit('state', state, detail);
  }

  /** A command for this generation; no answer in time means the modem is stuck: reopen. */
  private async at(generation: number, cmd: string, opts: { timeoutMs?: number; shown?: string } = {}): Promise<AtResult> {
    const channel = this.channel;
    if (generation !== this.generation || !channel) return { final: 'GONE', lines: [] };
    const r = await channel.exec(cmd, { timeoutMs: opts.timeoutMs ?? this.o.commandTimeoutMs, shown: opts.shown });
    if (r.final === 'TIMEOUT' && generation === this.generation) this.lost(`no answer to ${opts.shown ?? cmd}`);
    return r;
  }

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

  // ------------------------------------------------------------------------------ init

  private async init(generation: number): Promise<void> {
    const alive = () => generation === this.generation && !this.stopped;
    const must = async (cmd: string, shown?: string): Promise<AtResult> => {
      const r = await this.at(generation, cmd, { shown });
      if (!alive()) throw new InitError('gone');
      if (r.final !== 'OK') throw new InitError(`${shown ?? cmd} answered ${describe(r)}`);
      return r;
    };
    try {
      this.setState('initialising', this.cfg.device);
      let answered = false;
      for (let i = 0; i < this.o.probeAttempts && alive() && this.channel; i++) {
        const r = await this.channel.exec('AT', { timeoutMs: this.o.probeTimeoutMs });
        if (r.final === 'OK') {
          answered = true;
          break;
        }
      }
      if (!alive()) return;
      if (!answered) throw new InitError(`${this.cfg.device} does not answer AT: is it the modem's AT port?`);
      await must('ATE0');
      await must('AT+CMEE=2');
      await this.unlockSim(generation, alive);
      await must('AT+CMGF=0');
      await this.at(generation, 'AT+CSMS=0'); // phase 2 behaviour: +CDS/+CMT need no AT+CNMA; some modems refuse, fine
      if (!alive()) return;
      this.pollSim = true;
      for (const mode of CNMI_MODES) {
        const r = await this.at(generation, mode);
        if (!alive()) return;
        if (r.final === 'OK') {
          this.pollSim = false;
          if (mode !== CNMI_MODES[0]) this.log.warn('modem refused AT+CNMI=2,1,0,1,0; using a fallback', { mode });
          break;
        }
      }
      if (this.pollSim) this.log.warn('modem refused every AT+CNMI mode; incoming texts are found by polling the SIM');
      this.ownNumber = await this.readOwnNumber(generation);
      if (!alive()) return;
      // Texts that came while we were away (or that a handler could not store) are on the SIM.
      this.queueIncoming(generation, () => this.scanStored(generation));
      await this.waitRegistered(generation);
    } catch (err) {
      if (!alive()) return;
      const e = err as Error;
      const refused = err instanceof InitError && err.refused;
      if (refused) this.log.error(`GSM modem: ${e.message}`);
      this.lost(e.message, refused);
    }
  }

  private readPin(): string | undefined {
    if (this.cfg.pin) return this.cfg.pin;
    if (!this.cfg.pin_file) return undefined;
    try {
      return readFileSync(this.cfg.pin_file, 'utf8').trim() || undefined;
    } catch (err) {
      throw new InitError(`cannot read sms.modem.pin_file: ${(err as Error).message}`, true);
    }
  }

  private async unlockSim(generation: number, alive: () => boolean): Promise<void> {
    for (let attempt = 0; attempt < 20; attempt++) {
      const r = await this.at(generation, 'AT+CPIN?');
      if (!alive()) throw new InitError('gone');
      if (r.final === 'CME') {
        const why = slug(r.code ?? '');
        if (/not_inserted|^10$/.test(why)) throw new InitError('no SIM card in the modem', true);
        if (/busy|^14$|not_ready/.test(why)) {
          await this.sleep(1000);
          continue;
        }
        throw new InitError(`AT+CPIN? answered ${describe(r)}`, true);
      }
      if (r.final !== 'OK') throw new InitError(`AT+CPIN? answered ${describe(r)}`);
      const status = r.lines.map((l) => /^\+CPIN:\s*(.+)$/.exec(l)?.[1]?.trim()).find(Boolean) ?? '';
      if (status === 'READY') return;
      if (status === 'SIM PIN') {
        const pin = this.readPin();
        if (!pin) throw new InitError('the SIM asks for a PIN: set sms.modem.pin or sms.modem.pin_file', true);
        if (pin === this.rejectedPin) {
          throw new InitError('the SIM refused this PIN before; it is not tried again (three wrong PINs lock the SIM): fix sms.modem.pin', true);
        }
        const u = await this.at(generation, `AT+CPIN="${pin}"`, { shown: 'AT+CPIN="****"', timeoutMs: Math.max(this.o.commandTimeoutMs, 20_000) });
        if (!alive()) throw new InitError('gone');
        if (u.final === 'OK') {
          this.log.info('SIM unlocked with its PIN');
          continue; // ask again: some SIMs take a moment before READY
        }
        if (u.final === 'CME' && /incorrect_password|^16$/.test(slug(u.code ?? ''))) {
          this.rejectedPin = pin;
          throw new InitError('the SIM refused the PIN in sms.modem.pin; it is not tried again (three wrong PINs lock the SIM)', true);
        }
        throw new InitError(`AT+CPIN="****" answered ${describe(u)}`);
      }
      if (status === 'SIM PUK') throw new InitError('the SIM is locked (PUK) after wrong PINs: unlock it in a phone', true);
      throw new InitError(`the SIM asks for "${status || 'something'}", which mctb cannot give`, true);
    }
    throw new InitError('the SIM did not become ready');
  }

  private async readOwnNumber(generation: number): Promise<string | undefined> {
    const r = await this.at(generation, 'AT+CNUM');
    if (r.final !== 'OK') return this.ownNumber;
    for (const line of r.lines) {
      const m = /^\+CNUM:\s*"[^"]*"\s*,\s*"([^"]+)"\s*,\s*(\d+)/.exec(line);
      if (m) {
        const number = m[1]!;
        return Number(m[2]) === 145 && !number.startsWith('+') ? `+${number}` : number;
      }
    }
    return this.ownNumber;
  }

  /** AT+CREG? until registered (home or roaming), waiting longer each time; then ready. */
  private async waitRegistered(generation: number): Promise<void> {
    let delay = this.o.registrationMinMs;
    let announced = false;
    while (generation === this.generation && !this.stopped) {
      const r = await this.at(generation, 'AT+CREG?');
      if (generation !== this.generation) return;
      const stat = r.final === 'OK' ? registration(r.lines) : undefined;
      if (stat === 1 || stat === 5) {
        this.setState('ready', REGISTRATION[stat]!);
        this.reconnect.connected({ device: this.cfg.device, network: REGISTRATION[stat], ...(this.ownNumber ? { number: maskNumber(this.ownNumber) } : {}) });
        this.schedulePoll(generation);
        return;
      }
      const name = stat === undefined ? describe(r) : (REGISTRATION[stat] ?? String(stat));
      if (!announced) {
        announced = true;
        this.log.warn('GSM modem not registered with the network; texts wait until it is', { registration: name });
      }
      this.setState('searching', name);
      await this.sleep(delay);
      delay = Math.min(delay * 2, this.o.registrationMaxMs);
    }
  }

  private recheckRegistration(generation: number): void {
    clearTimeout(this.pollTimer);
    this.setState('searching', 'checking');
    void this.waitRegistered(generation);
  }

  private schedulePoll(generation: number): void {
    clearTimeout(this.pollTimer);
    this.pollTimer = setTimeout(() => void this.poll(generation), this.o.pollMs);
    this.pollTimer.unref();
  }

  private async poll(generation: number): Promise<void> {
    if (generation !== this.generation || this.stopped) return;
    const r = await this.at(generation, 'AT+CREG?');
    if (generation !== this.generation) return;
    const stat = r.final === 'OK' ? registration(r.lines) : undefined;
    if (stat !== 1 && stat !== 5) {
      this.recheckRegistration(generation);
      return;
    }
    if (this.leftovers || this.pollSim) this.queueIncoming(generation, () => this.scanStored(generation));
    if (this.pendingReceipts.length) this.queueIncoming(generation, () => this.retryReceipts());
    this.schedulePoll(generation);
  }

  // ------------------------------------------------------------------------------ receiving

  /** Incoming work runs one item at a time, in arrival order (parts stay in order). */
  private queueIncoming(generation: number, work: () => Promise<void>): void {
    this.incoming = this.incoming
      .then(() => (generation === this.generation && !this.stopped ? work() : undefined))
      .catch((err) => {
        this.log.error('handling an incoming message failed', { error: (err as Error).message });
      });
  }

  private onUrc(generation: number, urc: Urc): void {
    switch (urc.kind) {
      case 'cmti':
      case 'cdsi':
        this.queueIncoming(generation, () => this.readStored(generation, urc.index));
        break;
      case 'cds':
        this.queueIncoming(generation, () => this.onStatusReport(urc.pdu));
        break;
      case 'cmt':
        this.queueIncoming(generation, () => this.onInlineText(urc.pdu));
        break;
    }
  }

  private async readStored(generation: number, index: number): Promise<void> {
    const r = await this.at(generation, `AT+CMGR=${index}`);
    if (r.final === 'CMS' && cmsError(r.code ?? '').code === 321) return; // already handled and deleted
    if (r.final !== 'OK') {
      if (r.final !== 'GONE') this.log.warn('could not read a new text from the SIM; will look again', { index, answer: describe(r) });
      this.leftovers = true;
      return;
    }
    const [entry] = pdusAfter(r.lines, /^\+CMGR:/);
    if (!entry) return;
    await this.handleStored(generation, index, entry.pdu);
  }

  /** AT+CMGL=4: everything on the SIM (texts that came while we were away or not yet stored). */
  private async scanStored(generation: number): Promise<void> {
    const r = await this.at(generation, 'AT+CMGL=4');
    if (r.final !== 'OK') {
      if (r.final !== 'GONE') this.log.warn('could not list the texts on the SIM', { answer: describe(r) });
      return;
    }
    this.leftovers = false;
    for (const { header, pdu } of pdusAfter(r.lines, /^\+CMGL:\s*(\d+)/)) {
      if (generation !== this.generation) return;
      await this.handleStored(generation, Number(header[1]), pdu);
    }
  }

  /** Hands one stored PDU on; deletes it from the SIM only once it was taken. */
  private async handleStored(generation: number, index: number, hex: string): Promise<void> {
    let decoded;
    try {
      decoded = decodePdu(hex);
    } catch (err) {
      this.log.warn('unreadable message on the SIM deleted', { index, error: (err as Error).message });
      this.log.debug('the unreadable PDU', { pdu: hex });
      await this.deleteStored(generation, index);
      return;
    }
    if (decoded.type === 'submit') return; // a draft or sent copy someone stored: not ours to touch
    if (decoded.type === 'status-report') {
      if (await this.deliverReceipt(decoded)) await this.deleteStored(generation, index);
      else this.leftovers = true;
      return;
    }
    if (!this.messageHandler) {
      this.log.info('incoming text left on the SIM: nothing takes texts yet', { from: maskNumber(decoded.from), index });
      return;
    }
    const sms: IncomingSms = { from: decoded.from, to: this.ownNumber ?? '', text: decoded.text, ...(decoded.part ? { part: decoded.part } : {}) };
    try {
      await this.messageHandler(sms);
    } catch (err) {
      this.leftovers = true;
      this.log.error('could not store an incoming text; it stays on the SIM and is read again', { from: maskNumber(sms.from), index, error: (err as Error).message });
      return;
    }
    await this.deleteStored(generation, index);
  }

  private async deleteStored(generation: number, index: number): Promise<void> {
    const r = await this.at(generation, `AT+CMGD=${index}`);
    if (r.final !== 'OK') this.log.warn('could not delete a handled text from the SIM; it may be handled again', { index, answer: describe(r) });
  }

  /** +CMT (only when a modem refused our CNMI mode): nothing is stored, so nothing can be re-read. */
  private async onInlineText(hex: string): Promise<void> {
    let decoded;
    try {
      decoded = decodePdu(hex);
    } catch (err) {
      this.log.warn('unreadable +CMT message dropped', { error: (err as Error).message });
      return;
    }
    if (decoded.type === 'status-report') {
      await this.onStatusReport(hex);
      return;
    }
    if (decoded.type !== 'deliver' || !this.messageHandler) return;
    await this.messageHandler({ from: decoded.from, to: this.ownNumber ?? '', text: decoded.text, ...(decoded.part ? { part: decoded.part } : {}) });
  }

  private async onStatusReport(hex: string): Promise<void> {
    let decoded;
    try {
      decoded = decodePdu(hex);
    } catch (err) {
      this.log.warn('unreadable status report dropped', { error: (err as Error).message });
      return;
    }
    if (decoded.type !== 'status-report') {
      this.log.warn('+CDS carried something other than a status report', { type: decoded.type });
      return;
    }
    await this.deliverReceipt(decoded);
  }

  /** Hands a status report on; one that could not be stored is kept in memory and offered again. */
  private async deliverReceipt(sr: StatusReportPdu): Promise<boolean> {
    const receipt: DeliveryReceipt = {
      messageId: this.receiptId(sr),
      state: sr.state,
      error: sr.state === 'delivered' ? null : `ST_${sr.status.toString(16).padStart(2, '0')}_${sr.statusName}`,
    };
    try {
      await this.receiptHandler(receipt);
      return true;
    } catch (err) {
      this.log.error('could not store a delivery receipt; will offer it again', { message_id: receipt.messageId, error: (err as Error).message });
      if (this.pendingReceipts.length < MAX_PENDING_RECEIPTS) this.pendingReceipts.push(receipt);
      return false;
    }
  }

  private async retryReceipts(): Promise<void> {
    const batch = this.pendingReceipts.splice(0);
    for (const [i, receipt] of batch.entries()) {
      try {
        await this.receiptHandler(receipt);
      } catch {
        this.pendingReceipts.push(...batch.slice(i));
        return;
      }
    }
  }
}

function registration(lines: readonly string[]): number | undefined {
  for (const line of lines) {
    const m = /^\+CREG:\s*(\d+)(?:\s*,\s*(\d+))?/.exec(line);
    if (m) return Number(m[2] ?? m[1]);
  }
  return undefined;
}

/** "mr:<mr>:<yyyymmdd UTC>:<8 hex of sha256(recipient digits)>" — see the header comment. */
export function messageId(mr: number, submittedAt: Date, recipientDigits: string): string {
  const day = submittedAt.toISOString().slice(0, 10).replace(/-/g, '');
  const h = createHash('sha256').update(recipientDigits.replace(/\D/g, '')).digest('hex').slice(0, 8);
  return `mr:${mr}:${day}:${h}`;
}

/** Same number written two ways ("+14155550123" / "4155550123"): equal, or one ends with the other (7+ digits). */
function sameNumber(a: string, b: string): boolean {
  if (a === b) return true;
  const [short, long] = a.length <= b.length ? [a, b] : [b, a];
  return short.length >= 7 && long.endsWith(short);
}
