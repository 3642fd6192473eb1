// The SMPP transport, as registered in src/adapters.ts.

import type { SmppConfig } from '../../config/types';
import { part } from '../../log';
import type { TransportEntry } from '../transport';
import { checkSmpp } from './doctor';
import { SmppTransport } from './transport';

export const smpp: TransportEntry<SmppConfig> = {
  name: 'smpp',
  section: 'sms.smpp',
  settings: (config) => config.sms.smpp,
  create: (settings, log) => new SmppTransport(settings, part(log, 'smpp')),
  doctor: checkSmpp,
  sendTest: {
    starting: (s) => `binding to ${s.host}:${s.port} as "${s.system_id}"…`,
    ready: 'bound',
    readyMs: 10_000,
    hint: '`mctb doctor` checks the gateway settings',
  },
  demo: async () => {
    const { LoopbackSmsc } = await import('../../demo/loopback-smsc');
    const smsc = new LoopbackSmsc({ receiptDelayMs: 400 });
    const port = await smsc.listen();
    return {
      config: `smpp: { host: 127.0.0.1, port: ${port}, system_id: mctb, password: demo, source_addr: "+15550001000" }`,
      via: `over SMPP to a loopback gateway on 127.0.0.1:${port}`,
      receipts: true,
      reply: async (from, to, text) => smsc.sendText(from, to, text),
      stop: () => smsc.close().catch(() => undefined),
    };
  },
};
