// `mctb report` over a ledger filled by the real pipeline (captured calls replayed over loopback
// AMI, texts to the loopback SMSC, replies and a STOP sent back), checked against counts
// computed here straight from the ledger's rows with plain SQL. The pipeline and the command run
// on an SQLite file; the figures themselves (Ledger.admin.report, which the command prints) are
// checked on both engines, over a copy of the same rows.

import { expect } from 'chai';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadCapture, rewriteCapture } from '../../src/demo/ami-replay';
import type { LedgerDb } from '../../src/ledger/db';
import type { Ledger } from '../../src/ledger/ledger';
import smpp from '../../src/sms/smpp/lib';
import { forEachEngine, openLedger } from '../support/engines';
import { waitFor } from '../support/harness';
import { startPipeline, type Pipeline } from '../support/pipeline';
import { mctb, yamlConfig } from '../support/cli';
import { buildReportJson, type ReportJson } from '../../src/cli/report';
import { MISSED_OUTCOMES } from '../../src/calls/types';

const SHOP = '+15550001000';
const JANE = '+14155550123';
const BUSY = '+13125550147';
const CANCEL = '+12065550188';
const VOICEMAIL = '+13055550172';
const ANSWERED = '+16175550110';
const DAY = 86_400_000;

/** The report's numbers, computed here from the ledger's rows, independently of Ledger.admin.report. */
async function expected(db: LedgerDb, since: number, business?: string) {
  const b = business ?? null;
  const calls = await db.all<{ outcome: string; decision: string; reason: string }>(
    `SELECT outcome, decision, reason FROM calls WHERE direction = 'inbound' AND ended_at >= ? AND (CAST(? AS TEXT) IS NULL OR business = ?)`,
    [since, b, b],
  );
  const sends = await db.all<{ number: string; state: string; business: string; created_at: number; submitted_at: number | null; ended_at: number }>(
    `SELECT s.number, s.state, s.business, s.created_at, s.submitted_at, c.ended_at FROM sends s JOIN calls c ON c.call_id = s.call_id
     WHERE s.kind = 'text_back' AND s.created_at >= ? AND (CAST(? AS TEXT) IS NULL OR s.business = ?)`,
    [since, b, b],
  );
  const messages = await db.all<{ number: string; business: string | null; received_at: number }>(`SELECT number, business, received_at FROM messages WHERE keyword IS NULL AND received_at >= ?`, [since]);
  const optOuts = await db.all(`SELECT 1 FROM opt_outs WHERE created_at >= ? AND (CAST(? AS TEXT) IS NULL OR business IN (?, '*'))`, [since, b, b]);
  const count = (xs: unknown[]) => xs.length;
  const submitted = sends.filter((s) => s.submitted_at !== null);
  const replies = messages.filter((m) => submitted.some((s) => s.number === m.number && s.submitted_at! <= m.received_at && (m.business === null || m.business === s.business)));
  const delays = submitted.map((s) => s.submitted_at! - s.ended_at).sort((x, y) => x - y);
  const mid = delays.length >> 1;
  const median = delays.length === 0 ? null : delays.length % 2 ? delays[mid] : (delays[mid - 1] + delays[mid]) / 2;
  const skipped: Record<string, number> = {};
  for (const c of calls) if (c.decision === 'no_text' && c.outcome !== 'answered') skipped[c.reason] = (skipped[c.reason] ?? 0) + 1;
  const byOutcome: Record<string, number> = {};
  for (const c of calls) byOutcome[c.outcome] = (byOutcome[c.outcome] ?? 0) + 1;
  // Missed callers and the recovered ones, by CONTRACT.md's definition, row by row.
  const all = await db.all<{ direction: string; business: string | null; number: string | null; outcome: string; started_at: number; ended_at: number }>(
    `SELECT direction, business, number, outcome, started_at, ended_at FROM calls`,
  );
  const missedRows = all.filter((c) => c.direction === 'inbound' && MISSED_OUTCOMES.some((o) => o === c.outcome) && c.ended_at >= since && (b === null || c.business === b) && c.number !== null);
  const recoveredRows = missedRows.filter((m) =>
    all.some(
      (a) =>
        a.outcome === 'answered' &&
        a.number === m.number &&
        a.started_at >= m.ended_at &&
        a.started_at <= m.ended_at + 7 * DAY &&
        (a.direction === 'inbound' ? a.business === m.business : a.business === null || a.business === m.business),
    ),
  );
  const contactsTexted = new Set(submitted.map((s) => s.number)).size;
  const contactsReplied = new Set(replies.map((m) => m.number)).size;
  return {
    total: count(calls),
    byOutcome,
    texted: calls.filter((c) => c.decision === 'text').length,
    skipped,
    delivered: sends.filter((s) => s.state === 'delivered').length,
    failed: sends.filter((s) => s.state === 'failed').length,
    texts: count(sends),
    replies: replies.length,
    contactsTexted,
    contactsReplied,
    optOuts: count(optOuts),
    median: median === null ? null : Math.round(median) / 1000,
    missedCallers: new Set(missedRows.map((c) => c.number)).size,
    recovered: new Set(recoveredRows.map((c) => c.number)).size,
  };
}

type Expected = Awaited<ReturnType<typeof expected>>;

/** The report over every business for the last 7 days, against the rows (and the counts the pipeline made). */
function checkAll(j: ReportJson, e: Expected): void {
  expect(j.business).to.equal(null);
  expect(j.calls.total).to.equal(e.total);
  expect(j.calls.total).to.equal(11); // ten replayed calls and the legacy one; the old call is outside the window
  for (const [outcome, n] of Object.entries(e.byOutcome)) expect(j.calls.by_outcome[outcome], outcome).to.equal(n);
  expect(Object.values(j.calls.by_outcome).reduce((a, b) => a + b, 0)).to.equal(e.total);
  expect(j.calls.answered).to.equal(2);
  expect(j.calls.answered + j.calls.missed + j.calls.unknown_end).to.equal(j.calls.total);
  expect(j.missed_callers).to.equal(e.missedCallers);
  expect(j.recovered).to.equal(e.recovered);
  expect(j.recovered).to.equal(1); // the cancel caller, called back
  expect(j.texted).to.equal(e.texted);
  expect(j.texted).to.equal(6);
  expect(j.skipped).to.deep.equal(e.skipped);
  expect(j.skipped).to.deep.equal({ deduped: 1, legacy_rule: 1, withheld: 1 });
  expect(j.texts.total).to.equal(e.texts);
  expect(j.texts.delivered).to.equal(e.delivered);
  expect(j.texts.failed).to.equal(e.failed);
  expect(j.texts).to.include({ total: 6, delivered: 5, failed: 1 });
  expect(j.replies).to.equal(e.replies);
  expect(j.replies).to.equal(3);
  expect(j.contacts_texted).to.equal(e.contactsTexted);
  expect(j.contacts_replied).to.equal(e.contactsReplied);
  expect(j.contacts_replied).to.equal(2);
  expect(j.reply_rate).to.equal(Math.round((e.contactsReplied / e.contactsTexted) * 10_000) / 10_000);
  expect(j.opt_outs).to.equal(e.optOuts);
  expect(j.opt_outs).to.equal(1);
  expect(j.median_seconds_to_text).to.equal(e.median);
  expect(j.median_seconds_to_text).to.be.a('number').and.to.be.at.least(0);
  expect(j.filtered).to.deep.equal({ total: 0, by_business: {}, fix: null });
}

/** The report for one business (Brightside Dental), for the other (Other Clinic), and over 60 days. */
function checkBusinesses(brightside: ReportJson, e: Expected, other: ReportJson, wide: ReportJson): void {
  expect(brightside.business).to.equal('Brightside Dental');
  expect(brightside.calls.total).to.equal(e.total);
  expect(brightside.calls.total).to.equal(10);
  expect(brightside.skipped).to.deep.equal({ deduped: 1, withheld: 1 });
  expect(brightside.missed_callers).to.equal(e.missedCallers);
  expect(brightside.recovered).to.equal(1);
  expect(brightside.texts.total).to.equal(6);

  expect(other.calls.total).to.equal(1);
  expect(other.texts.total).to.equal(0);
  expect(other.reply_rate).to.equal(null);
  expect(other).to.include({ missed_callers: 1, recovered: 0 });
  expect(other.median_seconds_to_text).to.equal(null);

  expect(wide.calls.total).to.equal(12);
  expect(wide.skipped.deduped).to.equal(2);
}

/** The tables the report reads, copied row by row (ids kept) from one ledger into another. */
async function copyRows(from: LedgerDb, to: LedgerDb): Promise<void> {
  for (const table of ['calls', 'sends', 'messages', 'opt_outs']) {
    for (const row of await from.all(`SELECT * FROM ${table}`)) {
      const columns = Object.keys(row);
      await to.run(`INSERT INTO ${table} (${columns.join(', ')}) VALUES (${columns.map(() => '?').join(',')})`, columns.map((c) => row[c]));
    }
  }
}

describe('mctb report', function () {
  this.timeout(90_000);
  let p: Pipeline;
  let db: LedgerDb;
  let configFile: string;

  before(async () => {
    // The voicemail caller's text is refused by the gateway: one failed text.
    p = await startPipeline({ smsc: { receiptDelayMs: 20, answer: (s) => (s.destination === VOICEMAIL ? smpp.errors.ESME_RINVDSTADR : 0) } });
    const plays = ['noanswer', 'busy', 'cancel', 'chanunavail', 'voicemail', 'queue-abandon', 'answered', 'ringgroup-answered', 'anonymous'];
    for (const [i, name] of plays.entries()) {
      await p.pbx.play(loadCapture(name));
      await p.decisions(i + 1);
    }
    // Jane again within the dedupe window: not texted (deduped).
    await p.pbx.play(rewriteCapture(loadCapture('noanswer'), 600));
    await p.decisions(plays.length + 1);
    // The daemon's own ledger, read and written with plain SQL.
    db = p.daemon.ledgerHandle.database;
    await waitFor('every text-back final', async () => (await db.get<{ n: number }>(`SELECT COUNT(*) AS n FROM sends WHERE kind = 'text_back' AND state NOT IN ('delivered','failed')`))!.n === 0, 20_000);
    // Replies: Jane once, the cancel caller twice; STOP is a keyword, not a reply; a number never texted is not a reply.
    p.smsc.sendText(JANE, SHOP, 'Thanks, please call me after 3');
    p.smsc.sendText(CANCEL, SHOP, 'hello?');
    p.smsc.sendText(CANCEL, SHOP, 'are you open saturday');
    p.smsc.sendText(BUSY, SHOP, 'STOP');
    p.smsc.sendText(ANSWERED, SHOP, 'hi');
    await waitFor('five messages stored', async () => (await db.get<{ n: number }>(`SELECT COUNT(*) AS n FROM messages`))!.n === 5);
    await waitFor('the opt-out', async () => (await db.get<{ n: number }>(`SELECT COUNT(*) AS n FROM opt_outs`))!.n === 1);
    // A call from another business with a reason this version does not know (an older mctb
    // wrote it), and one call ended long before the window.
    const now = Date.now();
    await db.run(
      `INSERT INTO calls (call_id, direction, business, did, number, number_raw, caller_name, outcome, decision, reason, started_at, ended_at, recorded_at)
       VALUES ('legacy-1', 'inbound', 'Other Clinic', '+15550002000', '+14155550999', '+14155550999', '', 'noanswer', 'no_text', 'legacy_rule', ?, ?, ?)`,
      [now - 60_000, now - 30_000, now - 29_000],
    );
    await db.run(
      `INSERT INTO calls (call_id, direction, business, did, number, number_raw, caller_name, outcome, decision, reason, started_at, ended_at, recorded_at)
       VALUES ('old-1', 'inbound', 'Brightside Dental', '+15550001000', '+14155550998', '+14155550998', '', 'busy', 'no_text', 'deduped', ?, ?, ?)`,
      [now - 30 * DAY, now - 30 * DAY, now - 30 * DAY],
    );
    // Callbacks (outbound, answered): the cancel caller, recorded without a business as the
    // tracker records them (recovered for Brightside Dental); the voicemail caller, recorded for
    // Other Clinic only (not a recovery for Brightside Dental, which missed it).
    for (const [id, business, number] of [
      ['callback-1', null, CANCEL],
      ['callback-2', 'Other Clinic', VOICEMAIL],
    ]) {
      await db.run(
        `INSERT INTO calls (call_id, direction, business, did, number, number_raw, caller_name, outcome, decision, reason, started_at, ended_at, recorded_at)
         VALUES (?, 'outbound', ?, ?, ?, ?, '', 'answered', 'no_text', 'outbound', ?, ?, ?)`,
        [id, business, number, number, number, now + 1, now + 2, now + 3], // after the replayed calls ended (at about now)
      );
    }
    configFile = join(p.dir, 'report.yaml');
    writeFileSync(configFile, yamlConfig({ amiPort: 5038, smppPort: 2775, ledger: p.config.ledger.path }));
  });

  after(async () => {
    await p?.stop();
  });

  it('--json matches the counts computed from the ledger with SQL', async () => {
    const r = await mctb(['report', '-c', configFile, '--since', '7d', '--json']);
    expect(r.code, r.stderr).to.equal(0);
    expect(r.stdout.trim().split('\n')).to.have.length(1);
    const j = JSON.parse(r.stdout) as ReportJson;
    const since = Date.parse(j.since);
    expect(Date.parse(j.until) - since).to.equal(7 * DAY);
    expect(Object.keys(j)).to.deep.equal(['since', 'until', 'business', 'calls', 'missed_callers', 'recovered', 'texted', 'skipped', 'texts', 'replies', 'contacts_texted', 'contacts_replied', 'reply_rate', 'opt_outs', 'median_seconds_to_text', 'filtered']);
    checkAll(j, await expected(db, since));
  });

  it('--business counts one business; a wider window takes the old call in', async () => {
    const r = await mctb(['report', '-c', configFile, '--business', 'Brightside Dental', '--json']);
    expect(r.code, r.stderr).to.equal(0);
    const j = JSON.parse(r.stdout) as ReportJson;
    const other = JSON.parse((await mctb(['report', '-c', configFile, '--business', 'Other Clinic', '--json'])).stdout) as ReportJson;
    const wide = JSON.parse((await mctb(['report', '-c', configFile, '--since', '60d', '--json'])).stdout) as ReportJson;
    checkBusinesses(j, await expected(db, Date.parse(j.since), 'Brightside Dental'), other, wide);
  });

  it('prints a readable table; a bad --since exits 2', async () => {
    const r = await mctb(['report', '-c', configFile]);
    expect(r.code, r.stderr).to.equal(0);
    expect(r.stdout).to.match(/^mctb report: last 7d \(.+\), all businesses/);
    expect(r.stdout).to.match(/^Calls \(inbound\)\s+11$/m);
    expect(r.stdout).to.match(/^Texted\s+6\s+\d+% of missed calls$/m);
    expect(r.stdout).to.match(/^ {2}withheld\s+1$/m);
    expect(r.stdout).to.match(/^ {2}delivered\s+5\s+\(83%\)$/m);
    expect(r.stdout).to.match(/^Replies\s+3\s+from 2 of 5 contacts texted \(40%\)$/m);
    expect(r.stdout).to.match(/^Reply rate\s+40%\s+of contacts texted replied$/m);
    expect(r.stdout).to.match(/^Recovered\s+1\s+/m);
    expect(r.stdout).to.match(/^Opt-outs\s+1$/m);
    expect(r.stdout).to.match(/^Median hangup → text\s+\d+\.\d s$/m);
    const bad = await mctb(['report', '-c', configFile, '--since', 'a week']);
    expect(bad.code).to.equal(2);
    expect(bad.stderr).to.include('--since "a week" is not a duration');
  });

  forEachEngine('Ledger.admin.report over the same rows', (engine) => {
    let l: Ledger;
    before(async () => {
      l = await openLedger(engine);
      await copyRows(db, l.database);
    });
    after(() => l?.close());

    const report = async (days: number, business?: string) => {
      const until = Date.now();
      const since = until - days * DAY;
      return { j: buildReportJson(await l.admin.report(since, until, business === undefined ? undefined : [business]), since, until, business), since };
    };

    it('matches the counts computed from the rows with SQL', async () => {
      const { j, since } = await report(7);
      checkAll(j, await expected(l.database, since));
    });

    it('one business; a wider window takes the old call in', async () => {
      const { j, since } = await report(7, 'Brightside Dental');
      checkBusinesses(j, await expected(l.database, since, 'Brightside Dental'), (await report(7, 'Other Clinic')).j, (await report(60)).j);
    });
  });
});
