// One open serial port to the modem: line parsing, the command queue and unsolicited result
// codes. Commands go one at a time, each with a timeout; URCs (+CMTI, +CDS, +CMT, +CDSI) are
// recognised whenever they arrive, also between a command and its answer. An AT+CMGS waits for
// the "> " prompt, then sends its PDU.

import type { SerialPort } from 'serialport';
import type { Logger } from '../../log';

export type Final = 'OK' | 'ERROR' | 'CME' | 'CMS' | 'TIMEOUT' | 'GONE';

export interface AtResult {
  final: Final;
  /** After +CME ERROR / +CMS ERROR. */
  code?: string;
  /** Information lines between the command and its final result. */
  lines: string[];
}

export type Urc = { kind: 'cmti' | 'cdsi'; mem: string; index: number } | { kind: 'cds' | 'cmt'; pdu: string };

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
export class AtChannel {
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

export function describe(r: AtResult): string {
  return r.code !== undefined ? `${r.final} ${r.code}` : r.final;
}

/** The PDU line following an information line that starts with `prefix`. */
export function pdusAfter(lines: readonly string[], prefix: RegExp): { header: RegExpExecArray; pdu: string }[] {
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
