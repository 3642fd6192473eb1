// A real, throwaway PostgreSQL cluster for the tests: initdb in a new temp folder, one server on
// 127.0.0.1 at a free port (its unix socket inside the folder too), durability off (fsync,
// synchronous_commit, full_page_writes), a database `mctb` owned by the superuser `mctb` whose
// random password only this run knows (scram-sha-256). Debian's server binaries are found in
// $MCTB_PG_BIN or the newest /usr/lib/postgresql/*/bin (scripts/test-deps.sh installs them).
//
// PostgreSQL refuses to run as root: as root the folder is handed to the `postgres` user and
// initdb/pg_ctl run through `runuser -u postgres --` (or `su postgres`). Queries go through psql
// from the same bin folder, over TCP with the password in the URL.
//
// test/support/pg-global.ts starts one cluster for the whole mocha run; a test file gets a handle
// on it with clusterFromEnv() and a clean, empty schema of its own with freshSchema().

import { execFile, execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { appendFileSync, existsSync, lchownSync, lstatSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import net, { type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

export interface PgCluster {
  /** postgres://mctb:PASSWORD@127.0.0.1:PORT/mctb */
  url: string;
  password: string;
  port: number;
  /** The temp folder: data/ (PGDATA), server.log, and the unix socket. */
  dir: string;
  /** The PostgreSQL bin folder (initdb, pg_ctl, psql). */
  bin: string;
  /** pg_ctl stop -m fast; nothing when it is not running. */
  stop(): Promise<void>;
  /** Starts it again: same folder, same port (a "database goes away for 20 s" test). */
  start(): Promise<void>;
  /** stop() and remove the temp folder. */
  destroy(): Promise<void>;
  /**
   * A fresh, empty schema; returns a URL whose connections use it as search_path
   * (options=-c search_path=NAME, URL-encoded), so each test gets a clean ledger cheaply.
   */
  freshSchema(prefix?: string): Promise<string>;
}

const USER = 'mctb';
const DATABASE = 'mctb';
const SERVER_USER = 'postgres';
/** A unix socket path is at most 107 bytes: `<dir>/.s.PGSQL.65535` must fit. */
const MAX_BASE_LENGTH = 80;
const PG_CTL_WAIT_S = 60;

/** $MCTB_PG_BIN, or the newest /usr/lib/postgresql/*\/bin that has initdb and pg_ctl. */
export function pgBinDir(): string | undefined {
  const fromEnv = process.env.MCTB_PG_BIN;
  if (fromEnv) return fromEnv;
  const root = '/usr/lib/postgresql';
  let versions: string[];
  try {
    versions = readdirSync(root);
  } catch {
    return undefined;
  }
  const byNewest = versions.sort((a, b) => b.localeCompare(a, 'en', { numeric: true }));
  return byNewest.map((v) => join(root, v, 'bin')).find((bin) => existsSync(join(bin, 'initdb')) && existsSync(join(bin, 'pg_ctl')));
}

/** Starts a new cluster (about a second or two: initdb without sync, then pg_ctl start -w). */
export async function startPgCluster(): Promise<PgCluster> {
  const bin = pgBinDir();
  if (!bin || !existsSync(join(bin, 'initdb')) || !existsSync(join(bin, 'pg_ctl'))) {
    throw new Error(
      `PostgreSQL server binaries not found (initdb, pg_ctl) in ${bin ?? '$MCTB_PG_BIN or /usr/lib/postgresql/*/bin'}: ` +
        'install Debian\'s postgresql package (scripts/test-deps.sh does) or point MCTB_PG_BIN at a bin folder',
    );
  }
  const owner = serverOwner();
  const dir = mkdtempSync(join(baseDir(owner), 'mctb-pg-'));
  const password = randomBytes(18).toString('hex');
  let handle: PgCluster | undefined;
  try {
    const pwfile = join(dir, 'pwfile');
    writeFileSync(pwfile, `${password}\n`, { mode: 0o600 });
    if (owner) chownTree(dir, owner.uid, owner.gid);
    await initdb(bin, dir, pwfile);
    rmSync(pwfile, { force: true });

    // The settings go in postgresql.conf, so start() needs nothing but the folder. A later
    // `port = ` line wins over an earlier one: a port taken in between is retried with another.
    appendFileSync(
      join(dir, 'data', 'postgresql.conf'),
      [
        '',
        '# mctb tests: a throwaway cluster on loopback',
        "listen_addresses = '127.0.0.1'",
        `unix_socket_directories = '${dir.replace(/'/g, "''")}'`,
        'fsync = off',
        'synchronous_commit = off',
        'full_page_writes = off',
        'max_connections = 200',
        '',
      ].join('\n'),
    );
    let port = 0;
    for (let attempt = 1; ; attempt++) {
      port = await freePort();
      appendFileSync(join(dir, 'data', 'postgresql.conf'), `port = ${port}\n`);
      try {
        await pgCtlStart(bin, dir);
        break;
      } catch (e) {
        if (attempt < 3 && /could not bind|already in use/i.test(logTail(dir))) continue;
        throw e;
      }
    }
    handle = makeHandle({ url: clusterUrl(password, port, DATABASE), password, port, dir, bin });
    await psql(clusterUrl(password, port, 'postgres'), `CREATE DATABASE ${DATABASE} OWNER ${USER}`, bin).catch((e: Error) => {
      throw new Error(`creating database ${DATABASE} in the test cluster failed: ${e.message}`);
    });
    return handle;
  } catch (e) {
    // Leave nothing behind: no server, no folder.
    try {
      if (existsSync(join(dir, 'data', 'postmaster.pid'))) stopImmediateSync({ dir, bin });
    } catch {
      // the error below says what failed first
    }
    rmSync(dir, { recursive: true, force: true });
    throw e;
  }
}

/**
 * The handle on the cluster pg-global.ts started for this run, rebuilt from MCTB_TEST_PG_URL
 * (and MCTB_TEST_PG_DIR, _PORT, _PASSWORD, _BIN); starts nothing. With only the URL (a database
 * given from outside) freshSchema() works, and stop()/start()/destroy() say they cannot.
 */
export function clusterFromEnv(): PgCluster {
  const env = process.env;
  const url = env.MCTB_TEST_PG_URL;
  if (!url) throw new Error('MCTB_TEST_PG_URL is not set: mocha did not run test/support/pg-global.js (the "require" in .mocharc.json)');
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new Error('MCTB_TEST_PG_URL is not a postgres:// URL');
  }
  return makeHandle({
    url,
    password: env.MCTB_TEST_PG_PASSWORD ?? decodeURIComponent(parsed.password),
    port: Number(env.MCTB_TEST_PG_PORT ?? (parsed.port || 5432)),
    dir: env.MCTB_TEST_PG_DIR ?? '',
    bin: env.MCTB_TEST_PG_BIN ?? pgBinDir() ?? '',
  });
}

/**
 * Runs one SQL text with psql (-X -A -t, ON_ERROR_STOP) and returns its output, trimmed: rows
 * one a line, columns split by `|`. Fails with psql's message (the password left out).
 */
export function psql(url: string, sql: string, bin = pgBinDir() ?? ''): Promise<string> {
  const psqlPath = join(bin, 'psql');
  const env: NodeJS.ProcessEnv = { ...withoutPgVars(process.env), PGCONNECT_TIMEOUT: '5' };
  return new Promise((resolve, reject) => {
    execFile(psqlPath, ['-X', '-q', '-A', '-t', '-v', 'ON_ERROR_STOP=1', '-d', url, '-c', sql], { env, cwd: '/', timeout: 60_000 }, (err, stdout, stderr) => {
      if (err) {
        const why = stderr.trim() || err.message;
        reject(new Error(`psql (${redact(url)}) failed: ${why.split(url).join(redact(url))}`));
      } else {
        resolve(stdout.trim());
      }
    });
  });
}

/**
 * Stops the server at once, synchronously (`pg_ctl stop -m immediate`), for process 'exit'
 * handlers where nothing asynchronous runs any more. Throws when pg_ctl fails.
 */
export function stopImmediateSync(c: Pick<PgCluster, 'dir' | 'bin'>): void {
  const [cmd, ...args] = serverArgv(join(c.bin, 'pg_ctl'), ['-D', join(c.dir, 'data'), '-w', '-t', '20', 'stop', '-m', 'immediate']);
  execFileSync(cmd, args, { cwd: '/', env: withoutPgVars(process.env), stdio: 'ignore', timeout: 30_000 });
}

/**
 * The argv that runs a PostgreSQL tool as the user the server runs as: as-is when we are not
 * root; as root through `runuser -u postgres --`, or `su postgres -s /bin/sh -c` without runuser.
 */
export function serverArgv(cmd: string, args: string[]): string[] {
  if (!isRoot()) return [cmd, ...args];
  const runuser = ['/usr/sbin/runuser', '/sbin/runuser', '/usr/bin/runuser'].find((p) => existsSync(p));
  if (runuser) return [runuser, '-u', SERVER_USER, '--', cmd, ...args];
  return ['su', SERVER_USER, '-s', '/bin/sh', '-c', [cmd, ...args].map(shellQuote).join(' ')];
}

// -- the handle ------------------------------------------------------------------------------

let schemaCounter = 0;

function makeHandle(h: { url: string; password: string; port: number; dir: string; bin: string }): PgCluster {
  const local = (what: string): void => {
    if (!h.dir) throw new Error(`cannot ${what} the test database: MCTB_TEST_PG_URL was given from outside (no MCTB_TEST_PG_DIR), so this run has no server of its own`);
  };
  const data = join(h.dir, 'data');
  const running = async (): Promise<boolean> => {
    // pg_ctl status: 0 running, 3 not running, 4 no data directory.
    try {
      await run(h.bin, h.dir, 'pg_ctl', ['-D', data, 'status']);
      return true;
    } catch {
      return false;
    }
  };
  const stop = async (): Promise<void> => {
    local('stop');
    if (!existsSync(join(data, 'postmaster.pid'))) return;
    try {
      await run(h.bin, h.dir, 'pg_ctl', ['-D', data, '-w', '-t', String(PG_CTL_WAIT_S), 'stop', '-m', 'fast']);
    } catch (e) {
      if (await running()) throw e;
    }
  };
  return {
    ...h,
    stop,
    async start() {
      local('start');
      if (await running()) return;
      await pgCtlStart(h.bin, h.dir);
    },
    async destroy() {
      local('destroy');
      try {
        await stop();
      } finally {
        rmSync(h.dir, { recursive: true, force: true });
      }
    },
    async freshSchema(prefix = 't') {
      const clean = prefix.toLowerCase().replace(/[^a-z0-9_]/g, '_').replace(/^([^a-z_])/, '_$1').slice(0, 40);
      const name = `${clean}_${++schemaCounter}_${randomBytes(4).toString('hex')}`;
      await psql(h.url, `CREATE SCHEMA "${name}"`, h.bin).catch((e: Error) => {
        throw new Error(`creating schema ${name} failed: ${e.message}`);
      });
      return withSearchPath(h.url, name);
    },
  };
}

/** The URL with `options=-c search_path=NAME` (percent-encoded: libpq does not read `+` as a space). */
function withSearchPath(url: string, schema: string): string {
  const q = url.indexOf('?');
  const base = q < 0 ? url : url.slice(0, q);
  const params = (q < 0 ? '' : url.slice(q + 1)).split('&').filter((p) => p && !p.startsWith('options='));
  params.push(`options=${encodeURIComponent(`-c search_path=${schema}`)}`);
  return `${base}?${params.join('&')}`;
}

function clusterUrl(password: string, port: number, database: string): string {
  return `postgres://${USER}:${encodeURIComponent(password)}@127.0.0.1:${port}/${database}`;
}

function redact(url: string): string {
  return url.replace(/\/\/([^:/@]*):[^@]*@/, '//$1:***@');
}

// -- running the server's tools ----------------------------------------------------------------

async function initdb(bin: string, dir: string, pwfile: string): Promise<void> {
  const args = (locale: string): string[] => [
    '-D', join(dir, 'data'), '--auth=scram-sha-256', '-U', USER, `--pwfile=${pwfile}`, '-E', 'UTF8', `--locale=${locale}`, '--no-sync',
  ];
  try {
    await run(bin, dir, 'initdb', args('C.UTF-8'));
  } catch (e) {
    // Without the C.UTF-8 locale (older C libraries), plain C: same byte order, ASCII-only ctype.
    if (!/locale/i.test((e as Error).message)) throw e;
    rmSync(join(dir, 'data'), { recursive: true, force: true });
    await run(bin, dir, 'initdb', args('C'));
  }
}

async function pgCtlStart(bin: string, dir: string): Promise<void> {
  const log = join(dir, 'server.log');
  try {
    await run(bin, dir, 'pg_ctl', ['-D', join(dir, 'data'), '-l', log, '-w', '-t', String(PG_CTL_WAIT_S), 'start']);
  } catch (e) {
    throw new Error(`${(e as Error).message}\n--- last lines of the server log ${log}:\n${logTail(dir) || '(empty)'}`);
  }
}

function logTail(dir: string, lines = 25): string {
  try {
    return readFileSync(join(dir, 'server.log'), 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '';
  }
}

/** Runs bin/tool as the server's user, in the cluster's folder (postgres may not enter our cwd). */
function run(bin: string, dir: string, tool: string, args: string[]): Promise<{ stdout: string; stderr: string }> {
  const [cmd, ...argv] = serverArgv(join(bin, tool), args);
  return new Promise((resolve, reject) => {
    execFile(cmd, argv, { cwd: dir, env: withoutPgVars(process.env), timeout: (PG_CTL_WAIT_S + 30) * 1000 }, (err, stdout, stderr) => {
      if (err) {
        const how = err.killed ? 'timed out' : `exit ${String(err.code ?? err.signal)}`;
        const as = cmd === join(bin, tool) ? '' : ` (as ${SERVER_USER} via ${cmd})`;
        reject(new Error(`${tool} ${args.join(' ')}${as} failed (${how}): ${stderr.trim() || stdout.trim() || err.message}`));
      } else {
        resolve({ stdout, stderr });
      }
    });
  });
}

/** PG* variables (PGDATA, PGPORT, PGOPTIONS…) from the caller's shell must not steer the tools. */
function withoutPgVars(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(env).filter(([k]) => !k.startsWith('PG')));
}

function shellQuote(s: string): string {
  return `'${s.replace(/'/g, "'\\''")}'`;
}

// -- root: the folder belongs to postgres ------------------------------------------------------

function isRoot(): boolean {
  return process.getuid?.() === 0;
}

/** As root, the uid/gid of the `postgres` user the server runs as; undefined when not root. */
function serverOwner(): { uid: number; gid: number } | undefined {
  if (!isRoot()) return undefined;
  try {
    const id = (flag: string): number => Number(execFileSync('id', [flag, SERVER_USER], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim());
    return { uid: id('-u'), gid: id('-g') };
  } catch {
    throw new Error(`PostgreSQL refuses to run as root, and there is no "${SERVER_USER}" user to run it as: install Debian's postgresql package, or run the tests as another user`);
  }
}

/**
 * Where to make the temp folder: os.tmpdir(), unless (as root) the postgres user could not reach
 * it (a parent folder without o+x, like /root) or the socket path would be too long; then /tmp.
 */
function baseDir(owner: { uid: number } | undefined): string {
  const candidates = [tmpdir(), '/tmp', '/var/tmp'];
  const ok = candidates.find((c) => c.length <= MAX_BASE_LENGTH && (!owner || reachable(c, owner.uid)));
  if (!ok) throw new Error(`no temp folder the ${SERVER_USER} user can reach (tried ${candidates.join(', ')}): every parent folder needs o+x`);
  return ok;
}

function reachable(path: string, uid: number): boolean {
  try {
    for (let p = path; ; p = dirname(p)) {
      const st = statSync(p);
      if (!st.isDirectory() || (st.uid !== uid && (st.mode & 0o001) === 0)) return false;
      if (dirname(p) === p) return true;
    }
  } catch {
    return false;
  }
}

function chownTree(path: string, uid: number, gid: number): void {
  lchownSync(path, uid, gid);
  if (lstatSync(path).isDirectory()) for (const name of readdirSync(path)) chownTree(join(path, name), uid, gid);
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolve(port));
    });
  });
}
