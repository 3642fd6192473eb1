// The VoIP.ms transport, as registered in src/adapters.ts.

import { sourceOf } from '../../plans/call';
import type { Config, SmsConfig } from '../../config/types';
import { part } from '../../log';
import type { TransportEntry } from '../transport';
import { checkVoipms } from './doctor';
import { VoipmsTransport } from './transport';

export type VoipmsConfig = NonNullable<SmsConfig['voipms']>;

/** sms.voipms, with what the doctor needs from elsewhere in the config. */
export type VoipmsSettings = VoipmsConfig & {
  /** Every number a business texts from (its DIDs with sms_from: dialled, else its sender), E.164. */
  numbers: string[];
  /** http.listen, where webhook_path is served. */
  listen?: { host: string; port: number };
};

/** The placeholders VoIP.ms fills in the SMS URL Callback. */
export const CALLBACK_QUERY = 'from={FROM}&to={TO}&message={MESSAGE}&id={ID}&date={DATE}';

export function sendingNumbers(config: Config): string[] {
  const out = new Set<string>();
  for (const b of config.businesses) {
    for (const did of b.dids) out.add(sourceOf(b, config, did));
    out.add(sourceOf(b, config));
  }
  out.delete('');
  return [...out];
}

export const voipms: TransportEntry<VoipmsSettings> = {
  name: 'voipms',
  section: 'sms.voipms',
  settings: (config) => (config.sms.voipms ? { ...config.sms.voipms, numbers: sendingNumbers(config), listen: config.http?.listen } : undefined),
  create: (settings, log, deps) => new VoipmsTransport(settings, part(log, 'voipms'), deps),
  doctor: checkVoipms,
  webhookUrl: (_settings, url) => ({
    url: `${url}?token=<webhook_token>&${CALLBACK_QUERY}`,
    note: 'paste as each DID\'s "SMS URL Callback" (DID Numbers → Manage DIDs → Message Service), <webhook_token> replaced by sms.voipms.webhook_token (webhook_token_file)',
  }),
  reportNote: 'VoIP.ms gives no delivery receipts: its texts stay "awaiting receipt" (submitted), never delivered or failed',
  sendTest: {
    starting: (s) => `sending through the VoIP.ms API at ${new URL(s.base_url).host} as ${s.username}…`,
    ready: 'ready',
    readyMs: 5_000,
    hint: '`mctb doctor` checks the VoIP.ms credentials, this host\'s IP and the DIDs',
  },
  demo: async () => {
    const { LoopbackVoipms } = await import('../../demo/loopback-voipms');
    const carrier = new LoopbackVoipms({ dids: ['5550001000', '5550001001', '5550001003', '5550001004', '5550001005', '5550001006'] });
    await carrier.listen();
    return {
      config: `voipms: { username: "${carrier.username}", api_password: ${carrier.password}, base_url: "${carrier.url}", poll_interval: 5s }`,
      via: `through a loopback VoIP.ms API on ${carrier.url} (sendSMS; VoIP.ms gives no delivery receipts)`,
      receipts: false,
      reply: async (from, to, text) => {
        await carrier.receive(from, to, text);
      },
      stop: () => carrier.close(),
    };
  },
};
