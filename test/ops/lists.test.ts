// `mctb calls` and `mctb sends` (and `mctb why`, from the same query): newest first, filters, --limit, --json (one object per line),
// numbers in full; against a real ledger file written through the Ledger.

import { expect } from 'chai';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ledger } from '../../src/ledger/ledger';
import type { CallRecord } from '../../src/records/rows';
import { tempDir } from '../support/harness';
import { mctb, yamlConfig } from '../support/cli';

const JANE = '+14155550123';
const TOM = '+16175550110';
const SHOP = 'Brightside Dental';
const OTHER = 'Northside Vet';

function call(id: string, number: string | undefined, business: string, endedAt: number, over: Partial<CallRecord> = {}): CallRecord {
  return {
    callId: id,
    direction: 'inbound',
    business,
    did: '+15550001000',
    number,
    numberRaw: number ?? 'anonymous',
    callerName: number === JANE ? 'Jane Doe' : '',
    outcome: 'noanswer',
    decision: 'text',
    reason: 'missed',
    detail: 'noanswer while open: the open-hours text',
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

describe('mctb calls / mctb sends', function () {
  this.timeout(60_000);
  const { dir, cleanup } = tempDir('mctb-lists-');
  const ledgerPath = join(dir, 'mctb.db');
  const file = join(dir, 'mctb.yaml');
  const t0 = Date.now() - 3_600_000;
  const ids: Record<string, number> = {};

  before(async () => {
    writeFileSync(file, yamlConfig({ amiPort: 5038, smppPort: 2775, ledger: ledgerPath, extra: '' }).replace('businesses:\n', `businesses:\n  - name: ${OTHER}\n    dids: ["+15550002000"]\n`));
    const l = await Ledger.open(ledgerPath);
    const send = (business: string, number: string, at: number) => ({ business, number, sourceAddr: '+15550001000', body: `Hi from ${business}`, dueAt: at, kind: 'text_back' });
    ids.c1 = (await l.calls.record(call('c1', JANE, SHOP, t0), send(SHOP, JANE, t0))).sendId!;
    ids.c2 = (await l.calls.record(call('c2', TOM, SHOP, t0 + 60_000), send(SHOP, TOM, t0 + 60_000))).sendId!;
    await l.calls.record(call('c3', JANE, OTHER, t0 + 120_000, { outcome: 'answered', decision: 'no_text', reason: 'answered' }));
    await l.calls.record(call('c4', undefined, SHOP, t0 + 180_000, { decision: 'no_text', reason: 'withheld' }));
    ids.c5 = (await l.calls.record(call('c5', JANE, SHOP, t0 + 240_000), send(SHOP, JANE, t0 + 240_000))).sendId!;
    // c1 delivered (two parts), c2 failed by receipt, c5 still scheduled; one manual send.
    for (const id of [ids.c1, ids.c2]) await l.sends.claim(id, t0 + 1000);
    await l.sends.markSubmitted(ids.c1, ['m-1a', 'm-1b'], t0 + 1000);
    await l.sends.markSubmitted(ids.c2, ['m-2'], t0 + 61_000);
    await l.sends.recordReceipt('m-1a', 'delivered', null, t0 + 2000);
    await l.sends.recordReceipt('m-1b', 'delivered', null, t0 + 2000);
    await l.sends.recordReceipt('m-2', 'undeliverable', '001', t0 + 62_000);
    ids.manual = await l.sends.schedule({ business: OTHER, number: TOM, sourceAddr: '+15550002000', body: 'test', dueAt: t0 + 300_000 }, t0 + 300_000);
    await l.close();
  });
  after(cleanup);

  it('calls --json: newest first, every row, numbers in full, with the text-back state', async () => {
    const r = await mctb(['calls', '-c', file, '--json']);
    expect(r.code, r.stderr).to.equal(0);
    const rows = jsonLines(r.stdout);
    expect(rows.map((x) => x.call_id)).to.deep.equal(['c5', 'c4', 'c3', 'c2', 'c1']);
    expect(rows[4]).to.include({ number: JANE, number_raw: JANE, caller_name: 'Jane Doe', business: SHOP, outcome: 'noanswer', decision: 'text', reason: 'missed', text_id: ids.c1, text_state: 'delivered' });
    // ISO 8601 with the offset, in the business's zone (here the machine's, as it sets none).
    expect(Date.parse(rows[4].ended_at as string)).to.equal(t0);
    expect(rows[4].ended_at).to.match(/T\d\d:\d\d:\d\d\.\d{3}(Z|[+-]\d\d:\d\d)$/);
    expect(rows[3]).to.include({ text_state: 'failed', text_reason: 'receipt_undeliverable' });
    expect(rows[1]).to.include({ number: null, number_raw: 'anonymous', reason: 'withheld', text_id: null });
  });

  it('calls filters: --number (national form too), --business, --limit; text form one line per call', async () => {
    const jane = jsonLines((await mctb(['calls', '-c', file, '--number', '(415) 555-0123', '--json'])).stdout);
    expect(jane.map((x) => x.call_id)).to.deep.equal(['c5', 'c3', 'c1']);
    const shopJane = jsonLines((await mctb(['calls', '-c', file, '--number', JANE, '--business', SHOP, '--json'])).stdout);
    expect(shopJane.map((x) => x.call_id)).to.deep.equal(['c5', 'c1']);
    const other = jsonLines((await mctb(['calls', '-c', file, '--business', OTHER, '--json'])).stdout);
    expect(other.map((x) => x.call_id)).to.deep.equal(['c3']);
    const anon = jsonLines((await mctb(['calls', '-c', file, '--number', 'anonymous', '--json'])).stdout);
    expect(anon.map((x) => x.call_id)).to.deep.equal(['c4']);
    const two = jsonLines((await mctb(['calls', '-c', file, '--limit', '2', '--json'])).stdout);
    expect(two.map((x) => x.call_id)).to.deep.equal(['c5', 'c4']);

    const text = await mctb(['calls', '-c', file, '--limit', '2']);
    const lines = text.stdout.trim().split('\n');
    expect(lines).to.have.length(3);
    expect(lines[0]).to.match(new RegExp(`${SHOP}  \\+14155550123 "Jane Doe"  noanswer  → texted \\(scheduled, send ${ids.c5}\\)  \\[call c5\\]$`));
    expect(lines[1]).to.match(/anonymous {2}noanswer {2}→ not texted: withheld {2}\[call c4\]$/);
    expect(lines[2]).to.equal('2 calls (the newest 2; --limit for more)');
    const bad = await mctb(['calls', '-c', file, '--limit', '0']);
    expect(bad.code).to.equal(2);
  });

  it('mctb why reads the rows mctb calls reads and words the verdict the same', async () => {
    const why = await mctb(['why', JANE, '-c', file]);
    const calls = await mctb(['calls', '-c', file, '--number', JANE]);
    expect(why.code, why.stderr).to.equal(0);
    // `mctb calls` adds the send's id; otherwise the same words.
    const verdicts = (out: string) => [...out.matchAll(/→ (.*?)(?: {2}\[call| — |$)/gm)].map((m) => m[1].replace(/, send \d+\)$/, ')'));
    expect(verdicts(why.stdout)).to.deep.equal(['texted (scheduled)', 'not texted: answered', 'texted (delivered)']);
    expect(verdicts(calls.stdout)).to.deep.equal(verdicts(why.stdout));
    const json = JSON.parse((await mctb(['why', JANE, '-c', file, '--json'])).stdout) as { calls: Record<string, unknown>[] };
    expect(json.calls.map((c) => c.call_id)).to.deep.equal(['c5', 'c3', 'c1']);
    expect(json.calls[2]).to.include({ text_id: ids.c1, text_state: 'delivered', text_reason: null });
    expect(Date.parse(json.calls[2].text_submitted_at as string)).to.equal(t0 + 1000);
  });

  it('sends --json: newest first with message ids; --state, --number and --business filter', async () => {
    const all = jsonLines((await mctb(['sends', '-c', file, '--json'])).stdout);
    expect(all.map((x) => x.id)).to.deep.equal([ids.manual, ids.c5, ids.c2, ids.c1]);
    expect(all[3]).to.include({ number: JANE, kind: 'text_back', state: 'delivered', call_id: 'c1', body: `Hi from ${SHOP}` });
    expect(all[3].message_ids).to.deep.equal(['m-1a', 'm-1b']);
    expect(all[2]).to.include({ state: 'failed', reason: 'receipt_undeliverable', error: '001' });
    expect(all[0]).to.include({ kind: 'manual', state: 'scheduled', business: OTHER, number: TOM, call_id: null });
    expect(all[0].message_ids).to.deep.equal([]);

    const delivered = jsonLines((await mctb(['sends', '-c', file, '--state', 'delivered', '--json'])).stdout);
    expect(delivered.map((x) => x.id)).to.deep.equal([ids.c1]);
    const tom = jsonLines((await mctb(['sends', '-c', file, '--number', '617-555-0110', '--json'])).stdout);
    expect(tom.map((x) => x.id)).to.deep.equal([ids.manual, ids.c2]);
    const tomShop = jsonLines((await mctb(['sends', '-c', file, '--number', TOM, '--business', SHOP, '--json'])).stdout);
    expect(tomShop.map((x) => x.id)).to.deep.equal([ids.c2]);

    const text = await mctb(['sends', '-c', file, '--state', 'failed']);
    expect(text.stdout).to.match(new RegExp(`^${ids.c2}  \\S+ \\S+ \\S+  ${SHOP}  \\+16175550110  text_back  failed \\(receipt_undeliverable, 001\\)  "Hi from ${SHOP}"$`, 'm'));
    expect(text.stdout).to.match(/^1 send$/m);
    const bad = await mctb(['sends', '-c', file, '--state', 'lost']);
    expect(bad.code).to.equal(2);
    expect(bad.stderr).to.include('scheduled, sending, submitted, delivered, failed, cancelled, skipped');
  });
});
