// A simulated GSM modem at the far end of a real pseudo-terminal: runs tools/modem-sim.py
// (Node cannot open a pty without a native addon; python3 can), which points a symlink at the
// pty's slave side. The transport opens that path with serialport like a /dev/ttyUSB2, and
// the simulator reports what "the network" received: each SMS-SUBMIT, decoded by its own
// Python decoder. Used by the tests and by `mctb demo --transport modem`.

import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

/** Every line the simulator prints is one of these; `event` says which. */
export interface SimEvent {
  event: string;
  [key: string]: unknown;
}

/** An SMS-SUBMIT the modem passed on to the network, as the simulator decoded it. */
export interface SimSubmit extends SimEvent {
  event: 'submit';
  mr: number;
  /** SMSC part of the PDU ("" when "00"). */
  smsc: string;
  to: string;
  text: string;
  dcs: number;
  encoding: 'GSM-7' | 'UCS-2' | '8-bit';
  udh: { ref: number; total: number; seq: number } | null;
  srr: boolean;
  vp: number | string | null;
  tpdu_length: number;
  pdu: string;
}

export interface ModemSimOptions {
  /** Path of the symlink standing for the device (default: a fresh temp dir + "/ttyUSB2"). */
  link?: string;
  /** SIM PIN (none: the SIM asks for none). */
  pin?: string;
  /** The SIM's own number (AT+CNUM). */
  number?: string;
  /** The SIM's SMSC; "" for none (then PDUs without an SMSC fail with +CMS ERROR: 330). */
  smsc?: string;
  /** First TP-MR the modem hands out. */
  mr?: number;
  /** Registration state at start (1 home, 5 roaming, 2 searching). */
  creg?: number;
  /** Not an AT port at all: reads everything, answers nothing (not even an echo). */
  mute?: boolean;
  python?: string;
}

/**
 * Where tools/modem-sim.py is, from src/demo (ts-node) or dist/src/demo (compiled). A source
 * checkout and scripts/install.sh have it; the Docker image only when built with WITH_PYTHON=1.
 */
export function modemSimScript(): string {
  const candidates = [join(__dirname, '..', '..', 'tools', 'modem-sim.py'), join(__dirname, '..', '..', '..', 'tools', 'modem-sim.py')];
  const found = candidates.find((p) => existsSync(p));
  if (!found) {
    throw new Error(
      `tools/modem-sim.py not found (looked in ${candidates.join(', ')}): the modem demo runs from a source checkout or an install made by scripts/install.sh ` +
        '(the Docker image has it only when built with --build-arg WITH_PYTHON=1)',
    );
  }
  return found;
}

export class ModemSimulator extends EventEmitter<{ event: [SimEvent]; submit: [SimSubmit] }> {
  /** Everything the simulator reported, in order. */
  readonly history: SimEvent[] = [];
  /** What the network received. */
  readonly submits: SimSubmit[] = [];
  private child?: ChildProcessWithoutNullStreams;
  private tmp?: string;
  private seq = 0;
  private stderr = '';
  path = '';

  constructor(private readonly opts: ModemSimOptions = {}) {
    super();
  }

  /** Spawns the simulator; resolves with the device path once the pty is there. */
  async start(): Promise<string> {
    let link = this.opts.link;
    if (!link) {
      this.tmp = mkdtempSync(join(tmpdir(), 'mctb-modem-'));
      link = join(this.tmp, 'ttyUSB2');
    }
    const args = [modemSimScript(), '--link', link];
    if (this.opts.pin) args.push('--pin', this.opts.pin);
    if (this.opts.number) args.push('--number', this.opts.number);
    if (this.opts.smsc !== undefined) args.push('--smsc', this.opts.smsc);
    if (this.opts.mr !== undefined) args.push('--mr', String(this.opts.mr));
    if (this.opts.creg !== undefined) args.push('--creg', String(this.opts.creg));
    if (this.opts.mute) args.push('--mute');
    const child = spawn(this.opts.python ?? 'python3', args, { stdio: ['pipe', 'pipe', 'pipe'] });
    this.child = child;
    child.stderr.on('data', (d: Buffer) => {
      this.stderr = (this.stderr + d.toString()).slice(-4000);
    });
    createInterface({ input: child.stdout }).on('line', (line) => {
      let ev: SimEvent;
      try {
        ev = JSON.parse(line) as SimEvent;
      } catch {
        return;
      }
      this.history.push(ev);
      if (ev.event === 'submit') this.submits.push(ev as SimSubmit);
      this.emit('event', ev);
      if (ev.event === 'submit') this.emit('submit', ev as SimSubmit);
    });
    const ready = await new Promise<SimEvent>((resolve, reject) => {
      const onEvent = (ev: SimEvent) => {
        if (ev.event === 'ready') {
          this.off('event', onEvent);
          resolve(ev);
        }
      };
      this.on('event', onEvent);
      child.once('exit', (code) => reject(new Error(`modem simulator exited (${code}) before it was ready: ${this.stderr.trim()}`)));
      child.once('error', reject);
    });
    this.path = String(ready.path);
    return this.path;
  }

  /** Sends a JSON command (see modem-sim.py) and waits until the simulator has acted on it. */
  async command(cmd: Record<string, unknown>, timeoutMs = 5000): Promise<void> {
    const id = ++this.seq;
    const done = this.waitFor((ev) => ev.event === 'done' && ev.id === id, timeoutMs, `command ${JSON.stringify(cmd)}`);
    this.child?.stdin.write(JSON.stringify({ ...cmd, id }) + '\n');
    await done;
  }

  /** A text from a phone: stored on the SIM and announced with +CMTI (split into parts when long or `partChars` is set). */
  deliver(from: string, text: string, opts: { partChars?: number; ref?: number; ucs2?: boolean; when?: 'next_response' } = {}): Promise<void> {
    const { when, partChars, ...rest } = opts;
    return this.command({ deliver: { from, text, ...(partChars ? { part_chars: partChars } : {}), ...rest }, ...(when ? { when } : {}) });
  }

  /** A status report (+CDS) for the submit that got TP-MR `mr`; status 0 = delivered (TP-ST). */
  statusReport(mr: number, status = 0, opts: { when?: 'next_response' } = {}): Promise<void> {
    return this.command({ status_report: { mr, status }, ...opts });
  }

  /** The next `times` AT+CMGS get +CMS ERROR: code. */
  cmsError(code: number, times = 1): Promise<void> {
    return this.command({ cms_error: code, times });
  }

  unplug(): Promise<void> {
    return this.command({ unplug: true });
  }

  replug(): Promise<void> {
    return this.command({ replug: true });
  }

  /** Registration state AT+CREG? reports (1 home, 5 roaming, 2 searching, 0 not registered). */
  setRegistration(stat: number): Promise<void> {
    return this.command({ creg: stat });
  }

  /** The texts received, parts joined by (to, ref), in order of their first part. */
  texts(): { to: string; text: string; parts: number }[] {
    const out: { to: string; text: string; parts: number; key?: string; byseq?: Map<number, string> }[] = [];
    for (const s of this.submits) {
      if (!s.udh) {
        out.push({ to: s.to, text: s.text, parts: 1 });
        continue;
      }
      const key = `${s.to}/${s.udh.ref}/${s.udh.total}`;
      let entry = out.find((e) => e.key === key && e.byseq!.size < s.udh!.total && !e.byseq!.has(s.udh!.seq));
      if (!entry) {
        entry = { to: s.to, text: '', parts: 0, key, byseq: new Map() };
        out.push(entry);
      }
      entry.byseq!.set(s.udh.seq, s.text);
      entry.parts = entry.byseq!.size;
      entry.text = [...entry.byseq!.entries()].sort((a, b) => a[0] - b[0]).map(([, t]) => t).join('');
    }
    return out.map(({ to, text, parts }) => ({ to, text, parts }));
  }

  /** Resolves with the first event (already seen or still to come) that matches. */
  waitFor(match: (ev: SimEvent) => boolean, timeoutMs = 10_000, what = 'a simulator event', from = 0): Promise<SimEvent> {
    const seen = this.history.slice(from).find(match);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => {
        this.off('event', onEvent);
        reject(new Error(`timed out waiting for ${what}`));
      }, timeoutMs);
      const onEvent = (ev: SimEvent) => {
        if (!match(ev)) return;
        clearTimeout(t);
        this.off('event', onEvent);
        resolve(ev);
      };
      this.on('event', onEvent);
    });
  }

  /**
   * Waits until the network has received `count` submits. The simulator reports a submit on
   * its stdout before it answers +CMGS on the pty, but the two pipes race: after a submit was
   * accepted, wait here before looking at `submits`.
   */
  async received(count: number, timeoutMs = 5000): Promise<SimSubmit[]> {
    if (this.submits.length < count) {
      await this.waitFor(() => this.submits.length >= count, timeoutMs, `${count} submits (have ${this.submits.length})`).catch((err: Error) => {
        const tail = this.history.slice(-6).map((e) => JSON.stringify(e).slice(0, 200));
        throw new Error(`${err.message}; last events: ${tail.join(' ')}; stderr: ${this.stderr.trim()}`);
      });
    }
    return this.submits;
  }

  /** AT commands the modem received since history index `from` (PIN masked). */
  commands(from = 0): string[] {
    return this.history.slice(from).filter((e) => e.event === 'at').map((e) => String(e.cmd));
  }

  async stop(): Promise<void> {
    const child = this.child;
    this.child = undefined;
    if (child && child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((r) => child.once('exit', r));
      child.stdin.end(); // the simulator leaves when its stdin closes, removing the pty and link
      const t = setTimeout(() => child.kill('SIGKILL'), 2000);
      await exited;
      clearTimeout(t);
    }
    if (this.tmp) rmSync(this.tmp, { recursive: true, force: true });
    this.tmp = undefined;
  }
}
