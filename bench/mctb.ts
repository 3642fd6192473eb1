// The system under test: `mctb run` as a child process of its own (so the load generator and the
// pipeline each get a core), with a YAML config pointing at the loopback peers, plus the probes
// the benchmarks read from outside it: RSS from /proc, rows from its ledger (a read-only
// connection; on PostgreSQL one of its own), open calls from its /metrics.

import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { dirname, join } from 'node:path';
import sqlite3 from 'sqlite3';
import type { LedgerTarget } from '../src/ledger/ledger';
import type { PgDatabase } from '../src/ledger/postgres';

export const ROOT = join(__dirname, '..', '..');
export const MCTB_BIN = join(ROOT, 'bin', 'mctb');

/** Set high so caps never change the work: every missed call of a valid number is texted. */
const NO_CAP = 100_000_000;

export interface ConfigOptions {
  amiPort: number;
  /** An SQLite file's path, or a ledger in PostgreSQL (its password goes in a file next to the config). */
  ledger: string | LedgerTarget;
  /** The daemon's site (config `site`), written only for a PostgreSQL ledger. */
  site?: string;
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
  const target: LedgerTarget = typeof o.ledger === 'string' ? { driver: 'sqlite', path: o.ledger } : o.ledger;
  let ledger = `ledger: { path: ${JSON.stringify(target.driver === 'sqlite' ? target.path : '')} }`;
  if (target.driver === 'postgres') {
    // As in production: the URL without its password, the password in a file of its own.
    const passwordFile = `${file.replace(/\.yaml$/, '')}.ledger.password`;
    writeFileSync(passwordFile, `${target.password ?? ''}\n`, { mode: 0o600 });
    ledger = `site: ${o.site ?? 'bench'}\nledger: { driver: postgres, url: ${JSON.stringify(withoutPassword(target.url))}, password_file: ${JSON.stringify(passwordFile)} }`;
  }
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
${ledger}
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

/** A postgres:// URL with no password in it (the config's ledger.url must have none). */
export function withoutPassword(url: string): string {
  const u = new URL(url);
  u.password = '';
  return u.toString();
}

/** The bytes a ledger takes: the SQLite file with its WAL; in PostgreSQL its tables with their indexes and TOAST. */
export async function ledgerSize(target: LedgerTarget): Promise<number> {
  if (target.driver === 'sqlite') return ledgerBytes(target.path);
  const probe = await LedgerProbe.open(target);
  try {
    const row = await probe.get<{ bytes: number }>(
      `SELECT COALESCE(SUM(pg_total_relation_size(c.oid)), 0) AS bytes FROM pg_class c
       WHERE c.relkind IN ('r', 'm') AND c.relnamespace = to_regnamespace(current_schema())`,
    );
    return row.bytes;
  } finally {
    await probe.close();
  }
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

/**
 * A look into the daemon's ledger from outside: on SQLite a read-only connection (WAL readers
 * never block its writer); on PostgreSQL a small pool of its own, through the ledger's own
 * driver (src/ledger/postgres.ts), so the same SQLite-dialect queries serve both.
 */
export class LedgerProbe {
  private constructor(
    private readonly db: sqlite3.Database | undefined,
    private readonly pg: PgDatabase | undefined,
  ) {}

  static async open(where: string | LedgerTarget): Promise<LedgerProbe> {
    const target: LedgerTarget = typeof where === 'string' ? { driver: 'sqlite', path: where } : where;
    if (target.driver === 'postgres') {
      const { PgDatabase: Pg } = await import('../src/ledger/postgres');
      return new LedgerProbe(undefined, await Pg.open({ url: target.url, password: target.password, max: 2, applicationName: 'mctb bench probe' }));
    }
    return new Promise((resolve, reject) => {
      const db = new sqlite3.Database(target.path, sqlite3.OPEN_READONLY, (err) => (err ? reject(err) : resolve(new LedgerProbe(db, undefined))));
    });
  }

  async get<T>(sql: string): Promise<T> {
    if (this.pg) return (await this.pg.get<T>(sql)) as T;
    return new Promise((resolve, reject) => this.db!.get(sql, (err, row) => (err ? reject(err) : resolve(row as T))));
  }

  all<T>(sql: string): Promise<T[]> {
    if (this.pg) return this.pg.all<T>(sql);
    return new Promise((resolve, reject) => this.db!.all(sql, (err, rows) => (err ? reject(err) : resolve(rows as T[]))));
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
    if (this.pg) return this.pg.close();
    return new Promise((resolve) => this.db!.close(() => resolve()));
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
