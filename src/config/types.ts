// The validated, normalised configuration the rest of mctb reads.
// Durations are milliseconds; phone numbers are E.164 strings ("+15550001000").

export type LogLevel = 'error' | 'warn' | 'info' | 'debug';
export type LogFormat = 'text' | 'json';
export type TransportKind = 'smpp' | 'log';

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

export interface AsteriskConfig {
  ami: AmiConfig;
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

export interface SmsConfig {
  transport: TransportKind;
  smpp?: SmppConfig;
}

export interface BusinessConfig {
  name: string;
  /** E.164 numbers this business is reached on. */
  dids: string[];
  delay_ms: number;
  dedupe_window_ms: number;
  message: string;
  /** Sender for this business's texts; defaults to sms.smpp.source_addr. */
  source_addr?: string;
}

export interface Config {
  /** The file this came from (for messages); '<embedded>' for built-in configs. */
  file: string;
  asterisk: AsteriskConfig;
  sms: SmsConfig;
  ledger: { path: string };
  numbers: { default_country: string };
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
