// The Twilio transport (and SignalWire's Twilio-compatible API, by base_url), as registered in
// src/adapters.ts.

import type { Config } from '../../config/types';
import { part } from '../../log';
import { sourceOf } from '../../plans/call';
import type { TransportEntry } from '../transport';
import { checkTwilio } from './doctor';
import { TwilioTransport, type TwilioSettings } from './transport';

/** Every number the businesses text from: each DID with sms_from dialled, else the fixed sender. */
function senders(config: Config): string[] {
  const all = config.businesses.flatMap((b) => (b.dids.length > 0 ? b.dids.map((d) => sourceOf(b, config, d)) : [sourceOf(b, config)]));
  return [...new Set(all.filter(Boolean))];
}

export const twilio: TransportEntry<TwilioSettings> = {
  name: 'twilio',
  section: 'sms.twilio',
  settings: (config) => {
    const t = config.sms.twilio;
    if (!t) return undefined;
    return { ...t, auth_token: t.auth_token ?? '', publicUrl: config.http?.public_url, listen: config.http?.listen, senders: senders(config) };
  },
  create: (settings, log, deps) => new TwilioTransport(settings, part(log, 'twilio'), deps),
  doctor: checkTwilio,
  sendTest: {
    starting: (s) => `sending through ${s.base_url} as account ${s.account_sid}…`,
    ready: 'ready',
    readyMs: 1000,
    hint: '`mctb doctor` checks the Twilio credentials and numbers',
  },
  demo: async () => {
    const { LoopbackTwilio } = await import('../../demo/loopback-twilio');
    const dids = ['+15550001000', '+15550001001', '+15550001003', '+15550001004', '+15550001005', '+15550001006'];
    const lb = new LoopbackTwilio({ numbers: dids.map((phone_number) => ({ phone_number })) });
    const port = await lb.listen();
    return {
      config: `twilio: { account_sid: ${lb.accountSid}, auth_token: ${lb.authToken}, base_url: "http://127.0.0.1:${port}", poll_interval: 5s }`,
      via: `over Twilio's REST API to a loopback Twilio on 127.0.0.1:${port} (replies by polling)`,
      receipts: false,
      reply: async (from, to, text) => void (await lb.sendText(from, to, text, { webhook: false })),
      stop: () => lb.close(),
    };
  },
};
