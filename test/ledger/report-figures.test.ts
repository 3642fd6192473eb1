// The dashboard's figures (ledger.admin.report, dailyCalls, dailyTexts) on a real ledger of each
// engine (an SQLite file, a PostgreSQL schema):
// missed callers, "recovered" as CONTRACT.md defines it (a missed caller who, within 7 days of the
// missed call, called that business again and was answered, or was called back and answered),
// the business filter, and the per-day series across a DST change. Each is also held to a
// plain count over the rows, and (on SQLite) the statements to their indexes (no full scan of calls).

import { expect } from 'chai';
import { DateTime, Info } from 'luxon';
import { join } from 'node:path';
import { MISSED_OUTCOMES } from '../../src/calls/types';
import { Ledger } from '../../src/ledger/ledger';
import { MIGRATIONS } from '../../src/ledger/migrations';
import { DAILY_CALLS_SQL, DAILY_TEXTS_SQL, MISSED_CALLERS_SQL, RECOVERED_SQL, RECOVERED_WITHIN_MS, localDays, offsetSpans } from '../../src/ledger/report';
import { SqliteFile } from '../../src/ledger/sqlite';
import type { CallRecord } from '../../src/records/rows';
import { forEachEngine, openLedger } from '../support/engines';
import { tempDir } from '../support/harness';

const HOUR = 3600_000;
const DAY = 24 * HOUR;
const T0 = Date.UTC(2026, 9, 1); // 2026-10-01, the window's start
const UNTIL = T0 + 7 * DAY - 1;

let seq = 0;
function call(c: { number: string; business?: string; outcome: string; at: number; direction?: 'inbound' | 'outbound'; lasts?: number }): CallRecord {
  const startedAt = c.at;
  const endedAt = c.at + (c.lasts ?? 20_000);
  return {
    callId: `c${++seq}`,
    direction: c.direction ?? 'inbound',
    business: c.business,
    did: '+15550001000',
    number: c.number,
    numberRaw: c.number,
    callerName: '',
    outcome: c.outcome as CallRecord['outcome'],
    decision: 'no_text',
    reason: c.outcome === 'answered' ? 'answered' : 'missed',
    startedAt,
    endedAt,
    recordedAt: endedAt,
  };
}

const n = (i: number) => `+1415555${String(i).padStart(4, '0')}`;

/** The scenarios, one number each; `recovered` says which businesses' missed calls a person reached. */
const missed = (number: string, business: string, at: number) => call({ number, business, outcome: 'noanswer', at });
const answered = (number: string, business: string | undefined, at: number, direction: 'inbound' | 'outbound' = 'inbound') => call({ number, business, outcome: 'answered', at, direction });
const CALLS: CallRecord[] = [
  // 1: called A again two days later and was answered: recovered.
  missed(n(1), 'A', T0 + HOUR),
  answered(n(1), 'A', T0 + HOUR + 2 * DAY),
  // 2: answered by A only after 8 days: not recovered.
  missed(n(2), 'A', T0 + 2 * HOUR),
  answered(n(2), 'A', T0 + 2 * HOUR + 8 * DAY),
  // 3: called back (outbound, no business, as the tracker records it) and answered: recovered.
  missed(n(3), 'A', T0 + 3 * HOUR),
  answered(n(3), undefined, T0 + 3 * HOUR + DAY, 'outbound'),
  // 4: missed by A, answered by another business: not recovered.
  missed(n(4), 'A', T0 + 4 * HOUR),
  answered(n(4), 'B', T0 + 4 * HOUR + DAY),
  // 5: missed twice by A, then answered: one recovered caller.
  missed(n(5), 'A', T0 + 5 * HOUR),
  missed(n(5), 'A', T0 + 6 * HOUR),
  answered(n(5), 'A', T0 + DAY),
  // 6: B, answered three days on: recovered.
  missed(n(6), 'B', T0 + HOUR),
  answered(n(6), 'B', T0 + HOUR + 3 * DAY),
  // 7: C, answered the next day: recovered.
  missed(n(7), 'C', T0 + HOUR),
  answered(n(7), 'C', T0 + HOUR + DAY),
  // 8: B, never reached.
  missed(n(8), 'B', T0 + 2 * HOUR),
  // 9: answered before the missed call, not after it: not recovered.
  answered(n(9), 'A', T0),
  missed(n(9), 'A', T0 + HOUR),
  // 10: C, called back but nobody picked up: not recovered.
  missed(n(10), 'C', T0 + 3 * HOUR),
  call({ number: n(10), outcome: 'noanswer', at: T0 + 4 * HOUR, direction: 'outbound' }),
  // 11: B, missed an hour before the window ends, answered the day after it: recovered.
  missed(n(11), 'B', UNTIL - HOUR),
  answered(n(11), 'B', UNTIL + DAY),
  // 12: A, an outbound callback recorded for B only counts for B: not recovered.
  missed(n(12), 'A', T0 + 5 * HOUR),
  answered(n(12), 'B', T0 + 6 * HOUR, 'outbound'),
  // 13: missed before the window, answered inside it: neither a missed caller nor recovered.
  missed(n(13), 'A', T0 - DAY),
  answered(n(13), 'A', T0 + HOUR),
  // 14: answered 6 days 23 hours on (its call ends after the 7 days): recovered (the call started in time).
  missed(n(14), 'C', T0 + 10 * HOUR),
  call({ number: n(14), business: 'C', outcome: 'answered', at: T0 + 10 * HOUR + 20_000 + 7 * DAY - HOUR, lasts: 2 * HOUR }),
];

/** The definition, row by row. */
function bruteForce(rows: readonly CallRecord[], since: number, until: number, businesses?: readonly string[]) {
  const inScope = (b: string | undefined) => businesses === undefined || (b !== undefined && businesses.includes(b));
  const missedRows = rows.filter((r) => r.direction === 'inbound' && (MISSED_OUTCOMES as readonly string[]).includes(r.outcome) && r.endedAt >= since && r.endedAt <= until && inScope(r.business));
  const reached = (m: CallRecord) =>
    rows.some(
      (a) =>
        a.outcome === 'answered' &&
        a.number === m.number &&
        a.startedAt >= m.endedAt &&
        a.startedAt <= m.endedAt + RECOVERED_WITHIN_MS &&
        (a.direction === 'inbound' ? a.business === m.business : a.business === undefined || a.business === m.business),
    );
  return { missedCallers: new Set(missedRows.map((r) => r.number)).size, recovered: new Set(missedRows.filter(reached).map((r) => r.number)).size };
}

forEachEngine('dashboard figures (ledger.admin.report, dailyCalls, dailyTexts)', (engine) => {
  let l: Ledger;

  before(async () => {
    l = await openLedger(engine);
    for (const c of CALLS) await l.calls.record(c);
  });
  after(async () => {
    await l?.close();
  });

  it('recovered: answered again within 7 days (inbound to that business, or a callback), each missed caller once', async () => {
    const r = await l.admin.report(T0, UNTIL);
    expect(r.missedCallers).to.equal(13); // 1–12 and 14; 5 missed twice counts once, 13 is before the window
    expect(r.recovered).to.equal(7); // 1, 3, 5, 6, 7, 11, 14 but not 2 (8 days), 4 (another business), 8, 9, 10, 12
    expect(r).to.include(bruteForce(CALLS, T0, UNTIL));
  });

  it('the businesses filter: two of three, one, none', async () => {
    const two = await l.admin.report(T0, UNTIL, ['A', 'B']);
    expect(two).to.include({ missedCallers: 10, recovered: 5 });
    expect(two).to.include(bruteForce(CALLS, T0, UNTIL, ['A', 'B']));
    expect(await l.admin.report(T0, UNTIL, ['A'])).to.include({ missedCallers: 7, recovered: 3 });
    expect(await l.admin.report(T0, UNTIL, ['C'])).to.include({ missedCallers: 3, recovered: 2 });
    expect(await l.admin.report(T0, UNTIL, [])).to.include({ missedCallers: 0, recovered: 0 });
    // The calls themselves are filtered the same way.
    const calls = (r: { calls: { n: number }[] }) => r.calls.reduce((s, c) => s + c.n, 0);
    expect(calls(two)).to.equal(CALLS.filter((c) => c.direction === 'inbound' && c.endedAt >= T0 && c.endedAt <= UNTIL && ['A', 'B'].includes(c.business!)).length);
  });

  it('replyRate is null when nobody was texted', async () => {
    const r = await l.admin.report(T0, UNTIL);
    expect(r.contactsTexted).to.equal(0);
    expect(r.replyRate).to.equal(null);
  });

  it('every window agrees with the definition', async () => {
    for (const [since, until] of [
      [T0 - 2 * DAY, UNTIL],
      [T0 + 2 * HOUR, T0 + 5 * HOUR],
      [T0 + 4 * HOUR, UNTIL + 10 * DAY],
      [UNTIL, UNTIL + DAY],
    ]) {
      for (const b of [undefined, ['A'], ['B', 'C']]) expect(await l.admin.report(since, until, b), `${since} ${until} ${b}`).to.include(bruteForce(CALLS, since, until, b));
    }
  });
});

// SQLite only: the plans are SQLite's (EXPLAIN QUERY PLAN, and the INDEXED BY that fails a
// statement whose index is unusable); PostgreSQL plans for itself and the translator drops INDEXED BY.
describe('dashboard figures: the statements\' plans on SQLite', () => {
  let tmp: ReturnType<typeof tempDir>;
  let path: string;

  before(async () => {
    tmp = tempDir('report-figures');
    path = join(tmp.dir, 'ledger.db');
    const l = await Ledger.open(path);
    for (const c of CALLS) await l.calls.record(c);
    await l.close();
  });
  after(() => tmp?.cleanup());

  it('the statements read indexes only (migration 9), never a full scan of calls', async () => {
    // Migration 9's outcome list is MISSED_OUTCOMES in order, or the partial index is unusable.
    expect(MIGRATIONS[8]).to.include(`outcome IN (${MISSED_OUTCOMES.map((o) => `'${o}'`).join(',')})`);
    const db = await SqliteFile.open(path);
    try {
      const params = { $since: T0, $until: UNTIL, $b: JSON.stringify(['A', 'B']), $within: RECOVERED_WITHIN_MS, $spans: JSON.stringify([[T0, UNTIL + 1, 0]]) };
      const plan = async (sql: string, keys: (keyof typeof params)[]) => {
        const rows = await db.all<{ detail: string }>(`EXPLAIN QUERY PLAN ${sql}`, Object.fromEntries(keys.map((k) => [k, params[k]])) as never);
        return rows.map((r) => r.detail);
      };
      const recovered = await plan(RECOVERED_SQL, ['$since', '$until', '$b', '$within']);
      expect(recovered.join('\n')).to.match(/SEARCH m USING COVERING INDEX calls_missed \(ended_at>\? AND ended_at<\?\)/);
      expect(recovered.join('\n')).to.match(/SEARCH a USING COVERING INDEX calls_answered \(number=\? AND started_at>\? AND started_at<\?\)/);
      const missedCallers = await plan(MISSED_CALLERS_SQL, ['$since', '$until', '$b']);
      expect(missedCallers.join('\n')).to.match(/SEARCH calls USING COVERING INDEX calls_missed \(ended_at>\? AND ended_at<\?\)/);
      const daily = await plan(DAILY_CALLS_SQL, ['$since', '$until', '$b', '$spans']);
      expect(daily.join('\n')).to.match(/SEARCH c USING COVERING INDEX calls_group \(direction=\? AND outcome=\? AND decision=\? AND reason=\? AND ended_at>\? AND ended_at<\?\)/);
      const texts = await plan(DAILY_TEXTS_SQL, ['$since', '$until', '$b', '$spans']);
      expect(texts.join('\n')).to.match(/SEARCH s USING COVERING INDEX sends_report/);
      for (const line of [...recovered, ...missedCallers, ...daily, ...texts]) expect(line).not.to.match(/^SCAN (calls|sends|[mac])\b/);
    } finally {
      await db.close();
    }
  });
});

forEachEngine('daily series across a DST change (America/Chicago)', (engine) => {
  const ZONE = 'America/Chicago';
  let l: Ledger;
  const local = (iso: string) => DateTime.fromISO(iso, { zone: ZONE }).toMillis();
  beforeEach(async () => {
    l = await openLedger(engine);
  });
  afterEach(async () => {
    await l?.close();
  });

  it('2026-11-01 (25 hours): each call on its local day, none dropped or doubled', async () => {
    const since = local('2026-10-31T00:00');
    const until = local('2026-11-03T00:00') - 1;
    const ends = [
      Date.parse('2026-10-31T05:00:00Z'), // 10-31 00:00 CDT, the window's first instant
      Date.parse('2026-11-01T04:30:00Z'), // 10-31 23:30 CDT
      Date.parse('2026-11-01T05:00:00Z'), // 11-01 00:00 CDT
      Date.parse('2026-11-01T06:30:00Z'), // 11-01 01:30 CDT
      Date.parse('2026-11-01T06:59:59.999Z'), // 11-01 01:59:59.999 CDT, the last instant of daylight time
      Date.parse('2026-11-01T07:00:00Z'), // 11-01 01:00 CST
      Date.parse('2026-11-01T07:30:00Z'), // 11-01 01:30 CST (the second 01:30)
      Date.parse('2026-11-02T05:59:59.999Z'), // 11-01 23:59:59.999 CST
      Date.parse('2026-11-02T06:00:00Z'), // 11-02 00:00 CST
      Date.parse('2026-11-03T05:59:59.999Z'), // 11-02 23:59:59.999 CST, the window's last instant
      Date.parse('2026-11-03T06:00:00Z'), // 11-03: after the window
    ];
    for (const [i, end] of ends.entries()) {
      const c = call({ number: n(100 + i), business: i % 2 ? 'A' : 'B', outcome: i % 3 ? 'noanswer' : 'answered', at: end - 20_000 });
      await l.calls.record(c, i % 3 ? { business: c.business!, number: c.number!, sourceAddr: '+15550001000', body: 'x', dueAt: end + 30_000, kind: 'text_back' } : undefined);
    }
    const rows = await l.admin.dailyCalls(since, until, ZONE);
    const perDay = (rs: { day: string; n: number }[]) => rs.reduce<Record<string, number>>((o, r) => ({ ...o, [r.day]: (o[r.day] ?? 0) + r.n }), {});
    expect(perDay(rows)).to.deep.equal({ '2026-10-31': 2, '2026-11-01': 6, '2026-11-02': 2 });
    expect(rows).to.deep.include({ day: '2026-11-01', outcome: 'answered', n: 2 });
    expect(rows).to.deep.include({ day: '2026-11-01', outcome: 'noanswer', n: 4 });
    expect(rows.map((r) => r.day)).to.deep.equal([...rows.map((r) => r.day)].sort());
    expect(localDays(since, until, ZONE)).to.deep.equal(['2026-10-31', '2026-11-01', '2026-11-02']);

    // Text-backs, created when their call was recorded (at its end): the same days.
    const texts = await l.admin.dailyTexts(since, until, ZONE);
    expect(texts.every((t) => t.state === 'scheduled')).to.equal(true);
    expect(perDay(texts)).to.deep.equal({ '2026-10-31': 1, '2026-11-01': 4, '2026-11-02': 1 });
    expect(perDay(await l.admin.dailyTexts(since, until, ZONE, ['A']))).to.deep.equal({ '2026-10-31': 1, '2026-11-01': 2 });

    // The business filter.
    expect(perDay(await l.admin.dailyCalls(since, until, ZONE, ['A']))).to.deep.equal({ '2026-10-31': 1, '2026-11-01': 3, '2026-11-02': 1 });
    expect(await l.admin.dailyCalls(since, until, ZONE, [])).to.deep.equal([]);
  });

  it('any instant around both changes of 2026 lands on the day luxon gives it', async () => {
    let x = 12345;
    const rand = () => ((x = (x * 1103515245 + 12345) % 2 ** 31), x / 2 ** 31);
    for (const [from, to] of [
      ['2026-03-06T00:00', '2026-03-11T00:00'],
      ['2026-10-29T00:00', '2026-11-04T00:00'],
    ]) {
      const since = local(from);
      const until = local(to) - 1;
      const ends = Array.from({ length: 300 }, () => since + Math.floor(rand() * (until - since + 1)));
      for (const [i, end] of ends.entries()) await l.calls.record(call({ number: n(1000 + i), business: 'A', outcome: 'busy', at: end - 20_000 }));
      const expected: Record<string, number> = {};
      for (const end of ends) {
        const day = DateTime.fromMillis(end, { zone: ZONE }).toISODate()!;
        expected[day] = (expected[day] ?? 0) + 1;
      }
      const got = Object.fromEntries((await l.admin.dailyCalls(since, until, ZONE)).map((r) => [r.day, r.n]));
      expect(got).to.deep.equal(expected);
      expect(Object.keys(got)).to.deep.equal(localDays(since, until, ZONE).filter((d) => d in expected));
      await l.calls.record(call({ number: n(1), business: 'A', outcome: 'busy', at: until + 1 })); // after: never counted
    }
    // The offset spans: one change each, pinned to the millisecond.
    const spans = offsetSpans(local('2026-11-01T00:00'), local('2026-11-02T00:00'), Info.normalizeZone(ZONE)!);
    expect(spans).to.have.length(2);
    expect(spans[1].from).to.equal(Date.parse('2026-11-01T07:00:00Z'));
    expect(spans.map((s) => s.offsetMs)).to.deep.equal([-5 * HOUR, -6 * HOUR]);
  });

  it('an unknown time zone is an error that names it', async () => {
    await l.admin.dailyCalls(0, DAY, 'America/Chicgo').then(
      () => expect.fail('no error'),
      (e: Error) => expect(e.message).to.include('"America/Chicgo" is not a time zone'),
    );
  });
});
