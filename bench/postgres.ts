// The PostgreSQL phase: mctb on PostgreSQL beside SQLite, same machine, same run. The same phases
// as the rest of the bench (latency, report, console), each run once per engine, the ledger the
// only difference: an SQLite file in the run's folder, or a schema of its own in one throwaway
// PostgreSQL cluster (test/support/pg-cluster.ts) that this phase starts and removes.
//
//   texts/s and p99 hangup → submit_sm at 100 calls/s      (latency)
//   mctb report --since 365d --json over 1M and 10M calls  (report)
//   the console's pages over 1M calls                      (console)
//
// The server is PostgreSQL as Debian installs it (shared_buffers 128 MB, work_mem 4 MB...), and
// durable as in production (fsync, synchronous_commit, full_page_writes on: the test cluster's
// settings turned back), max_wal_size raised to 4 GB for the big loads. A load commits without
// waiting for its flush, as SQLite's build runs with synchronous = OFF, and ends with VACUUM
// (ANALYZE) and a CHECKPOINT (bench/phases.ts buildPgLedger).
// The figures of SQLite the full run measured already (latency at 100/s, report over 1M calls,
// the console) are taken from those phases, not measured twice.

import { rmSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import type { LedgerTarget } from '../src/ledger/ledger';
import { startPgCluster, stopImmediateSync, type PgCluster } from '../test/support/pg-cluster';
import { consolePhase, type ConsoleResult, type ConsoleScale } from './console';
import { withoutPassword } from './mctb';
import { latency, report, type Context, type Progress, type RateResult, type ReportResult } from './phases';
import { round, table } from './stats';

export interface PostgresScale {
  /** The latency phase at 100 calls/s: seconds offered, seconds of drain. */
  latencySeconds: number;
  drainSeconds: number;
  /** Ledgers `mctb report` runs over (full run: 1M and 10M calls). */
  reportCalls: number[];
  console: ConsoleScale;
}

/** Figures of SQLite an earlier phase of this run measured (the full run): not measured again. */
export interface SqliteEarlier {
  latency100?: RateResult;
  report?: ReportResult;
  console?: ConsoleResult;
}

type Engine = 'sqlite' | 'postgres';

export interface PostgresResult {
  /** The server and the settings that matter for these figures. */
  server: { version: string; settings: Record<string, string> };
  /** mctb at 100 calls/s on each engine. */
  latency: Record<Engine, RateResult>;
  report: ({ calls: number } & Record<Engine, ReportResult>)[];
  console: Record<Engine, ConsoleResult>;
  /** SQLite figures taken from the earlier phases of this run rather than measured here. */
  sqlite_from_earlier_phases: string[];
  /** Wall time of each part, s (a report's and the console's include building the ledger). */
  seconds: Record<string, number>;
}

const RATE = 100;

export async function postgresPhase(ctx: Context, scale: PostgresScale, earlier: SqliteEarlier = {}): Promise<PostgresResult> {
  const seconds: Record<string, number> = {};
  const timed = async <T>(part: string, fn: () => Promise<T>): Promise<T> => {
    const t0 = performance.now();
    try {
      return await fn();
    } finally {
      seconds[part] = round((performance.now() - t0) / 1000, 1)!;
      ctx.log(`  (${part}: ${seconds[part]} s)`);
    }
  };
  const cluster = await timed('postgres: start the cluster', () => startPgCluster());
  // Ctrl-C or a kill: the finally below does not run, so the server is stopped here.
  const onSignal = (signal: NodeJS.Signals) => {
    try {
      stopImmediateSync(cluster);
      rmSync(cluster.dir, { recursive: true, force: true });
    } finally {
      process.exit(signal === 'SIGINT' ? 130 : 143);
    }
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const admin = new pg.Client({ connectionString: cluster.url, application_name: 'mctb bench admin' });
  // A server that goes away fails the next query; unheard, the client's 'error' event would throw.
  admin.on('error', () => undefined);
  try {
    await admin.connect();
    await durable(admin);
    const server = await settings(admin);
    ctx.log(`  ${server.version}; ${Object.entries(server.settings).map(([k, v]) => `${k} ${v}`).join(', ')}`);
    const engines = ledgers(ctx, cluster);
    const on = (engine: Engine): Context => ({ ...ctx, ledger: engines[engine].make });
    const reused: string[] = [];

    // 1. The latency phase's 100 calls/s row.
    const lat = {} as Record<Engine, RateResult>;
    for (const engine of ['sqlite', 'postgres'] as const) {
      if (engine === 'sqlite' && earlier.latency100) {
        lat.sqlite = earlier.latency100;
        reused.push('latency');
        continue;
      }
      ctx.log(`  ${engine}: ${RATE} calls/s for ${scale.latencySeconds} s ...`);
      const r = await timed(`${engine}: latency at ${RATE}/s`, () => latency(on(engine), [RATE], scale.latencySeconds, scale.drainSeconds, 0));
      lat[engine] = r.rates[0];
      await engines[engine].dropAll();
    }

    // 2. mctb report over each size; each ledger dropped once measured (10M calls: some 10 GB).
    const reports: PostgresResult['report'] = [];
    for (const calls of scale.reportCalls) {
      const row = { calls } as PostgresResult['report'][number];
      for (const engine of ['sqlite', 'postgres'] as const) {
        if (engine === 'sqlite' && earlier.report?.calls === calls) {
          row.sqlite = earlier.report;
          reused.push(`report over ${calls} calls`);
          continue;
        }
        ctx.log(`  ${engine}: building a ${calls}-call ledger, then mctb report over it ...`);
        const r = await timed(`${engine}: report over ${calls} calls`, () => report(on(engine), calls, progress(ctx, engine)));
        row[engine] = r;
        ctx.log(`  ${engine}: built in ${r.build_seconds} s, ${r.ledger_bytes_per_call} bytes a call; report ${r.status === 'ok' ? `${r.median_s} s (runs ${r.runs_s?.join(', ')})` : `${r.status} ${r.error ?? ''}`}`);
        await engines[engine].dropAll();
      }
      reports.push(row);
    }

    // 3. The console over 1M calls.
    const con = {} as Record<Engine, ConsoleResult>;
    for (const engine of ['sqlite', 'postgres'] as const) {
      if (engine === 'sqlite' && earlier.console) {
        con.sqlite = earlier.console;
        reused.push('console');
        continue;
      }
      ctx.log(`  ${engine}: console over ${scale.console.calls} calls ...`);
      con[engine] = await timed(`${engine}: console over ${scale.console.calls} calls`, () => consolePhase(on(engine), scale.console, progress(ctx, engine)));
      await engines[engine].dropAll();
    }
    return { server, latency: lat, report: reports, console: con, sqlite_from_earlier_phases: reused, seconds };
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await admin.end().catch(() => undefined);
    await cluster.destroy();
  }
}

/** A build's progress: its rows every 15 s at most, and each later stage as it begins. */
function progress(ctx: Context, engine: Engine): Progress {
  const t0 = performance.now();
  let told = t0;
  let stageNow = 'rows';
  return (done, total, stage = 'rows') => {
    const now = performance.now();
    const at = `${Math.round((now - t0) / 1000)} s`;
    if (stage !== stageNow) {
      stageNow = stage;
      ctx.log(`    ${engine}: ${stage}${total > 1 ? ` (${total})` : ''}, from ${at} ...`);
    } else if (stage === 'rows' && now - told >= 15_000 && done < total) {
      told = now;
      ctx.log(`    ${engine}: ${done.toLocaleString('en-US')} of ${total.toLocaleString('en-US')} rows, ${at}`);
    }
  };
}

/** New ledgers on each engine, and their removal. */
function ledgers(ctx: Context, cluster: PgCluster): Record<Engine, { make: (name: string) => Promise<LedgerTarget>; dropAll: () => Promise<void> }> {
  const files: string[] = [];
  const schemas: string[] = [];
  return {
    sqlite: {
      make: async (name) => {
        const path = join(ctx.dir, `sqlite-${name}.db`);
        files.push(path);
        return { driver: 'sqlite', path };
      },
      dropAll: async () => {
        for (const f of files.splice(0)) for (const x of [f, `${f}-wal`, `${f}-shm`]) rmSync(x, { force: true });
      },
    },
    postgres: {
      make: async (name) => {
        const url = await cluster.freshSchema(name);
        schemas.push(/search_path=(\w+)/.exec(decodeURIComponent(new URL(url).searchParams.get('options') ?? ''))?.[1] ?? '');
        return { driver: 'postgres', url: withoutPassword(url), password: cluster.password };
      },
      dropAll: async () => {
        const c = new pg.Client({ connectionString: cluster.url });
        await c.connect();
        try {
          for (const s of schemas.splice(0)) if (s) await c.query(`DROP SCHEMA "${s}" CASCADE`);
        } finally {
          await c.end();
        }
      },
    },
  };
}

/**
 * Durable as in production (the test cluster turns fsync, synchronous_commit and full_page_writes
 * off); room in the WAL for a ten-million-call load between checkpoints. ALTER SYSTEM one
 * statement at a time: it cannot run in a transaction block.
 */
async function durable(admin: pg.Client): Promise<void> {
  for (const s of ['fsync', 'full_page_writes', 'synchronous_commit']) await admin.query(`ALTER SYSTEM SET ${s} = on`);
  await admin.query(`ALTER SYSTEM SET max_wal_size = '4GB'`);
  await admin.query('SELECT pg_reload_conf()');
}

async function settings(admin: pg.Client): Promise<PostgresResult['server']> {
  const version = (await admin.query<{ v: string }>(`SELECT split_part(version(), ' on ', 1) AS v`)).rows[0].v;
  const names = ['shared_buffers', 'work_mem', 'effective_cache_size', 'random_page_cost', 'max_wal_size', 'fsync', 'synchronous_commit', 'full_page_writes'];
  const rows = (await admin.query<{ name: string; setting: string }>(`SELECT name, current_setting(name) AS setting FROM pg_settings WHERE name = ANY($1) ORDER BY name`, [names])).rows;
  return { version, settings: Object.fromEntries(rows.map((r) => [r.name, r.setting])) };
}

// ---------------------------------------------------------------------------------------------
// The table: figure | SQLite | PostgreSQL.

export function postgresTable(p: PostgresResult): string {
  const both = <T>(r: Record<Engine, T>, f: (x: T) => string | number | undefined) => [f(r.sqlite), f(r.postgres)];
  const rep = (r: ReportResult) => (r.status === 'ok' ? r.median_s : r.status);
  const page = (c: ConsoleResult, k: keyof ConsoleResult['pages']) => c.pages[k].ms.p99;
  const n = (x: number) => x.toLocaleString('en-US');
  const c = p.console;
  const rows: (string | number | undefined)[][] = [
    [`texts/s at ${RATE} calls/s (${p.latency.postgres.seconds} s)`, ...both(p.latency, (r) => r.texts_per_s)],
    [`p50 hangup → submit_sm at ${RATE} calls/s (ms)`, ...both(p.latency, (r) => r.latency_ms.p50)],
    [`p99 hangup → submit_sm at ${RATE} calls/s (ms)`, ...both(p.latency, (r) => r.latency_ms.p99)],
    [`mctb CPU at ${RATE} calls/s`, ...both(p.latency, (r) => `${r.mctb_cpu_pct}%`)],
    ...p.report.flatMap((r) => [
      [`mctb report --since 365d --json over ${n(r.calls)} calls (s, median of 3)`, ...both(r, rep)],
      [`  ledger built in (s) / bytes a call`, ...both(r, (x) => `${x.build_seconds} / ${x.ledger_bytes_per_call}`)],
    ]),
    [`console over ${n(c.postgres.calls)} calls: GET /inbox as owner, p99 (ms)`, ...both(c, (x) => page(x, 'inbox_owner'))],
    [`  GET /inbox as staff of 1 business, p99 (ms)`, ...both(c, (x) => page(x, 'inbox_staff'))],
    [`  GET /threads/:id (busy thread) as owner, p99 (ms)`, ...both(c, (x) => page(x, 'thread_owner'))],
    [`  GET /unread as owner, p99 (ms)`, ...both(c, (x) => page(x, 'unread_owner'))],
    [`  GET /dashboard?days=90 as owner, median (ms)`, ...both(c, (x) => (x.dashboard.status === 'ok' ? x.dashboard.owner_median_ms : x.dashboard.status))],
    [`  deliver_sm → /events change, p99 (ms)`, ...both(c, (x) => x.live.latency_ms.p99)],
    [`  ledger built in (s) / MB`, ...both(c, (x) => `${x.build_seconds} / ${Math.round(x.ledger_bytes / 2 ** 20)}`)],
  ];
  const s = p.server.settings;
  const out = [
    table(['mctb on SQLite and on PostgreSQL, same machine, same run', 'SQLite', 'PostgreSQL'], rows),
    `  ${p.server.version} on loopback, one throwaway cluster: shared_buffers ${s.shared_buffers}, work_mem ${s.work_mem}, fsync ${s.fsync}, synchronous_commit ${s.synchronous_commit}`,
  ];
  if (p.sqlite_from_earlier_phases.length) out.push(`  SQLite figures from the earlier phases of this run: ${p.sqlite_from_earlier_phases.join(', ')}`);
  out.push('', table(['the PostgreSQL phase, where the time goes (a report: building its ledger, then 3 runs)', 's'], Object.entries(p.seconds)));
  return out.join('\n');
}
