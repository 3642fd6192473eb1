// The dry run (`sms.transport: log`), as registered in src/adapters.ts. It has no settings and
// nothing to connect to; `mctb send-test` records its text without sending it.

import { pass } from '../../cli/check';
import { part } from '../../log';
import type { TransportEntry } from '../transport';
import { LogTransport } from './transport';

export const log: TransportEntry<Record<string, never>> = {
  name: 'log',
  settings: () => ({}),
  create: (_settings, logger) => new LogTransport(part(logger, 'sms')),
  doctor: async () => [pass('SMS', 'sms.transport is log: dry run: texts are logged, not sent')],
  demo: async () => ({ config: '', via: 'to the log (dry run)', receipts: false, stop: async () => undefined }),
};
