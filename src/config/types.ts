// The validated, normalised configuration the rest of mctb reads, inferred from the schema.
// Durations are milliseconds; phone numbers are E.164 strings ("+15550001000").

import type { BusinessConfig } from './business-keys';
import type { SCHEMA } from './schema';
import type { Infer } from './spec';

export type { BusinessConfig } from './business-keys';

type Sections = Omit<Infer<typeof SCHEMA>, 'defaults'>;

export type Config = {
  /** The file this came from (for messages); '<embedded>' for built-in configs. */
  file: string;
} & { [K in keyof Sections]: Sections[K] };

export type AsteriskConfig = Config['asterisk'];
export type AmiConfig = AsteriskConfig['ami'];
export type AriConfig = NonNullable<AsteriskConfig['ari']>;
export type SmsConfig = Config['sms'];
export type TransportKind = SmsConfig['transport'];
export type SmppConfig = NonNullable<SmsConfig['smpp']>;
export type TelnyxConfig = NonNullable<SmsConfig['telnyx']>;
export type ModemConfig = NonNullable<SmsConfig['modem']>;
/** Caps; an absent key is no cap. A business's own always has all three (from `defaults`). */
export type Limits = Config['limits'];
export type ComplianceConfig = Config['compliance'];
export type ConsoleConfig = NonNullable<Config['console']>;
export type LogLevel = Config['log']['level'];
export type LogFormat = Config['log']['format'];
export type NotifyConfig = BusinessConfig['notify'];
export type NotifyEvent = NotifyConfig['events'][number];
/** The outcomes that can earn a text (MISSED_OUTCOMES in src/calls/types.ts). */
export type MissedOutcomeName = BusinessConfig['missed_on'][number];

// The values of the kinds the schema parses itself (hours, closures, quiet hours).

/** Minutes since local midnight; start > end means the range crosses midnight. */
export interface QuietHours {
  start: number;
  end: number;
}

/** Minutes since local midnight, [start, end); end may be 1440. */
export type MinuteRange = readonly [number, number];

/** Index 0 = Monday … 6 = Sunday; each day's ranges sorted, not overlapping. */
export interface WeeklyHours {
  days: readonly (readonly MinuteRange[])[];
}

/** A dated closure: the whole day, or a range of it, in the business's time zone. */
export interface Closure {
  /** YYYY-MM-DD */
  date: string;
  /** Absent: closed all day. */
  range?: MinuteRange;
}

/** One error or warning found in a config file; line and column are 1-based (0 when not tied to a place). */
export interface ConfigProblem {
  /** The config file's path as the user gave it. */
  file: string;
  line: number;
  column: number;
  /** Where in the document: "businesses[0].dids[1]"; '' for problems of the file as a whole. */
  path: string;
  message: string;
}
