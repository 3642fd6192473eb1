// The GSM modem transport, as registered in src/adapters.ts.

import type { ModemConfig } from '../../config/types';
import { part } from '../../log';
import type { TransportEntry } from '../transport';
import { checkModem } from './doctor';
import { ModemTransport } from './transport';

export const modem: TransportEntry<ModemConfig> = {
  name: 'modem',
  section: 'sms.modem',
  settings: (config) => config.sms.modem,
  create: (settings, log) => new ModemTransport(settings, part(log, 'modem')),
  doctor: checkModem,
  sendTest: {
    starting: (s) => `opening ${s.device}…`,
    ready: 'modem ready',
    // A modem probes, unlocks the SIM and waits for the network: give it longer.
    readyMs: 30_000,
    hint: 'is the modem plugged in, its SIM registered? a running `mctb run` holds the port: stop it first',
  },
  demo: async () => {
    const { ModemSimulator } = await import('../../demo/modem-sim');
    const sim = new ModemSimulator({ pin: '1234' });
    const device = await sim.start();
    return {
      config: `modem: { device: ${JSON.stringify(device)}, pin: "1234" }`,
      via: `through a simulated GSM modem (AT commands) on the pseudo-terminal ${device}`,
      receipts: true,
      // The simulated network confirms delivery of each part (its id carries the TP-MR: message-id.ts), as a real SMSC does with a status report.
      submitted: (ids) => {
        for (const id of ids) void sim.statusReport(Number(id.split(':')[1]), 0).catch(() => undefined);
      },
      reply: (from, _to, text) => sim.deliver(from, text),
      stop: () => sim.stop().catch(() => undefined),
    };
  },
};
