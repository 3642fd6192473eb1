// The system under test: `mctb run` as a child process of its own (so the load generator and the
// pipeline each get a core), with a YAML config pointing at the loopback peers, plus the probes
// the benchmarks read from outside it: RSS from /proc, rows from its ledger (a read-only
// connection), open calls from its /metrics.

import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { dirname, join } from 'node:path';
import sqlite3 from 'sqlite3';

export const ROOT = join(__dirname, '..', '..');
export const MCTB_BIN = join(ROOT, 'bin', 'mctb');

/** Set high so caps never change the work: every missed call of a valid number is texted. */
const NO_CAP = 100_000_000;

export interface ConfigOptions {
  amiPort: number;
  ledger: string;
  /** smpp: the loopback SMSC on this port; undefined: transport `log` (dry run). */
  smppPort?: number;
  httpPort?: number;
  delay?: string;
  grace?: string;
  /** The web console on this port (`console: { listen }`). */
  consolePort?: number;
  /** Businesses, each with its one DID (also its sender); default: Brightside Dental on +1555000XXXX. */
  businesses?: { name: string; did: string }[];
}

export function writeConfig(file: string, o: ConfigOptions): void {
  // Secrets in files next to the config, as in production (inline secrets draw a warning).
  writeFileSync(join(dirname(file), 'ami.secret'), 's3cret\n', { mode: 0o600 });
  writeFileSync(join(dirname(file), 'smpp.password'), 'pw\n', { mode: 0o600 });
  const sms =
    o.smppPort === undefined
      ? 'sms:\n  transport: log'
      : `sms:
  transport: smpp
  smpp: { host: 127.0.0.1, port: ${o.smppPort}, system_id: mctb, password_file: smpp.password, source_addr: "+15550001000", tps: 5000 }`;
  writeFileSync(
    file,
    `asterisk:
  ami: { host: 127.0.0.1, port: ${o.amiPort}, username: mctb, secret_file: ami.secret, ping_interval: 20s, check_presentation: true }
  inbound_contexts: [from-trunk]
  decision_grace: ${o.grace ?? '2s'}
${sms}
ledger: { path: ${JSON.stringify(o.ledger)} }
${o.httpPort !== undefined ? `http: { listen: "127.0.0.1:${o.httpPort}" }\n` : ''}${o.consolePort !== undefined ? `console: { listen: "127.0.0.1:${o.consolePort}" }\n` : ''}numbers: { default_country: US }
defaults:
  delay: ${o.delay ?? '0s'}
  dedupe_window: 1h
  limits: { per_hour: ${NO_CAP}, per_day: ${NO_CAP}, per_prefix_per_hour: ${NO_CAP} }
businesses:
${(o.businesses ?? [{ name: 'Brightside Dental', did: '+1555000XXXX' }])
  .map((b) => `  - name: ${JSON.stringify(b.name)}\n    dids: [${JSON.stringify(b.did)}]${b.did.includes('X') ? '' : `\n    source_addr: ${JSON.stringify(b.did)}`}`)
  .join('\n')}
log: { level: warn, format: text }
`,
  );
}

export interface MctbProcess {
  child: ChildProcess;
  pid: number;
  /** The last 64 KB of its stderr and stdout (warnings and errors only at level warn). */
  log(): string;
  /**
   * SIGTERM (graceful: the daemon decides what is queued, closes its ledger, writes its CPU
   * profile), then SIGKILL after `graceMs` (a backlog of undecided calls can take minutes).
   */
  stop(graceMs?: number): Promise<{ code: number | null; killed: boolean }>;
}

/**
 * The node flags the service runs with (between node and bin/mctb in the systemd unit's
 * ExecStart): the benchmarks measure mctb as installed.
 */
export function serviceNodeFlags(unitFile = join(ROOT, 'systemd', 'mctb.service')): string[] {
  const line = /^ExecStart=\S+ (.*?)\S*\/bin\/mctb run /m.exec(readFileSync(unitFile, 'utf8'));
  if (!line) throw new Error(`${unitFile}: no ExecStart=NODE [FLAGS] .../bin/mctb run line`);
  return line[1].split(' ').filter(Boolean);
}

export function startMctb(configFile: string, opts: { nodeFlags?: string[]; env?: NodeJS.ProcessEnv } = {}): MctbProcess {
  const child = spawn(process.execPath, [...serviceNodeFlags(), ...(opts.nodeFlags ?? []), MCTB_BIN, 'run', '-c', configFile], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...opts.env },
  });
  let log = '';
  const keep = (c: Buffer) => {
    log += c.toString();
    if (log.length > 65_536) log = log.slice(-65_536);
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return {
    child,
    pid: child.pid!,
    log: () => log,
    async stop(graceMs = 30_000) {
      if (child.exitCode !== null) return { code: child.exitCode, killed: false };
      let killed = false;
      child.kill('SIGTERM');
      const t = setTimeout(() => {
        killed = true;
        child.kill('SIGKILL');
      }, graceMs);
      const code = await exited;
      clearTimeout(t);
      return { code, killed };
    },
  };
}

/** Resident set size and its peak, in MB, from /proc (Linux). */
export function memoryOf(pid: number): { rssMb: number; hwmMb: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN);
  return { rssMb: kb('VmRSS') / 1024, hwmMb: kb('VmHWM') / 1024 };
}

/** CPU seconds the process has used (user + system), from /proc/<pid>/stat. */
export function cpuSecondsOf(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100; // utime, stime in clock ticks (USER_HZ = 100)
}

/** The ledger file with its WAL and shared-memory files, in bytes. */
export function ledgerBytes(path: string): number {
  let total = 0;
  for (const f of [path, `${path}-wal`, `${path}-shm`]) {
    try {
      total += statSync(f).size;
    } catch {
      // not there (no WAL yet, or checkpointed away)
    }
  }
  return total;
}

/** A read-only look into the daemon's ledger: WAL readers never block its writer. */
export class LedgerProbe {
  private constructor(private readonly db: sqlite3.Database) {}

  static open(path: string): Promise<LedgerProbe> {
    return new Promise((resolve, reject) => {
      const db = new sqlite3.Database(path, sqlite3.OPEN_READONLY, (err) => (err ? reject(err) : resolve(new LedgerProbe(db))));
    });
  }

  get<T>(sql: string): Promise<T> {
    return new Promise((resolve, reject) => this.db.get(sql, (err, row) => (err ? reject(err) : resolve(row as T))));
  }

  all<T>(sql: string): Promise<T[]> {
    return new Promise((resolve, reject) => this.db.all(sql, (err, rows) => (err ? reject(err) : resolve(rows as T[]))));
  }

  async calls(): Promise<number> {
    return (await this.get<{ n: number }>('SELECT COUNT(*) AS n FROM calls')).n;
  }

  /**
   * Resolves (with performance.now()) once the ledger holds `n` calls. Polled every `everyMs`:
   * the figure's error is at most that, over a window of seconds.
   */
  async waitForCalls(n: number, timeoutMs: number, everyMs = 10): Promise<number> {
    const deadline = performance.now() + timeoutMs;
    for (;;) {
      const have = await this.calls();
      const now = performance.now();
      if (have >= n) return now;
      if (now > deadline) throw new Error(`ledger has ${have} of ${n} calls after ${Math.round(timeoutMs / 1000)} s`);
      await sleep(everyMs);
    }
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.db.close(() => resolve()));
  }
}

/** One gauge from the daemon's /metrics (Prometheus text). */
export async function metric(httpPort: number, name: string): Promise<number | undefined> {
  const res = await fetch(`http://127.0.0.1:${httpPort}/metrics`);
  const text = await res.text();
  const m = new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, 'm').exec(text);
  return m ? Number(m[1]) : undefined;
}

/** A port nobody listens on right now (for the daemon's /metrics). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Waits until `cond` holds, polling; throws with `what` after `timeoutMs`. */
export async function until(cond: () => boolean | Promise<boolean>, timeoutMs: number, what: string, everyMs = 20): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(everyMs);
  }
}
