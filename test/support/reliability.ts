// Support for test/reliability: a seeded PRNG (runs are reproducible), missed calls made from one
// real capture, the config the real `mctb run` reads, starting it (optionally inside its own
// small disk), reading its ledger from outside, and GET /healthz.

import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { closeSync, copyFileSync, openSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import http from 'node:http';
import sqlite3 from 'sqlite3';
import { loadCapture, rewriteCapture } from '../../src/demo/ami-replay';
import { SqliteFile } from '../../src/ledger/sqlite';
import { MCTB_BIN } from './cli';
import { sleep, tempDir } from './harness';

/** mulberry32: small, fast, good enough to pick kill moments and mutations reproducibly. */
export class Prng {
  private state: number;
  constructor(readonly seed: number) {
    this.state = seed >>> 0;
  }
  next(): number {
    let t = (this.state = (this.state + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  /** An integer in [lo, hi]. */
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.next() * (hi - lo + 1));
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
  pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.next() * items.length)]!;
  }
  bytes(n: number): Buffer {
    const b = Buffer.alloc(n);
    for (let i = 0; i < n; i++) b[i] = Math.floor(this.next() * 256);
    return b;
  }
}

/**
 * The seed of one test: MCTB_SEED when set (to replay a failure), else the test's fixed default.
 * Logged, so a failing run says how to repeat it.
 */
export function seeded(test: string, fallback: number): Prng {
  const env = process.env.MCTB_SEED;
  const seed = env !== undefined && env !== '' ? Number(env) >>> 0 : fallback >>> 0;
  console.log(`      [${test}] seed ${seed} (MCTB_SEED=${seed} repeats this run)`);
  return new Prng(seed);
}

export interface MissedCall {
  /** The call's Linkedid: its id in the ledger. */
  callId: string;
  number: string;
  /** The whole call as the PBX writes it. */
  events: string;
}

const captures = new Map<string, string>();

/**
 * Call `i` (1, 2, ...) of a run: a real capture (`noanswer` by default: missed, texted) with its
 * Uniqueid/Linkedid epochs moved by i*100 s (fresh ids) and the caller replaced by `number`.
 */
export function missedCall(i: number, number: string, capture = 'noanswer'): MissedCall {
  let events = captures.get(capture);
  if (events === undefined) captures.set(capture, (events = loadCapture(capture)));
  const caller = CAPTURE_CALLERS[capture];
  if (!caller) throw new Error(`no caller known for capture ${capture}`);
  const out = rewriteCapture(events, i * 100, { [caller.slice(1)]: number.replace(/^\+/, '') });
  const callId = /^Linkedid: (\S+)/im.exec(out)?.[1];
  if (!callId) throw new Error(`capture ${capture} has no Linkedid`);
  return { callId, number, events: out };
}

/** The caller of each capture used here, and the DID it dialled. */
export const CAPTURE_CALLERS: Record<string, string> = {
  noanswer: '+14155550123',
  busy: '+13125550147',
  answered: '+16175550110',
  voicemail: '+13055550172',
};
export const CAPTURE_DIDS: Record<string, string> = {
  noanswer: '+15550001000',
  busy: '+15550001001',
  answered: '+15550001003',
  voicemail: '+15550001005',
};

/** `+1312555` and four digits: distinct callers (one 10,000-number block: per_prefix_per_hour must be high). */
export function callerNumber(i: number): string {
  return `+1312555${String(i).padStart(4, '0')}`;
}

/** No cap gets in the way of a test that texts hundreds of callers of one number block. */
export const NO_LIMITS = { per_hour: 1_000_000, per_day: 1_000_000, per_prefix_per_hour: 1_000_000 };

/** mctb.yaml for the real `mctb run` (as test/support/cli.ts `yamlConfig`, with the knobs these tests need). */
export function reliabilityYaml(o: {
  amiPort: number;
  smppPort: number;
  ledger: string;
  tps?: number;
  grace?: string;
  http?: boolean;
  businesses?: string;
  level?: 'info' | 'debug';
  /** ledger.late_after */
  lateAfter?: string;
  site?: string;
}): string {
  const businesses =
    o.businesses ??
    `  - name: Brightside Dental
    dids: ["+15550001000", "+15550001001", "+15550001003"]
`;
  return `asterisk:
  ami: { host: 127.0.0.1, port: ${o.amiPort}, username: mctb, secret: "s3cret", ping_interval: 5s, check_presentation: false }
  inbound_contexts: [from-trunk]
  decision_grace: ${o.grace ?? '100ms'}
sms:
  transport: smpp
  smpp: { host: 127.0.0.1, port: ${o.smppPort}, system_id: mctb, password: "pw", source_addr: "+15550001000", tps: ${o.tps ?? 500}, enquire_link: 5s }
ledger: { ${o.ledger.startsWith('postgres') ? `driver: postgres, url: ${JSON.stringify(o.ledger)}` : `path: ${JSON.stringify(o.ledger)}`}${o.lateAfter ? `, late_after: ${o.lateAfter}` : ''} }
${o.site ? `site: ${o.site}\n` : ''}
numbers: { default_country: US }
${o.http ? 'http: { listen: "127.0.0.1:0" }\n' : ''}defaults:
  timezone: America/Chicago
  delay: 0s
  dedupe_window: 1h
  limits: { per_hour: ${NO_LIMITS.per_hour}, per_day: ${NO_LIMITS.per_day}, per_prefix_per_hour: ${NO_LIMITS.per_prefix_per_hour} }
businesses:
${businesses}log: { level: ${o.level ?? 'info'}, format: text }
`;
}

export interface MctbProcess {
  child: ChildProcess;
  pid: number;
  log: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Where this process sees `path` (through /proc/PID/root when it runs in its own mount namespace). */
  pathOf(path: string): string;
  /** Port of /healthz, read from its log line "health and metrics listening". */
  healthPort(timeoutMs?: number): Promise<number>;
}

/**
 * Starts `mctb run -c configFile`. With `tmpfs`, it runs in a user + mount namespace of its own
 * (`unshare -rm`, which needs no privilege where unprivileged user namespaces are allowed) with a
 * tmpfs of `sizeKb` mounted on `tmpfs.dir`: a small disk of its own that the test can fill up
 * through /proc/PID/root/<dir> and free again, while nothing outside sees the mount.
 */
export function startMctb(configFile: string, opts: { tmpfs?: { dir: string; sizeKb: number }; env?: NodeJS.ProcessEnv } = {}): MctbProcess {
  const env = opts.env ? { ...process.env, ...opts.env } : process.env;
  const node = process.execPath;
  const child = opts.tmpfs
    ? spawn(
        'unshare',
        ['--user', '--map-root-user', '--mount', 'sh', '-c', `mount -t tmpfs -o size=${opts.tmpfs.sizeKb}k mctb-test "$0" && exec "$@"`, opts.tmpfs.dir, node, MCTB_BIN, 'run', '-c', configFile],
        { stdio: ['ignore', 'pipe', 'pipe'], env },
      )
    : spawn(node, [MCTB_BIN, 'run', '-c', configFile], { stdio: ['ignore', 'pipe', 'pipe'], env });
  let log = '';
  child.stdout!.on('data', (c) => (log += c));
  child.stderr!.on('data', (c) => (log += c));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  const pid = child.pid!;
  return {
    child,
    pid,
    log: () => log,
    exited,
    // unshare execs sh, which execs node: one pid throughout.
    pathOf: (path) => (opts.tmpfs ? `/proc/${pid}/root${path}` : path),
    async healthPort(timeoutMs = 15_000) {
      const until = Date.now() + timeoutMs;
      for (;;) {
        const m = /127\.0\.0\.1:(\d+)\/healthz/.exec(log);
        if (m) return Number(m[1]);
        if (child.exitCode !== null || Date.now() > until) throw new Error(`mctb did not open /healthz\n${log}`);
        await sleep(25);
      }
    },
  };
}

/** Whether `unshare -rm` + a tmpfs mount work on this machine (the disk-full test needs them). */
export function canMountPrivateTmpfs(): { ok: boolean; why: string } {
  const r = spawnSync('unshare', ['--user', '--map-root-user', '--mount', 'sh', '-c', 'd=$(mktemp -d) && mount -t tmpfs -o size=64k t "$d" && umount "$d"; rc=$?; rmdir "$d"; exit $rc'], { encoding: 'utf8' });
  return { ok: r.status === 0, why: `${r.error?.message ?? ''}${r.stderr ?? ''}`.trim() };
}

/**
 * Fills the file system holding `dir` with one file until a one-byte write fails (ENOSPC);
 * returns the file, to be removed when the disk should recover.
 */
export function fillDisk(dir: string): { file: string; bytes: number; free: () => void } {
  const file = `${dir}/zz-filler`;
  const fd = openSync(file, 'w');
  let bytes = 0;
  try {
    for (const size of [1 << 20, 1 << 16, 1 << 12, 1]) {
      const chunk = Buffer.alloc(size, 0x5a);
      for (;;) {
        try {
          const n = writeSync(fd, chunk);
          bytes += n;
          if (n < size) break;
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code === 'ENOSPC') break;
          throw err;
        }
      }
    }
  } finally {
    closeSync(fd);
  }
  return { file, bytes, free: () => rmSync(file, { force: true }) };
}

/**
 * A copy of a live ledger (the file and its -wal), opened on its own: for a ledger SQLite cannot
 * open where it is, e.g. behind /proc/PID/root (SQLite resolves that symlink to "/", outside the
 * daemon's mount namespace). A frame still being written is cut by its checksum: the copy holds
 * the committed transactions.
 */
export async function ledgerSnapshot<T>(path: string, fn: (db: SqliteFile) => Promise<T>): Promise<T> {
  const { dir, cleanup } = tempDir('mctb-ledger-copy-');
  try {
    const copy = join(dir, 'copy.db');
    copyFileSync(path, copy);
    try {
      copyFileSync(`${path}-wal`, `${copy}-wal`);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    const db = await SqliteFile.open(copy);
    try {
      return await fn(db);
    } finally {
      await db.close();
    }
  } finally {
    cleanup();
  }
}

/** The ledger of a running daemon, read-only, from outside (WAL: reading never blocks it). */
export async function openLedgerReader(path: string, timeoutMs = 15_000): Promise<SqliteFile> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    try {
      const db = await SqliteFile.open(path, sqlite3.OPEN_READONLY);
      await db.run('PRAGMA busy_timeout = 5000');
      await db.get("SELECT 1 FROM calls LIMIT 1"); // migrated already
      return db;
    } catch (err) {
      if (Date.now() > until) throw err;
      await sleep(50);
    }
  }
}

export interface HealthAnswer {
  status: number;
  body: { ok: boolean; pbx: { up: boolean }; sms: { up: boolean }; ledger: { up: boolean; error?: string }; retry_queue: { calls: number; dropped: number }; role?: 'active' | 'standby'; site?: string };
}

export function getHealth(port: number): Promise<HealthAnswer> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path: '/healthz', timeout: 5000 }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c) => (text += c));
      res.on('end', () => {
        try {
          resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) });
        } catch (err) {
          reject(err);
        }
      });
    });
    req.on('timeout', () => req.destroy(new Error('healthz timed out')));
    req.on('error', reject);
  });
}

/** Counts per key. */
export function tally<T>(items: readonly T[], key: (t: T) => string): Map<string, number> {
  const m = new Map<string, number>();
  for (const it of items) m.set(key(it), (m.get(key(it)) ?? 0) + 1);
  return m;
}
