// Issue 15 over Twilio, end to end: the real daemon replaying real AMI captures, texting through
// a loopback Twilio (src/demo/loopback-twilio.ts) that behaves as Twilio documents, its webhooks
// signed as Twilio signs them. The official `twilio` package checks our signatures independently:
// it validates every webhook the loopback signs, and signs requests of its own that mctb must take.

import { expect } from 'chai';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import twilioLib from 'twilio';
import { formatCheck } from '../../src/cli/check';
import { configCheck } from '../../src/cli/config-check';
import { why } from '../../src/cli/why';
import { buildReportJson } from '../../src/cli/report';
import { Daemon } from '../../src/daemon';
import { loadCapture, rewriteCapture } from '../../src/demo/ami-replay';
import { LoopbackTwilio, type TwilioBehaviour } from '../../src/demo/loopback-twilio';
import { FILTERED_PREFIX } from '../../src/records/states';
import { twilio } from '../../src/sms/twilio';
import { sleep, testConfigYaml, testLogger, waitFor } from '../support/harness';
import { startPipeline, type Pipeline } from '../support/pipeline';

const TOKEN = 'tw-auth-9f8e7d6c5b4a39281706f5e4d3c2b1a0';
const SID = 'AC0123456789abcdef0123456789abcdef';
const PUBLIC = 'https://mctb.example.com';
const HOOK = '/webhooks/twilio';
const MAIN = '+15550001000';
const AFTER_HOURS = '+15550001001';
/** The caller of the `busy` capture (dialled +15550001001) and of `noanswer` (dialled +15550001000). */
const BUSY_CALLER = '+13125550147';
const JANE = '+14155550123';

interface Setup {
  p: Pipeline;
  tw: LoopbackTwilio;
}

async function start(behaviour: TwilioBehaviour = {}, twilio: Record<string, unknown> = {}, opts: { timeoutMs?: number } = {}): Promise<Setup> {
  const tw = new LoopbackTwilio({ accountSid: SID, authToken: TOKEN, numbers: [{ phone_number: MAIN }, { phone_number: AFTER_HOURS }], smsUrl: `${PUBLIC}${HOOK}`, ...behaviour });
  await tw.listen();
  const p = await startPipeline({
    startSmsc: false,
    businesses: [{ name: 'Brightside Dental', dids: [MAIN, AFTER_HOURS], delay: '0s', dedupe_window: '0s' }],
    top: {
      sms: { transport: 'twilio', twilio: { account_sid: SID, auth_token: TOKEN, base_url: tw.url, webhook_path: HOOK, tps: 50, ...twilio } },
      http: { listen: '127.0.0.1:0', public_url: PUBLIC },
    },
    amend: (c) => {
      if (opts.timeoutMs) (c.sms.twilio as { timeoutMs?: number }).timeoutMs = opts.timeoutMs;
    },
  });
  // Twilio reaches mctb at PUBLIC through a proxy: here, the daemon's own listener.
  tw.via = `http://127.0.0.1:${p.daemon.healthPort}`;
  return { p, tw };
}

const sendsTo = async (p: Pipeline, number: string) => (await p.daemon.ledgerHandle.sends.find({ number, limit: 20 })).reverse();
const messagesFrom = (p: Pipeline, number: string) => p.daemon.ledgerHandle.messages.list(number);

/** The official library's check of a webhook the loopback posted. */
function officiallySigned(tw: LoopbackTwilio): boolean {
  return tw.posted.length > 0 && tw.posted.every((x) => twilioLib.validateRequest(TOKEN, x.signature, x.url, x.form));
}

function capture(): { stream: PassThrough; text: () => string } {
  const stream = new PassThrough();
  let text = '';
  stream.on('data', (c) => (text += String(c)));
  return { stream, text: () => text };
}

describe('Twilio transport (issue 15)', function () {
  this.timeout(60_000);
  let s: Setup | undefined;
  afterEach(async () => {
    await s?.p.stop();
    await s?.tw.close();
    s = undefined;
  });

  it('texts a missed call to the second DID from that DID, with a status callback; the reply to it lands on that business; config check prints the sender', async () => {
    s = await start();
    const { p, tw } = s;
    await p.pbx.play(loadCapture('busy')); // dialled +15550001001
    await waitFor('text sent', () => tw.sent.length === 1);
    const post = tw.requests.find((r) => r.method === 'POST' && r.url.endsWith('/Messages.json'))!;
    expect(post.url).to.equal(`/2010-04-01/Accounts/${SID}/Messages.json`);
    expect(post.form).to.include({ To: BUSY_CALLER, From: AFTER_HOURS, StatusCallback: `${PUBLIC}${HOOK}` });
    expect(post.auth).to.equal(`Basic ${Buffer.from(`${SID}:${TOKEN}`).toString('base64')}`);
    // Twilio's status callbacks (sent, then delivered) move it to delivered.
    await waitFor('delivered', async () => (await sendsTo(p, BUSY_CALLER))[0]?.state === 'delivered');
    const [send] = await sendsTo(p, BUSY_CALLER);
    expect(send.source_addr).to.equal(AFTER_HOURS);
    expect(await p.daemon.ledgerHandle.sends.messageIdsOf(send.id)).to.deep.equal([tw.sent[0].sid]);

    const { status } = await tw.sendText(BUSY_CALLER, AFTER_HOURS, 'Can you fit me in tomorrow?');
    expect(status).to.equal(200);
    const answer = tw.posted.at(-1)!;
    expect(answer.body).to.match(/<Response\/>$/);
    const [reply] = await messagesFrom(p, BUSY_CALLER);
    expect(reply).to.include({ business: 'Brightside Dental', body: 'Can you fit me in tomorrow?' });
    expect(officiallySigned(tw)).to.equal(true);

    const file = join(p.dir, 'mctb.yaml');
    writeFileSync(file, testConfigYaml({ dir: p.dir, amiPort: 5038, top: { sms: { transport: 'twilio', twilio: { account_sid: SID, auth_token: TOKEN, webhook_path: HOOK } }, http: { listen: '127.0.0.1:9465', public_url: PUBLIC } }, businesses: [{ name: 'Brightside Dental', dids: [MAIN, AFTER_HOURS] }] }));
    const out = capture();
    expect(configCheck(file, out.stream, capture().stream)).to.equal(0);
    expect(out.text()).to.include(`the number dialled (${MAIN}, ${AFTER_HOURS})`);
    expect(out.text()).to.include(`${PUBLIC}${HOOK}`);
    expect(out.text()).to.not.include(TOKEN);
  });

  it('webhook inbound stores a reply once, however often Twilio delivers it; requests the official library signs are taken; forged ones get 403 and store nothing', async () => {
    s = await start();
    const { p, tw } = s;
    const { message } = await tw.sendText(JANE, MAIN, 'first', { webhook: true });
    // Twilio retries a webhook it got no answer to: the same MessageSid again.
    expect(await tw.post(`${PUBLIC}${HOOK}`, tw.inboundForm(message))).to.equal(200);
    expect(await tw.post(`${PUBLIC}${HOOK}`, tw.inboundForm(message))).to.equal(200);
    expect((await messagesFrom(p, JANE)).map((m) => m.body)).to.deep.equal(['first']);

    // Signed by the official library, posted by hand.
    const form = { ...tw.inboundForm(message), MessageSid: 'SM' + 'a'.repeat(32), SmsMessageSid: 'SM' + 'a'.repeat(32), SmsSid: 'SM' + 'a'.repeat(32), Body: 'second' };
    const sig = twilioLib.getExpectedTwilioSignature(TOKEN, `${PUBLIC}${HOOK}`, form);
    const post = (signature: string, body: Record<string, string>, path = HOOK) =>
      fetch(`http://127.0.0.1:${p.daemon.healthPort}${path}`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-twilio-signature': signature }, body: new URLSearchParams(body).toString() });
    const ok = await post(sig, form);
    expect(ok.status).to.equal(200);
    expect(ok.headers.get('content-type')).to.match(/text\/xml/);
    expect(await ok.text()).to.include('<Response/>');

    // Forged: the wrong token, a changed body, another URL signed, no signature at all.
    const forged = { ...form, MessageSid: 'SM' + 'b'.repeat(32), SmsMessageSid: 'SM' + 'b'.repeat(32), Body: 'forged' };
    expect((await post(twilioLib.getExpectedTwilioSignature('not-the-token', `${PUBLIC}${HOOK}`, forged), forged)).status).to.equal(403);
    expect((await post(sig, forged)).status).to.equal(403);
    expect((await post(twilioLib.getExpectedTwilioSignature(TOKEN, `${PUBLIC}/elsewhere`, forged), forged)).status).to.equal(403);
    expect((await post('', forged)).status).to.equal(403);
    // A replay of a genuine request (Twilio signs no timestamp) stores nothing new.
    expect((await post(sig, form)).status).to.equal(200);
    await sleep(200);
    expect((await messagesFrom(p, JANE)).map((m) => m.body).sort()).to.deep.equal(['first', 'second']);
    expect(p.logLines.filter((l) => l.includes('X-Twilio-Signature missing or wrong'))).to.have.length(4);

    // A text to a number no business lists (a DID moved at the carrier, not yet in mctb.yaml): stored, and said so.
    const stray = { ...form, MessageSid: 'SM' + 'c'.repeat(32), SmsMessageSid: 'SM' + 'c'.repeat(32), SmsSid: 'SM' + 'c'.repeat(32), To: '+15550007777', Body: 'stray' };
    expect((await post(twilioLib.getExpectedTwilioSignature(TOKEN, `${PUBLIC}${HOOK}`, stray), stray)).status).to.equal(200);
    await waitFor('stray stored', async () => (await messagesFrom(p, JANE)).some((m) => m.body === 'stray'));
    expect(p.logLines.filter((l) => l.includes('text to a number no business lists') && l.includes('+15550007777'))).to.have.length(1);
    expect(officiallySigned(tw)).to.equal(true);

    // doctor, with the settings its registry entry reads from this config: all ✓, the webhook included.
    // (http.listen is port 0 here: the port the daemon got.)
    const checks = await twilio.doctor({ ...twilio.settings(p.config)!, listen: { host: '127.0.0.1', port: p.daemon.healthPort! } });
    expect(checks.every((c) => c.ok), checks.map(formatCheck).join('\n')).to.equal(true);
    expect(checks.map((c) => c.name)).to.include.members(['Twilio credentials', `number ${MAIN}`, `number ${AFTER_HOURS}`, 'A2P 10DLC', 'Twilio webhook']);
    expect(JSON.stringify(checks)).to.not.include(TOKEN);
  });

  it('polling stores replies once (also one the webhook brought), and resumes from its cursor after a restart', async () => {
    s = await start({ smsUrl: undefined }, { poll_interval: '5s' });
    const { p, tw } = s;
    await sleep(1500); // the first poll has set the cursor
    await tw.sendText(JANE, MAIN, 'polled one', { webhook: false });
    const both = await tw.sendText(JANE, AFTER_HOURS, 'webhook and poll', { webhook: false });
    expect(await tw.post(`${PUBLIC}${HOOK}`, tw.inboundForm(both.message))).to.equal(200);
    await waitFor('polled', async () => (await messagesFrom(p, JANE)).length === 2, 15_000);
    await sleep(5500); // another poll: the same texts are listed again (the overlap), stored once
    expect((await messagesFrom(p, JANE)).map((m) => m.body).sort()).to.deep.equal(['polled one', 'webhook and poll']);
    const polls = tw.requests.filter((r) => r.method === 'GET' && r.url.includes('/Messages.json'));
    expect(polls.length).to.be.greaterThan(2);
    const q = new URL(polls.at(-1)!.url, 'http://x').searchParams;
    expect(q.get('To')).to.match(/^\+1555000100[01]$/);
    expect(q.get('DateSent>')).to.match(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/);

    // Down for a while: a text arrives meanwhile; the next daemon reads it from the saved cursor.
    await p.daemon.stop(1000);
    await tw.sendText(JANE, MAIN, 'while you were down', { webhook: false });
    const { logger } = testLogger();
    const again = new Daemon(p.config, logger);
    await again.start();
    try {
      await waitFor('read after restart', async () => (await again.ledgerHandle.messages.list(JANE)).length === 3, 15_000);
      const bodies = (await again.ledgerHandle.messages.list(JANE)).map((m) => m.body);
      expect(bodies[0]).to.equal('while you were down');
      expect(bodies.sort()).to.deep.equal(['polled one', 'webhook and poll', 'while you were down']);
    } finally {
      await again.stop(1000);
    }
  });

  it('429 (with Retry-After) and 503 are retried without a duplicate; a timeout after Twilio took the text does not send it twice', async () => {
    s = await start({ failNext: [{ status: 429, code: 20429, message: 'Too Many Requests', retryAfter: 1 }, { status: 503, code: 20500, message: 'Service Unavailable' }], stallNext: { count: 1, ms: 1500 } }, {}, { timeoutMs: 500 });
    const { p, tw } = s;
    await p.pbx.play(loadCapture('noanswer'));
    await waitFor('submitted', async () => ['submitted', 'delivered'].includes((await sendsTo(p, JANE))[0]?.state ?? ''), 30_000);
    const posts = tw.requests.filter((r) => r.method === 'POST');
    expect(posts).to.have.length(3); // 429, 503, then taken (answered too late)
    expect(tw.sent).to.have.length(1);
    const [send] = await sendsTo(p, JANE);
    expect(send.interrupted).to.be.greaterThan(0);
    expect(await p.daemon.ledgerHandle.sends.messageIdsOf(send.id)).to.deep.equal([tw.sent[0].sid]);
    // The resend looked the text up (To and From) instead of posting it again.
    expect(tw.requests.some((r) => r.method === 'GET' && r.url.includes(`To=${encodeURIComponent(JANE)}`) && r.url.includes('From='))).to.equal(true);
    expect(p.logLines.some((l) => l.includes('twilio_20429'))).to.equal(true);
    expect(p.logLines.some((l) => l.includes('not sent again'))).to.equal(true);
    await sleep(300);
    expect(tw.sent).to.have.length(1);
  });

  it("a permanent error fails the text with Twilio's code; 21610 records an opt-out", async () => {
    s = await start({ failNext: [{ status: 400, code: 21211, message: `The 'To' number ${JANE} is not a valid phone number.` }], optedOut: [BUSY_CALLER] });
    const { p } = s;
    await p.pbx.play(loadCapture('noanswer'));
    await waitFor('failed', async () => (await sendsTo(p, JANE))[0]?.state === 'failed');
    expect((await sendsTo(p, JANE))[0].error).to.match(/^twilio_21211 invalid 'To' number/);
    await p.pbx.play(loadCapture('busy'));
    await waitFor('opted out', async () => (await sendsTo(p, BUSY_CALLER))[0]?.state === 'failed');
    expect((await sendsTo(p, BUSY_CALLER))[0]).to.include({ reason: 'opted_out' });
    expect(await p.daemon.ledgerHandle.optOuts.has(BUSY_CALLER, 'Brightside Dental')).to.equal(true);
  });

  it('status callbacks: filtered (30007) fails the text, named in why, counted in report, warned once a day; a callback before the send is stored is kept and matched', async () => {
    s = await start({ outcome: (to) => (to === JANE ? { status: 'undelivered', errorCode: '30007' } : { status: 'delivered' }), stallNext: { count: 1, ms: 600 } });
    const { p, tw } = s;
    // The first send's answer is late: its callbacks (sent, undelivered) come before mctb knows the sid.
    await p.pbx.play(loadCapture('noanswer'));
    await waitFor('filtered', async () => (await sendsTo(p, JANE))[0]?.state === 'failed', 15_000);
    const [send] = await sendsTo(p, JANE);
    expect(send.error!.startsWith(FILTERED_PREFIX)).to.equal(true);
    expect(send.error).to.include('30007');
    expect(p.logLines.some((l) => l.includes('unmatched'))).to.equal(true);
    await p.pbx.play(rewriteCapture(loadCapture('noanswer'), 100));
    await waitFor('second filtered', async () => (await sendsTo(p, JANE)).filter((x) => x.state === 'failed').length === 2, 15_000);
    await sleep(200);
    expect(p.logLines.filter((l) => l.includes('the carrier filtered a text'))).to.have.length(1);
    expect(p.logLines.find((l) => l.includes('the carrier filtered a text'))).to.include('A2P 10DLC');
    await p.pbx.play(loadCapture('busy'));
    await waitFor('delivered', async () => (await sendsTo(p, BUSY_CALLER))[0]?.state === 'delivered');
    expect(officiallySigned(tw)).to.equal(true);

    const r = await p.daemon.ledgerHandle.admin.report(Date.now() - 3600_000, Date.now());
    const j = buildReportJson(r, Date.now() - 3600_000, Date.now(), undefined);
    expect(j.filtered).to.deep.include({ total: 2, by_business: { 'Brightside Dental': 2 } });
    expect(j.filtered.fix).to.include('A2P 10DLC');

    const file = join(p.dir, 'why.yaml');
    writeFileSync(file, testConfigYaml({ dir: p.dir, amiPort: 5038, businesses: [{ name: 'Brightside Dental', dids: [MAIN, AFTER_HOURS] }] }));
    const out = capture();
    expect(await why(JANE, file, false, out.stream as unknown as typeof process.stdout, capture().stream as unknown as typeof process.stderr)).to.equal(0);
    expect(out.text()).to.include('filtered by the carrier, not delivered (30007');
    expect(out.text()).to.include('fix: register the number for A2P 10DLC');
  });

  it('the Auth Token never appears in logs, errors or the stored errors, even when Twilio refuses it', async () => {
    s = await start({ authToken: 'a-different-token-at-twilio' });
    const { p, tw } = s;
    await p.pbx.play(loadCapture('noanswer'));
    await waitFor('refused and retrying', async () => ((await sendsTo(p, JANE))[0]?.error ?? '').includes('twilio_20003'));
    await tw.sendText(JANE, MAIN, 'hello'); // signed with Twilio's (other) token: 403
    const basic = Buffer.from(`${SID}:${TOKEN}`).toString('base64');
    const all = [...p.logLines, ...(await sendsTo(p, JANE)).map((x) => x.error ?? '')].join('\n');
    expect(all).to.include('twilio_20003');
    expect(all).to.not.include(TOKEN);
    expect(all).to.not.include(basic);
  });
});
