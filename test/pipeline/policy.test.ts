// Issue 3 end to end over loopback AMI and SMPP: open/closed texts, numbers that must not be
// texted, the per-prefix cap under a burst, contacts import, and `mctb why`.

import { expect } from 'chai';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import YAML from 'yaml';
import { DateTime } from 'luxon';
import { loadCapture, rewriteCapture } from '../../src/demo/ami-replay';
import { sleep, tempDir, waitFor } from '../support/harness';
import { startPipeline, type Pipeline } from '../support/pipeline';
import { mctb } from '../support/cli';

const JANE = '+14155550123';
const OPEN_TEXT = 'Hi{{contact.first_name| }}, this is {{business.name}}. We are with another customer. What can we do for you?';
const CLOSED_TEXT = 'Hi{{contact.first_name| }}, {{business.name}} here. We are closed right now; we open {{business.next_open}}. What is this about?';

/** Closed today, yesterday and tomorrow in UTC: closed now whatever the hour. */
function closedAroundNow(): string[] {
  const today = DateTime.utc();
  return [-1, 0, 1].map((d) => today.plus({ days: d }).toISODate()!);
}

/** One missed call (the no-answer capture) as a new call from `number`. */
function missedFrom(number: string, n: number, capture = 'noanswer', original = JANE): string {
  return rewriteCapture(loadCapture(capture), 1000 * (n + 1), { [original]: number });
}

describe('text-back policy end to end', function () {
  this.timeout(60_000);
  let p: Pipeline | undefined;
  afterEach(async () => {
    await p?.stop();
    p = undefined;
  });

  it('open hours get the open text, closed hours the closed text; excluded, landline, foreign and premium callers get none', async () => {
    p = await startPipeline({
      businesses: [
        { name: 'Open Co', dids: ['+15550001000'], timezone: 'UTC', messages: { open: OPEN_TEXT, closed: CLOSED_TEXT }, exclude: ['+13125559999'], skip_landlines: true, allowed_countries: ['US', 'GB'] },
        { name: 'Closed Co', dids: ['+15550001001'], timezone: 'UTC', hours: { 'mon-fri': '09:00-17:00' }, closed: closedAroundNow(), messages: { open: OPEN_TEXT, closed: CLOSED_TEXT } },
      ],
    });
    await p.pbx.play(loadCapture('noanswer')); // Jane → Open Co
    await p.pbx.play(loadCapture('busy')); // Mike → Closed Co
    const cases: [string, string][] = [
      ['+13125559999', 'excluded'],
      ['+442071234567', 'landline'],
      ['+33612345678', 'country_not_allowed'],
      ['+19005551234', 'premium_rate'],
    ];
    for (const [i, [number]] of cases.entries()) await p.pbx.play(missedFrom(number, i));
    const decisions = await p.decisions(2 + cases.length);
    await waitFor('two texts', () => p!.smsc.submits.length === 2);
    await sleep(300);
    expect(p.smsc.submits).to.have.length(2);
    const byDest = new Map(p.smsc.submits.map((s) => [s.destination, s.text]));
    expect(byDest.get(JANE)).to.equal('Hi Jane, this is Open Co. We are with another customer. What can we do for you?');
    expect(byDest.get('+13125550147')).to.match(/^Hi Mike, Closed Co here\. We are closed right now; we open \w+.* (AM|PM)\. What is this about\?$/);
    const ledger = p.daemon.ledgerHandle;
    for (const [number, reason] of cases) {
      const d = decisions.find((x) => x.call.number === number || x.call.numberRaw === number)!;
      expect(d, number).to.not.equal(undefined);
      const row = await ledger.calls.get(d.call.callId);
      expect(row, number).to.include({ decision: 'no_text', reason });
      expect(row?.detail).to.be.a('string').and.not.equal('');
    }
  });

  it('200 missed calls from one number block inside a second: no more than per_prefix_per_hour texted, the rest rate_limited, one warning', async () => {
    p = await startPipeline({ businesses: [{ name: 'Acme', dids: ['+15550001001'], limits: { per_hour: 1000, per_day: 1000, per_prefix_per_hour: 5 } }] });
    const burst: string[] = [];
    for (let i = 0; i < 200; i++) burst.push(missedFrom(`+1312555${String(i).padStart(4, '0')}`, i, 'busy', '+13125550147'));
    await p.pbx.play(burst.join(''));
    const decisions = await p.decisions(200, 30_000);
    const texted = decisions.filter((d) => d.decision === 'text');
    const limited = decisions.filter((d) => d.reason === 'rate_limited');
    expect(texted).to.have.length(5);
    expect(limited).to.have.length(195);
    const rows = await p.daemon.ledgerHandle.calls.list(1000);
    expect(rows.filter((r) => r.reason === 'rate_limited')).to.have.length(195);
    await waitFor('five texts', () => p!.smsc.submits.length === 5, 15_000);
    await sleep(300);
    expect(p.smsc.submits).to.have.length(5);
    expect(p.logLines.filter((l) => /text cap reached/.test(l))).to.have.length(1);
    expect(p.daemon.counters.rate_limited).to.equal(195);
  });

  it('contacts import reports a bad row by line and imports the rest; a known contact\'s name is used in the text', async () => {
    const { dir, cleanup } = tempDir('mctb-contacts-');
    try {
      const ledgerPath = join(dir, 'mctb.db');
      const configFile = join(dir, 'mctb.yaml');
      writeFileSync(configFile, YAML.stringify({ asterisk: { ami: { username: 'mctb', secret: 'x' } }, sms: { transport: 'log' }, ledger: { path: ledgerPath }, businesses: [{ name: 'Acme', dids: ['+15550001000'] }] }));
      const csv = join(dir, 'contacts.csv');
      writeFileSync(csv, ['name,number,tags,do_not_text', 'Janet Doe,+1 415 555 0123,vip;patient,no', 'Nobody,12,,', 'Sam Staff,(312) 555-0147,staff,yes', 'Bad Flag,+12065550188,,maybe', ''].join('\n'));
      const r = await mctb(['contacts', 'import', csv, '-c', configFile]);
      expect(r.code, r.stderr).to.equal(1);
      expect(r.stderr).to.include(`${csv}:3: "12" is not a valid phone number`);
      expect(r.stderr).to.include(`${csv}:5: do_not_text must be true/false/yes/no/1/0, got "maybe"`);
      expect(r.stdout).to.include('2 contacts imported, 2 rows rejected');
      const list = await mctb(['contacts', 'list', '-c', configFile, '--json']);
      const contacts = list.stdout.trim().split('\n').map((l) => JSON.parse(l) as { number: string; name: string; tags: string[]; do_not_text: boolean });
      expect(contacts).to.deep.equal([
        { number: JANE, name: 'Janet Doe', tags: ['vip', 'patient'], do_not_text: false },
        { number: '+13125550147', name: 'Sam Staff', tags: ['staff'], do_not_text: true },
      ]);

      p = await startPipeline({ top: { ledger: { path: ledgerPath } } });
      await p.pbx.play(loadCapture('noanswer')); // Jane Doe calls: the ledger says Janet
      await p.pbx.play(loadCapture('busy')); // Sam, do_not_text
      const decisions = await p.decisions(2);
      expect(decisions.map((d) => d.reason)).to.deep.equal(['missed', 'do_not_text']);
      await waitFor('text', () => p!.smsc.submits.length === 1);
      expect(p.smsc.submits[0].text).to.match(/^Hi Janet, this is Brightside Dental/);
    } finally {
      await p?.stop();
      p = undefined;
      cleanup();
    }
  });

  it('mctb why shows the rule for a texted, a deduped and an excluded call', async () => {
    const { dir, cleanup } = tempDir('mctb-why-');
    try {
      const ledgerPath = join(dir, 'mctb.db');
      const businesses = [{ name: 'Brightside Dental', dids: ['+15550001000', '+15550001001'], timezone: 'America/Chicago', exclude: ['+1312555'] }];
      p = await startPipeline({ businesses, top: { ledger: { path: ledgerPath } } });
      await p.pbx.play(loadCapture('noanswer'));
      await p.decisions(1);
      await waitFor('texted', () => p!.smsc.submits.length === 1);
      await p.pbx.play(missedFrom(JANE, 5));
      await p.pbx.play(loadCapture('busy'));
      await p.decisions(3);
      await p.stop();
      p = undefined;
      const configFile = join(dir, 'mctb.yaml');
      writeFileSync(configFile, YAML.stringify({ asterisk: { ami: { username: 'mctb', secret: 'x' } }, sms: { transport: 'log' }, ledger: { path: ledgerPath }, businesses }));
      const jane = await mctb(['why', '+14155550123', '-c', configFile]);
      expect(jane.code, jane.stderr).to.equal(0);
      expect(jane.stdout).to.include('+14155550123 (Jane Doe): 2 recent calls');
      expect(jane.stdout).to.match(/noanswer {2}→ not texted: deduped — dedupe_window — texted \d{1,2}:\d\d [AP]M, \d+ s earlier/);
      expect(jane.stdout).to.match(/noanswer {2}→ texted \((submitted|delivered)\) — noanswer while open/);
      const mike = await mctb(['why', '(312) 555-0147', '-c', configFile]);
      expect(mike.stdout).to.match(/busy {2}→ not texted: excluded — matches exclude entry \+1312555/);
      const json = await mctb(['why', '+14155550123', '-c', configFile, '--json']);
      expect((JSON.parse(json.stdout) as { calls: unknown[] }).calls).to.have.length(2);
    } finally {
      cleanup();
    }
  });
});
