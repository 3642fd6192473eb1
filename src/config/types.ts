// The validated, normalised configuration the rest of mctb reads.
// Durations are milliseconds; phone numbers are E.164 strings ("+15550001000").

export type LogLevel = 'error' | 'warn' | 'info' | 'debug';
export type LogFormat = 'text' | 'json';
export type TransportKind = 'smpp' | 'modem' | 'log';

export interface AmiConfig {
  host: string;
  port: number;
  username: string;
  secret: string;
  /** How often to send Ping; a missing Pong within the same time drops the connection. */
  ping_interval_ms: number;
  /** Ask Asterisk for CALLERID(pres) of each inbound channel (withheld numbers behind a trusted PAI). */
  check_presentation: boolean;
}

export interface AriConfig {
  /** Base URL of Asterisk's HTTP server, e.g. http://127.0.0.1:8088 */
  url: string;
  username: string;
  password: string;
  /** Stasis application name the WebSocket subscribes as. */
  app: string;
  check_presentation: boolean;
}

export interface AsteriskConfig {
  /** Where call events come from. */
  source: 'ami' | 'ari';
  /** Present when source is ami (validated also when given with source ari). */
  ami: AmiConfig;
  ari?: AriConfig;
  /** Dialplan contexts where PSTN calls enter. */
  inbound_contexts: string[];
  /** Wait after the caller's hangup for late Cdr/CEL events before deciding. */
  decision_grace_ms: number;
  /** A call whose hangup never arrives is forgotten after this. */
  max_call_ms: number;
}

export interface SmppConfig {
  host: string;
  port: number;
  system_id: string;
  password: string;
  system_type: string;
  source_addr: string;
  tls: boolean;
  /** Submits per second at most. */
  tps: number;
  enquire_link_ms: number;
}

export interface ModemConfig {
  device: string;
  baud_rate: number;
  pin?: string;
  /** SMSC number; absent: the SIM's own. */
  smsc?: string;
}

export interface SmsConfig {
  transport: TransportKind;
  smpp?: SmppConfig;
  modem?: ModemConfig;
}

export interface BusinessConfig {
  name: string;
  /** E.164 numbers this business is reached on. */
  dids: string[];
  delay_ms: number;
  dedupe_window_ms: number;
  /** The one text for open and closed hours when `messages` is not given. */
  message: string;
  /** Sender for this business's texts; defaults to sms.smpp.source_addr. */
  source_addr?: string;

  // ---- text-back policy (issue 3) ----
  /** DID patterns (`+1555000XXXX`, `+1555000*`), matched when no exact DID does. */
  did_patterns: string[];
  /** ISO country for numbers written without +code, for this business (default numbers.default_country). */
  country: string;
  /** Countries whose numbers may be texted (region, not calling code: [US] excludes Canada). */
  allowed_countries: string[];
  /** IANA time zone, e.g. America/Chicago (default: the machine's zone). */
  timezone: string;
  /** Weekly opening hours; undefined means always open. */
  hours?: WeeklyHours;
  /** Dated closures in the business's time zone. */
  closed: Closure[];
  /** Texts for open and closed hours; each defaults to `message`. */
  messages: { open: string; closed: string };
  /** Outcomes that earn a text (default: every missed outcome). */
  missed_on: MissedOutcomeName[];
  /** Calls the caller ended sooner than this (cancel, queue_abandon) are pocket dials: no text. */
  min_ring_ms: number;
  /** No automatic text to a contact who texted us within this. */
  active_conversation_window_ms: number;
  /** Strings usable as {{vars.NAME}}. */
  vars: Record<string, string>;
  /** E.164 numbers and prefixes ("+1900") never texted. */
  exclude: string[];
  /** Skip numbers the numbering plan says are landlines. */
  skip_landlines: boolean;
  /**
   * A caller whose CALLERID(pres) the PBX never gave (no dialplan line, the live lookup failed):
   * `text` them (most trunks show a withheld caller as anonymous anyway), or `skip` them.
   */
  presentation_unknown: 'text' | 'skip';
  /** Caps for this business; over one, the text is skipped as rate_limited. */
  limits: Limits;

  // ---- two-way SMS (issue 4) ----
  /** Reply to HELP/INFO (a template). */
  help: string;
  /** Confirmation sent once when the number opts out (a template). */
  opt_out_message: string;
  /** Confirmation sent when the number opts back in (a template). */
  opt_in_message: string;
  /** Follow-ups wait out these local hours, e.g. 21:00-08:00 (may cross midnight). */
  quiet_hours?: QuietHours;
  /** One follow-up text when the contact has not replied. */
  follow_up?: { after_ms: number; message: string };
  /** Staff alerts. */
  notify: NotifyConfig;
}

/** Minutes since local midnight; start > end means the range crosses midnight. */
export interface QuietHours {
  start: number;
  end: number;
}

export type NotifyEvent = 'missed_call' | 'reply' | 'opt_out';

export interface NotifyConfig {
  /** Staff mobiles (E.164) that get a short text per event. */
  sms: string[];
  webhook?: { url: string; secret: string };
  /** Which events are sent (default: all three). */
  events: NotifyEvent[];
}

export interface ComplianceConfig {
  /** An opt-out applies to the business texted, or to every business on this appliance. */
  opt_out_scope: 'business' | 'all';
  /** Upper-case keywords. A message that is, or starts with, one of stop_words opts out. */
  stop_words: string[];
  /** A message that is one of these opts back in (only when opted out; else it is a reply). */
  start_words: string[];
  /** A message that is one of these gets the business's help text. */
  help_words: string[];
}

/** The outcomes that can earn a text; mirrors MISSED_OUTCOMES in src/calls/types.ts. */
export type MissedOutcomeName = 'noanswer' | 'busy' | 'cancel' | 'unavailable' | 'voicemail' | 'queue_abandon';

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

export interface Limits {
  per_hour?: number;
  per_day?: number;
  per_prefix_per_hour?: number;
}

export interface Config {
  /** The file this came from (for messages); '<embedded>' for built-in configs. */
  file: string;
  asterisk: AsteriskConfig;
  sms: SmsConfig;
  ledger: { path: string; retention_ms?: number; late_after_ms: number };
  /** /healthz and /metrics; absent: off. */
  http?: { host: string; port: number };
  numbers: { default_country: string; allowed_countries: string[] };
  /** Caps across all businesses together; no default (absent keys: no global cap). */
  limits: Limits;
  compliance: ComplianceConfig;
  businesses: BusinessConfig[];
  log: { level: LogLevel; format: LogFormat };
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
