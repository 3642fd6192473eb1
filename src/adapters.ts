// The PBX sources and SMS transports mctb knows: one line each. `mctb run`, `doctor`, `send-test`
// and `demo` find them here by the config's `asterisk.source` and `sms.transport`, and never name
// one themselves. A new one is a folder exporting its entry (src/asterisk/source.ts,
// src/sms/transport.ts say what an entry holds) and a line below; the config's schema
// (src/config/schema.ts) then takes its name and section.

import type { AsteriskConfig, TransportKind } from './config/types';
import { ami } from './asterisk/ami';
import { ari } from './asterisk/ari';
import type { SourceEntry, SourceSettings } from './asterisk/source';
import { log } from './sms/log';
import { modem } from './sms/modem';
import { smpp } from './sms/smpp';
import { telnyx } from './sms/telnyx';
import { twilio } from './sms/twilio';
import type { TransportEntry } from './sms/transport';
import { voipms } from './sms/voipms';

export const SOURCES: Readonly<Record<AsteriskConfig['source'], SourceEntry<SourceSettings>>> = {
  ami,
  ari,
};

export const TRANSPORTS: Readonly<Record<TransportKind, TransportEntry<unknown>>> = {
  smpp,
  modem,
  log,
  twilio,
  telnyx,
  voipms,
};
