// Issue 15 over Telnyx, end to end: the real daemon (AMI replay of real captures) sending through a
// loopback carrier that behaves as Telnyx's Messaging API v2 documents, and receiving its
// Ed25519-signed webhooks on http.listen. The signatures are checked independently with WebCrypto
// (the algorithm Telnyx's official Node SDK uses; the SDK itself is ~19 MB with 6,000 files, so it
// is not a dependency), against ours made with node:crypto.

import { expect } from 'chai';
import { webcrypto } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadCapture, rewriteCapture } from '../../src/demo/ami-replay';
import { LoopbackTelnyx, type LoopbackTelnyxOptions } from '../../src/demo/loopback-telnyx';
import { parseConfig } from '../../src/config/load';
import { checkSignature, publicKeyFrom, signedHeaders, SIGNATURE_HEADER, TIMESTAMP_HEADER } from '../../src/sms/telnyx/signature';
import { receiptOf, sendOutcome } from '../../src/sms/telnyx/api';
import { sleep, tempDir, waitFor, type BusinessYaml } from '../support/harness';
import { startPipeline, type Pipeline } from '../support/pipeline';
import { mctb } from '../support/cli';

const SHOP = '+15550001000';
const SHOP2 = '+15550001001';
const JANE = '+14155550123'; // the noanswer capture, to SHOP
const MIKE = '+13125550147'; // the busy capture, to SHOP2
const HOOK = '/webhooks/telnyx';

interface Setup {
  p: Pipeline;
  carrier: LoopbackTelnyx;
}

async function startTelnyx(opts: { carrier?: LoopbackTelnyxOptions; businesses?: BusinessYaml[]; timeoutMs?: number } = {}): Promise<Setup> {
  const carrier = new LoopbackTelnyx({ numbers: [SHOP, SHOP2], receiptDelayMs: 30, ...opts.carrier });
  await carrier.listen();
  const p = await startPipeline({
    startSmsc: false,
    businesses: opts.businesses ?? [{ name: 'Brightside Dental', dids: [SHOP, SHOP2] }],
    top: {
      sms: { transport: 'telnyx', telnyx: { api_key: carrier.apiKey, messaging_profile_id: carrier.profileId, public_key: carrier.publicKey, base_url: carrier.url, webhook_path: HOOK } },
      http: { listen: '127.0.0.1:0' },
    },
    amend: (c) => {
      (c.sms.telnyx as { request_timeout_ms?: number }).request_timeout_ms = opts.timeoutMs ?? 5000;
    },
  });
  carrier.setWebhookUrl(`http://127.0.0.1:${p.daemon.healthPort}${HOOK}`);
  return { p, carrier };
}

async function sendOf(s: Setup, n = 1) {
  const decided = await s.p.decisions(n);
  const id = decided[n - 1].sendId!;
  return (state?: string) =>
    waitFor(`send ${id}${state ? ` ${state}` : ''}`, async () => {
      const row = await s.p.daemon.ledgerHandle.sends.get(id);
      return (!state || row?.state === state) && row;
    });
}

const received = async (s: Setup, number: string) => s.p.daemon.ledgerHandle.messages.list(number);

describe('Telnyx', function () {
  this.timeout(60_000);
  let s: Setup | undefined;
  afterEach(async () => {
    await s?.p.stop();
    await s?.carrier.close();
    s = undefined;
  });

  describe('signatures, checked independently', () => {
    it("the loopback's signature verifies with WebCrypto over `${timestamp}|${body}`, as Telnyx documents", async () => {
      const carrier = new LoopbackTelnyx();
      const body = carrier.event('message.received', { id: 'x', from: { phone_number: JANE }, to: [{ phone_number: SHOP, status: 'webhook_delivered' }], text: 'hi' });
      const headers = signedHeaders(carrier.privateKey, body, 1_760_000_000);
      const key = await webcrypto.subtle.importKey('raw', Buffer.from(carrier.publicKey, 'base64'), { name: 'Ed25519' }, false, ['verify']);
      const ok = await webcrypto.subtle.verify('Ed25519', key, Buffer.from(headers[SIGNATURE_HEADER], 'base64'), Buffer.from(`${headers[TIMESTAMP_HEADER]}|${body}`));
      expect(ok).to.equal(true);
      const tampered = await webcrypto.subtle.verify('Ed25519', key, Buffer.from(headers[SIGNATURE_HEADER], 'base64'), Buffer.from(`${headers[TIMESTAMP_HEADER]}|${body} `));
      expect(tampered).to.equal(false);
    });

    it('our check accepts a signature made by WebCrypto, refuses a stale or altered one', async () => {
      const pair = (await webcrypto.subtle.generateKey({ name: 'Ed25519' }, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
      const raw = Buffer.from(await webcrypto.subtle.exportKey('raw', pair.publicKey)).toString('base64');
      const body = Buffer.from('{"data":{"event_type":"message.finalized"}}');
      const ts = 1_760_000_000;
      const sig = Buffer.from(await webcrypto.subtle.sign('Ed25519', pair.privateKey, Buffer.concat([Buffer.from(`${ts}|`), body]))).toString('base64');
      const key = publicKeyFrom(raw);
      const headers = { [SIGNATURE_HEADER]: sig, [TIMESTAMP_HEADER]: String(ts) };
      expect(checkSignature(key, headers, body, ts + 10)).to.deep.equal({ ok: true });
      expect(checkSignature(key, headers, body, ts + 301)).to.deep.equal({ ok: false, why: 'stale' });
      expect(checkSignature(key, headers, Buffer.from(body.toString().replace('finalized', 'received')), ts)).to.deep.equal({ ok: false, why: 'forged' });
      expect(checkSignature(key, { [TIMESTAMP_HEADER]: String(ts) }, body, ts)).to.deep.equal({ ok: false, why: 'missing' });
    });
  });

  describe('answers and statuses', () => {
    it('maps send answers: accepted, 429/5xx retried, opted out (40300), permanent errors with their code', () => {
      expect(sendOutcome(200, { data: { id: 'abc', to: [{ status: 'queued' }] } })).to.deep.equal({ kind: 'accepted', messageIds: ['abc'] });
      expect(sendOutcome(429, { errors: [{ code: '10011', title: 'Too many requests' }] })).to.include({ kind: 'retry' });
      expect(sendOutcome(503, undefined)).to.include({ kind: 'retry' });
      expect(sendOutcome(400, { errors: [{ code: '40300', title: 'Blocked due to STOP message' }] })).to.deep.equal({ kind: 'failed', error: 'telnyx 40300 Blocked due to STOP message', optedOut: true });
      expect(sendOutcome(422, { errors: [{ code: '10016', title: 'Phone number must be in +E.164 format' }] })).to.deep.equal({ kind: 'failed', error: 'telnyx 10016 Phone number must be in +E.164 format' });
      const filtered = receiptOf({ id: 'm', from: { phone_number: SHOP }, to: [{ phone_number: JANE, status: 'delivery_failed' }], text: '', errors: [{ code: '40010', title: 'Not 10DLC registered' }] });
      expect(filtered?.state).to.equal('undeliverable');
      expect(filtered?.error).to.match(/^carrier_filtered 40010 Not 10DLC registered: register the number for A2P 10DLC/);
      expect(receiptOf({ id: 'm', from: { phone_number: SHOP }, to: [{ phone_number: JANE, status: 'sent' }], text: '' })).to.equal(undefined);
    });

    it('refuses poll_interval (Telnyx lists no received texts) and webhook_path without public_key', () => {
      const base = (telnyx: string) => `asterisk:\n  ami: { username: mctb, secret: x }\n  inbound_contexts: [from-trunk]\nsms:\n  transport: telnyx\n  telnyx: { api_key: k, messaging_profile_id: p, ${telnyx} }\nbusinesses:\n  - name: A\n    dids: ["${SHOP}"]\n`;
      expect(() => parseConfig(base('poll_interval: 30s, public_key: "' + new LoopbackTelnyx().publicKey + '"'), '<t>', {})).to.throw(/no list of received texts to poll/);
      expect(() => parseConfig(base('webhook_path: /webhooks/telnyx'), '<t>', {})).to.throw(/public_key: required with webhook_path/);
      expect(() => parseConfig(base('webhook_path: /w, public_key: "abc"'), '<t>', {})).to.throw(/not a Telnyx public key/);
    });
  });

  it('1. a missed call to the second DID is texted from it; a reply to it lands on that business; config check prints the sender', async () => {
    s = await startTelnyx({ businesses: [{ name: 'Brightside Dental', dids: [SHOP, SHOP2] }, { name: 'Northside Plumbing', dids: ['+15550001006'] }] });
    await s.p.pbx.play(loadCapture('busy'));
    const send = await sendOf(s);
    await send('delivered');
    expect(s.carrier.sent).to.have.length(1);
    expect(s.carrier.sent[0]).to.include({ from: SHOP2, to: MIKE, idempotencyKey: `mctb-${(await send()).id}` });
    const req = s.carrier.requests.find((r) => r.method === 'POST');
    expect(req).to.include({ path: '/v2/messages', authorised: true });

    const { status } = await s.carrier.receiveText(MIKE, SHOP2, 'Can I book Tuesday?');
    expect(status).to.equal(200);
    const msgs = await received(s, MIKE);
    expect(msgs.map((m) => [m.business, m.body])).to.deep.equal([['Brightside Dental', 'Can I book Tuesday?']]);

    const { dir, cleanup } = tempDir();
    try {
      const file = join(dir, 'mctb.yaml');
      writeFileSync(
        file,
        `asterisk:\n  ami: { username: mctb, secret: x }\n  inbound_contexts: [from-trunk]\nsms:\n  transport: telnyx\n  telnyx: { api_key_file: key, messaging_profile_id: ${s.carrier.profileId}, public_key: "${s.carrier.publicKey}", webhook_path: ${HOOK} }\nhttp: { listen: "0.0.0.0:8080", public_url: "https://mctb.example.com" }\nledger: { path: ${JSON.stringify(join(dir, 'l.db'))} }\nbusinesses:\n  - name: Brightside Dental\n    dids: ["${SHOP}", "${SHOP2}"]\n`,
      );
      writeFileSync(join(dir, 'key'), 'KEYfromfile\n', { mode: 0o600 });
      const r = await mctb(['config', 'check', '-c', file]);
      expect(r.code, r.stderr).to.equal(0);
      expect(r.stdout).to.include(`webhook for the carrier: https://mctb.example.com${HOOK}`);
      expect(r.stdout).to.include(`texts from: the number dialled (${SHOP}, ${SHOP2})`);
    } finally {
      cleanup();
    }
  });

  it('2. a webhook reply is stored once, also when Telnyx delivers it twice; forged or stale signatures get 403 and store nothing', async () => {
    s = await startTelnyx();
    const first = await s.carrier.receiveText(JANE, SHOP, 'Hello?', { id: 'b0e4a7c2-0000-4000-8000-000000000001' });
    const again = await s.carrier.receiveText(JANE, SHOP, 'Hello?', { id: 'b0e4a7c2-0000-4000-8000-000000000001' });
    // The same delivery racing itself (Telnyx's retry while the first is being stored).
    const racing = await Promise.all([1, 2].map(() => s!.carrier.receiveText(JANE, SHOP, 'Twice at once', { id: 'b0e4a7c2-0000-4000-8000-000000000002' })));
    expect([first.status, again.status, ...racing.map((r) => r.status)]).to.deep.equal([200, 200, 200, 200]);
    expect((await received(s, JANE)).map((m) => m.body).sort()).to.deep.equal(['Hello?', 'Twice at once']);

    const forged = await s.carrier.receiveText(JANE, SHOP, 'forged', { forge: true });
    const stale = await s.carrier.receiveText(JANE, SHOP, 'stale', { timestampS: Math.floor(Date.now() / 1000) - 600 });
    const unsigned = await fetch(`http://127.0.0.1:${s.p.daemon.healthPort}${HOOK}`, { method: 'POST', body: s.carrier.event('message.received', { id: 'u', from: { phone_number: JANE }, to: [{ phone_number: SHOP, status: 'webhook_delivered' }], text: 'unsigned' }) });
    expect([forged.status, stale.status, unsigned.status]).to.deep.equal([403, 403, 403]);
    expect(await received(s, JANE)).to.have.length(2);
    const log = s.p.logLines.join('\n');
    expect(log).to.match(/telnyx webhook refused: the signature does not match/);
    expect(log).to.match(/telnyx webhook refused: its timestamp is more than 5 minutes off/);
    expect(log).to.match(/telnyx webhook refused: no telnyx-signature-ed25519/);
  });

  it('3a. 429 (with Retry-After) and a 5xx are retried, and the text goes out once', async () => {
    s = await startTelnyx();
    s.carrier.behaviours.push({ status: 429, retryAfterS: 1 }, { status: 503 });
    await s.p.pbx.play(loadCapture('noanswer'));
    const send = await sendOf(s);
    const row = await waitFor('delivered after two refusals', async () => {
      const r = await send();
      return r.state === 'delivered' && r;
    }, 30_000);
    expect(s.carrier.requests.filter((r) => r.method === 'POST' && r.path === '/v2/messages')).to.have.length(3);
    expect(s.carrier.sent).to.have.length(1);
    expect(row.attempts).to.be.at.least(2);
    expect(s.p.logLines.join('\n')).to.match(/telnyx HTTP 429: 10011 Too many requests/);
  });

  it('3b. a timeout after Telnyx took the text does not send it twice: the detail records show it went out', async () => {
    s = await startTelnyx({ timeoutMs: 800 });
    s.carrier.behaviours.push({ acceptThenHang: true });
    await s.p.pbx.play(loadCapture('noanswer'));
    const send = await sendOf(s);
    const row = await send('delivered');
    expect(s.carrier.sent).to.have.length(1);
    expect(s.carrier.requests.filter((r) => r.path === '/v2/detail_records').length).to.be.at.least(1);
    expect(s.carrier.requests.filter((r) => r.method === 'POST' && r.path === '/v2/messages')).to.have.length(1);
    expect(row.interrupted).to.be.at.least(1);
    expect(s.p.logLines.join('\n')).to.match(/an earlier try reached Telnyx: not sent again/);
  });

  it('3c. a permanent refusal is failed with its code; 40300 (STOP at Telnyx) records an opt-out', async () => {
    s = await startTelnyx({ businesses: [{ name: 'Brightside Dental', dids: [SHOP, SHOP2], dedupe_window: '0s' }] });
    s.carrier.behaviours.push({ status: 422, error: { code: '10016', title: 'Phone number must be in +E.164 format', detail: "The 'to' parameter must be in +E.164 format." } });
    await s.p.pbx.play(loadCapture('noanswer'));
    const first = await (await sendOf(s, 1))('failed');
    expect(first.error).to.include('10016 Phone number must be in +E.164 format');

    s.carrier.blocked.add(MIKE);
    await s.p.pbx.play(loadCapture('busy'));
    const second = await (await sendOf(s, 2))('failed');
    expect(second).to.include({ reason: 'opted_out' });
    expect(second.error).to.include('40300 Blocked due to STOP message');
    expect(await s.p.daemon.ledgerHandle.optOuts.has(MIKE, 'Brightside Dental')).to.equal(true);
    expect(s.carrier.sent).to.have.length(0);
  });

  it('4. delivery webhooks move texts to delivered / failed (filtering named); a status for an unknown id is kept and matched later', async () => {
    s = await startTelnyx({ businesses: [{ name: 'Brightside Dental', dids: [SHOP, SHOP2], dedupe_window: '0s' }] });
    s.carrier.finals.set(MIKE, { status: 'delivery_failed', error: { code: '40010', title: 'Not 10DLC registered', detail: 'The sending number is not 10DLC-registered but is required to be by the carrier.' } });
    await s.p.pbx.play(loadCapture('noanswer'));
    await (await sendOf(s, 1))('delivered');
    await s.p.pbx.play(loadCapture('busy'));
    const failed = await (await sendOf(s, 2))('failed');
    expect(failed.error).to.match(/^carrier_filtered 40010 Not 10DLC registered/);

    // Telnyx's webhooks can beat its answer to the POST: the status arrives for an id mctb does not know yet.
    s.carrier.behaviours.push({ answerAfterMs: 600 });
    await s.p.pbx.play(rewriteCapture(loadCapture('noanswer'), 100));
    const third = await sendOf(s, 3);
    await waitFor('final status posted before the answer', () => s!.carrier.webhooks.some((w) => w.type === 'message.finalized' && w.messageId === s!.carrier.sent[2]?.id));
    expect((await third()).state).to.equal('sending');
    const row = await third('delivered');
    expect(row.state).to.equal('delivered');
  });

  it('5 and 6. doctor: ✓ with the right key and numbers, ✗ for a wrong key and a number not on the account; the key is never printed or logged', async () => {
    s = await startTelnyx({ carrier: { numbers: [SHOP], campaign: [] } });
    const { dir, cleanup } = tempDir();
    try {
      const write = (key: string, dids: string[]) => {
        writeFileSync(join(dir, 'key'), `${key}\n`, { mode: 0o600 });
        const file = join(dir, 'mctb.yaml');
        writeFileSync(
          file,
          `asterisk:\n  ami: { host: 127.0.0.1, port: 1, username: mctb, secret: x }\n  inbound_contexts: [from-trunk]\nsms:\n  transport: telnyx\n  telnyx: { api_key_file: key, messaging_profile_id: ${s!.carrier.profileId}, public_key: "${s!.carrier.publicKey}", base_url: "${s!.carrier.url}", webhook_path: ${HOOK} }\nhttp: { listen: "127.0.0.1:${s!.p.daemon.healthPort}" }\nledger: { path: ${JSON.stringify(join(dir, 'l.db'))} }\nbusinesses:\n  - name: Brightside Dental\n    dids: ${JSON.stringify(dids)}\n`,
        );
        return file;
      };
      const good = await mctb(['doctor', '-c', write(s.carrier.apiKey, [SHOP, SHOP2])]);
      const lines = good.stdout.split('\n');
      expect(lines).to.include('✓ Telnyx API: the API key works (balance 42.00 USD)');
      expect(lines).to.include('✓ Telnyx messaging profile: "mctb" (' + s.carrier.profileId + ')');
      expect(lines).to.include(`✓ number ${SHOP}: on the account, SMS-capable, in the messaging profile`);
      expect(lines.find((l) => l.startsWith(`✗ 10DLC ${SHOP}:`))).to.match(/not assigned to a 10DLC campaign.*fix: register the number for A2P 10DLC/);
      expect(lines.find((l) => l.startsWith(`✗ number ${SHOP2}:`))).to.match(/not on this Telnyx account — fix: buy or port/);
      expect(lines.find((l) => l.startsWith('✓ Telnyx webhook:'))).to.include(`${HOOK} answers and refuses a request it cannot authenticate, as it should`);

      const wrongKey = 'KEYwrong-but-secret-9876';
      const bad = await mctb(['doctor', '-c', write(wrongKey, [SHOP])]);
      expect(bad.code).to.equal(1);
      expect(bad.stdout).to.match(/✗ Telnyx API: 127\.0\.0\.1:\d+ refused the API key \(HTTP 401: 10009 Authentication failed\) — fix: check sms\.telnyx\.api_key/);
      for (const out of [good.stdout + good.stderr, bad.stdout + bad.stderr]) {
        expect(out).to.not.include(s.carrier.apiKey);
        expect(out).to.not.include(wrongKey);
      }
    } finally {
      cleanup();
    }
    // The daemon's own log, after sends, webhooks and the doctor's unsigned probe.
    await s.p.pbx.play(loadCapture('noanswer'));
    await (await sendOf(s))('delivered');
    await sleep(100);
    expect(s.p.logLines.join('\n')).to.not.include(s.carrier.apiKey);
  });

  it('credentials stay out of errors: a refused key leaves no key in the ledger or the log', async () => {
    s = await startTelnyx({ timeoutMs: 500 });
    s.carrier.behaviours.push({ status: 401, error: { code: '10009', title: 'Authentication failed', detail: 'The required authentication headers were either invalid or not included in the request.' } });
    await s.p.pbx.play(loadCapture('noanswer'));
    const row = await (await sendOf(s))('failed');
    expect(row.error).to.equal('telnyx 10009 Authentication failed: The required authentication headers were either invalid or not included in the request.');
    expect(JSON.stringify(row) + s.p.logLines.join('\n')).to.not.include(s.carrier.apiKey);
  });
});
