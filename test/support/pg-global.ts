// Mocha global fixtures (.mocharc.json "require"): one throwaway PostgreSQL cluster for the whole
// run (test/support/pg-cluster.ts), its URL in MCTB_TEST_PG_URL and the rest in MCTB_TEST_PG_DIR,
// _PORT, _PASSWORD, _BIN, so a test file rebuilds the handle with clusterFromEnv(). With
// MCTB_TEST_PG_URL already set, that database is used and nothing is started.
//
// A run that ends without the teardown leaves no server behind: a process 'exit' handler stops it
// at once (pg_ctl stop -m immediate) and removes the folder, and a small detached watchdog does
// the same a few seconds after this process is gone, for the deaths 'exit' never hears of
// (SIGKILL, or Ctrl-C: pg_ctl puts the server in its own session, so the terminal's SIGINT does
// not reach it).

import { spawn, type ChildProcess } from 'node:child_process';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { serverArgv, startPgCluster, stopImmediateSync, type PgCluster } from './pg-cluster';

let cluster: PgCluster | undefined;
let watchdog: ChildProcess | undefined;

export async function mochaGlobalSetup(): Promise<void> {
  if (process.env.MCTB_TEST_PG_URL) return;
  cluster = await startPgCluster();
  process.env.MCTB_TEST_PG_URL = cluster.url;
  process.env.MCTB_TEST_PG_DIR = cluster.dir;
  process.env.MCTB_TEST_PG_PORT = String(cluster.port);
  process.env.MCTB_TEST_PG_PASSWORD = cluster.password;
  process.env.MCTB_TEST_PG_BIN = cluster.bin;
  process.once('exit', stopNow);
  watchdog = startWatchdog(cluster);
}

export async function mochaGlobalTeardown(): Promise<void> {
  const c = cluster;
  if (!c) return;
  cluster = undefined;
  process.removeListener('exit', stopNow);
  try {
    await c.destroy();
  } finally {
    stopWatchdog();
    for (const k of ['URL', 'DIR', 'PORT', 'PASSWORD', 'BIN']) delete process.env[`MCTB_TEST_PG_${k}`];
  }
}

/** process 'exit': only synchronous work runs here. */
function stopNow(): void {
  const c = cluster;
  if (!c) return;
  cluster = undefined;
  try {
    stopImmediateSync(c);
  } catch {
    // not running any more (or pg_ctl failed): the folder goes all the same
  }
  rmSync(c.dir, { recursive: true, force: true });
  stopWatchdog();
}

/** A detached sh that waits for this process to end, then stops the server and removes its folder. */
function startWatchdog(c: PgCluster): ChildProcess {
  const stop = serverArgv(join(c.bin, 'pg_ctl'), ['-D', join(c.dir, 'data'), 'stop', '-m', 'immediate']);
  const script = 'p=$1; d=$2; shift 2; while kill -0 "$p" 2>/dev/null; do sleep 2; done; [ -d "$d" ] || exit 0; "$@" >/dev/null 2>&1; rm -rf "$d"';
  const child = spawn('/bin/sh', ['-c', script, 'mctb-pg-watchdog', String(process.pid), c.dir, ...stop], { cwd: '/', detached: true, stdio: 'ignore' });
  child.on('error', () => undefined);
  child.unref();
  return child;
}

function stopWatchdog(): void {
  const pid = watchdog?.pid;
  watchdog = undefined;
  if (pid === undefined) return;
  try {
    process.kill(-pid, 'SIGTERM'); // its own process group (detached): the sh and its sleep
  } catch {
    // already gone
  }
}
