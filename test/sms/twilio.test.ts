// The Twilio transport's parts on their own: its X-Twilio-Signature against the official `twilio`
// package, `mctb doctor`'s checks (✓ and each ✗) against the loopback Twilio, and polling's
// paging and cursor against it.

import { expect } from 'chai';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import twilioLib from 'twilio';
import { formatCheck } from '../../src/cli/check';
import { LoopbackTwilio } from '../../src/demo/loopback-twilio';
import { twilioSignature } from '../../src/sms/twilio/api';
import { checkTwilio } from '../../src/sms/twilio/doctor';
import { TwilioTransport, type TwilioSettings } from '../../src/sms/twilio/transport';
import type { IncomingSms } from '../../src/sms/transport';
import { testLogger } from '../support/harness';

const SID = 'AC0123456789abcdef0123456789abcdef';
const TOKEN = 'doctor-token-7a6b5c4d3e2f1a0b9c8d7e6f';
const MAIN = '+15550001000';
const MG = 'MG0123456789abcdef0123456789abcdef';

function settings(tw: LoopbackTwilio, more: Partial<TwilioSettings> = {}): TwilioSettings {
  return { account_sid: SID, auth_token: TOKEN, base_url: tw.url, tps: 10, senders: [MAIN], ...more };
}

describe('Twilio: signatures', () => {
  it('match the official library, for plain and repeated parameters and URLs with a query', () => {
    const cases: [string, Record<string, string | string[]>][] = [
      ['https://mycompany.com/myapp.php?foo=1&bar=2', { CallSid: 'CA1234567890ABCDE', Caller: '+12349013030', Digits: '1234', From: '+12349013030', To: '+18005551212' }],
      ['https://mctb.example.com/webhooks/twilio', { MessageSid: 'SM' + 'f'.repeat(32), Body: 'Ünïcode ✓ & = + %', From: '+14155550123', To: MAIN }],
      ['https://mctb.example.com:8443/hook?x=1', { MediaUrl: ['b', 'a'], Body: '' }],
    ];
    for (const [url, params] of cases) {
      const ours = twilioSignature(TOKEN, url, params);
      expect(twilioLib.validateRequest(TOKEN, ours, url, params)).to.equal(true, url);
      expect(ours).to.equal(twilioLib.getExpectedTwilioSignature(TOKEN, url, params));
    }
    // Twilio's documented example (webhooks security): token 12345.
    expect(twilioSignature('12345', 'https://mycompany.com/myapp.php?foo=1&bar=2', cases[0][1])).to.equal('0/KCTR6DLpKmkAf8muzZqo1nDgQ=');
  });
});

describe('Twilio: doctor', function () {
  this.timeout(20_000);
  let tw: LoopbackTwilio;
  let hook: Server | undefined;
  beforeEach(async () => {
    tw = new LoopbackTwilio({ accountSid: SID, authToken: TOKEN, numbers: [{ phone_number: MAIN }, { phone_number: '+15550001009', sms: false }], services: { [MG]: { numbers: [MAIN], campaignStatus: 'VERIFIED' } } });
    await tw.listen();
  });
  afterEach(async () => {
    await tw.close();
    await new Promise<void>((r) => (hook ? hook.close(() => r()) : r()));
    hook = undefined;
  });
  const lines = (checks: Awaited<ReturnType<typeof checkTwilio>>) => checks.map(formatCheck).join('\n');

  it('✓ credentials, the number on the account and SMS-capable, A2P 10DLC in a verified campaign, the webhook answering locally', async () => {
    // A stand-in for mctb's listener: 403 to an unsigned request, as the daemon answers.
    hook = createServer((_req, res) => res.writeHead(403).end());
    await new Promise<void>((r) => hook!.listen(0, '127.0.0.1', r));
    const port = (hook.address() as AddressInfo).port;
    const checks = await checkTwilio(settings(tw, { messaging_service_sid: MG, webhook_path: '/webhooks/twilio', listen: { host: '127.0.0.1', port }, publicUrl: 'https://mctb.example.com' }));
    expect(checks.every((c) => c.ok), lines(checks)).to.equal(true);
    const text = lines(checks);
    expect(text).to.include('✓ Twilio credentials: account AC0123456789abcdef0123456789abcdef ("Loopback account") is active');
    expect(text).to.include(`✓ number ${MAIN}: on the account, SMS-capable`);
    expect(text).to.include('✓ A2P 10DLC');
    expect(text).to.include('give Twilio https://mctb.example.com/webhooks/twilio');
    expect(text).to.not.include(TOKEN);
  });

  it('✗ a wrong token, with the fix, and never the token', async () => {
    const wrong = 'wrong-token-0000111122223333';
    const checks = await checkTwilio(settings(tw, { auth_token: wrong }));
    expect(checks).to.have.length(1);
    expect(checks[0]).to.include({ ok: false, name: 'Twilio credentials' });
    expect(formatCheck(checks[0])).to.include('twilio_20003 authentication failed');
    expect(checks[0].fix).to.include('auth_token_file');
    const all = JSON.stringify(checks);
    expect(all).to.not.include(wrong);
    expect(all).to.not.include(Buffer.from(`${SID}:${wrong}`).toString('base64'));
  });

  it('✗ a number not on the account, one not SMS-capable, one outside the Messaging Service, an unverified campaign, no listener', async () => {
    tw.behaviour.services![MG].campaignStatus = 'IN_PROGRESS';
    const checks = await checkTwilio(settings(tw, { senders: [MAIN, '+15550001008', '+15550001009'], messaging_service_sid: MG, webhook_path: '/webhooks/twilio', listen: { host: '127.0.0.1', port: 1 } }));
    const text = lines(checks);
    expect(text).to.include(`✓ number ${MAIN}`);
    expect(text).to.include('✗ number +15550001008: not on account');
    expect(text).to.include('✗ number +15550001009: on the account but not SMS-capable');
    expect(text).to.include('✗ A2P 10DLC: +15550001008, +15550001009 not in Messaging Service');
    expect(text).to.include('no verified US A2P campaign (campaign status: IN_PROGRESS)');
    expect(text).to.match(/✗ Twilio webhook: .*fix: start mctb/);
    expect(text).to.not.include(TOKEN);
  });

  it('✗ Twilio unreachable names base_url', async () => {
    const checks = await checkTwilio({ ...settings(tw), base_url: 'http://127.0.0.1:1' }, 2000);
    expect(checks[0]).to.include({ ok: false, name: 'Twilio API' });
    expect(checks[0].fix).to.include('base_url');
  });
});

describe('Twilio: polling', function () {
  this.timeout(20_000);

  it('follows next_page_uri, hands texts on oldest first with their sid, skips outbound ones, and keeps its cursor in the store', async () => {
    const tw = new LoopbackTwilio({ accountSid: SID, authToken: TOKEN });
    await tw.listen();
    const store = new Map<string, string>();
    const { logger } = testLogger();
    const t = new TwilioTransport(settings(tw), logger, { store: { get: async (k) => store.get(k), set: async (k, v) => void store.set(k, v) }, numbers: () => [MAIN] });
    const got: IncomingSms[] = [];
    t.onMessage(async (m) => void got.push(m));
    try {
      await t.pollAll(); // sets the cursor
      expect(store.get(`twilio.poll.${MAIN}`)).to.match(/^\d+$/);
      for (let i = 0; i < 130; i++) await tw.sendText(`+1415555${String(1000 + i)}`, MAIN, `text ${i}`, { webhook: false });
      await tw.sendText('+14155550999', '+15550007777', 'to another number', { webhook: false });
      await t.pollAll();
      expect(got).to.have.length(130);
      expect(got[0]).to.include({ to: MAIN, text: 'text 0' });
      expect(got[0].carrierId).to.match(/^SM[0-9a-f]{32}$/);
      const pages = tw.requests.filter((r) => r.method === 'GET' && r.url.includes('Page=1'));
      expect(pages).to.have.length(1);
    } finally {
      await t.stop();
      await tw.close();
    }
  });
});
