// `npm run bench`: ingest, latency, memory and report figures of the real `mctb run` process
// over loopback (a replayed PBX, a loopback SMSC, a ledger file), side by side with bare
// clients on the same servers. Prints a table and writes bench/results.json.
//
//   npm run bench                  full run (about 40 minutes on 2 cores, 28 of them the PostgreSQL phase)
//   BENCH_QUICK=1 npm run bench    everything ~10x smaller, for development
//   npm run bench -- --profile     CPU profiles of mctb (ingest, 100 calls/s) and sqlite3 calls
//                                  per call, written to bench/profile.json
//   BENCH_ONLY=latency npm run bench   the latency phase alone (an A/B of a hot-path change)
//   BENCH_ONLY=console npm run bench   the console phase alone (its figures replace those in results.json)
//   BENCH_ONLY=postgres npm run bench  the PostgreSQL phase alone: latency at 100/s, report, console on
//                                      SQLite and on a throwaway PostgreSQL (its figures replace those in
//                                      results.json); the full run ends with it (SQLite figures reused)
//
// Other load on the machine skews every figure: results.json records the load average.

import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { loadScenarios, managerEventFilters, NumberPool, selfCheck, ShiftPool } from './calls';
import { consolePhase, type ConsoleResult, type ConsoleScale } from './console';
import { ROOT, serviceNodeFlags } from './mctb';
import { ingest, latency, memory, report, type Context } from './phases';
import { postgresPhase, postgresTable, type PostgresResult, type PostgresScale } from './postgres';
import { summarizeProfile, type ProfileSummary } from './profile';
import { round, table } from './stats';

const QUICK = /^(1|true|yes)$/i.test(process.env.BENCH_QUICK ?? '') || process.argv.includes('--quick');
const PROFILE = process.argv.includes('--profile');

/** memoryBudgetS: streaming and deciding the memory phase's calls together, so the full run stays under 10 minutes. */
const SCALE = QUICK
  ? { ingestRounds: 50, latencySeconds: 3, drainSeconds: 3, bareSmpp: 300, memoryCalls: 10_000, memoryBudgetS: 90, reportCalls: 100_000 }
  : { ingestRounds: 500, latencySeconds: 30, drainSeconds: 10, bareSmpp: 3000, memoryCalls: 100_000, memoryBudgetS: 270, reportCalls: 1_000_000 };
const RATES = [10, 100, 1000];
const CONSOLE: ConsoleScale = QUICK
  ? { calls: 100_000, contacts: 20_000, messages: 50_000, businesses: 10, requests: 50, dashboardRuns: 3, liveRate: 10, liveSeconds: 5, sessions: 20 }
  : { calls: 1_000_000, contacts: 200_000, messages: 500_000, businesses: 10, requests: 200, dashboardRuns: 5, liveRate: 10, liveSeconds: 20, sessions: 20 };

/** Full: report over 1M and 10M calls, the console over 1M (its scale), on both engines. */
const POSTGRES: PostgresScale = {
  latencySeconds: SCALE.latencySeconds,
  drainSeconds: SCALE.drainSeconds,
  reportCalls: QUICK ? [100_000, 1_000_000] : [1_000_000, 10_000_000],
  console: CONSOLE,
};

const TARGETS = {
  ingestRatio: 0.7,
  p99At100Ms: 25,
  rssMb: 120,
  reportS: 2,
  consolePageP99Ms: 50,
  dashboardS: 1,
  liveP99Ms: 250,
};

type Target = { figure: string; target: string; value: unknown; pass: boolean | null };

const BENCH_DIR = join(ROOT, 'bench');

function machine() {
  const cpus = os.cpus();
  return {
    cpus: cpus.length,
    cpu_model: cpus[0]?.model ?? 'unknown',
    node: process.version,
    platform: `${os.platform()} ${os.release()}`,
    memory_gb: round(os.totalmem() / 2 ** 30, 1),
    loadavg_start: os.loadavg().map((x) => round(x, 2)),
  };
}

function makeContext(dir: string, profileDir?: string): Context {
  const scenarios = loadScenarios();
  selfCheck(scenarios);
  return {
    dir,
    scenarios,
    shifts: new ShiftPool(),
    numbers: new NumberPool(),
    // Profile mode: a V8 CPU profile of the mctb process, and a count of its sqlite3 calls.
    nodeFlags: (phase) => (profileDir ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`, `--cpu-prof-name=${phase}.cpuprofile`, '-r', join(__dirname, 'sqlite-count.js')] : []),
    env: (phase) => (profileDir ? { BENCH_SQLITE_COUNT_FILE: join(profileDir, `${phase}.sqlite.json`) } : {}),
    profiling: profileDir !== undefined,
    log: (line) => process.stdout.write(line + '\n'),
  };
}

async function main(): Promise<void> {
  const started = Date.now();
  const dir = mkdtempSync(join(os.tmpdir(), 'mctb-bench-'));
  try {
    if (PROFILE) await profileMode(dir);
    else await benchMode(dir);
  } finally {
    if (!process.env.BENCH_KEEP) rmSync(dir, { recursive: true, force: true });
    else process.stdout.write(`(kept ${dir})\n`);
  }
  process.stdout.write(`done in ${Math.round((Date.now() - started) / 1000)} s\n`);
}

async function benchMode(dir: string): Promise<void> {
  const ctx = makeContext(dir);
  const info = machine();
  const t0 = Date.now();
  ctx.log(`mctb bench${QUICK ? ' (quick: BENCH_QUICK=1, ~10x smaller)' : ''}: ${info.cpus} × ${info.cpu_model}, node ${info.node}, load ${info.loadavg_start.join(' ')}`);
  ctx.log(`mctb runs as the systemd unit runs it: node ${serviceNodeFlags().join(' ')}`);

  if (process.env.BENCH_ONLY === 'latency') {
    // A/B of one change on the hot path (e.g. the ledger's fsyncs): the latency phase alone, not written to results.json.
    ctx.log(`latency only (BENCH_ONLY=latency): ${RATES.join(', ')} calls/s for ${SCALE.latencySeconds} s each ...`);
    await latency(ctx, RATES, SCALE.latencySeconds, SCALE.drainSeconds, SCALE.bareSmpp);
    return;
  }
  if (process.env.BENCH_ONLY === 'console') {
    // The console phase alone: its figures and targets replace those of an earlier full run in results.json.
    ctx.log(`console only (BENCH_ONLY=console): ${CONSOLE.calls} calls, ${CONSOLE.contacts} contacts, ${CONSOLE.messages} texts in ...`);
    const con = await consolePhase(ctx, CONSOLE);
    const run = writePart(info, t0, 'console', con, (t) => !t.figure.startsWith('console'), consoleTargets(con));
    const out = ['', consoleTable(con), '', table(['target', 'wanted', 'measured', 'pass'], consoleTargets(con).map(targetRow)), ''];
    out.push(`bench/results.json: console figures written${QUICK ? ' (quick mode)' : ''}; load average at start ${info.loadavg_start.join(' ')}, at end ${run.machine.loadavg_end.join(' ')}`);
    process.stdout.write(out.join('\n') + '\n');
    return;
  }
  if (process.env.BENCH_ONLY === 'postgres') {
    // The PostgreSQL phase alone, SQLite measured beside it: its figures replace those of an earlier run in results.json.
    ctx.log(`postgres only (BENCH_ONLY=postgres): ${postgresPlan()} ...`);
    const pgr = await postgresPhase(ctx, POSTGRES);
    const run = writePart(info, t0, 'postgres', pgr);
    process.stdout.write(['', postgresTable(pgr), '', `bench/results.json: postgres figures written${QUICK ? ' (quick mode)' : ''}; load average at start ${info.loadavg_start.join(' ')}, at end ${run.machine.loadavg_end.join(' ')}`].join('\n') + '\n');
    return;
  }
  ctx.log(`ingest: ${SCALE.ingestRounds} rounds of ${ctx.scenarios.length} captures, bare asterisk-manager then mctb ...`);
  const ing = await ingest(ctx, SCALE.ingestRounds, { bare: true });
  ctx.log(`ingest again, the captures as Asterisk sends them to the AMI user in dialplan/manager_mctb.conf (its eventfilter lines) ...`);
  const ingFiltered = await ingest({ ...ctx, scenarios: loadScenarios(undefined, managerEventFilters()) }, SCALE.ingestRounds, { bare: true });
  ctx.log(`latency: ${RATES.join(', ')} calls/s for ${SCALE.latencySeconds} s each ...`);
  const lat = await latency(ctx, RATES, SCALE.latencySeconds, SCALE.drainSeconds, SCALE.bareSmpp);
  ctx.log(`memory: ${SCALE.memoryCalls} calls ...`);
  const mem = await memory(ctx, SCALE.memoryCalls, SCALE.memoryBudgetS);
  ctx.log(`report: building a ${SCALE.reportCalls}-call ledger ...`);
  const rep = await report(ctx, SCALE.reportCalls);
  ctx.log(`console: ${CONSOLE.calls} calls, ${CONSOLE.contacts} contacts, ${CONSOLE.messages} texts in ...`);
  const con = await consolePhase(ctx, CONSOLE);
  ctx.log(`postgres: ${postgresPlan()}; SQLite's latency at 100/s, report over ${rep.calls} calls and console taken from the phases above ...`);
  const pgr = await postgresPhase(ctx, POSTGRES, { latency100: lat.rates.find((r) => r.rate === 100), report: rep, console: con });

  const at100 = lat.rates.find((r) => r.rate === 100);
  const rssWorst = Math.max(mem.rss_after_stream_mb, mem.rss_after_decided_mb);
  const targets = [
    { figure: 'ingest: pipeline / bare events per second', target: `>= ${TARGETS.ingestRatio}`, value: ing.ratio, pass: ing.ratio >= TARGETS.ingestRatio },

    {
      figure: 'latency: p99 hangup → submit_sm at 100 calls/s (ms)',
      target: `<= ${TARGETS.p99At100Ms}`,
      value: at100?.latency_ms.p99,
      pass: at100 !== undefined && at100.texted === at100.offered && (at100.latency_ms.p99 ?? Infinity) <= TARGETS.p99At100Ms,
    },
    { figure: `memory: RSS after ${mem.calls} calls (MB)`, target: `< ${TARGETS.rssMb}`, value: rssWorst, pass: rssWorst < TARGETS.rssMb },
    {
      figure: `report: mctb report over ${rep.calls} calls (s)`,
      target: `< ${TARGETS.reportS}`,
      value: rep.status === 'ok' ? rep.median_s : rep.status,
      pass: rep.status === 'ok' ? (rep.median_s ?? Infinity) < TARGETS.reportS : null,
    },
    ...consoleTargets(con),
  ];

  const results = {
    generated_at: new Date().toISOString(),
    quick: QUICK,
    machine: { ...info, loadavg_end: os.loadavg().map((x) => round(x, 2)) },
    /** As the systemd unit runs it (systemd/mctb.service ExecStart), in every phase. */
    mctb_node_flags: serviceNodeFlags(),
    duration_s: Math.round((Date.now() - t0) / 1000),
    ingest: ing,
    /** The same, with only the events the AMI user's eventfilter (dialplan/manager_mctb.conf) lets through. */
    ingest_eventfilter: ingFiltered,
    latency: lat,
    memory: mem,
    report: rep,
    console: con,
    /** The same figures on PostgreSQL beside SQLite (bench/postgres.ts). */
    postgres: pgr,
    targets,
  };
  writeFileSync(join(BENCH_DIR, 'results.json'), JSON.stringify(results, null, 2) + '\n');

  const out: string[] = [''];
  for (const [title, r] of [
    ['ingest, every event of the captures', ing],
    ['ingest, as the eventfilter of dialplan/manager_mctb.conf lets them through', ingFiltered],
  ] as const) {
    out.push(
      table(
        [`${title} (as fast as the socket takes them)`, 'events', 'seconds', 'events/s', 'calls/s'],
        [
          ['bare asterisk-manager (counts managerevents)', r.events, r.bare.seconds, r.bare.events_per_s, undefined],
          [`mctb run (parse → track → decide → ledger), ${r.pipeline.cpu_us_per_event} µs CPU/event`, r.events, r.pipeline.seconds, r.pipeline.events_per_s, r.pipeline.calls_per_s],
          ['ratio pipeline / bare', undefined, undefined, r.ratio, undefined],
        ],
      ),
    );
    out.push('');
  }
  out.push('  mctb parses only the events that can change a call\'s outcome and skips the rest unread; the bare client parses every one.');
  out.push(`  The target is set on the captures as streamed (${ing.ratio}); with the eventfilter (${ingFiltered.ratio}) there is less for mctb to skip.`);
  out.push('');
  out.push(
    table(
      ['latency: hangup frame → submit_sm', 'offered', 'texted', 'texts/s', 'p50 ms', 'p99 ms', 'max ms', 'mctb CPU'],
      [
        ...lat.rates.map((r) => [`${r.rate} calls/s × ${r.seconds} s`, r.offered, `${r.texted_in_window}+${r.texted - r.texted_in_window}`, r.texts_per_s, r.latency_ms.p50, r.latency_ms.p99, r.latency_ms.max, `${r.mctb_cpu_pct}%`]),
        [`bare smpp client round trip (floor)`, lat.bare_smpp_rtt_ms.n, undefined, undefined, lat.bare_smpp_rtt_ms.p50, lat.bare_smpp_rtt_ms.p99, lat.bare_smpp_rtt_ms.max, undefined],
      ],
    ),
  );
  const slowest = lat.rates[0];
  out.push(`  texted: in the window + during the ${lat.drain_s} s drain; each call rings ${lat.ring_ms} ms`);
  if (slowest) out.push(`  decision_grace ${lat.grace} is not waited for: max ${slowest.latency_ms.max} ms at ${slowest.rate} calls/s (calls are decided when their last channel is gone)`);
  out.push('');
  out.push(
    table(
      ['memory and ledger', 'value'],
      [
        ['RSS idle (MB)', mem.rss_idle_mb],
        [
          `RSS after streaming ${mem.calls}${mem.calls < mem.calls_wanted ? ` of ${mem.calls_wanted} (time budget)` : ''} calls (MB), ${mem.stream_seconds} s`,
          mem.rss_after_stream_mb,
        ],
        [
          mem.all_decided
            ? `RSS once all decided (MB), ${mem.decided_seconds} s after the stream began; open calls ${mem.open_calls_after}`
            : `RSS when the ${SCALE.memoryBudgetS} s budget ran out, ${mem.decided} of ${mem.calls} decided (MB)`,
          mem.rss_after_decided_mb,
        ],
        ['RSS peak (VmHWM, MB)', mem.rss_peak_mb],
        ['PBX reading paused while decisions caught up (back-pressure), s', mem.pbx_paused_s],
        [
          'live V8 heap after a full GC: idle / after stream / decided (MB)',
          `${mem.heap_live_mb.idle.used} / ${mem.heap_live_mb.after_stream.used} / ${mem.heap_live_mb.after_decided.used}`,
        ],
        [`live heap per call queued for the ledger (${mem.queued_after_stream} queued), KB`, mem.heap_kb_per_queued_call],
        ['ledger bytes per call (db + WAL + shm, live)', mem.ledger_bytes_per_call],
        ['ledger bytes per call (closed)', mem.ledger_bytes_per_call_closed],
        [`ledger bytes per call at ${rep.calls} calls (built in ${rep.build_seconds} s)`, rep.ledger_bytes_per_call],
        [`mctb report --since 365d --json over ${rep.calls} calls (s)`, rep.status === 'ok' ? `${rep.median_s} (runs ${rep.runs_s?.join(', ')})` : rep.status + (rep.error ? `: ${rep.error}` : '')],
      ],
    ),
  );
  out.push('');
  out.push(consoleTable(con));
  out.push('');
  out.push(postgresTable(pgr));
  out.push('');
  out.push(table(['target', 'wanted', 'measured', 'pass'], targets.map(targetRow)));
  out.push('');
  out.push(`bench/results.json written${QUICK ? ' (quick mode)' : ''}; load average at start ${info.loadavg_start.join(' ')}, at end ${results.machine.loadavg_end.join(' ')}`);
  process.stdout.write(out.join('\n') + '\n');
}

function postgresPlan(): string {
  return `${POSTGRES.latencySeconds} s at 100 calls/s, report over ${POSTGRES.reportCalls.join(' and ')} calls, console over ${POSTGRES.console.calls} calls, on SQLite and on PostgreSQL`;
}

/**
 * One phase's figures (a BENCH_ONLY run) into results.json under `key`, with `${key}_run` saying
 * when and where; every other key of an earlier run kept. `keepTarget` and `targets`: the
 * phase's targets replace its earlier ones.
 */
function writePart(info: ReturnType<typeof machine>, t0: number, key: string, figures: ConsoleResult | PostgresResult, keepTarget?: (t: Target) => boolean, targets: Target[] = []) {
  const file = join(BENCH_DIR, 'results.json');
  const earlier = existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as { targets?: Target[] } & Record<string, unknown>) : { generated_at: null };
  const run = { generated_at: new Date().toISOString(), quick: QUICK, machine: { ...info, loadavg_end: os.loadavg().map((x) => round(x, 2)) }, duration_s: Math.round((Date.now() - t0) / 1000) };
  const kept = keepTarget ? { targets: [...(earlier.targets ?? []).filter(keepTarget), ...targets] } : {};
  writeFileSync(file, JSON.stringify({ ...earlier, [key]: figures, [`${key}_run`]: run, ...kept }, null, 2) + '\n');
  return run;
}

function targetRow(t: Target): (string | number | undefined)[] {
  return [t.figure, t.target, t.value as string | number | undefined, t.pass === null ? 'pending' : t.pass ? 'PASS' : 'FAIL'];
}

function consoleTargets(c: ConsoleResult): Target[] {
  const pages: Target[] = Object.values(c.pages).map((p) => ({
    figure: `console: GET ${p.path.replace(/\d+$/, ':id')} as ${p.user === 'olivia' ? 'owner' : 'staff'}, p99 (ms)`,
    target: `<= ${TARGETS.consolePageP99Ms}`,
    value: p.ms.p99,
    pass: (p.ms.p99 ?? Infinity) <= TARGETS.consolePageP99Ms,
  }));
  const dash = c.dashboard.status === 'ok' ? Math.max(c.dashboard.owner_median_ms ?? Infinity, c.dashboard.staff_median_ms ?? Infinity) / 1000 : undefined;
  return [
    ...pages,
    {
      figure: 'console: GET /dashboard?days=90, median of owner and of staff, worse (s)',
      target: `<= ${TARGETS.dashboardS}`,
      value: dash !== undefined ? round(dash, 3) : c.dashboard.status,
      pass: dash !== undefined ? dash <= TARGETS.dashboardS : false,
    },
    {
      figure: `console: deliver_sm → /events change at ${c.live.rate}/s, p99 (ms)`,
      target: `<= ${TARGETS.liveP99Ms}`,
      value: c.live.latency_ms.p99,
      pass: c.live.received === c.live.sent && c.live.every_stream_got_all && (c.live.latency_ms.p99 ?? Infinity) <= TARGETS.liveP99Ms,
    },
  ];
}

function consoleTable(c: ConsoleResult): string {
  const label = (p: ConsoleResult['pages'][keyof ConsoleResult['pages']]) => `GET ${p.path} as ${p.user === 'olivia' ? 'owner' : 'staff of 1 business'} (${p.bytes} bytes)`;
  const d = c.dashboard;
  return [
    `console: ${c.calls} calls, ${c.contacts} contacts, ${c.messages} texts in, ${c.businesses} businesses, ${c.threads} threads; built in ${c.build_seconds} s (threads by ${c.threads_filled_by}), ${Math.round(c.ledger_bytes / 2 ** 20)} MB`,
    `  ${c.unread_threads} threads unread; busy thread #${c.busy_thread.id}: ${c.busy_thread.calls} calls, ${c.busy_thread.texts_out} texts out, ${c.busy_thread.texts_in} texts in (the page shows its latest 200 events)`,
    table(
      ['console, time to the last byte on loopback', 'requests', 'p50 ms', 'p99 ms', 'max ms'],
      [
        ...Object.values(c.pages).map((p) => [label(p), p.ms.n, p.ms.p50, p.ms.p99, p.ms.max]),
        [`deliver_sm → /events change, ${c.live.rate}/s × ${c.live.seconds} s, ${c.live.streams} streams open`, `${c.live.received}/${c.live.sent}`, c.live.latency_ms.p50, c.live.latency_ms.p99, c.live.latency_ms.max],
      ],
    ),
    table(
      ['console, other figures', 'value'],
      [
        ['GET /dashboard?days=90 as owner (every business), runs ms', d.status === 'ok' ? d.owner_runs_ms.join(', ') : `${d.status}: ${d.error ?? ''}`],
        ['GET /dashboard?days=90 as staff of 1 business, runs ms', d.status === 'ok' ? d.staff_runs_ms.join(', ') : '-'],
        ['RSS idle / after the page timings (MB)', `${c.rss_mb.idle} / ${c.rss_mb.after_pages}`],
        [`RSS with ${c.sessions} sessions open (inbox loaded, /events held) / after the live run (MB)`, `${c.rss_mb.sessions_open} / ${c.rss_mb.after_live}`],
        ['RSS peak (VmHWM, MB)', c.rss_mb.peak],
      ],
    ),
  ].join('\n');
}

/** Profiles mctb through the ingest phase and 100 calls/s, and counts its sqlite3 calls per call. */
async function profileMode(dir: string): Promise<void> {
  const profileDir = join(BENCH_DIR, 'profiles');
  rmSync(profileDir, { recursive: true, force: true });
  mkdirSync(profileDir, { recursive: true });
  const ctx = makeContext(dir, profileDir);
  ctx.log(`profile: ingest (${SCALE.ingestRounds} rounds), then 100 calls/s for ${SCALE.latencySeconds} s; CPU profiles in bench/profiles/`);
  const ing = await ingest(ctx, SCALE.ingestRounds, { bare: false });
  const lat = await latency(ctx, [100], SCALE.latencySeconds, SCALE.drainSeconds, 10);
  const phases: Record<string, { calls: number; profile: ProfileSummary; sqlite_calls_per_call: number; statements_per_call: Record<string, number> }> = {};
  const callsOf: Record<string, number> = { ingest: ing.calls, 'latency-100': (lat.rates[0]?.offered ?? 0) + 100 /* warm-up */ };
  for (const phase of Object.keys(callsOf)) {
    const prof = readdirSync(profileDir).find((f) => f === `${phase}.cpuprofile`);
    if (!prof) throw new Error(`no CPU profile for ${phase} (did mctb exit cleanly?)`);
    const counts = JSON.parse(readFileSync(join(profileDir, `${phase}.sqlite.json`), 'utf8')) as Record<string, number>;
    const calls = callsOf[phase];
    const total = Object.values(counts).reduce((a, b) => a + b, 0);
    phases[phase] = {
      calls,
      profile: summarizeProfile(join(profileDir, prof)),
      sqlite_calls_per_call: round(total / calls, 1)!,
      statements_per_call: Object.fromEntries(Object.entries(counts).map(([k, v]) => [k, round(v / calls, 2)!])),
    };
  }
  writeFileSync(join(BENCH_DIR, 'profile.json'), JSON.stringify({ generated_at: new Date().toISOString(), quick: QUICK, machine: machine(), ingest: ing, latency: lat, phases }, null, 2) + '\n');
  const out: string[] = [''];
  out.push(`ingest: ${ing.pipeline.events_per_s} events/s (${ing.pipeline.calls_per_s} calls/s) under the profiler; 100 calls/s: p50 ${lat.rates[0]?.latency_ms.p50} ms, p99 ${lat.rates[0]?.latency_ms.p99} ms`);
  for (const [phase, p] of Object.entries(phases)) {
    out.push('');
    out.push(`== ${phase}: ${p.calls} calls, ${p.profile.busyMs} ms busy of ${p.profile.totalMs} ms sampled; ${p.sqlite_calls_per_call} sqlite3 calls per call`);
    out.push(table(['stage (self time)', 'ms', '%'], p.profile.stages.map((s) => [s.stage, s.selfMs, s.pct])));
    out.push('');
    out.push(table(['top functions (self time)', 'where', 'ms', '%'], p.profile.top.map((f) => [f.fn, f.where, f.selfMs, f.pct])));
    out.push('');
    out.push(table(['sqlite3 statements per call', 'n'], Object.entries(p.statements_per_call).slice(0, 25).map(([k, v]) => [k, v])));
  }
  out.push('');
  out.push('bench/profile.json and bench/profiles/*.cpuprofile written (open a .cpuprofile in Chrome DevTools → Performance)');
  process.stdout.write(out.join('\n') + '\n');
}

main().catch((err: Error) => {
  process.stderr.write(`bench failed: ${err.stack ?? err.message}\n`);
  process.exit(1);
});
