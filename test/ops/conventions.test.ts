// Issue 16, operator commands: one rule for times (the business's zone, else the machine's, with
// the zone shown; ISO 8601 with the offset in --json), --json shapes, one rule for exit codes,
// lookups by dialled number and withheld caller ID, and the missing-config message.

import { expect } from 'chai';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ledger } from '../../src/ledger/ledger';
import type { CallRecord } from '../../src/records/rows';
import { formatTime, isoTime } from '../../src/cli/time';
import { amiPortFix } from '../../src/asterisk/ami/doctor';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { tempDir } from '../support/harness';
import { mctb, yamlConfig } from '../support/cli';

const JANE = '+14155550123';
const SHOP = 'Brightside Dental';
const SHOP_DID = '+15550001000';
const STRAY_DID = '+15550009999';
/** A caller only in a call 500 days old. */
const OLD_CALLER = '+12125550142';
/** The machine's zone for every child here: far from the business's, so a mix-up shows. */
const ENV = { TZ: 'Asia/Tokyo', MCTB_CONFIG: '' };
const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}(Z|[+-]\d\d:\d\d)$/;

function call(id: string, number: string | undefined, business: string | undefined, did: string, endedAt: number, over: Partial<CallRecord> = {}): CallRecord {
  return {
    callId: id,
    direction: 'inbound',
    business,
    did,
    number,
    numberRaw: number ?? 'anonymous',
    callerName: '',
    outcome: 'noanswer',
    decision: 'text',
    reason: 'missed',
    detail: 'noanswer while open',
    startedAt: endedAt - 20_000,
    endedAt,
    recordedAt: endedAt + 300,
    ...over,
  };
}

const jsonLines = (stdout: string) =>
  stdout
    .trim()
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Record<string, unknown>);

describe('operator commands: times, --json, exit codes, lookups (issue 16)', function () {
  this.timeout(90_000);
  const { dir, cleanup } = tempDir('mctb-conventions-');
  const ledgerPath = join(dir, 'mctb.db');
  const file = join(dir, 'mctb.yaml');
  // Whole seconds, so every printed form names the same instant.
  const t0 = Math.floor((Date.now() - 3_600_000) / 1000) * 1000;
  const run = (args: string[]) => mctb(args, { env: ENV });

  before(async () => {
    writeFileSync(file, yamlConfig({ amiPort: 5038, smppPort: 2775, ledger: ledgerPath }).replace(`dids: ["+15550001000"`, `timezone: America/Chicago\n    dids: ["+15550001000"`));
    const l = await Ledger.open(ledgerPath);
    await l.calls.record(call('shop', JANE, SHOP, SHOP_DID, t0, { decision: 'no_text', reason: 'answered', outcome: 'answered' }));
    // 60 s later, to a number no business lists: shown in the machine's zone.
    await l.calls.record(call('stray', JANE, undefined, STRAY_DID, t0 + 60_000, { decision: 'no_text', reason: 'no_business' }));
    await l.calls.record(call('anon', undefined, SHOP, SHOP_DID, t0 + 120_000, { decision: 'no_text', reason: 'withheld' }));
    // Old enough for `ledger prune --older-than 400d` to delete (its --json progress line).
    await l.calls.record(call('old', OLD_CALLER, SHOP, SHOP_DID, t0 - 500 * 86_400_000, { decision: 'no_text', reason: 'answered', outcome: 'answered' }));
    await l.tasks.open(SHOP, JANE, 'shop', t0);
    await l.optOuts.add(JANE, SHOP, 'admin', t0);
    await l.contacts.upsert({ number: JANE, name: 'Jane Doe', tags: [], doNotText: false }, t0);
    await l.close();
  });
  after(cleanup);

  describe('one rule for times', () => {
    it('formatTime shows the zone; isoTime has the offset', () => {
      const at = Date.UTC(2026, 10, 22, 22, 30, 49, 123);
      expect(formatTime(at, 'America/Chicago')).to.equal('2026-11-22 16:30:49 CST');
      expect(isoTime(at, 'America/Chicago')).to.equal('2026-11-22T16:30:49.123-06:00');
      expect(formatTime(at, 'Asia/Kolkata')).to.match(/^2026-11-23 04:00:49 (GMT\+5:30|IST|\+05:30)$/);
    });

    it('calls, tasks, optout list and why print the same instant the same way, in the business zone, zone shown', async () => {
      const shown = formatTime(t0, 'America/Chicago');
      expect(shown).to.match(/ C[SD]T$/);
      const calls = await run(['calls', '-c', file]);
      expect(calls.code, calls.stderr).to.equal(0);
      expect(calls.stdout).to.match(new RegExp(`^${shown}  ${SHOP}  \\+14155550123  answered .*\\[call shop\\]$`, 'm'));
      const tasks = await run(['tasks', '-c', file]);
      expect(tasks.stdout).to.match(new RegExp(`^\\d+  ${shown}  ${SHOP}  call back`, 'm'));
      const optouts = await run(['optout', 'list', '-c', file]);
      expect(optouts.stdout).to.include(shown);
      const why = await run(['why', JANE, '-c', file]);
      expect(why.stdout).to.include(`  ${shown}  ${SHOP}  answered`);
    });

    it('a call with no business is shown in the machine zone, with it; newest first reads right', async () => {
      const calls = await run(['calls', '-c', file, '--number', JANE]);
      const lines = calls.stdout.trim().split('\n');
      expect(lines[0]).to.match(/^\S+ \S+ (JST|\+09:00) {2}- {2}\+14155550123 .*\[call stray\]$/);
      expect(lines[0].startsWith(formatTime(t0 + 60_000, 'Asia/Tokyo'))).to.equal(true);
      expect(lines[1]).to.include('[call shop]');
    });

    it('--json: ISO 8601 with the business offset, never epoch ms', async () => {
      const rows = jsonLines((await run(['calls', '-c', file, '--json'])).stdout);
      const shop = rows.find((r) => r.call_id === 'shop')!;
      expect(shop.ended_at).to.equal(isoTime(t0, 'America/Chicago'));
      expect(shop.ended_at).to.match(/-0[56]:00$/);
      expect(rows.find((r) => r.call_id === 'stray')!.ended_at).to.match(/\+09:00$/);
    });
  });

  describe('--json conventions', () => {
    /** `last`: `times` and `booleans` are those of the last line (the result after progress lines). */
    const shapes: { args: string[]; times: string[]; booleans?: string[]; one?: boolean; last?: boolean }[] = [
      { args: ['calls'], times: ['started_at', 'ended_at'] },
      { args: ['sends'], times: [] },
      { args: ['contacts', 'list'], times: [], booleans: ['do_not_text'] },
      { args: ['tasks'], times: ['opened_at', 'last_call_at'] },
      { args: ['optout', 'list'], times: ['created_at'] },
      { args: ['report'], times: ['since', 'until'], one: true },
      { args: ['why', JANE], times: [], booleans: ['phone_number'], one: true },
      { args: ['forget', OLD_CALLER, '--yes'], times: [], booleans: ['opt_out_added'], one: true },
      { args: ['ledger', 'prune', '--older-than', '400d'], times: ['cutoff'], booleans: ['done'], last: true },
    ];
    for (const s of shapes) {
      it(`mctb ${s.args.join(' ')} --json: times ISO with offset, booleans as booleans`, async () => {
        const r = await run([...s.args, '-c', file, '--json']);
        expect(r.code, r.stderr).to.equal(0);
        const rows = jsonLines(r.stdout);
        if (s.one) expect(rows).to.have.length(1);
        for (const [i, row] of rows.entries()) {
          const checked = !s.last || i === rows.length - 1;
          for (const k of checked ? s.times : []) expect(row[k], k).to.match(ISO);
          for (const k of checked ? (s.booleans ?? []) : []) expect(row[k], k).to.be.a('boolean');
          for (const [k, v] of Object.entries(row)) if (/_at$/.test(k) && v !== null) expect(v, k).to.match(ISO);
        }
        if (s.args[0] === 'ledger') {
          // A progress line for the old call's batch, then the result.
          expect(rows.slice(0, -1)).to.deep.include({ table: 'calls', deleted: 1, total: 1 });
          expect(rows[rows.length - 1]).to.include({ done: true, older_than: '400d' });
        }
        if (s.args[0] === 'forget') expect(rows[0]).to.include({ number: OLD_CALLER, opt_outs_kept: 0 }).and.to.have.nested.property('anonymised.calls', 1);
      });
    }

    it('why --json: calls ISO, the contact\'s do_not_text a boolean (was 0)', async () => {
      const j = JSON.parse((await run(['why', JANE, '-c', file, '--json'])).stdout) as { contact: Record<string, unknown> | null; calls: Record<string, unknown>[] };
      for (const c of j.calls) for (const k of ['started_at', 'ended_at']) expect(c[k]).to.match(ISO);
      expect(j.contact).to.include({ number: JANE, name: 'Jane Doe', do_not_text: false });
      expect(j.contact!.first_seen_at).to.match(/^\S+T\S+\+09:00$/);
    });
  });

  describe('doctor --json and config check --json', () => {
    const CHECK_KEYS = ['name', 'ok', 'detail', 'fix'];
    it('doctor --json: one object, checks with name, ok (a boolean), detail, fix; exit 1 when one failed', async () => {
      const closed = join(dir, 'closed.yaml');
      writeFileSync(closed, yamlConfig({ amiPort: await freePort(), smppPort: await freePort(), ledger: ledgerPath }));
      const r = await run(['doctor', '-c', closed, '--json']);
      expect(r.code, r.stderr).to.equal(1);
      const j = JSON.parse(r.stdout) as { ok: boolean; checks: Record<string, unknown>[]; warnings: string[] };
      expect(j.ok).to.equal(false);
      for (const c of j.checks) {
        expect(c).to.have.all.keys(...CHECK_KEYS);
        expect(c.ok).to.be.a('boolean');
      }
      expect(j.checks.find((c) => c.name === 'ledger')).to.include({ ok: true, fix: null });
      expect(j.checks.find((c) => c.name === 'AMI connect')!.ok).to.equal(false);
      expect(j.warnings).to.be.an('array');
    });

    it('config check --json: ok, checks, each business\'s texts; an invalid config is ok false with exit 2', async () => {
      const r = await run(['config', 'check', '-c', file, '--json']);
      expect(r.code, r.stderr).to.equal(0);
      const j = JSON.parse(r.stdout) as { ok: boolean; checks: Record<string, unknown>[]; businesses: { name: string; texts: { encoding: string; segments: number }[] }[] };
      expect(j.ok).to.equal(true);
      for (const c of j.checks) expect(c).to.have.all.keys(...CHECK_KEYS);
      expect(j.businesses[0].name).to.equal(SHOP);
      expect(j.businesses[0].texts[0]).to.include({ encoding: 'GSM-7', segments: 1 });
      const bad = join(dir, 'bad.yaml');
      writeFileSync(bad, yamlConfig({ amiPort: 5038, smppPort: 2775, ledger: ledgerPath }).replace('numbers:', 'numbrs:'));
      const b = await run(['config', 'check', '-c', bad, '--json']);
      expect(b.code).to.equal(2);
      const bj = JSON.parse(b.stdout) as { ok: boolean; checks: { ok: boolean; detail: string }[] };
      expect(bj.ok).to.equal(false);
      expect(bj.checks.some((c) => !c.ok && c.detail.includes('numbrs'))).to.equal(true);
    });
  });

  describe('contacts import and forget', () => {
    const TOM = '+16175550110';
    it('contacts import: a number twice is merged with a warning naming both lines; extra columns and fields are warnings with line numbers', async () => {
      const csv = join(dir, 'contacts.csv');
      writeFileSync(csv, ['name,number,tags,notes', 'Tom Two,617-555-0110,vip,likes mornings', 'Amy,+12065550188,,', 'Tom,+1 617 555 0110,patient,,surplus', ''].join('\n'));
      const r = await run(['contacts', 'import', csv, '-c', file]);
      expect(r.code, r.stderr).to.equal(0);
      expect(r.stderr).to.include(`${csv}:1: unknown column "notes" ignored`);
      expect(r.stderr).to.include(`${csv}:4: duplicate of line 2, merged`);
      expect(r.stderr).to.include(`${csv}:4: 1 field beyond the header's 4 columns, ignored`);
      expect(r.stdout).to.include('2 contacts imported, 1 duplicate row merged');
      const list = jsonLines((await run(['contacts', 'list', '-c', file, '--json'])).stdout);
      expect(list.find((c) => c.number === TOM)).to.deep.equal({ number: TOM, name: 'Tom', tags: ['vip', 'patient'], do_not_text: false });
    });

    it('contacts import: a misspelt known column (do_not_txt) refuses the file, with a did-you-mean: a do-not-text is never dropped silently', async () => {
      const csv = join(dir, 'typo.csv');
      writeFileSync(csv, ['name,number,do_not_txt', 'Dee,+12065550177,yes', ''].join('\n'));
      const r = await run(['contacts', 'import', csv, '-c', file]);
      expect(r.code).to.equal(2);
      expect(r.stderr).to.include(`${csv}: the header row has a column "do_not_txt": did you mean "do_not_text"?`);
      const list = jsonLines((await run(['contacts', 'list', '-c', file, '--json'])).stdout);
      expect(list.find((c) => c.number === '+12065550177'), 'nothing imported').to.equal(undefined);
    });

    it('forget: a number not opted out is not said to stay on the opt-out list', async () => {
      const r = await run(['forget', TOM, '--yes', '-c', file]);
      expect(r.code, r.stderr).to.equal(0);
      expect(r.stdout).to.include(`forgot ${TOM}`);
      expect(r.stdout).to.not.include('opt-out list so it is never texted again');
      expect(r.stdout).to.include(`not opted out: a new missed call from ${TOM} is texted`);
      const j = JSON.parse((await run(['forget', JANE, '--yes', '--json', '-c', file])).stdout) as Record<string, unknown>;
      expect(j.opt_out_added).to.equal(false);
      expect(j.opt_outs_kept).to.equal(1);
    });
  });

  describe('network errors', () => {
    it('send-test: a refused connection is said so at once, not after the 10 s bind wait', async () => {
      const cfg = join(dir, 'refused.yaml');
      writeFileSync(cfg, yamlConfig({ amiPort: 5038, smppPort: await freePort(), ledger: ledgerPath }));
      const started = Date.now();
      const r = await run(['send-test', '+16175550110', '-c', cfg]); // Jane opted out
      expect(r.code, r.stderr).to.equal(1);
      expect(r.stdout).to.match(/^not bound: connection refused \(ECONNREFUSED\); /m);
      expect(Date.now() - started).to.be.below(5000);
    });

    it('doctor: "AMI usually listens on 5038" only when the port is another one', () => {
      expect(amiPortFix(5039, 'no banner')).to.include('AMI usually listens on 5038');
      expect(amiPortFix(8088, 'not AMI')).to.include('usually on port 5038');
      for (const what of ['no banner', 'not AMI'] as const) expect(amiPortFix(5038, what)).to.not.match(/usually (listens )?on (port )?5038|check asterisk\.ami\.port/);
    });
  });

  describe('exit codes: 0 ok, 1 runtime failure, 2 usage or configuration', () => {
    const cases: [string, string[], number][] = [
      ['no command', [], 2],
      ['an unknown command', ['frobnicate'], 2],
      ['--help', ['--help'], 0],
      ['--version', ['--version'], 0],
      ['why: missing argument', ['why'], 2],
      ['send-test: missing argument', ['send-test'], 2],
      ['forget: missing argument', ['forget'], 2],
      ['tasks done: missing argument', ['tasks', 'done'], 2],
      ['contacts import: missing argument', ['contacts', 'import'], 2],
      ['optout add: missing argument', ['optout', 'add'], 2],
      ['ledger backup: missing argument', ['ledger', 'backup'], 2],
      ['ledger prune: missing --older-than', ['ledger', 'prune'], 2],
      ['completion: missing argument', ['completion'], 2],
      ['calls: unknown option', ['calls', '--bogus'], 2],
      ['report: unknown option', ['report', '--bogus'], 2],
      ['demo: bad --transport', ['demo', '--transport', 'pigeon'], 2],
      ['calls: bad --limit', ['calls', '--limit', 'ten'], 2],
      ['sends: bad --limit', ['sends', '--limit', '0'], 2],
      ['report: bad --since', ['report', '--since', 'yesterday'], 2],
      ['tasks done: bad id', ['tasks', 'done', 'x'], 2],
      ['tasks done: no such task', ['tasks', 'done', '999'], 1],
      ['users add: missing argument', ['users', 'add'], 2],
      ['users add: no --role', ['users', 'add', 'sam'], 2],
      ['users remove: no such user', ['users', 'remove', 'nobody'], 1],
      ['audit: bad --since', ['audit', '--since', 'yesterday'], 2],
      ['audit: ok', ['audit'], 0],
      ['calls: ok', ['calls'], 0],
    ];
    for (const [name, args, code] of cases) {
      it(`${name} → ${code}`, async () => {
        const needsConfig = args.length > 0 && !['--help', '--version', 'frobnicate', 'completion', 'demo'].includes(args[0]);
        const r = await run(needsConfig ? [...args, '-c', file] : args);
        expect(r.code, r.stderr).to.equal(code);
      });
    }

    it('--help states the rule', async () => {
      const r = await run(['--help']);
      expect(r.stdout).to.include('Exit codes: 0 ok, 1 runtime failure or a check failed, 2 usage or configuration error');
    });
  });

  describe('lookups', () => {
    it('calls --number DID: the calls to that number', async () => {
      const rows = jsonLines((await run(['calls', '-c', file, '--number', STRAY_DID, '--json'])).stdout);
      expect(rows.map((r) => r.call_id)).to.deep.equal(['stray']);
      const shop = jsonLines((await run(['calls', '-c', file, '--number', '(555) 000-1000', '--json'])).stdout);
      expect(shop.map((r) => r.call_id)).to.deep.equal(['anon', 'shop']);
    });

    it('why anonymous: the withheld calls, as calls --number anonymous', async () => {
      const why = await run(['why', 'anonymous', '-c', file]);
      expect(why.code, why.stderr).to.equal(0);
      expect(why.stdout).to.match(/^anonymous \(caller ID as presented, not a phone number\): 1 recent call/);
      expect(why.stdout).to.include('not texted: withheld');
      const json = JSON.parse((await run(['why', 'anonymous', '-c', file, '--json'])).stdout) as { phone_number: boolean; calls: { call_id: string }[] };
      expect(json.phone_number).to.equal(false);
      expect(json.calls.map((c) => c.call_id)).to.deep.equal(['anon']);
    });
  });

  describe('no config file', () => {
    const commands = [['run'], ['config', 'check'], ['doctor'], ['calls'], ['sends'], ['tasks'], ['why', JANE], ['report'], ['optout', 'list'], ['contacts', 'list'], ['forget', JANE, '--yes'], ['send-test', JANE], ['users', 'list'], ['audit']];
    for (const args of commands) {
      it(`mctb ${args.join(' ')}: says where it looked and how to start one, exit 2`, async () => {
        const r = await mctb(args, { env: { MCTB_CONFIG: join(dir, 'absent.yaml') } });
        expect(r.code).to.equal(2);
        expect(r.stderr).to.include(`no config file at ${join(dir, 'absent.yaml')} (from $MCTB_CONFIG)`);
        expect(r.stderr).to.include('-c FILE, else $MCTB_CONFIG, else /etc/mctb/mctb.yaml');
        expect(r.stderr).to.include('copy config/mctb.example.yaml');
      });
    }
  });
});

/** A local port nothing listens on (taken, then let go). */
function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const srv = net.createServer();
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}
