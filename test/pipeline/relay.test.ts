// Issue 14, the staff relay, end to end over loopback SMPP and a real ledger: a staff mobile
// answers an alert by replying to it, or picks a thread with #<id>; keywords from it mean what
// they say; opted-out contacts are refused; a staff mobile's missed call gets no text-back.

import { expect } from 'chai';
import { loadCapture, rewriteCapture } from '../../src/demo/ami-replay';
import type { Ledger } from '../../src/ledger/ledger';
import { sleep, waitFor } from '../support/harness';
import { startPipeline, type Pipeline } from '../support/pipeline';

const JANE = '+14155550123';
const TOM = '+14155550177';
const SHOP = '+15550001000';
const VET = '+15550002000';
const STAFF = '+13125550100';
const DENTAL = 'Brightside Dental';

describe('staff relay (issue 14)', function () {
  this.timeout(60_000);
  let p: Pipeline | undefined;
  afterEach(async () => {
    await p?.stop();
    p = undefined;
  });

  const texts = (to: string) => p!.smsc.submits.filter((s) => s.destination.replace(/^\+?/, '+') === to).map((s) => s.text);
  const from = (to: string) => p!.smsc.submits.filter((s) => s.destination.replace(/^\+?/, '+') === to).map((s) => s.source.replace(/^\+?/, '+'));
  const ledger = (): Ledger => p!.daemon.ledgerHandle;
  const start = (extra: Record<string, unknown>[] = []) =>
    startPipeline({ businesses: [{ name: DENTAL, dids: [SHOP], dedupe_window: '0s', notify: { sms: [STAFF], events: ['missed_call', 'reply', 'opt_out'] } }, ...extra] });
  /** A missed call from `number` (the noanswer capture, moved `shift` seconds and renumbered). */
  const missedCall = async (number: string, name: string, shift: number, n: number) => {
    await p!.pbx.play(rewriteCapture(loadCapture('noanswer'), shift, { [JANE]: number, 'Jane Doe': name }));
    return (await p!.decisions(n))[n - 1];
  };
  /** The n-th alert to the staff mobile, and the thread it offers. */
  const alert = async (n: number) => {
    const body = await waitFor(`staff alert ${n}`, () => texts(STAFF)[n - 1]);
    const m = /Reply to answer (.+) \(#(\d+)\)\.$/.exec(body);
    return { body, who: m?.[1], thread: m ? Number(m[2]) : undefined };
  };
  const relaySends = async () => (await ledger().sends.list(100)).filter((s) => s.kind === 'relay');

  it('a reply from the staff mobile is relayed once to the caller from the business number, and confirmed to the staff member', async () => {
    p = await start();
    await missedCall(JANE, 'Jane Doe', 0, 1);
    await waitFor('text-back', () => texts(JANE).length === 1);
    const a = await alert(1);
    expect(a.body).to.match(/^Brightside Dental: missed call from Jane Doe \+14155550123 at .* \(noanswer\); texted back\. Reply to answer Jane Doe \(#\d+\)\.$/);
    expect(await ledger().relay.thread(a.thread!)).to.deep.equal({ id: a.thread, business: DENTAL, number: JANE });

    p.smsc.sendText(STAFF, SHOP, 'See you at 3, Jane');
    await waitFor('relayed', () => texts(JANE).length === 2);
    await waitFor('confirmed', () => texts(STAFF).length === 2);
    expect(texts(JANE)[1]).to.equal('See you at 3, Jane');
    expect(from(JANE)[1]).to.equal(SHOP);
    expect(texts(STAFF)[1]).to.equal('Sent to Jane Doe.');
    const [relay] = await relaySends();
    expect(relay).to.include({ kind: 'relay', number: JANE, business: DENTAL, sent_by: STAFF, source_addr: SHOP, body: 'See you at 3, Jane' });
    const confirm = (await ledger().sends.list(100)).find((s) => s.number === STAFF && s.kind === 'relay_confirm');
    expect(confirm).to.include({ body: 'Sent to Jane Doe.' });
    // The staff text itself is stored as a message, as every text is.
    expect((await ledger().messages.list(STAFF)).map((m) => m.body)).to.deep.equal(['See you at 3, Jane']);
    await sleep(300);
    expect(texts(JANE)).to.have.length(2);
    expect(await relaySends()).to.have.length(1);
  });

  it('with two alerts the reply goes to the latest; #<id> picks a thread; #999 and another business\'s thread are refused', async () => {
    p = await start([{ name: 'Northside Vet', dids: [VET], source_addr: VET }]);
    await missedCall(JANE, 'Jane Doe', 0, 1);
    const janeAlert = await alert(1);
    await missedCall(TOM, 'Tom Lee', 100, 2);
    const tomAlert = await alert(2);
    expect(tomAlert.who).to.equal('Tom Lee');
    expect(tomAlert.thread).to.not.equal(janeAlert.thread);
    await waitFor('both texted back', () => texts(JANE).length === 1 && texts(TOM).length === 1);

    p.smsc.sendText(STAFF, SHOP, 'Tom, we can fit you in at 4');
    await waitFor('to Tom', () => texts(TOM).length === 2);
    expect(texts(TOM)[1]).to.equal('Tom, we can fit you in at 4');
    await waitFor('confirmed', () => texts(STAFF).length === 3);
    expect(texts(STAFF)[2]).to.equal('Sent to Tom Lee.');

    p.smsc.sendText(STAFF, SHOP, `#${janeAlert.thread} Jane, Tuesday at 10 works`);
    await waitFor('to Jane', () => texts(JANE).length === 2);
    expect(texts(JANE)[1]).to.equal('Jane, Tuesday at 10 works');
    await waitFor('confirmed', () => texts(STAFF).length === 4);
    expect(texts(STAFF)[3]).to.equal('Sent to Jane Doe.');

    p.smsc.sendText(STAFF, SHOP, '#999 hello?');
    await waitFor('refused', () => texts(STAFF).length === 5);
    expect(texts(STAFF)[4]).to.match(/^Not sent: you have no thread #999\./);

    // Jane texts the vet, which does not list this mobile: that thread is not the staff member's to answer.
    p.smsc.sendText(JANE, VET, 'Is Rex ready?');
    const vetThread = await waitFor('the vet thread', async () => {
      for (let id = 1; id < 20; id++) if ((await ledger().relay.thread(id))?.business === 'Northside Vet') return id;
      return undefined;
    });
    p.smsc.sendText(STAFF, SHOP, `#${vetThread} Rex is ready`);
    await waitFor('refused', () => texts(STAFF).length === 6);
    expect(texts(STAFF)[5]).to.match(new RegExp(`^Not sent: you have no thread #${vetThread}\\.`));
    await sleep(300);
    expect(texts(JANE)).to.have.length(2);
    expect(texts(TOM)).to.have.length(2);
    expect((await relaySends()).map((s) => [s.number, s.sent_by])).to.deep.equal([
      [JANE, STAFF],
      [TOM, STAFF],
    ]);
  });

  it('STOP from the staff mobile opts it out and nothing is relayed', async () => {
    p = await start();
    await missedCall(JANE, 'Jane Doe', 0, 1);
    await alert(1);
    await waitFor('text-back', () => texts(JANE).length === 1);
    p.smsc.sendText(STAFF, SHOP, 'STOP');
    await waitFor('opt-out confirmation', () => texts(STAFF).length === 2);
    expect(texts(STAFF)[1]).to.match(/unsubscribed/);
    expect(await ledger().optOuts.has(STAFF, DENTAL)).to.equal(true);
    await sleep(300);
    expect(texts(JANE)).to.have.length(1);
    expect(await relaySends()).to.deep.equal([]);
  });

  it('a reply to an opted-out caller is refused: the staff member is told why, nothing goes to the caller', async () => {
    p = await start();
    await missedCall(JANE, 'Jane Doe', 0, 1);
    await alert(1);
    await waitFor('text-back', () => texts(JANE).length === 1);
    p.smsc.sendText(JANE, SHOP, 'STOP');
    await waitFor('opt-out confirmed, staff alerted', () => texts(JANE).length === 2 && texts(STAFF).length === 2);
    expect(texts(STAFF)[1]).to.not.match(/Reply to answer/);

    p.smsc.sendText(STAFF, SHOP, 'Sorry to see you go');
    await waitFor('refused', () => texts(STAFF).length === 3);
    expect(texts(STAFF)[2]).to.equal('Not sent: Jane Doe opted out of Brightside Dental texts.');
    await sleep(300);
    expect(texts(JANE)).to.have.length(2);
    expect(await relaySends()).to.deep.equal([]);
  });

  it('a missed call from the staff mobile gets no text-back (staff_number)', async () => {
    p = await start();
    const d = await missedCall(STAFF, 'Front Desk', 0, 1);
    expect(d).to.include({ decision: 'no_text', reason: 'staff_number' });
    const call = (await ledger().calls.list(1))[0];
    expect(call.detail).to.match(/staff mobile in notify\.sms/);
    await sleep(300);
    expect((await ledger().sends.list(100)).filter((s) => s.number === STAFF && s.kind !== 'staff_alert')).to.deep.equal([]);
  });

  it('with no alert in 24 h and no #thread, the staff member is told how to pick one; the text is stored', async () => {
    p = await start();
    p.smsc.sendText(STAFF, SHOP, 'Anyone there?');
    await waitFor('told how', () => texts(STAFF).length === 1);
    expect(texts(STAFF)[0]).to.match(/^Not sent: no alert to answer in the last 24 h\. Start with the # an alert gave/);
    expect((await ledger().messages.list(STAFF)).map((m) => m.body)).to.deep.equal(['Anyone there?']);
  });
});
