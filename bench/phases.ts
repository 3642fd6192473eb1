// The benchmark phases. Each one drives the real `mctb run` process over loopback sockets: a
// replayed PBX (AmiReplayServer) in front, a loopback SMSC (LoopbackSmsc) behind, its ledger an
// SQLite file on disk (or, when the context says so, a schema in PostgreSQL: bench/postgres.ts).
// This process is the load generator and the stopwatch; mctb runs in its own.

import { fork, spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import sqlite3 from 'sqlite3';
import { AmiReplayServer } from '../src/demo/ami-replay';
import { LoopbackSmsc } from '../src/demo/loopback-smsc';
import pg from 'pg';
import { Ledger, type LedgerTarget } from '../src/ledger/ledger';
import { poolConfig } from '../src/ledger/postgres';
import { NumberPool, renderCall, ShiftPool, type Scenario } from './calls';
import { cpuSecondsOf, LedgerProbe, ledgerBytes, ledgerSize, MCTB_BIN, memoryOf, metric, freePort, sleep, startMctb, until, writeConfig, type ConfigOptions, type MctbProcess } from './mctb';
import { round, summarize, type Summary } from './stats';

export interface Context {
  dir: string;
  scenarios: Scenario[];
  shifts: ShiftPool;
  numbers: NumberPool;
  /** Extra node flags for the mctb child (profile mode: --cpu-prof). */
  nodeFlags: (phase: string) => string[];
  env: (phase: string) => NodeJS.ProcessEnv;
  profiling: boolean;
  log: (line: string) => void;
  /**
   * A new, empty ledger for the named part of a phase (`latency-100`, `report-1000000`,
   * `console`). Left out: an SQLite file NAME.db in `dir`; bench/postgres.ts gives a schema of
   * its own in a throwaway PostgreSQL cluster.
   */
  ledger?: (name: string) => Promise<LedgerTarget>;
}

/** The ledger a phase part runs on: ctx.ledger's, or the SQLite file NAME.db in ctx.dir. */
export function ledgerFor(ctx: Context, name: string): Promise<LedgerTarget> {
  return ctx.ledger ? ctx.ledger(name) : Promise.resolve({ driver: 'sqlite', path: join(ctx.dir, `${name}.db`) });
}

const SECRET = { username: 'mctb', secret: 's3cret' };

/** A replayed PBX that answers Getvar CALLERID(pres) as Asterisk would: prohib for the withheld-PAI capture's caller. */
export async function replayServer(ctx: Context): Promise<{ pbx: AmiReplayServer; port: number }> {
  const withheld = new Set(ctx.scenarios.filter((s) => s.name === 'anonymous-pai').map((s) => s.rootChannel));
  const pbx = new AmiReplayServer({ ...SECRET, getvar: (channel) => (withheld.has(channel) ? 'prohib_not_screened' : 'allowed_not_screened') });
  return { pbx, port: await pbx.listen() };
}

/**
 * Writes chunks as fast as the client's socket takes them: a few writes outstanding at a time,
 * so the kernel's buffers stay full without piling the whole stream up in this process.
 */
async function stream(pbx: AmiReplayServer, chunks: Iterable<Buffer>, opts: { window?: number; until?: number } = {}): Promise<void> {
  const window = opts.window ?? 4;
  const inFlight = new Set<Promise<void>>();
  for (const chunk of chunks) {
    // A daemon that reads no faster than it decides would make a long stream outlast the budget.
    if (opts.until !== undefined && performance.now() > opts.until) break;
    const p: Promise<void> = pbx.play(chunk).then(() => void inFlight.delete(p));
    inFlight.add(p);
    if (inFlight.size >= window) await Promise.race(inFlight);
  }
  await Promise.all(inFlight);
}

/** Rounds of every capture, each call a fresh copy; one Buffer per round. */
function* mixRounds(ctx: Context, rounds: number, tally: { events: number; calls: number; bytes: number }): Generator<Buffer> {
  for (let r = 0; r < rounds; r++) {
    let text = '';
    for (const s of ctx.scenarios) {
      const c = renderCall(s, ctx.shifts, ctx.numbers);
      text += c.head + c.tail;
      tally.events += s.events;
      tally.calls += s.calls;
    }
    const buf = Buffer.from(text, 'utf8');
    tally.bytes += buf.length;
    yield buf;
  }
}

export async function startDaemon(
  ctx: Context,
  phase: string,
  pbx: AmiReplayServer,
  amiPort: number,
  opts: {
    smppPort?: number;
    smsc?: LoopbackSmsc;
    http?: boolean;
    nodeFlags?: string[];
    env?: NodeJS.ProcessEnv;
    config?: Pick<ConfigOptions, 'consolePort' | 'businesses'>;
    /** A ledger built beforehand; else a new one (ledgerFor). */
    ledger?: LedgerTarget;
  },
) {
  await until(() => pbx.clientCount === 0, 10_000, 'the previous AMI client to leave');
  const ledger = opts.ledger ?? (await ledgerFor(ctx, phase));
  const config = join(ctx.dir, `${phase}.yaml`);
  const httpPort = opts.http ? await freePort() : undefined;
  writeConfig(config, { amiPort, ledger, site: siteOf(phase), smppPort: opts.smppPort, httpPort, ...opts.config });
  const bound = opts.smsc ? new Promise<void>((resolve) => opts.smsc!.once('bind', () => resolve())) : Promise.resolve();
  const mctb = startMctb(config, { nodeFlags: [...ctx.nodeFlags(phase), ...(opts.nodeFlags ?? [])], env: { ...ctx.env(phase), ...opts.env } });
  try {
    await Promise.race([
      Promise.all([pbx.waitForLogin(20_000), bound]),
      new Promise((_, reject) => mctb.child.once('exit', (code) => reject(new Error(`mctb exited (${code}) at start:\n${mctb.log()}`)))),
    ]);
  } catch (err) {
    await mctb.stop();
    throw err;
  }
  // The ledger exists (the daemon opens it before it connects to the PBX).
  const probe = await LedgerProbe.open(ledger);
  return { mctb, probe, ledger, httpPort };
}

/** A site name (config `site`) per phase: a daemon never waits for the active lock of an earlier one's site. */
function siteOf(phase: string): string {
  return `bench-${phase}`.toLowerCase().replace(/[^a-z0-9_-]/g, '-').slice(0, 32);
}

/**
 * Stops the daemon. In profile mode it must exit by itself (V8 writes the profile at exit), so it
 * gets all the time it needs; otherwise a backlog it would still decide is cut short.
 */
export async function stopDaemon(mctb: MctbProcess, probe: LedgerProbe, ctx: Context, phase: string): Promise<void> {
  await probe.close();
  const { code, killed } = await mctb.stop(ctx.profiling ? 600_000 : 10_000);
  const warnings = mctb
    .log()
    .split('\n')
    .filter((l) => / (warn|error) /.test(l));
  if (killed) ctx.log(`  (mctb ${phase}: still deciding its backlog after 10 s; killed)`);
  else if (code !== 0) ctx.log(`  ! mctb (${phase}) exited with ${code}`);
  for (const w of warnings.slice(0, 5)) ctx.log(`  ! mctb (${phase}): ${w.slice(0, 300)}`);
}

// ---------------------------------------------------------------------------------------------
// 1. Ingest: AMI events per second through the whole pipeline, against a bare client.

export interface IngestResult {
  rounds: number;
  calls: number;
  events: number;
  megabytes: number;
  bare: { seconds: number; events_per_s: number };
  pipeline: { seconds: number; events_per_s: number; calls_per_s: number; cpu_s: number; cpu_us_per_event: number };
  /** pipeline / bare events per second: the headline. */
  ratio: number;
  /** What the pipeline decided, from its ledger (the realistic mix, checked). */
  mix: { outcome: string; decision: string; reason: string; n: number }[];
}

export async function ingest(ctx: Context, rounds: number, opts: { bare: boolean }): Promise<IngestResult> {
  const tally = { events: 0, calls: 0, bytes: 0 };
  // The same bytes for both clients, rendered before any clock starts.
  const chunks = [...mixRounds(ctx, rounds, tally)];
  const { pbx, port } = await replayServer(ctx);
  try {
    let bare = { seconds: NaN, events_per_s: NaN };
    if (opts.bare) {
      const child = fork(join(__dirname, 'bare-ami.js'), [String(port), String(tally.events)], { stdio: 'ignore' });
      try {
        await pbx.waitForLogin(20_000);
        const done = new Promise<number>((resolve) => child.on('message', () => resolve(performance.now())));
        const t0 = performance.now();
        await stream(pbx, chunks);
        const seconds = ((await withTimeout(done, 600_000, 'the bare client')) - t0) / 1000;
        bare = { seconds: round(seconds, 3)!, events_per_s: Math.round(tally.events / seconds) };
      } finally {
        child.kill();
      }
    }

    const { mctb, probe } = await startDaemon(ctx, 'ingest', pbx, port, {});
    try {
      await sleep(500); // let start-up work (migrations, first timers) finish before the clock starts
      const cpu0 = cpuSecondsOf(mctb.pid);
      const t0 = performance.now();
      await stream(pbx, chunks);
      const t1 = await probe.waitForCalls(tally.calls, 600_000, 10);
      const cpu = cpuSecondsOf(mctb.pid) - cpu0;
      const seconds = (t1 - t0) / 1000;
      const mix = await probe.all<{ outcome: string; decision: string; reason: string; n: number }>(
        'SELECT outcome, decision, reason, COUNT(*) AS n FROM calls GROUP BY outcome, decision, reason ORDER BY n DESC, outcome, reason',
      );
      const pipeline = {
        seconds: round(seconds, 3)!,
        events_per_s: Math.round(tally.events / seconds),
        calls_per_s: Math.round(tally.calls / seconds),
        cpu_s: round(cpu, 2)!,
        cpu_us_per_event: round((cpu * 1e6) / tally.events, 2)!,
      };
      return {
        rounds,
        calls: tally.calls,
        events: tally.events,
        megabytes: round(tally.bytes / 1e6, 1)!,
        bare,
        pipeline,
        ratio: round(pipeline.events_per_s / bare.events_per_s, 3) ?? NaN,
        mix,
      };
    } finally {
      await stopDaemon(mctb, probe, ctx, 'ingest');
    }
  } finally {
    await pbx.close();
  }
}

// ---------------------------------------------------------------------------------------------
// 2. Latency: the caller's final Hangup frame leaving the PBX → submit_sm at the SMSC.

export interface RateResult {
  rate: number;
  seconds: number;
  offered: number;
  /** Texted by the end of the window, and by the end of the drain period. */
  texted_in_window: number;
  texted: number;
  /** Texts per second received during the window. */
  texts_per_s: number;
  latency_ms: Summary;
  /** CPU the mctb process used over the window, in % of one core. */
  mctb_cpu_pct: number;
}

export interface LatencyResult {
  ring_ms: number;
  drain_s: number;
  grace: string;
  rates: RateResult[];
  /** The same SMSC's submit_sm → submit_sm_resp round trip for a bare smpp client: the floor. */
  bare_smpp_rtt_ms: Summary;
}

/** How long each call rings (its first events to the caller's hangup); Getvar is long answered by then, as on a real PBX. */
const RING_MS = 1000;

export async function latency(ctx: Context, rates: readonly number[], seconds: number, drainS: number, bareCount: number): Promise<LatencyResult> {
  const noanswer = ctx.scenarios.find((s) => s.name === 'noanswer');
  if (!noanswer) throw new Error('the noanswer capture is missing');
  const smsc = new LoopbackSmsc();
  const smppPort = await smsc.listen();
  const { pbx, port } = await replayServer(ctx);
  const results: RateResult[] = [];
  try {
    for (const rate of rates) {
      const phase = `latency-${rate}`;
      const { mctb, probe } = await startDaemon(ctx, phase, pbx, port, { smppPort, smsc });
      try {
        // Warm-up (not measured): the first calls pay for JIT compilation and cold caches.
        await paced(ctx, pbx, smsc, noanswer, Math.min(rate, 100), Math.min(rate, 100), 5000);
        const cpu0 = cpuSecondsOf(mctb.pid);
        const r = await paced(ctx, pbx, smsc, noanswer, rate, Math.round(rate * seconds), drainS * 1000, () => cpuSecondsOf(mctb.pid) - cpu0);
        results.push({ rate, seconds, ...r });
        ctx.log(`  ${rate} calls/s: p50 ${r.latency_ms.p50} ms, p99 ${r.latency_ms.p99} ms, texted ${r.texted}/${r.offered}`);
      } finally {
        await stopDaemon(mctb, probe, ctx, phase);
      }
    }
    // The floor, on the same SMSC, with mctb gone.
    const child = fork(join(__dirname, 'bare-smpp.js'), [String(smppPort), String(bareCount)], { stdio: 'ignore' });
    const msg = await withTimeout(new Promise<{ rtts?: number[]; error?: string }>((resolve) => child.on('message', (m) => resolve(m as never))), 120_000, 'the bare smpp client');
    child.kill();
    if (msg.error) throw new Error(`bare smpp client: ${msg.error}`);
    return { ring_ms: RING_MS, drain_s: drainS, grace: '2s', rates: results, bare_smpp_rtt_ms: summarize(msg.rtts ?? [], 3) };
  } finally {
    await pbx.close();
    await smsc.close();
  }
}

/**
 * Offers `n` missed calls at `rate` per second: each call's events up to the caller's hangup at
 * its start, the Hangup frame (and what follows it) RING_MS later. The time is taken just before
 * the Hangup frame is written, and matched to the submit_sm for that caller's number.
 */
async function paced(
  ctx: Context,
  pbx: AmiReplayServer,
  smsc: LoopbackSmsc,
  s: Scenario,
  rate: number,
  n: number,
  drainMs: number,
  cpu?: () => number,
): Promise<Omit<RateResult, 'rate' | 'seconds'>> {
  const hungUpAt = new Float64Array(n).fill(NaN);
  const textedAt = new Float64Array(n).fill(NaN);
  const indexOf = new Map<string, number>();
  let texted = 0;
  const onSubmit = (sub: { destination: string }) => {
    const now = performance.now();
    const i = indexOf.get(sub.destination);
    if (i === undefined || !Number.isNaN(textedAt[i])) return;
    textedAt[i] = now;
    texted++;
  };
  smsc.on('submit', onSubmit);
  const tails: { i: number; due: number; bytes: string }[] = [];
  const period = 1000 / rate;
  const start = performance.now() + 20;
  let nextHead = 0;
  let nextTail = 0;
  let cpuUsed = 0;
  await new Promise<void>((resolve) => {
    // A 1 ms timer; each tick writes every Hangup that is due, then every call start that is due.
    const timer = setInterval(() => {
      const now = performance.now();
      let out = '';
      while (nextTail < tails.length && tails[nextTail].due <= now) {
        const t = tails[nextTail++];
        hungUpAt[t.i] = now;
        out += t.bytes;
      }
      while (nextHead < n && start + nextHead * period <= now) {
        const c = renderCall(s, ctx.shifts, ctx.numbers);
        indexOf.set(c.numbers[0], nextHead);
        tails.push({ i: nextHead, due: start + nextHead * period + RING_MS, bytes: c.tail });
        out += c.head;
        nextHead++;
      }
      if (out) void pbx.play(out);
      if (nextTail === n) {
        clearInterval(timer);
        if (cpu) cpuUsed = cpu();
        resolve();
      }
    }, 1);
  });
  const windowEnd = performance.now();
  const firstHangup = hungUpAt[0];
  await until(() => texted === n, drainMs, 'texts', 20).catch(() => undefined);
  smsc.off('submit', onSubmit);
  const latencies: number[] = [];
  let inWindow = 0;
  for (let i = 0; i < n; i++) {
    if (Number.isNaN(textedAt[i])) continue;
    latencies.push(textedAt[i] - hungUpAt[i]);
    if (textedAt[i] <= windowEnd) inWindow++;
  }
  const windowS = (windowEnd - firstHangup) / 1000;
  return {
    offered: n,
    texted_in_window: inWindow,
    texted,
    texts_per_s: round(inWindow / windowS, 1)!,
    latency_ms: summarize(latencies, 2),
    mctb_cpu_pct: round(((cpuUsed || 0) / ((windowEnd - start) / 1000)) * 100, 1)!,
  };
}

// ---------------------------------------------------------------------------------------------
// 3. Memory: RSS idle, after streaming many calls, and once they are all decided; ledger size.

export interface HeapReading {
  used: number;
  total: number;
}

export interface MemoryResult {
  calls_wanted: number;
  /** Calls streamed: all that were wanted, unless the time budget ran out first. */
  calls: number;
  /** Every call decided (and texted) within the time budget; else `decided` says how many were. */
  all_decided: boolean;
  decided: number;
  rss_idle_mb: number;
  rss_after_stream_mb: number;
  /** Once all are decided (or when the budget ran out: see all_decided). */
  rss_after_decided_mb: number;
  /** Peak RSS over the whole run (VmHWM). */
  rss_peak_mb: number;
  /** V8 heap after a full GC (MB): in use (what is really alive) and reserved, at each point. */
  heap_live_mb: { idle: HeapReading; after_stream: HeapReading; after_decided: HeapReading };
  /** Calls not yet in the ledger when the last byte had been written. */
  queued_after_stream: number;
  /** Live heap per call still waiting to be decided when the stream ended (KB). */
  heap_kb_per_queued_call: number;
  open_calls_after: number | undefined;
  /** Seconds the daemon left the PBX unread because more than 1,000 ended calls waited for the ledger. */
  pbx_paused_s: number | undefined;
  outbox_depth_after: number | undefined;
  stream_seconds: number;
  decided_seconds: number;
  ledger_bytes: number;
  ledger_bytes_per_call: number;
  /** After the daemon stopped (a clean stop checkpoints the WAL into the main file). */
  ledger_bytes_per_call_closed: number;
  /** Once a second while it ran: seconds since the stream began, calls in the ledger, RSS. */
  samples: { s: number; calls: number; rss_mb: number }[];
}

export async function memory(ctx: Context, calls: number, budgetS: number): Promise<MemoryResult> {
  const perRound = ctx.scenarios.reduce((sum, s) => sum + s.calls, 0);
  const rounds = Math.ceil(calls / perRound);
  const { pbx, port } = await replayServer(ctx);
  try {
    const heapFile = join(ctx.dir, 'memory.heap.jsonl');
    // On SQLite whatever the context says: the phase weighs the file.
    const ledger = join(ctx.dir, 'memory.db');
    const { mctb, probe, httpPort } = await startDaemon(ctx, 'memory', pbx, port, {
      ledger: { driver: 'sqlite', path: ledger },
      http: true,
      nodeFlags: ['--expose-gc', '-r', join(__dirname, 'heap-probe.js')],
      env: { BENCH_HEAP_FILE: heapFile },
    });
    // The live heap after a full GC (bench/heap-probe.ts), taken after each RSS reading.
    const readings = () => (existsSync(heapFile) ? readFileSync(heapFile, 'utf8').split('\n').filter(Boolean) : []);
    const heap = async (): Promise<HeapReading> => {
      const before = readings().length;
      process.kill(mctb.pid, 'SIGUSR2');
      await until(() => readings().length > before, 30_000, 'a heap reading', 20);
      const r = JSON.parse(readings()[before]) as { heap_used_mb: number; heap_total_mb: number };
      return { used: r.heap_used_mb, total: r.heap_total_mb };
    };
    let result: MemoryResult;
    try {
      await sleep(2000);
      const idle = memoryOf(mctb.pid);
      const heapIdle = await heap();
      const tally = { events: 0, calls: 0, bytes: 0 };
      const t0 = performance.now();
      const budgetEnd = t0 + budgetS * 1000;
      // Every second: calls in the ledger and RSS, to show how both grow while the backlog is worked off.
      const samples: MemoryResult['samples'] = [];
      const sampler = setInterval(() => {
        void probe.calls().then((calls) => samples.push({ s: Math.round((performance.now() - t0) / 1000), calls, rss_mb: round(memoryOf(mctb.pid).rssMb, 1)! }));
      }, 1000);
      await stream(pbx, mixRounds(ctx, rounds, tally), { until: budgetEnd - 30_000 });
      const afterStream = memoryOf(mctb.pid);
      const t1 = performance.now();
      const queued = tally.calls - (await probe.calls());
      const heapAfterStream = await heap();
      // Decided and texted: every call in the ledger, the tracker empty, the outbox empty. A
      // backlog the ledger cannot work off within the budget is reported as such.
      let allDecided = true;
      try {
        await probe.waitForCalls(tally.calls, Math.max(0, budgetEnd - performance.now()), 100);
        await until(async () => (await metric(httpPort!, 'mctb_open_calls')) === 0 && (await metric(httpPort!, 'mctb_outbox_depth')) === 0, 60_000, 'the daemon to go idle', 200);
      } catch {
        allDecided = false;
      }
      clearInterval(sampler);
      const t2 = performance.now();
      const decided = await probe.calls();
      if (allDecided) await sleep(2000);
      const after = memoryOf(mctb.pid);
      const heapAfter = await heap();
      const bytes = ledgerBytes(ledger);
      result = {
        calls_wanted: calls,
        calls: tally.calls,
        all_decided: allDecided,
        decided,
        rss_idle_mb: round(idle.rssMb, 1)!,
        rss_after_stream_mb: round(afterStream.rssMb, 1)!,
        rss_after_decided_mb: round(after.rssMb, 1)!,
        rss_peak_mb: round(after.hwmMb, 1)!,
        heap_live_mb: { idle: heapIdle, after_stream: heapAfterStream, after_decided: heapAfter },
        queued_after_stream: queued,
        heap_kb_per_queued_call: round(((heapAfterStream.used - heapIdle.used) * 1024) / Math.max(1, queued), 2)!,
        open_calls_after: await metric(httpPort!, 'mctb_open_calls'),
        pbx_paused_s: round((await metric(httpPort!, 'mctb_pbx_paused_seconds_total')) ?? NaN, 1),
        outbox_depth_after: await metric(httpPort!, 'mctb_outbox_depth'),
        stream_seconds: round((t1 - t0) / 1000, 1)!,
        decided_seconds: round((t2 - t0) / 1000, 1)!,
        ledger_bytes: bytes,
        ledger_bytes_per_call: Math.round(bytes / decided),
        ledger_bytes_per_call_closed: NaN,
        samples,
      };
    } finally {
      await stopDaemon(mctb, probe, ctx, 'memory');
    }
    // After the daemon is gone (a killed one leaves its WAL behind): the calls that made it in.
    const closed = await LedgerProbe.open(ledger);
    const stored = await closed.calls();
    await closed.close();
    result.ledger_bytes_per_call_closed = Math.round(ledgerBytes(ledger) / stored);
    return result;
  } finally {
    await pbx.close();
  }
}

// ---------------------------------------------------------------------------------------------
// 4. `mctb report` over a big ledger, built fast with SQL in a few big transactions.

export interface ReportResult {
  calls: number;
  build_seconds: number;
  ledger_bytes_per_call: number;
  /** 'ok', or 'pending' when this build's mctb has no `report` command yet. */
  status: 'ok' | 'pending' | 'failed';
  /** Wall time of `mctb report --since 365d --json`, each run, and the median. */
  runs_s?: number[];
  median_s?: number;
  error?: string;
}

/**
 * The mix of the ingest phase (13 calls a round, as the pipeline decides them): outcome,
 * decision, reason. Missed calls of a number the policy may text get a text_back.
 */
const MIX: [string, string, string][] = [
  ['answered', 'no_text', 'answered'],
  ['answered', 'no_text', 'answered'],
  ['noanswer', 'text', 'missed'],
  ['noanswer', 'text', 'missed'],
  ['busy', 'text', 'missed'],
  ['cancel', 'text', 'missed'],
  ['unavailable', 'text', 'missed'],
  ['voicemail', 'text', 'missed'],
  ['queue_abandon', 'text', 'missed'],
  ['noanswer', 'no_text', 'withheld'],
  ['noanswer', 'no_text', 'withheld'],
  ['noanswer', 'text', 'missed'],
  ['noanswer', 'no_text', 'deduped'],
];

/** What a ledger built by buildLedger holds. */
export interface LedgerShape {
  calls: number;
  /** Distinct caller numbers (default: one per call); call i is from contact i % contacts. */
  contacts?: number;
  /** Businesses with their DID (also their sender); contact k calls and texts business k % length. */
  businesses?: { name: string; did: string }[];
  /** Texts from contacts (replies), spread like the calls (default: none). */
  messages?: number;
  /** Every `busyEvery`-th call and text is from contact 0: one busy thread (default: none). */
  busyEvery?: number;
  /** Staff answered every thread's texts but every `unreadEvery`-th thread's (default: nobody answered). */
  unreadEvery?: number;
}

export const BRIGHTSIDE = { name: 'Brightside Dental', did: '+15550001000' };

/** What a contact's text says (messages of a built ledger). */
const REPLIES = [
  'Hi, yes please call me back when you can',
  'Can I book a cleaning for next Tuesday?',
  'Thanks!',
  'What time do you open tomorrow?',
  'I was calling about my appointment, I need to move it',
  'Is Dr. Patel in on Friday?',
  'ok',
  'Please call after 5pm, I am at work until then',
];

/**
 * A big ledger built fast with SQL in a few big transactions, rows as the pipeline writes them:
 * the calls with the ingest phase's mix, their contacts, a text_back (delivered, 2% failed) with
 * its one part for each texted call, and texts from contacts; the ledger's own triggers keep
 * threads and send counts as they do in production. Spread evenly over the past year (less a day
 * at each end, so `--since 365d` covers every row). Returns the seconds it took.
 */
export async function buildLedger(path: string, shape: LedgerShape, onProgress?: Progress): Promise<number> {
  const t0 = performance.now();
  const { calls } = shape;
  const contacts = shape.contacts ?? calls;
  const businesses = shape.businesses ?? [BRIGHTSIDE];
  const messages = shape.messages ?? 0;
  // The real schema: the Ledger class runs every migration.
  await (await Ledger.open(path)).close();
  const db = await new Promise<sqlite3.Database>((resolve, reject) => {
    const d = new sqlite3.Database(path, (err) => (err ? reject(err) : resolve(d)));
  });
  const exec = (sql: string) => new Promise<void>((resolve, reject) => db.exec(sql, (err) => (err ? reject(err) : resolve())));
  const now = Date.now();
  const year = 365 * 86_400_000;
  const from = now - year + 86_400_000;
  const span = year - 2 * 86_400_000;
  /** The contact (index) of row i. */
  const contactOf = (i: string) => (shape.busyEvery ? `CASE WHEN ${i} % ${shape.busyEvery} = 1 THEN 0 ELSE ${i} % ${contacts} END` : `${i} % ${contacts}`);
  const q = (x: string) => `'${x.replace(/'/g, "''")}'`;
  try {
    await exec('PRAGMA synchronous = OFF; PRAGMA cache_size = -200000;');
    await exec(
      `CREATE TEMP TABLE mix (k INTEGER PRIMARY KEY, outcome TEXT, decision TEXT, reason TEXT);
       INSERT INTO mix VALUES ${MIX.map((m, k) => `(${k}, '${m[0]}', '${m[1]}', '${m[2]}')`).join(',')};
       CREATE TEMP TABLE biz (k INTEGER PRIMARY KEY, name TEXT, did TEXT);
       INSERT INTO biz VALUES ${businesses.map((b, k) => `(${k}, ${q(b.name)}, ${q(b.did)})`).join(',')};
       CREATE TEMP TABLE replies (k INTEGER PRIMARY KEY, body TEXT);
       INSERT INTO replies VALUES ${REPLIES.map((r, k) => `(${k}, ${q(r)})`).join(',')};`,
    );
    const batch = 100_000;
    for (let a = 0; a < calls; a += batch) {
      const b = Math.min(calls, a + batch);
      await exec(`BEGIN;
        WITH RECURSIVE seq(i) AS (SELECT ${a} UNION ALL SELECT i + 1 FROM seq WHERE i + 1 < ${b}),
        rows AS (SELECT i, ${contactOf('i')} AS c, ${from} + i * ${Math.floor(span / calls)} AS e FROM seq)
        INSERT INTO calls (call_id, direction, business, did, number, number_raw, caller_name, outcome, decision, reason, detail, started_at, ended_at, recorded_at)
        SELECT printf('%d.%d', 1700000000 + i, i), 'inbound', z.name, z.did, '+1415' || (2000000 + c), '+1415' || (2000000 + c), 'Jane Doe',
               m.outcome, m.decision, m.reason, 'bench', e - 20000, e, e + 5
        FROM rows JOIN mix m ON m.k = i % ${MIX.length} JOIN biz z ON z.k = c % ${businesses.length};
        INSERT OR IGNORE INTO contacts (number, caller_id_name, first_seen_at, last_call_at)
          SELECT number, caller_name, recorded_at, ended_at FROM calls WHERE rowid > ${a} AND rowid <= ${b};
        INSERT INTO sends (call_id, business, number, number_prefix, source_addr, body, kind, state, reason, due_at, attempts, created_at, updated_at, submitted_at, finished_at)
          SELECT call_id, business, number, substr(number, 1, length(number) - 4), did,
                 'Hi Jane, this is ' || business || '. Sorry we missed your call! How can we help?', 'text_back',
                 CASE WHEN rowid % 50 = 0 THEN 'failed' ELSE 'delivered' END, CASE WHEN rowid % 50 = 0 THEN 'receipt_undeliverable' END,
                 ended_at, 1, recorded_at, ended_at + 4000, ended_at + 300 + rowid % 700, ended_at + 4000
          FROM calls WHERE rowid > ${a} AND rowid <= ${b} AND decision = 'text';
        INSERT INTO send_parts (send_id, part, message_id, state, updated_at)
          SELECT id, 1, 'm' || id, CASE state WHEN 'failed' THEN 'undeliverable' ELSE 'delivered' END, updated_at FROM sends WHERE call_id IN (SELECT call_id FROM calls WHERE rowid > ${a} AND rowid <= ${b});
        COMMIT;`);
      onProgress?.(b, calls + messages);
    }
    // Texts from contacts, a couple of minutes after a call of theirs would have been texted back.
    for (let a = 0; a < messages; a += batch) {
      const b = Math.min(messages, a + batch);
      await exec(`BEGIN;
        WITH RECURSIVE seq(i) AS (SELECT ${a} UNION ALL SELECT i + 1 FROM seq WHERE i + 1 < ${b}),
        rows AS (SELECT i, ${contactOf('i')} AS c, ${from} + 120000 + i * ${Math.floor(span / Math.max(1, messages))} AS at FROM seq)
        INSERT INTO messages (business, number, body, keyword, received_at, to_addr)
        SELECT z.name, '+1415' || (2000000 + c), r.body, NULL, at, z.did
        FROM rows JOIN biz z ON z.k = c % ${businesses.length} JOIN replies r ON r.k = i % ${REPLIES.length};
        COMMIT;`);
      onProgress?.(calls + b, calls + messages);
    }
    if (shape.unreadEvery) await exec(`UPDATE threads SET unread = 0 WHERE id % ${shape.unreadEvery} != 0;`);
    await exec('PRAGMA wal_checkpoint(TRUNCATE);');
  } finally {
    await new Promise<void>((resolve) => db.close(() => resolve()));
  }
  return (performance.now() - t0) / 1000;
}

/**
 * Told as a build goes: after each batch, the rows (calls, then texts in) written so far, of all;
 * on PostgreSQL also as each stage after the rows begins (`stage`: threads, indexes, vacuum).
 */
export type Progress = (done: number, total: number, stage?: string) => void;

/** buildLedger on the engine the target names. */
export function buildLedgerAt(target: LedgerTarget, shape: LedgerShape, onProgress?: Progress): Promise<number> {
  return target.driver === 'sqlite' ? buildLedger(target.path, shape, onProgress) : buildPgLedger(target, shape, onProgress);
}

/** The tables a build writes (PostgreSQL: their indexes are made after the rows). */
const BUILT_TABLES = ['calls', 'contacts', 'sends', 'send_parts', 'messages', 'threads', 'send_counts'];

/**
 * buildLedger's ledger in PostgreSQL, row for row: the same calls, contacts, texts and parts,
 * texts in, threads (with the same ids: SQLite's upsert uses no id on a conflict, PostgreSQL's
 * identity would) and send counts, made in the server with INSERT ... SELECT over generate_series.
 * Fast, as a restore is: copying an SQLite build (`mctb ledger copy`) moves some 4,000 calls a
 * second, and these statements with the indexes and triggers in place some 5,000 (the machine
 * with a test run beside): ten million would take 40 minutes or more. So the rows go in without
 * the secondary indexes, triggers and foreign-key checks; threads and send counts are then made
 * in one statement each from the rows, as the ledger's triggers (migration 8, pg-schema.ts) would
 * have left them had the rows come one by one in buildLedger's order (each batch's calls, then its
 * texts; the texts in last); then the indexes, VACUUM (ANALYZE), which autovacuum would do by
 * itself a while after such a load (statistics for the planner, the visibility map for
 * index-only scans), and a CHECKPOINT. Compared table by table with buildLedger's at 250,000
 * calls of the console's shape: the same rows, but for send_counts' minutes, which follow each
 * build's clock. Returns the seconds it took.
 */
export async function buildPgLedger(target: Extract<LedgerTarget, { driver: 'postgres' }>, shape: LedgerShape, onProgress?: Progress): Promise<number> {
  const t0 = performance.now();
  const { calls } = shape;
  const contacts = shape.contacts ?? calls;
  const businesses = shape.businesses ?? [BRIGHTSIDE];
  const messages = shape.messages ?? 0;
  // The real schema: the Ledger class makes the tables and runs every migration.
  await (await Ledger.open(target)).close();
  // One session of its own (temp tables), with no time limit on a statement.
  const client = new pg.Client({ ...poolConfig({ url: target.url, password: target.password, applicationName: 'mctb bench build' }), query_timeout: 0 });
  await client.connect();
  const now = Date.now();
  const year = 365 * 86_400_000;
  const from = now - year + 86_400_000;
  const span = year - 2 * 86_400_000;
  const contactOf = (i: string) => (shape.busyEvery ? `CASE WHEN ${i} % ${shape.busyEvery} = 1 THEN 0 ELSE ${i} % ${contacts} END` : `${i} % ${contacts}`);
  const q = (x: string) => `'${x.replace(/'/g, "''")}'`;
  const exec = async (sql: string) => void (await client.query(sql));
  const batch = 100_000;
  try {
    await exec(`SET synchronous_commit = off; SET maintenance_work_mem = '1GB'; SET work_mem = '1GB'`);
    // The secondary indexes (none that backs a constraint: ON CONFLICT needs those), made again at the end.
    const indexes = (
      await client.query<{ def: string; name: string }>(
        `SELECT pg_get_indexdef(i.indexrelid) AS def, c.relname AS name FROM pg_index i JOIN pg_class t ON t.oid = i.indrelid JOIN pg_class c ON c.oid = i.indexrelid
         WHERE t.relnamespace = to_regnamespace(current_schema()) AND t.relname = ANY($1)
           AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = i.indexrelid)`,
        [BUILT_TABLES],
      )
    ).rows;
    for (const ix of indexes) await exec(`DROP INDEX "${ix.name}"`);
    // Triggers off, the foreign keys' with them (superuser: the bench's own cluster).
    for (const t of BUILT_TABLES) await exec(`ALTER TABLE ${t} DISABLE TRIGGER ALL`);
    await exec(
      `CREATE TEMP TABLE mix (k BIGINT PRIMARY KEY, outcome TEXT, decision TEXT, reason TEXT);
       INSERT INTO mix VALUES ${MIX.map((m, k) => `(${k}, '${m[0]}', '${m[1]}', '${m[2]}')`).join(',')};
       CREATE TEMP TABLE biz (k BIGINT PRIMARY KEY, name TEXT, did TEXT);
       INSERT INTO biz VALUES ${businesses.map((b, k) => `(${k}, ${q(b.name)}, ${q(b.did)})`).join(',')};
       CREATE TEMP TABLE replies (k BIGINT PRIMARY KEY, body TEXT);
       INSERT INTO replies VALUES ${REPLIES.map((r, k) => `(${k}, ${q(r)})`).join(',')};
       CREATE TEMP TABLE batch (i BIGINT, c BIGINT, e BIGINT, business TEXT, did TEXT, number TEXT, outcome TEXT, decision TEXT, reason TEXT);`,
    );
    for (let a = 0; a < calls; a += batch) {
      const b = Math.min(calls, a + batch);
      // Call i is SQLite's rowid i + 1 (buildLedger's 2% failed texts and submit delays go by it).
      await exec(`BEGIN;
        TRUNCATE batch;
        INSERT INTO batch
          SELECT i, c, e, z.name, z.did, '+1415' || (2000000 + c), m.outcome, m.decision, m.reason
          FROM (SELECT i, ${contactOf('i')} AS c, ${from} + i * ${Math.floor(span / calls)} AS e FROM generate_series(${a}::bigint, ${b - 1}) AS i) r
          JOIN mix m ON m.k = i % ${MIX.length} JOIN biz z ON z.k = c % ${businesses.length};
        INSERT INTO calls (call_id, direction, business, did, number, number_raw, caller_name, outcome, decision, reason, detail, started_at, ended_at, recorded_at)
          SELECT (1700000000 + i) || '.' || i, 'inbound', business, did, number, number, 'Jane Doe', outcome, decision, reason, 'bench', e - 20000, e, e + 5
          FROM batch ORDER BY i;
        INSERT INTO contacts (number, caller_id_name, first_seen_at, last_call_at)
          SELECT number, 'Jane Doe', e + 5, e FROM batch ORDER BY i ON CONFLICT DO NOTHING;
        WITH s AS (
          INSERT INTO sends (call_id, business, number, number_prefix, source_addr, body, kind, state, reason, due_at, attempts, created_at, updated_at, submitted_at, finished_at)
          SELECT (1700000000 + i) || '.' || i, business, number, substr(number, 1, length(number) - 4), did,
                 'Hi Jane, this is ' || business || '. Sorry we missed your call! How can we help?', 'text_back',
                 CASE WHEN (i + 1) % 50 = 0 THEN 'failed' ELSE 'delivered' END, CASE WHEN (i + 1) % 50 = 0 THEN 'receipt_undeliverable' END,
                 e, 1, e + 5, e + 4000, e + 300 + (i + 1) % 700, e + 4000
          FROM batch WHERE decision = 'text' ORDER BY i
          RETURNING id, state, updated_at)
        INSERT INTO send_parts (send_id, part, message_id, state, updated_at)
          SELECT id, 1, 'm' || id, CASE state WHEN 'failed' THEN 'undeliverable' ELSE 'delivered' END, updated_at FROM s;
        COMMIT;`);
      onProgress?.(b, calls + messages);
    }
    // Texts from contacts, a couple of minutes after a call of theirs would have been texted back.
    for (let a = 0; a < messages; a += batch) {
      const b = Math.min(messages, a + batch);
      await exec(`INSERT INTO messages (business, number, body, keyword, received_at, to_addr)
        SELECT z.name, '+1415' || (2000000 + c), r.body, NULL, at, z.did
        FROM (SELECT i, ${contactOf('i')} AS c, ${from} + 120000 + i * ${Math.floor(span / Math.max(1, messages))} AS at FROM generate_series(${a}::bigint, ${b - 1}) AS i) rows
        JOIN biz z ON z.k = c % ${businesses.length} JOIN replies r ON r.k = i % ${REPLIES.length}
        ORDER BY i`);
      onProgress?.(calls + b, calls + messages);
    }
    onProgress?.(0, 1, 'threads and send counts');
    // What the triggers would have done, in the order they would have done it: `ord` is each
    // row's place in buildLedger's order (each batch's calls, then its texts; texts in last).
    // Keys compared bytewise (COLLATE "C"): the one big sort is several times faster so.
    const callNo = `split_part(call_id, '.', 2)::bigint`;
    await exec(`CREATE TEMP TABLE ev (business TEXT COLLATE "C", number TEXT COLLATE "C", ord BIGINT, at BIGINT, kind TEXT, preview TEXT, touch_only BOOLEAN, unread BIGINT);
      INSERT INTO ev
        SELECT business, number, (${callNo} / ${batch}) * ${2 * batch} + ${callNo} % ${batch}, ended_at, 'call', outcome, outcome = 'answered', 0
          FROM calls WHERE direction = 'inbound' AND business IS NOT NULL AND number IS NOT NULL AND outcome <> 'unknown_end'
        UNION ALL
        SELECT business, number, (${callNo} / ${batch}) * ${2 * batch} + ${batch} + ${callNo} % ${batch}, created_at, 'out', substr(body, 1, 140), false, 0
          FROM sends WHERE kind <> 'staff_alert'
        UNION ALL
        SELECT business, number, ${(Math.ceil(calls / batch) + 1) * 2 * batch} + id, received_at, 'in', substr(body, 1, 140), false, (keyword IS NULL)::int
          FROM messages WHERE business IS NOT NULL;
      ANALYZE ev;`);
    // A thread is made by its first row other than an answered call (which only updates one
    // there is), and numbered in the order they were made; every row from then on updates it:
    // its latest row says last_kind and last_preview. One sort by thread and place serves all.
    await exec(`INSERT INTO threads (id, business, number, last_at, last_kind, last_preview, unread)
      SELECT ROW_NUMBER() OVER (ORDER BY first), business, number, last_at, kind, preview, unread FROM (
        SELECT DISTINCT ON (business, number) business, number, first, MAX(at) OVER w AS last_at, SUM(unread) OVER w AS unread, kind, preview
        FROM (SELECT ev.*, MIN(ord) FILTER (WHERE NOT touch_only) OVER w AS first FROM ev
              WINDOW w AS (PARTITION BY business, number ORDER BY ord DESC ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING)) x
        WHERE ord >= first
        WINDOW w AS (PARTITION BY business, number ORDER BY ord DESC ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING)
        ORDER BY business, number, ord DESC) t
      ORDER BY first`);
    await exec(`DROP TABLE ev; SELECT setval(pg_get_serial_sequence('threads', 'id'), GREATEST((SELECT MAX(id) FROM threads), 1))`);
    await exec(`INSERT INTO send_counts (business, minute, n)
        SELECT business, created_at / 60000, COUNT(*) FROM sends WHERE kind IN ('text_back','follow_up') AND state NOT IN ('cancelled','skipped') GROUP BY business, created_at / 60000
        UNION ALL
        SELECT '*', created_at / 60000, COUNT(*) FROM sends WHERE kind IN ('text_back','follow_up') AND state NOT IN ('cancelled','skipped') GROUP BY created_at / 60000`);
    if (shape.unreadEvery) await exec(`UPDATE threads SET unread = 0 WHERE id % ${shape.unreadEvery} != 0`);
    for (const t of BUILT_TABLES) await exec(`ALTER TABLE ${t} ENABLE TRIGGER ALL`);
    for (const [k, ix] of indexes.entries()) {
      onProgress?.(k, indexes.length, 'indexes');
      await exec(ix.def);
    }
    onProgress?.(0, 1, 'vacuum (analyze) and checkpoint');
    const tables = (await client.query<{ t: string }>(`SELECT tablename AS t FROM pg_tables WHERE schemaname = current_schema()`)).rows.map((r) => `"${r.t}"`);
    await exec(`VACUUM (ANALYZE) ${tables.join(', ')}`);
    // What the load left in memory written out now, not by a checkpoint while the ledger is measured.
    await exec('CHECKPOINT');
  } finally {
    await client.end();
  }
  return (performance.now() - t0) / 1000;
}

export async function report(ctx: Context, calls: number, onProgress?: Progress): Promise<ReportResult> {
  const name = `report-${calls}`;
  const ledger = await ledgerFor(ctx, name);
  const buildSeconds = await buildLedgerAt(ledger, { calls }, onProgress);
  const base: ReportResult = { calls, build_seconds: round(buildSeconds, 1)!, ledger_bytes_per_call: Math.round((await ledgerSize(ledger)) / calls), status: 'pending' };

  const config = join(ctx.dir, `${name}.yaml`);
  writeConfig(config, { amiPort: 5038, ledger });
  const help = await run(['report', '--help']);
  if (help.code !== 0) return base;
  const runs: number[] = [];
  for (let i = 0; i < 3; i++) {
    const t = performance.now();
    const r = await run(['report', '-c', config, '--since', '365d', '--json']);
    const s = (performance.now() - t) / 1000;
    if (r.code !== 0) return { ...base, status: 'failed', error: r.stderr.slice(0, 500) };
    if (i === 0) {
      const total = (JSON.parse(r.stdout) as { calls?: { total?: number } }).calls?.total;
      if (total !== calls) return { ...base, status: 'failed', error: `report counted ${total} calls of ${calls}` };
    }
    runs.push(round(s, 3)!);
  }
  return { ...base, status: 'ok', runs_s: runs, median_s: [...runs].sort((x, y) => x - y)[1] };
}

function run(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [MCTB_BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c) => (stdout += c));
    child.stderr.on('data', (c) => (stderr += c));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), ms);
    p.then(
      (v) => {
        clearTimeout(t);
        resolve(v);
      },
      (e: unknown) => {
        clearTimeout(t);
        reject(e);
      },
    );
  });
}
