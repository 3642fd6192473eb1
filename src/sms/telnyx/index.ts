// The Telnyx transport, as registered in src/adapters.ts. Its settings are sms.telnyx plus what
// it needs from the rest of the config: http.listen (doctor checks the webhook answers there),
// http.public_url (each message's webhook_url) and the business numbers (doctor checks each).

import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { part } from '../../log';
import type { TransportEntry } from '../transport';
import { checkTelnyx } from './doctor';
import { TelnyxTransport, type TelnyxSettings } from './transport';

export const telnyx: TransportEntry<TelnyxSettings> = {
  name: 'telnyx',
  section: 'sms.telnyx',
  settings: (config) => {
    const t = config.sms.telnyx;
    if (!t) return undefined;
    const numbers = [...new Set(config.businesses.flatMap((b) => [...b.dids, ...(b.sms_from && b.sms_from !== 'dialled' ? [b.sms_from] : []), ...(b.source_addr ? [b.source_addr] : [])]))].filter((n) => /^\+\d+$/.test(n));
    const publicUrl = config.http?.public_url;
    return {
      ...t,
      listen: config.http?.listen,
      webhookUrl: publicUrl && t.webhook_path ? `${publicUrl.replace(/\/+$/, '')}${t.webhook_path}` : undefined,
      numbers,
    };
  },
  create: (settings, log, deps) => new TelnyxTransport(settings, part(log, 'telnyx'), deps),
  doctor: checkTelnyx,
  sendTest: {
    starting: (s) => `sending through Telnyx (${s.base_url}, messaging profile ${s.messaging_profile_id})…`,
    ready: 'ready',
    readyMs: 1000,
    hint: '`mctb doctor` checks the API key, the numbers and the messaging profile',
  },
  demo: async () => {
    const { LoopbackTelnyx } = await import('../../demo/loopback-telnyx');
    const numbers = ['+15550001000', '+15550001001', '+15550001003', '+15550001004', '+15550001005', '+15550001006'];
    const carrier = new LoopbackTelnyx({ numbers, receiptDelayMs: 400 });
    const port = await carrier.listen();
    // The demo's daemon serves the webhook on a port chosen now (free a moment ago).
    const hookPort = await freePort();
    carrier.setWebhookUrl(`http://127.0.0.1:${hookPort}/webhooks/telnyx`);
    return {
      // A second line at the top level: the webhook needs http.listen (src/demo/demo.ts inserts this under sms:).
      config:
        `telnyx: { api_key: ${carrier.apiKey}, messaging_profile_id: ${carrier.profileId}, public_key: "${carrier.publicKey}", base_url: "${carrier.url}", webhook_path: /webhooks/telnyx }\n` +
        `http: { listen: "127.0.0.1:${hookPort}" }`,
      via: `over Telnyx's Messaging API to a loopback carrier on 127.0.0.1:${port} (signed webhooks back on 127.0.0.1:${hookPort})`,
      receipts: true,
      reply: async (from, to, text) => {
        await carrier.receiveText(from, to, text);
      },
      stop: () => carrier.close().catch(() => undefined),
    };
  },
};

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}
