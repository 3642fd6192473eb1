// Issue 4 end to end over loopback SMPP: STOP/START/HELP, replies forwarded to staff and to a
// signed webhook, receipts in both forms, follow-ups on an injected clock, webhook outages, and
// callback tasks.

import { expect } from 'chai';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { loadCapture, rewriteCapture } from '../../src/demo/ami-replay';
import { signature } from '../../src/notify/webhook';
import { sleep, waitFor } from '../support/harness';
import { startPipeline, type Pipeline } from '../support/pipeline';

const JANE = '+14155550123';
const SHOP = '+15550001000';
const STAFF = '+13125550100';

/** A webhook receiver on loopback that checks signatures; `failFirst` answers 503 that many times. */
async function webhookReceiver(secret: string, failFirst = 0) {
  const got: { headers: IncomingMessage['headers']; body: string; validSignature: boolean; status: number }[] = [];
  let failures = failFirst;
  const server: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      const ts = Number(req.headers['x-mctb-timestamp']);
      const validSignature = req.headers['x-mctb-signature'] === signature(secret, ts, body);
      const status = failures-- > 0 ? 503 : 204;
      got.push({ headers: req.headers, body, validSignature, status });
      res.writeHead(status).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/mctb`;
  return { got, url, close: () => new Promise<void>((r) => server.close(() => r())) };
}

describe('two-way SMS', function () {
  this.timeout(60_000);
  let p: Pipeline | undefined;
  afterEach(async () => {
    await p?.stop();
    p = undefined;
  });

  const texts = (to: string) => p!.smsc.submits.filter((s) => s.destination === to).map((s) => s.text);

  it('STOP (several spellings, GSM-7 and UCS-2) opts out, confirmed once; the next missed call gets no text; START opts back in', async () => {
    p = await startPipeline({ businesses: [{ name: 'Brightside Dental', dids: [SHOP, '+15550001001'], dedupe_window: '0s' }] });
    await p.pbx.play(loadCapture('noanswer'));
    await waitFor('text-back', () => texts(JANE).length === 1);

    p.smsc.sendText(JANE, SHOP, 'Stop.'); // GSM-7
    await waitFor('confirmation', () => texts(JANE).length === 2);
    expect(texts(JANE)[1]).to.equal("You're unsubscribed from Brightside Dental texts. Reply START to resubscribe.");
    p.smsc.sendText(JANE, SHOP, 'stop please', { ucs2: true }); // UCS-2, a second STOP: no second confirmation
    p.smsc.sendText(JANE, SHOP, 'UNSUBSCRIBE');
    await waitFor('three messages stored', async () => (await p!.daemon.ledgerHandle.messages.list(JANE)).length === 3);
    await sleep(300);
    expect(texts(JANE)).to.have.length(2);
    expect(p.smsc.deliverResponses.every((s) => s === 0)).to.equal(true);

    await p.pbx.play(rewriteCapture(loadCapture('noanswer'), 100));
    const [, second] = await p.decisions(2);
    expect(second).to.include({ decision: 'no_text', reason: 'opted_out' });

    p.smsc.sendText(JANE, SHOP, 'START');
    await waitFor('opt-in confirmation', () => texts(JANE).length === 3);
    expect(texts(JANE)[2]).to.equal("You're resubscribed to Brightside Dental texts. Reply STOP to unsubscribe.");
    await p.pbx.play(rewriteCapture(loadCapture('noanswer'), 200));
    const decisions = await p.decisions(3);
    expect(decisions[2]).to.include({ decision: 'text', reason: 'missed' });
    await waitFor('texted again', () => texts(JANE).length === 4);
    const messages = await p.daemon.ledgerHandle.messages.list(JANE);
    expect(messages.map((m) => m.keyword)).to.deep.equal(['start', 'stop', 'stop', 'stop']);
  });

  it('an opt-out cancels a text already scheduled, and "stop" from another spelling in UCS-2 is understood', async () => {
    p = await startPipeline({ businesses: [{ name: 'Brightside Dental', dids: [SHOP], delay: '5s' }] });
    await p.pbx.play(loadCapture('noanswer'));
    const [d] = await p.decisions(1);
    p.smsc.sendText(JANE, SHOP, 'STOP texting me 🙏');
    const send = await waitFor('cancelled', async () => {
      const s = await p!.daemon.ledgerHandle.sends.get(d.sendId!);
      return s?.state === 'cancelled' && s;
    });
    expect(send.reason).to.equal('opted_out');
    await waitFor('confirmation only', () => texts(JANE).length === 1);
    expect(texts(JANE)[0]).to.match(/unsubscribed/);
  });

  it('HELP gets the help text; a reply is stored, forwarded to the staff mobile and posted to the webhook, signed', async () => {
    const hook = await webhookReceiver('s3cret');
    try {
      p = await startPipeline({
        businesses: [{ name: 'Brightside Dental', dids: [SHOP], help: '{{business.name}}: call us on 555-0100. Reply STOP to opt out.', notify: { sms: [STAFF], webhook: { url: hook.url, secret: 's3cret' }, events: ['reply'] } }],
      });
      p.smsc.sendText(JANE, SHOP, 'help');
      await waitFor('help text', () => texts(JANE).length === 1);
      expect(texts(JANE)[0]).to.equal('Brightside Dental: call us on 555-0100. Reply STOP to opt out.');

      p.smsc.sendText(JANE, SHOP, 'Can I book a cleaning for Tuesday? Ça marche?', { parts: 'udh' });
      await waitFor('staff alert', () => texts(STAFF).length === 1);
      expect(texts(STAFF)[0]).to.equal('Brightside Dental: reply from +14155550123: Can I book a cleaning for Tuesday? Ça marche? Reply to answer +14155550123 (#1).');
      const stored = await p.daemon.ledgerHandle.messages.list(JANE);
      expect(stored[0]).to.include({ body: 'Can I book a cleaning for Tuesday? Ça marche?', keyword: null, business: 'Brightside Dental' });

      await waitFor('webhook post', () => hook.got.length === 1);
      const post = hook.got[0];
      expect(post.validSignature).to.equal(true);
      const body = JSON.parse(post.body) as { id: string; type: string; business: string; created_at: string; data: { number: string; text: string } };
      expect(body).to.include({ type: 'reply', business: 'Brightside Dental' });
      expect(body.data).to.include({ number: JANE, text: 'Can I book a cleaning for Tuesday? Ça marche?' });
      expect(post.headers['x-mctb-event-id']).to.equal(body.id);
      expect(Math.abs(Number(post.headers['x-mctb-timestamp']) - Date.now() / 1000)).to.be.below(60);
    } finally {
      await hook.close();
    }
  });

  it('reassembles a concatenated reply sent as sar_* parts before anyone reads it', async () => {
    p = await startPipeline();
    p.smsc.sendText(JANE, SHOP, 'Part one and part two of one reply', { parts: 'sar', reference: 42 });
    await waitFor('stored whole', async () => (await p!.daemon.ledgerHandle.messages.list(JANE)).length === 1);
    await sleep(200);
    const stored = await p.daemon.ledgerHandle.messages.list(JANE);
    expect(stored.map((m) => m.body)).to.deep.equal(['Part one and part two of one reply']);
  });

  for (const form of ['text', 'tlv'] as const) {
    it(`a delivery receipt in ${form} form moves the send to delivered`, async () => {
      p = await startPipeline({ smsc: { receiptDelayMs: 20, receiptForm: form } });
      await p.pbx.play(loadCapture('noanswer'));
      const [d] = await p.decisions(1);
      await waitFor('delivered', async () => (await p!.daemon.ledgerHandle.sends.get(d.sendId!))?.state === 'delivered');
    });
  }

  it('a receipt that arrives before its submit_sm_resp is matched once the message id is stored', async () => {
    p = await startPipeline({ smsc: { receiptBeforeResp: true, receiptStat: 'UNDELIV' } });
    await p.pbx.play(loadCapture('noanswer'));
    const [d] = await p.decisions(1);
    const send = await waitFor('failed by the early receipt', async () => {
      const s = await p!.daemon.ledgerHandle.sends.get(d.sendId!);
      return s?.state === 'failed' && s;
    });
    expect(send.reason).to.equal('receipt_undeliverable');
  });

  describe('follow-up (time injected)', () => {
    const T0 = Date.parse('2026-11-18T15:00:00Z'); // Wednesday 09:00 in Chicago
    let offset = 0;
    let started = Date.now();
    // Runs at real speed from T0, jumped forward by `offset`.
    const clock = () => T0 + (Date.now() - started) + offset;
    const business = { name: 'Brightside Dental', dids: [SHOP], timezone: 'America/Chicago', follow_up: { after: '2h', message: 'Just checking in from {{business.name}}: still need us?' }, quiet_hours: '21:00-08:00' };

    beforeEach(() => {
      offset = 0;
      started = Date.now();
    });

    it('goes out after `after` when there is no reply', async () => {
      p = await startPipeline({ businesses: [business], clock });
      await p.pbx.play(loadCapture('noanswer'));
      await waitFor('text-back', () => texts(JANE).length === 1);
      offset = 2 * 3600_000 - 60_000;
      await sleep(600);
      expect(texts(JANE)).to.have.length(1);
      offset = 2 * 3600_000 + 1000;
      await waitFor('follow-up', () => texts(JANE).length === 2);
      expect(texts(JANE)[1]).to.equal('Just checking in from Brightside Dental: still need us?');
    });

    it('is dropped when the contact replied', async () => {
      p = await startPipeline({ businesses: [business], clock });
      await p.pbx.play(loadCapture('noanswer'));
      await waitFor('text-back', () => texts(JANE).length === 1);
      offset = 30 * 60_000;
      p.smsc.sendText(JANE, SHOP, 'Yes please call me after 3');
      await waitFor('reply stored', async () => (await p!.daemon.ledgerHandle.messages.list(JANE)).length === 1);
      offset = 3 * 3600_000;
      const followUp = await waitFor('follow-up cancelled', async () => (await p!.daemon.ledgerHandle.sends.list()).find((s) => s.kind === 'follow_up' && s.state === 'cancelled'));
      expect(followUp.reason).to.equal('replied');
      expect(texts(JANE)).to.have.length(1);
    });

    it('waits out quiet hours, then goes at the next allowed minute', async () => {
      offset = 10.5 * 3600_000; // 19:30 in Chicago: due 21:30, inside 21:00-08:00
      p = await startPipeline({ businesses: [business], clock });
      await p.pbx.play(loadCapture('noanswer'));
      await waitFor('text-back', () => texts(JANE).length === 1);
      offset = 12.5 * 3600_000 + 60_000; // 21:31
      const waiting = await waitFor('rescheduled', async () => (await p!.daemon.ledgerHandle.sends.list()).find((s) => s.kind === 'follow_up' && s.error === 'quiet_hours'));
      expect(new Date(waiting.due_at).toISOString()).to.equal('2026-11-19T14:00:00.000Z'); // 08:00 CST
      await sleep(500);
      expect(texts(JANE)).to.have.length(1);
      offset = Date.parse('2026-11-19T14:00:01Z') - T0;
      await waitFor('follow-up at 08:00', () => texts(JANE).length === 2);
    });
  });

  it('a webhook endpoint down for a while gets the event once it is back, once', async () => {
    const hook = await webhookReceiver('k', 2);
    let offset = 0;
    try {
      p = await startPipeline({
        businesses: [{ name: 'Brightside Dental', dids: [SHOP], notify: { webhook: { url: hook.url, secret: 'k' }, events: ['missed_call'] } }],
        clock: () => Date.now() + offset,
      });
      await p.pbx.play(loadCapture('noanswer'));
      // Each jump waits for the failed try to be written back: the retry is scheduled from the
      // clock read after the answer, so jumping before that would move the retry along with it.
      const attempts = async (n: number) => (await p!.daemon.ledgerHandle.notifications.get(String(hook.got[0].headers['x-mctb-event-id'])))?.attempts === n;
      await waitFor('first failed try', () => hook.got.length === 1);
      await waitFor('first failure written', () => attempts(1));
      offset += 6_000;
      await waitFor('second failed try', () => hook.got.length === 2);
      await waitFor('second failure written', () => attempts(2));
      offset += 11_000;
      await waitFor('delivered', () => hook.got.length === 3);
      await sleep(800);
      offset += 600_000;
      await sleep(800);
      expect(hook.got.map((g) => g.status)).to.deep.equal([503, 503, 204]);
      const ids = new Set(hook.got.map((g) => g.headers['x-mctb-event-id']));
      expect(ids.size).to.equal(1);
      expect(new Set(hook.got.map((g) => g.body)).size).to.equal(1);
      expect(hook.got.every((g) => g.validSignature)).to.equal(true);
      const body = JSON.parse(hook.got[2].body) as { type: string; data: { outcome: string; texted: boolean; number: string } };
      expect(body.type).to.equal('missed_call');
      expect(body.data).to.include({ outcome: 'noanswer', texted: true, number: JANE });
      expect(p.logLines.filter((l) => /webhook not delivered/.test(l) && /warn/.test(l))).to.have.length(1);
    } finally {
      await hook.close();
    }
  });

  it('a missed call opens a callback task; the answered call-back closes it', async () => {
    p = await startPipeline({ businesses: [{ name: 'Brightside Dental', dids: [SHOP, '+15550001003'] }] });
    await p.pbx.play(loadCapture('noanswer'));
    await p.decisions(1);
    const open = await p.daemon.ledgerHandle.tasks.listOpen();
    expect(open.map((t) => [t.business, t.number])).to.deep.equal([['Brightside Dental', JANE]]);
    await p.pbx.play(rewriteCapture(loadCapture('answered'), 60, { '+16175550110': JANE }));
    await p.decisions(2);
    await waitFor('closed', async () => (await p!.daemon.ledgerHandle.tasks.listOpen()).length === 0);
    const task = await p.daemon.ledgerHandle.tasks.get(open[0].id);
    expect(task?.closed_reason).to.equal('answered');
  });
});
