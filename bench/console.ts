// The console phase: the web console of the real `mctb run` process (`console: { listen }`) on a
// big ledger built with SQL (buildLedger; on PostgreSQL when the context's ledger is there), measured from outside over loopback like a browser
// would see it: pages with a signed-in session cookie (time to the last byte), the 90-day
// dashboard, a text's way from the SMSC's deliver_sm to an open /events stream, and the process's
// RSS with 20 signed-in sessions each holding a stream open.

import http from 'node:http';
import { hashPassword } from '../src/console/passwords';
import { LoopbackSmsc } from '../src/demo/loopback-smsc';
import { Ledger } from '../src/ledger/ledger';
import { freePort, LedgerProbe, ledgerSize, memoryOf, sleep, until } from './mctb';
import { buildLedgerAt, ledgerFor, replayServer, startDaemon, stopDaemon, type Context, type Progress } from './phases';
import { round, summarize, type Summary } from './stats';

export interface ConsoleScale {
  calls: number;
  contacts: number;
  messages: number;
  businesses: number;
  /** Timed requests per page (after a few untimed ones). */
  requests: number;
  dashboardRuns: number;
  /** Texts in per second, and for how long, while the streams are open. */
  liveRate: number;
  liveSeconds: number;
  sessions: number;
}

export interface PageTiming {
  path: string;
  user: string;
  status: number;
  bytes: number;
  ms: Summary;
}

export interface ConsoleResult {
  calls: number;
  contacts: number;
  messages: number;
  businesses: number;
  threads: number;
  /** Threads with texts nobody answered (staff answered all but 1 in 100). */
  unread_threads: number;
  /** The thread the thread page shows: every 1,000th call and text is from its contact. */
  busy_thread: { id: number; calls: number; texts_out: number; texts_in: number };
  build_seconds: number;
  /** How the threads table was filled while building: by the ledger's own triggers (migration 8). */
  threads_filled_by: string;
  ledger_bytes: number;
  /** Time to the last byte of the response, ms, on one keep-alive connection. */
  pages: Record<'inbox_owner' | 'inbox_staff' | 'thread_owner' | 'thread_staff' | 'unread_owner', PageTiming>;
  /** GET /dashboard?days=90 (owner: every business; staff: theirs), each run in ms. */
  dashboard: { status: 'ok' | 'failed'; owner_runs_ms: number[]; owner_median_ms?: number; staff_runs_ms: number[]; staff_median_ms?: number; error?: string };
  /** deliver_sm sent by the SMSC → the `change` event for its thread read from /events. */
  live: { rate: number; seconds: number; sent: number; received: number; every_stream_got_all: boolean; streams: number; latency_ms: Summary };
  rss_mb: { idle: number; after_pages: number; sessions_open: number; after_live: number; peak: number };
  sessions: number;
}

const PASSWORD = 'correct horse battery';
const OWNER = 'olivia';
const STAFF = 'sam';

export function consoleBusinesses(n: number): { name: string; did: string }[] {
  return Array.from({ length: n }, (_, k) => ({ name: `Business ${String(k + 1).padStart(2, '0')}`, did: `+1555000${1000 + k}` }));
}

export async function consolePhase(ctx: Context, scale: ConsoleScale, onProgress?: Progress): Promise<ConsoleResult> {
  const businesses = consoleBusinesses(scale.businesses);
  const target = await ledgerFor(ctx, 'console');
  const buildSeconds = await buildLedgerAt(target, { calls: scale.calls, contacts: scale.contacts, messages: scale.messages, businesses, busyEvery: 1000, unreadEvery: 100 }, onProgress);
  // Users as `mctb users add` makes them: an owner, and staff of the first business only.
  const ledger = await Ledger.open(target);
  const hash = await hashPassword(PASSWORD);
  await ledger.users.add({ name: OWNER, role: 'owner', businesses: [], passwordHash: hash }, Date.now());
  await ledger.users.add({ name: STAFF, role: 'staff', businesses: [businesses[0].name], passwordHash: hash }, Date.now());
  await ledger.close();
  const bytes = await ledgerSize(target);
  ctx.log(`  ledger built in ${round(buildSeconds, 1)} s (${round(bytes / 2 ** 20, 0)} MB)`);

  const smsc = new LoopbackSmsc();
  const smppPort = await smsc.listen();
  const { pbx, port } = await replayServer(ctx);
  const consolePort = await freePort();
  const agents: http.Agent[] = [];
  const streams: EventStream[] = [];
  try {
    const { mctb, probe } = await startDaemon(ctx, 'console', pbx, port, { smppPort, smsc, config: { consolePort, businesses }, ledger: target });
    try {
      const base = `http://127.0.0.1:${consolePort}`;
      await until(async () => (await fetch(`${base}/login`).catch(() => undefined))?.status === 200, 20_000, 'the console to listen', 100);
      const threads = (await probe.get<{ n: number }>('SELECT COUNT(*) AS n FROM threads')).n;
      const unread = (await probe.get<{ n: number }>('SELECT COUNT(*) AS n FROM threads WHERE unread > 0')).n;
      const busyNumber = '+14152000000';
      const busy = await probe.get<{ id: number }>(`SELECT id FROM threads WHERE business = '${businesses[0].name}' AND number = '${busyNumber}'`);
      const busyCounts = await probe.get<{ calls: number; out: number; inn: number }>(
        `SELECT (SELECT COUNT(*) FROM calls WHERE number = '${busyNumber}') AS calls, (SELECT COUNT(*) FROM sends WHERE number = '${busyNumber}') AS out,
                (SELECT COUNT(*) FROM messages WHERE number = '${busyNumber}') AS inn`,
      );
      await sleep(1000);
      const idle = memoryOf(mctb.pid).rssMb;

      const owner = await signIn(base, OWNER);
      const staff = await signIn(base, STAFF);
      const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
      agents.push(agent);
      const time = async (path: string, user: string, cookie: string): Promise<PageTiming> => {
        for (let i = 0; i < 20; i++) await get(consolePort, path, cookie, agent); // warm-up: JIT, page cache, statement cache
        const ms: number[] = [];
        let last = { status: 0, bytes: 0, ms: 0 };
        for (let i = 0; i < scale.requests; i++) {
          last = await get(consolePort, path, cookie, agent);
          if (last.status !== 200) throw new Error(`GET ${path} as ${user}: HTTP ${last.status}\n${mctb.log().slice(-2000)}`);
          ms.push(last.ms);
        }
        return { path, user, status: last.status, bytes: last.bytes, ms: summarize(ms, 2) };
      };
      const pages = {
        inbox_owner: await time('/inbox', OWNER, owner),
        inbox_staff: await time('/inbox', STAFF, staff),
        thread_owner: await time(`/threads/${busy.id}`, OWNER, owner),
        thread_staff: await time(`/threads/${busy.id}`, STAFF, staff),
        // What every open console asks on every change (the tab title's count).
        unread_owner: await time('/unread', OWNER, owner),
      };
      for (const p of Object.values(pages)) ctx.log(`  GET ${p.path} as ${p.user}: p50 ${p.ms.p50} ms, p99 ${p.ms.p99} ms (${p.bytes} bytes)`);
      const afterPages = memoryOf(mctb.pid).rssMb;

      // The dashboard: each run a fresh request (no cache to hit).
      const dashboard: ConsoleResult['dashboard'] = { status: 'ok', owner_runs_ms: [], staff_runs_ms: [] };
      for (const [who, cookie, runs] of [
        [OWNER, owner, dashboard.owner_runs_ms],
        [STAFF, staff, dashboard.staff_runs_ms],
      ] as const) {
        for (let i = 0; i < scale.dashboardRuns && dashboard.status === 'ok'; i++) {
          const r = await get(consolePort, '/dashboard?days=90', cookie, agent);
          if (r.status !== 200) {
            dashboard.status = 'failed';
            dashboard.error = `HTTP ${r.status} as ${who}: ${
              mctb
                .log()
                .split('\n')
                .filter((l) => /console request failed/.test(l))
                .pop()
                ?.slice(0, 300) ?? ''
            }`;
          } else runs.push(round(r.ms, 1)!);
        }
      }
      const median = (xs: number[]) => (xs.length ? [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)] : undefined);
      dashboard.owner_median_ms = median(dashboard.owner_runs_ms);
      dashboard.staff_median_ms = median(dashboard.staff_runs_ms);
      ctx.log(`  GET /dashboard?days=90: owner ${dashboard.owner_runs_ms.join(', ')} ms; staff ${dashboard.staff_runs_ms.join(', ')} ms${dashboard.error ? ` (${dashboard.error})` : ''}`);

      // 20 signed-in sessions (owners and staff by turns), each loads the inbox and holds /events open.
      for (let i = 0; i < scale.sessions; i++) {
        const who = i % 2 === 0 ? OWNER : STAFF;
        const cookie = await signIn(base, who);
        const r = await get(consolePort, '/inbox', cookie);
        if (r.status !== 200) throw new Error(`inbox of session ${i}: HTTP ${r.status}`);
        const s = openEvents(consolePort, cookie, who);
        streams.push(s);
        await withTimeout(s.hello, 10_000, `the hello event of stream ${i}`);
      }
      await sleep(2000);
      const sessionsOpen = memoryOf(mctb.pid).rssMb;

      // Texts in at liveRate per second, each from a contact with a thread (of any business), timed
      // from the deliver_sm leaving the SMSC to its thread's `change` on the first owner's stream.
      const n = Math.round(scale.liveRate * scale.liveSeconds);
      const picks = await probe.all<{ id: number; business: string; number: string }>(`SELECT id, business, number FROM threads WHERE number != '${busyNumber}' ORDER BY id LIMIT ${n} OFFSET 1000`);
      const didOf = new Map(businesses.map((b) => [b.name, b.did]));
      const indexOf = new Map(picks.map((p, i) => [p.id, i]));
      const sentAt = new Float64Array(picks.length).fill(NaN);
      const gotAt = new Float64Array(picks.length).fill(NaN);
      const watcher = streams[0];
      watcher.onChange = (change, at) => {
        const i = indexOf.get(change.thread);
        if (i !== undefined && change.what === 'reply' && Number.isNaN(gotAt[i]) && !Number.isNaN(sentAt[i])) gotAt[i] = at;
      };
      const counts0 = streams.map((s) => s.changes);
      const start = performance.now() + 50;
      for (let i = 0; i < picks.length; i++) {
        const due = start + (i * 1000) / scale.liveRate;
        const wait = due - performance.now();
        if (wait > 0) await sleep(wait);
        sentAt[i] = performance.now();
        smsc.sendText(picks[i].number, didOf.get(picks[i].business)!, `bench reply ${i}: can you call me back?`);
      }
      await until(() => gotAt.every((x) => !Number.isNaN(x)), 10_000, 'the last change events').catch(() => undefined);
      await sleep(500);
      const latencies: number[] = [];
      for (let i = 0; i < picks.length; i++) if (!Number.isNaN(gotAt[i])) latencies.push(gotAt[i] - sentAt[i]);
      // Every owner stream sees every change; each staff stream those of its business.
      const ownBusiness = picks.filter((p) => p.business === businesses[0].name).length;
      const everyStream = streams.every((s, i) => s.changes - counts0[i] >= (s.user === OWNER ? picks.length : ownBusiness));
      const live = { rate: scale.liveRate, seconds: scale.liveSeconds, sent: picks.length, received: latencies.length, every_stream_got_all: everyStream, streams: streams.length, latency_ms: summarize(latencies, 2) };
      ctx.log(`  live: ${live.received}/${live.sent} changes, p50 ${live.latency_ms.p50} ms, p99 ${live.latency_ms.p99} ms; every stream got its changes: ${everyStream}`);
      const afterLive = memoryOf(mctb.pid);

      return {
        calls: scale.calls,
        contacts: (await probe.get<{ n: number }>('SELECT COUNT(*) AS n FROM contacts')).n,
        messages: scale.messages,
        businesses: businesses.length,
        threads,
        unread_threads: unread,
        busy_thread: { id: busy.id, calls: busyCounts.calls, texts_out: busyCounts.out, texts_in: busyCounts.inn },
        build_seconds: round(buildSeconds, 1)!,
        threads_filled_by: 'triggers',
        ledger_bytes: bytes,
        pages,
        dashboard,
        live,
        rss_mb: { idle: round(idle, 1)!, after_pages: round(afterPages, 1)!, sessions_open: round(sessionsOpen, 1)!, after_live: round(afterLive.rssMb, 1)!, peak: round(afterLive.hwmMb, 1)! },
        sessions: streams.length,
      };
    } finally {
      for (const s of streams) s.close();
      for (const a of agents) a.destroy();
      await stopDaemon(mctb, probe as LedgerProbe, ctx, 'console');
    }
  } finally {
    await pbx.close();
    await smsc.close();
  }
}

/** Signs in through the login form; returns the session cookie. */
async function signIn(base: string, name: string): Promise<string> {
  const res = await fetch(`${base}/login`, {
    method: 'POST',
    redirect: 'manual',
    headers: { 'content-type': 'application/x-www-form-urlencoded', origin: base },
    body: new URLSearchParams({ name, password: PASSWORD }).toString(),
  });
  const cookie = /mctb_session=[^;]+/.exec(res.headers.get('set-cookie') ?? '')?.[0];
  if (res.status !== 303 || !cookie) throw new Error(`sign-in as ${name} failed: HTTP ${res.status}`);
  return cookie;
}

/** One GET, timed from the request to the response's last byte. */
function get(port: number, path: string, cookie: string, agent?: http.Agent): Promise<{ status: number; bytes: number; ms: number }> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const req = http.get({ host: '127.0.0.1', port, path, agent, headers: { cookie } }, (res) => {
      let bytes = 0;
      res.on('data', (c: Buffer) => (bytes += c.length));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, bytes, ms: performance.now() - t0 }));
      res.on('error', reject);
    });
    req.on('error', reject);
  });
}

interface EventStream {
  user: string;
  hello: Promise<void>;
  changes: number;
  onChange?: (change: { business: string; thread: number; what: string }, at: number) => void;
  close(): void;
}

/** GET /events, read as a browser's EventSource would: each event timed as its last line arrives. */
function openEvents(port: number, cookie: string, user: string): EventStream {
  let helloResolve!: () => void;
  const hello = new Promise<void>((resolve) => (helloResolve = resolve));
  const s: EventStream = { user, hello, changes: 0, close: () => req.destroy() };
  const req = http.get({ host: '127.0.0.1', port, path: '/events', headers: { cookie, accept: 'text/event-stream' } }, (res) => {
    let buf = '';
    res.setEncoding('utf8');
    res.on('data', (chunk: string) => {
      const at = performance.now();
      buf += chunk;
      let end: number;
      while ((end = buf.indexOf('\n\n')) >= 0) {
        const block = buf.slice(0, end);
        buf = buf.slice(end + 2);
        const event = /^event: (.*)$/m.exec(block)?.[1];
        const data = /^data: (.*)$/m.exec(block)?.[1];
        if (event === 'hello') helloResolve();
        else if (event === 'change' && data) {
          s.changes++;
          s.onChange?.(JSON.parse(data) as { business: string; thread: number; what: string }, at);
        }
      }
    });
    res.on('error', () => undefined);
  });
  req.on('error', () => undefined);
  return s;
}

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), ms)));
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}
