// The VoIP.ms transport against the loopback VoIP.ms API (src/demo/loopback-voipms.ts) and, end to
// end, in the real daemon with the AMI replay of real captures: issue 15's "Must show" for VoIP.ms.

import { expect } from 'chai';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { configCheck } from '../../src/cli/config-check';
import { doctor } from '../../src/cli/doctor';
import { report } from '../../src/cli/report';
import { Daemon } from '../../src/daemon';
import { loadCapture, rewriteCapture } from '../../src/demo/ami-replay';
import { LoopbackVoipms, type LoopbackVoipmsOptions } from '../../src/demo/loopback-voipms';
import { splitForSendSms } from '../../src/sms/voipms/api';
import { checkVoipms } from '../../src/sms/voipms/doctor';
import { CALLBACK_QUERY, type VoipmsSettings } from '../../src/sms/voipms/index';
import { VoipmsTransport } from '../../src/sms/voipms/transport';
import type { TransportDeps } from '../../src/sms/transport';
import { formatCheck } from '../../src/cli/check';
import { sleep, testConfigYaml, testLogger, waitFor, type BusinessYaml } from '../support/harness';
import { startPipeline, type Pipeline } from '../support/pipeline';

const USER = 'owner@example.com';
const PASSWORD = 'Vms-api-PW-7f3c91d2e8';
const TOKEN = 'tok3n-5d6a1f0e9c8b7a6d5e4f3a2b1c0d9e8f';
const MAIN = '+15550001000';
const AFTER_HOURS = '+15550001001';
const CALLER = '+13125550147'; // the caller in the busy capture, which dials 15550001001
const JANE = '+14155550123';

function sink(): { stream: NodeJS.WritableStream; text: () => string } {
  let text = '';
  return { stream: { write: (s: string) => ((text += s), true) } as unknown as NodeJS.WritableStream, text: () => text };
}

function memoryDeps(numbers: string[]): TransportDeps & { map: Map<string, string> } {
  const map = new Map<string, string>();
  return { map, store: { get: async (k) => map.get(k), set: async (k, v) => void map.set(k, v) }, numbers: () => numbers };
}

function settings(carrier: LoopbackVoipms, more: Partial<VoipmsSettings> = {}): VoipmsSettings {
  return { username: USER, api_password: PASSWORD, base_url: carrier.url, tps: 50, numbers: [MAIN, AFTER_HOURS], ...more } as VoipmsSettings;
}

describe('VoIP.ms', function () {
  this.timeout(60_000);

  describe('splitting for sendSMS (160 characters at most)', () => {
    it('leaves a short text whole, cuts a long one at spaces, never inside an emoji', () => {
      expect(splitForSendSms('Hi Jane, sorry we missed your call.')).to.deep.equal(['Hi Jane, sorry we missed your call.']);
      const long = `${'word '.repeat(40)}end`;
      const parts = splitForSendSms(long);
      expect(parts).to.have.length(2);
      expect(parts.every((p) => [...p].length <= 160)).to.equal(true);
      expect(parts.join(' ')).to.equal(long);
      const emoji = '🙂'.repeat(170);
      const e = splitForSendSms(emoji);
      expect(e.map((p) => [...p].length)).to.deep.equal([160, 10]);
      expect(e.join('')).to.equal(emoji);
    });
  });

  describe('sending', () => {
    let carrier: LoopbackVoipms;
    const make = async (opts: LoopbackVoipmsOptions = {}) => {
      carrier = new LoopbackVoipms({ username: USER, password: PASSWORD, dids: ['5550001000', '5550001001'], ...opts });
      await carrier.listen();
    };
    afterEach(() => carrier?.close());

    it('sends with sendSMS from the DID without +1, by POST: the credentials are never in a URL', async () => {
      await make();
      const t = new VoipmsTransport(settings(carrier), testLogger().logger, memoryDeps([]));
      const r = await t.submit({ from: AFTER_HOURS, to: JANE, text: 'Sorry we missed you', reference: 1, key: 'mctb-1' });
      expect(r).to.deep.equal({ kind: 'accepted', messageIds: [String(carrier.sent[0].id)] });
      expect(carrier.sent[0]).to.include({ did: '5550001001', contact: '4155550123', message: 'Sorry we missed you' });
      const call = carrier.calls.find((c) => c.method === 'sendSMS')!;
      expect(call.http).to.equal('POST');
      expect(call.params).to.include({ api_username: USER, did: '5550001001', dst: '4155550123' });
    });

    it('a text over 160 characters goes as several sendSMS; a 500 on the second piece retries that piece only', async () => {
      await make();
      const deps = memoryDeps([]);
      const t = new VoipmsTransport(settings(carrier), testLogger().logger, deps);
      const text = `${'Thanks for calling Brightside Dental. '.repeat(6)}Reply STOP to opt out.`;
      carrier.script.push('pass', 'http500');
      let r = await t.submit({ from: MAIN, to: JANE, text, reference: 2, key: 'mctb-2' });
      expect(r).to.include({ kind: 'retry' });
      expect(carrier.sent).to.have.length(1);
      r = await t.submit({ from: MAIN, to: JANE, text, reference: 2, key: 'mctb-2' });
      expect(r.kind).to.equal('accepted');
      expect(carrier.sent).to.have.length(2);
      expect(carrier.sent.map((m) => m.message).join(' ')).to.equal(text);
      expect((r as { messageIds: string[] }).messageIds).to.deep.equal(carrier.sent.map((m) => String(m.id)));
    });

    it('429 (its Retry-After honoured) and 500 are retried, and the text goes once', async () => {
      await make();
      const t = new VoipmsTransport(settings(carrier), testLogger().logger, memoryDeps([]));
      const sms = { from: MAIN, to: JANE, text: 'Hello', reference: 3, key: 'mctb-3' };
      carrier.script.push('http429', 'http500');
      const a = await t.submit(sms);
      expect(a).to.include({ kind: 'retry', error: 'HTTP 429', uncertain: false });
      expect(t.ready).to.equal(false); // Retry-After: 1
      await waitFor('Retry-After over', () => t.ready, 3000);
      const b = await t.submit({ ...sms, resend: false });
      expect(b).to.include({ kind: 'retry', error: 'HTTP 500' });
      // A 5xx may have been sent: the outbox marks the row interrupted and tries with resend.
      const c = await t.submit({ ...sms, resend: true });
      expect(c.kind).to.equal('accepted');
      expect(carrier.sent).to.have.length(1);
    });

    it('VoIP.ms took the text and the answer was lost: the resend finds it with getSMS and sends nothing', async () => {
      await make();
      const t = new VoipmsTransport(settings(carrier), testLogger().logger, memoryDeps([]));
      const sms = { from: MAIN, to: JANE, text: 'We missed your call', reference: 4, key: 'mctb-4' };
      carrier.script.push('drop-after-accept');
      const a = await t.submit(sms);
      expect(a).to.include({ kind: 'retry', uncertain: true });
      expect(carrier.sent).to.have.length(1);
      const b = await t.submit({ ...sms, resend: true });
      expect(b).to.deep.equal({ kind: 'accepted', messageIds: [String(carrier.sent[0].id)] });
      expect(carrier.sent).to.have.length(1);
      const lookup = carrier.calls.find((c) => c.method === 'getSMS')!;
      expect(lookup.params).to.include({ type: '0', did: '5550001000', contact: '4155550123' });
    });

    it('a timeout after VoIP.ms took the text: the next try looks it up and does not send it twice', async () => {
      await make();
      const t = new VoipmsTransport(settings(carrier), testLogger().logger, memoryDeps([]), Date.now, 300);
      const sms = { from: MAIN, to: JANE, text: 'Sorry we missed you', reference: 9, key: 'mctb-9' };
      carrier.script.push('hang-after-accept');
      const a = await t.submit(sms);
      expect(a).to.include({ kind: 'retry', uncertain: true });
      expect((a as { error: string }).error).to.match(/no answer within/);
      const b = await t.submit({ ...sms, resend: true });
      expect(b).to.deep.equal({ kind: 'accepted', messageIds: [String(carrier.sent[0].id)] });
      expect(carrier.sent).to.have.length(1);
    });

    it('a permanent refusal fails with the code; account problems wait; no credential in any error or log line', async () => {
      await make();
      const { logger, lines } = testLogger();
      const t = new VoipmsTransport(settings(carrier, { webhook_token: TOKEN }), logger, memoryDeps([]));
      const bad = await t.submit({ from: MAIN, to: '+1555', text: 'x', reference: 5, key: 'mctb-5' });
      expect(bad.kind).to.equal('failed');
      expect((bad as { error: string }).error).to.match(/^invalid_dst: /);
      carrier.script.push({ status: 'sms_failed' });
      expect(await t.submit({ from: MAIN, to: JANE, text: 'x', reference: 6, key: 'mctb-6' })).to.include({ kind: 'retry' });

      const wrong = new VoipmsTransport(settings(carrier, { api_password: 'not-the-Password-99' }), logger, memoryDeps([]));
      const w = await wrong.submit({ from: MAIN, to: JANE, text: 'x', reference: 7, key: 'mctb-7' });
      expect(w.kind).to.equal('retry');
      expect((w as { error: string }).error).to.match(/^invalid_credentials: /);
      // Nothing listens here: the error names the host, never the query or the form.
      const refused = new VoipmsTransport({ ...settings(carrier), base_url: `http://127.0.0.1:9/api/v1/rest.php?api_password=${PASSWORD}` }, logger, memoryDeps([]));
      const n = await refused.submit({ from: MAIN, to: JANE, text: 'x', reference: 8, key: 'mctb-8' });
      expect(n.kind).to.equal('retry');
      const all = JSON.stringify([bad, w, n]) + lines.join('\n');
      expect(all).not.to.include(PASSWORD);
      expect(all).not.to.include(encodeURIComponent(PASSWORD));
      expect(all).not.to.include(TOKEN);
    });
  });

  describe('in the daemon', () => {
    let carrier: LoopbackVoipms;
    let p: Pipeline | undefined;
    afterEach(async () => {
      await p?.stop();
      p = undefined;
      await carrier?.close();
    });

    const TWO_DIDS: BusinessYaml[] = [
      { name: 'Brightside Dental', dids: [MAIN, AFTER_HOURS], delay: '0s', dedupe_window: '0s' },
      { name: 'Northside Plumbing', dids: ['+15550001006'], delay: '0s' },
    ];

    async function start(opts: { voipms?: Record<string, unknown>; pollMs?: number; carrier?: LoopbackVoipmsOptions; callback?: boolean } = {}): Promise<Pipeline> {
      carrier = new LoopbackVoipms({ username: USER, password: PASSWORD, dids: ['5550001000', '5550001001', '5550001006'], ...opts.carrier });
      await carrier.listen();
      const voipms = { username: USER, api_password: PASSWORD, base_url: carrier.url, webhook_path: '/webhooks/voipms', webhook_token: TOKEN, tps: 20, ...opts.voipms };
      p = await startPipeline({
        businesses: TWO_DIDS,
        top: { sms: { transport: 'voipms', voipms }, http: { listen: '127.0.0.1:0' } },
        amend: (c) => {
          if (opts.pollMs) c.sms.voipms!.poll_interval_ms = opts.pollMs;
        },
      });
      if (opts.callback !== false) {
        const hook = `http://127.0.0.1:${p.daemon.healthPort}/webhooks/voipms?token=${TOKEN}&${CALLBACK_QUERY}`;
        for (const did of ['5550001000', '5550001001', '5550001006']) carrier.setCallback(did, hook);
      }
      return p;
    }

    const stored = async (number: string) => p!.daemon.ledgerHandle.messages.list(number);

    it('a missed call to the second DID is texted from it; the reply to it lands on that business; config check prints the sender and the callback URL', async () => {
      p = await start();
      await p.pbx.play(loadCapture('busy'));
      const [d] = await p.decisions(1);
      expect(d).to.include({ decision: 'text' });
      await waitFor('sendSMS', () => carrier.sent.length === 1);
      expect(carrier.sent[0]).to.include({ did: '5550001001', contact: '3125550147' });
      const send = await waitFor('submitted', async () => {
        const s = await p!.daemon.ledgerHandle.sends.get(d.sendId!);
        return s?.state === 'submitted' && s;
      });
      expect(send.source_addr).to.equal(AFTER_HOURS);

      const r = await carrier.receive(CALLER, AFTER_HOURS, 'Can you call me back after 5?');
      expect(r.callback).to.deep.equal({ status: 200, body: 'ok' });
      const [m] = await stored(CALLER);
      expect(m).to.include({ business: 'Brightside Dental', body: 'Can you call me back after 5?' });
      // VoIP.ms gives no delivery status: the text stays submitted.
      await sleep(300);
      expect((await p.daemon.ledgerHandle.sends.get(d.sendId!))?.state).to.equal('submitted');

      const file = join(p.dir, 'mctb.yaml');
      writeFileSync(
        file,
        testConfigYaml({ dir: p.dir, amiPort: 5038, businesses: TWO_DIDS, top: { sms: { transport: 'voipms', voipms: { username: USER, api_password_file: join(p.dir, 'pw'), webhook_path: '/webhooks/voipms', webhook_token_file: join(p.dir, 'tok') } }, http: { listen: '127.0.0.1:9465', public_url: 'https://mctb.example.com' } } }),
      );
      writeFileSync(join(p.dir, 'pw'), `${PASSWORD}\n`);
      writeFileSync(join(p.dir, 'tok'), `${TOKEN}\n`);
      const out = sink();
      const err = sink();
      expect(configCheck(file, out.stream, err.stream)).to.equal(0);
      expect(out.text()).to.include('texts from: the number dialled (+15550001000, +15550001001)');
      expect(out.text()).to.include('webhook for the carrier: https://mctb.example.com/webhooks/voipms?token=<webhook_token>&from={FROM}&to={TO}&message={MESSAGE}&id={ID}&date={DATE}');
      expect(out.text() + err.text()).not.to.include(TOKEN);
      expect(out.text() + err.text()).not.to.include(PASSWORD);
    });

    it('in the outbox: an answer lost after VoIP.ms took the text makes the retry look first, and the caller gets one text', async () => {
      p = await start();
      carrier.script.push('drop-after-accept');
      await p.pbx.play(loadCapture('busy'));
      const [d] = await p.decisions(1);
      const send = await waitFor(
        'submitted after the retry',
        async () => {
          const s = await p!.daemon.ledgerHandle.sends.get(d.sendId!);
          return s?.state === 'submitted' && s;
        },
        15_000,
      );
      expect(send.interrupted).to.be.above(0);
      expect(carrier.sent).to.have.length(1);
      expect(carrier.calls.filter((c) => c.method === 'sendSMS')).to.have.length(1);
      expect(carrier.calls.some((c) => c.method === 'getSMS' && c.params.type === '0')).to.equal(true);
    });

    it('webhook: a reply is stored once however often VoIP.ms calls; a wrong or missing token, or an address not allowed, gets 403 and stores nothing', async () => {
      p = await start();
      const r = await carrier.receive(JANE, MAIN, 'Is Tuesday OK?');
      expect(r.callback).to.deep.equal({ status: 200, body: 'ok' });
      const again = await carrier.callback(carrier.messages.find((m) => m.id === r.id)!);
      expect(again).to.deep.equal({ status: 200, body: 'ok' });
      expect(await stored(JANE)).to.have.length(1);

      const base = `http://127.0.0.1:${p.daemon.healthPort}/webhooks/voipms`;
      const forged = `from=4155550123&to=5550001000&message=STOP&id=999`;
      for (const url of [`${base}?token=${TOKEN.slice(0, -1)}x&${forged}`, `${base}?${forged}`, `${base}?token=&${forged}`]) {
        const res = await fetch(url);
        expect(res.status).to.equal(403);
      }
      expect(await stored(JANE)).to.have.length(1);
      expect(p.logLines.filter((l) => /VoIP\.ms callback refused/.test(l))).to.have.length(3);
      expect(p.logLines.join('\n')).not.to.include(TOKEN);
      expect(p.logLines.join('\n')).not.to.include(PASSWORD);
    });

    it('allow_from: a callback from another address gets 403', async () => {
      p = await start({ voipms: { allow_from: ['10.1.2.0/24', '192.0.2.7'] } });
      const r = await carrier.receive(JANE, MAIN, 'hello?');
      expect(r.callback?.status).to.equal(403);
      expect(await stored(JANE)).to.have.length(0);
      expect(p.logLines.some((l) => /callback refused.*allow_from/.test(l))).to.equal(true);
    });

    it('polling: a reply is stored once (also when the callback brought it too), and polling resumes from its cursor after a restart', async () => {
      p = await start({ pollMs: 200, callback: false });
      await waitFor('first poll', () => carrier.calls.some((c) => c.method === 'getSMS'));
      await sleep(100);
      await carrier.receive(JANE, MAIN, 'Polled reply');
      await waitFor('stored by polling', async () => (await stored(JANE)).length === 1);
      // The same text by callback too: still one.
      const hook = `http://127.0.0.1:${p.daemon.healthPort}/webhooks/voipms?token=${TOKEN}&${CALLBACK_QUERY}`;
      carrier.setCallback('5550001000', hook);
      expect(await carrier.callback(carrier.messages.at(-1)!)).to.deep.equal({ status: 200, body: 'ok' });
      // A text by callback first, then seen by the poll: one.
      const both = await carrier.receive(JANE, MAIN, 'Both ways');
      expect(both.callback?.status).to.equal(200);
      await sleep(600);
      expect((await stored(JANE)).map((m) => m.body)).to.deep.equal(['Both ways', 'Polled reply']);
      const getSms = carrier.calls.filter((c) => c.method === 'getSMS');
      expect(getSms.at(-1)!.params).to.include({ type: '1' });
      expect(new Set(getSms.map((c) => c.params.did))).to.deep.equal(new Set(['5550001000', '5550001001', '5550001006']));

      // Down for a while: a text arrives meanwhile; the next daemon picks it up from the cursor.
      carrier.setCallback('5550001000', undefined);
      const config = p.config;
      await p.daemon.stop(1000);
      await carrier.receive(JANE, MAIN, 'Sent while mctb was down');
      const { logger } = testLogger();
      const again = new Daemon(config, logger);
      await again.start();
      try {
        await waitFor('picked up after restart', async () => (await again.ledgerHandle.messages.list(JANE)).length === 3);
        await sleep(500);
        expect((await again.ledgerHandle.messages.list(JANE)).map((m) => m.body)).to.include('Sent while mctb was down');
        expect(await again.ledgerHandle.messages.list(JANE)).to.have.length(3);
      } finally {
        await again.stop(1000);
      }
    });

    it('doctor: ✓ with the right account, IP, DIDs and webhook; ✗ wrong password, IP not enabled, a DID not on the account or without SMS; never a credential in its output', async () => {
      p = await start();
      const base = { username: USER, api_password: PASSWORD, webhook_token: TOKEN, base_url: carrier.url, webhook_path: '/webhooks/voipms', tps: 1, listen: { host: '127.0.0.1', port: p.daemon.healthPort! } } as VoipmsSettings;
      const good = await checkVoipms({ ...base, numbers: [MAIN, AFTER_HOURS] });
      const text = (cs: { ok: boolean }[]) => cs.map((c) => formatCheck(c as never)).join('\n');
      expect(good.every((c) => c.ok), text(good)).to.equal(true);
      expect(text(good)).to.match(/VoIP\.ms API: .*accepted the credentials/);
      expect(text(good)).to.include('VoIP.ms DID +15550001001: on the account, SMS enabled');
      expect(text(good)).to.match(/VoIP\.ms webhook: .* answers/);

      const wrong = await checkVoipms({ ...base, api_password: 'wrong-Password-1234', numbers: [MAIN] });
      expect(wrong[0]).to.include({ ok: false });
      expect(formatCheck(wrong[0])).to.match(/invalid_credentials.*fix: .*API password/);

      const notOurs = await checkVoipms({ ...base, numbers: [MAIN, '+15550009999'] });
      expect(formatCheck(notOurs.find((c) => c.name.endsWith('+15550009999'))!)).to.match(/✗ .*not a DID of the account/);

      const ipCarrier = new LoopbackVoipms({ username: USER, password: PASSWORD, ipEnabled: false });
      await ipCarrier.listen();
      const noSms = new LoopbackVoipms({ username: USER, password: PASSWORD, dids: ['5550001000'], smsDisabled: ['5550001000'] });
      await noSms.listen();
      try {
        const ip = await checkVoipms({ ...base, base_url: ipCarrier.url, numbers: [MAIN] });
        expect(formatCheck(ip[0])).to.match(/✗ VoIP\.ms API: .*ip_not_enabled.*fix: add this host's public IP address/);
        const off = await checkVoipms({ ...base, base_url: noSms.url, numbers: [MAIN] });
        expect(formatCheck(off.find((c) => c.name.endsWith(MAIN))!)).to.match(/✗ .*SMS not enabled.*fix: .*Message Service/);
        const all = text([...good, ...wrong, ...notOurs, ...ip, ...off]);
        expect(all).not.to.include(PASSWORD);
        expect(all).not.to.include(TOKEN);
      } finally {
        await ipCarrier.close();
        await noSms.close();
      }

      // The whole command, from a config file, and `mctb report`'s note.
      const file = join(p.dir, 'doctor.yaml');
      writeFileSync(file, testConfigYaml({ dir: p.dir, amiPort: p.config.asterisk.ami.port, businesses: TWO_DIDS, top: { sms: { transport: 'voipms', voipms: { username: USER, api_password: 'wrong-Password-1234', base_url: carrier.url, poll_interval: '30s' } } } }));
      const out = sink();
      const err = sink();
      expect(await doctor({ config: file }, out.stream, err.stream)).to.equal(1);
      expect(out.text()).to.match(/✗ VoIP\.ms API: .*invalid_credentials/);
      expect(out.text() + err.text()).not.to.include('wrong-Password-1234');
      const rep = sink();
      expect(await report({ config: file }, rep.stream as typeof process.stdout, sink().stream as typeof process.stderr)).to.equal(0);
      expect(rep.text()).to.include('note: VoIP.ms gives no delivery receipts');
    });
  });

  it('two missed calls to two DIDs of one business: each texted from the DID it dialled', async () => {
    const carrier = new LoopbackVoipms({ username: USER, password: PASSWORD, dids: ['5550001000', '5550001001'] });
    await carrier.listen();
    const p = await startPipeline({
      businesses: [{ name: 'Brightside Dental', dids: [MAIN, AFTER_HOURS], delay: '0s', dedupe_window: '0s' }],
      top: { sms: { transport: 'voipms', voipms: { username: USER, api_password: PASSWORD, base_url: carrier.url, tps: 20, poll_interval: '5s' } } },
    });
    try {
      await p.pbx.play(loadCapture('noanswer'));
      await p.pbx.play(rewriteCapture(loadCapture('busy'), 100));
      await p.decisions(2);
      await waitFor('two texts', () => carrier.sent.length === 2);
      expect(carrier.sent.map((m) => m.did).sort()).to.deep.equal(['5550001000', '5550001001']);
    } finally {
      await p.stop();
      await carrier.close();
    }
  });
});
