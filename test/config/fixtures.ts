// Shared by the config tests (not a test file itself).

import { DEFAULT_HELP, DEFAULT_MESSAGE, DEFAULT_OPT_IN_MESSAGE, DEFAULT_OPT_OUT_MESSAGE } from '../../src/config/load';
import type { BusinessConfig } from '../../src/config/types';

/** A small valid config: log transport, so no SMPP block is needed. */
export const MINIMAL = `asterisk:
  ami:
    username: mctb
    secret: s3cret
sms:
  transport: log
businesses:
  - name: Brightside Dental
    dids: ["+15550001000"]
`;

export const MACHINE_ZONE = Intl.DateTimeFormat().resolvedOptions().timeZone;

/** A business as normalised with every built-in default; `message` also fills both `messages`. */
export function businessWith(own: Partial<BusinessConfig> & { name: string; dids: string[] }): BusinessConfig {
  const message = own.message ?? DEFAULT_MESSAGE;
  return {
    did_patterns: [],
    delay_ms: 30_000,
    dedupe_window_ms: 3_600_000,
    message,
    messages: { open: message, closed: message },
    country: 'US',
    allowed_countries: ['US'],
    timezone: MACHINE_ZONE,
    closed: [],
    missed_on: ['noanswer', 'busy', 'cancel', 'unavailable', 'voicemail', 'queue_abandon'],
    min_ring_ms: 0,
    active_conversation_window_ms: 86_400_000,
    vars: {},
    exclude: [],
    skip_landlines: false,
    presentation_unknown: 'text',
    limits: { per_hour: 60, per_day: 300, per_prefix_per_hour: 5 },
    help: DEFAULT_HELP,
    opt_out_message: DEFAULT_OPT_OUT_MESSAGE,
    opt_in_message: DEFAULT_OPT_IN_MESSAGE,
    quiet_hours: { start: 21 * 60, end: 8 * 60 },
    notify: { sms: [], events: ['missed_call', 'reply', 'opt_out'] },
    ...own,
  };
}
