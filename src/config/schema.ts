// The one description of mctb.yaml. It drives validation, defaults, the normalised output
// names (see `out`) and the list of known keys used for "unknown key" errors. A new setting is
// a new entry here (plus, when it is read by code, a field in types.ts).

import { MISSED_OUTCOMES } from '../calls/types';

/** A string; numbers and booleans written plainly (`password: 0123`) are read as their text. */
export interface StringSpec {
  kind: 'string';
  allowEmpty?: boolean;
  /** Normalised to upper case, surrounding space trimmed and inner runs of space made one (keywords). */
  upperCase?: boolean;
  maxLength?: number;
  /** Why the limit exists, appended to the length error. */
  maxLengthWhy?: string;
}

export interface NumberSpec {
  kind: 'number';
  integer?: boolean;
  min?: number;
  max?: number;
  /** Exclusive lower bound. */
  above?: number;
  /** Only these values (a baud rate). */
  oneOf?: readonly number[];
}

export interface BoolSpec {
  kind: 'bool';
}

/** "30s", "1h30m" → milliseconds. Bounds are written as durations too. */
export interface DurationSpec {
  kind: 'duration';
  min?: string;
  max?: string;
}

export interface EnumSpec {
  kind: 'enum';
  values: readonly string[];
}

/** ISO 3166 alpha-2 code known to libphonenumber; accepted in any case, normalised to upper case. */
export interface CountrySpec {
  kind: 'country';
}

/**
 * A phone number, normalised to E.164 with the business's country (`country`, else
 * numbers.default_country) once the business is known; the walker keeps the text as written.
 */
export interface PhoneSpec {
  kind: 'phone';
  /** Also accept DID patterns: "+" and digits ending in X's ("+1555000XXXX") or a final "*" ("+1555000*"). */
  patterns?: boolean;
  /** Also accept number prefixes: "+" and 1 to 14 digits ("+1900"), kept as given. */
  prefixes?: boolean;
}

/** An IANA time zone name ("America/Chicago"). */
export interface TimeZoneSpec {
  kind: 'timezone';
}

/** Weekly opening hours: a mapping of day keys ("mon-fri") to ranges ("08:00-12:00,13:00-17:30"). */
export interface HoursSpec {
  kind: 'hours';
}

/** A dated closure: "2026-12-25" or "2026-12-31 12:00-23:59". */
export interface ClosureSpec {
  kind: 'closure';
}

/**
 * Quiet hours: "HH:MM-HH:MM" (24-hour; may cross midnight, e.g. "21:00-08:00"; 24:00 may end
 * it), normalised to minutes since midnight; "off" or "none" is null (no quiet hours).
 */
export interface QuietHoursSpec {
  kind: 'quiet_hours';
}

/** An absolute http:// or https:// URL, kept as written (trimmed). */
export interface UrlSpec {
  kind: 'url';
}

/** A mapping of names the admin chooses (each matching `name`) to values of one spec. */
export interface MapSpec {
  kind: 'map';
  name: RegExp;
  /** What a name must look like, for the error. */
  nameHint: string;
  value: Spec;
}

/** An SMS sender: E.164 ("+15550001000") or an alphanumeric sender ID of 1–11 [A-Za-z0-9 ]; kept as given. */
export interface SenderSpec {
  kind: 'sender';
}

export interface ListSpec {
  kind: 'list';
  item: Spec;
  /** When set, an empty list is an error with this message. */
  nonEmpty?: string;
}

export interface ObjectSpec {
  kind: 'object';
  fields: Record<string, Field>;
  /**
   * Also accept the word "off" or "none" instead of the mapping: the value is then null, which
   * load.ts reads as "disabled", so a business can switch off a mapping it would inherit.
   */
  off?: boolean;
}

/**
 * A secret written inline under this field's key, or read from the file named under `fileKey`
 * (trailing newlines trimmed), or taken from the environment variable `env` (when there is one),
 * which wins over both. Exactly one of the two keys, unless the variable is set.
 */
export interface SecretSpec {
  kind: 'secret';
  fileKey: string;
  env?: string;
  maxLength?: number;
  /** Absent is fine (a SIM without a PIN lock); the field is then left out. */
  optional?: boolean;
  /** What the secret must look like, wherever it comes from; `what` completes "must be ...". */
  format?: { test: RegExp; what: string };
}

export type Spec =
  | StringSpec
  | NumberSpec
  | BoolSpec
  | DurationSpec
  | EnumSpec
  | CountrySpec
  | PhoneSpec
  | SenderSpec
  | TimeZoneSpec
  | HoursSpec
  | QuietHoursSpec
  | UrlSpec
  | ClosureSpec
  | MapSpec
  | ListSpec
  | ObjectSpec
  | SecretSpec;

export interface Field {
  spec: Spec;
  /** Property name in the normalised Config when it differs from the key ("delay" → "delay_ms"). */
  out?: string;
  /**
   * Value used when the key is absent, written as in YAML ("30s"); validated like a given value.
   * A function is called for the value when it is needed (the machine's time zone).
   */
  default?: unknown;
  required?: boolean;
  /** Required only when this holds for the already validated sibling values. */
  requiredIf?: { test: (siblings: Record<string, unknown>) => boolean; message: string };
  /** An absent object is left out instead of being filled with its defaults. */
  optional?: boolean;
  /**
   * An absent object is not required when this holds for the sibling values validated before it
   * (fields listed earlier): it is filled with its defaults and `fill` for its required keys,
   * without errors ("asterisk.ami" when events come over ARI).
   */
  optionalIf?: { test: (siblings: Record<string, unknown>) => boolean; fill: Record<string, unknown> };
}

// --- helpers --------------------------------------------------------------------------------

const str = (o: Omit<StringSpec, 'kind'> = {}): StringSpec => ({ kind: 'string', ...o });
const num = (o: Omit<NumberSpec, 'kind'>): NumberSpec => ({ kind: 'number', ...o });
const bool: BoolSpec = { kind: 'bool' };
const dur = (o: Omit<DurationSpec, 'kind'> = {}): DurationSpec => ({ kind: 'duration', ...o });
const oneOf = (...values: string[]): EnumSpec => ({ kind: 'enum', values });
const obj = (fields: Record<string, Field>): ObjectSpec => ({ kind: 'object', fields });
const list = (item: Spec, nonEmpty?: string): ListSpec => ({ kind: 'list', item, nonEmpty });
const port: NumberSpec = num({ integer: true, min: 1, max: 65535 });

// --- mctb.yaml ------------------------------------------------------------------------------

export const DEFAULT_MESSAGE =
  'Hi{{contact.first_name| }}, this is {{business.name}}. Sorry we missed your call! How can we help?';

export const DEFAULT_CONFIG_PATH = '/etc/mctb/mctb.yaml';

export const DEFAULT_HELP = "{{business.name}}: reply here and we'll get back to you. To stop texts reply STOP.";
export const DEFAULT_OPT_OUT_MESSAGE = "You're unsubscribed from {{business.name}} texts. Reply START to resubscribe.";
export const DEFAULT_OPT_IN_MESSAGE = "You're resubscribed to {{business.name}} texts. Reply STOP to unsubscribe.";
export const DEFAULT_QUIET_HOURS = '21:00-08:00';

export const NOTIFY_EVENTS = ['missed_call', 'reply', 'opt_out'] as const;

export const DEFAULT_STOP_WORDS = ['STOP', 'STOPALL', 'UNSUBSCRIBE', 'CANCEL', 'END', 'QUIT', 'REVOKE', 'OPTOUT', 'STOP IN ANY FORM'];
export const DEFAULT_START_WORDS = ['START', 'UNSTOP', 'YES'];
export const DEFAULT_HELP_WORDS = ['HELP', 'INFO'];

export const BAUD_RATES = [9600, 19200, 38400, 57600, 115200, 230400, 460800, 921600] as const;

export const AMI_SECRET_ENV = 'MCTB_AMI_SECRET';
export const ARI_PASSWORD_ENV = 'MCTB_ARI_PASSWORD';
export const SMPP_PASSWORD_ENV = 'MCTB_SMPP_PASSWORD';
export const MODEM_PIN_ENV = 'MCTB_MODEM_PIN';


/** The zone this machine runs in, the default `timezone`. */
export function machineTimeZone(): string {
  try {
    return Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC';
  } catch {
    return 'UTC';
  }
}

const country: CountrySpec = { kind: 'country' };
const keyword: StringSpec = str({ upperCase: true });

/** Text caps; 0 means never text. */
const limitFields = (defaults?: { per_hour: number; per_day: number; per_prefix_per_hour: number }): Record<string, Field> => {
  const n = num({ integer: true, min: 0 });
  return {
    per_hour: { spec: n, default: defaults?.per_hour },
    per_day: { spec: n, default: defaults?.per_day },
    per_prefix_per_hour: { spec: n, default: defaults?.per_prefix_per_hour },
  };
};

/**
 * Keys of `defaults`; every one of them may also be set on a business. On a business, a
 * mapping (`messages`, `vars`, `limits`, `notify`) is merged key by key over the one in
 * `defaults`; any other value, lists and `follow_up` included, replaces it.
 */
export const DEFAULTS_FIELDS: Record<string, Field> = {
  delay: { spec: dur({ min: '0s' }), out: 'delay_ms', default: '30s' },
  dedupe_window: { spec: dur({ min: '0s' }), out: 'dedupe_window_ms', default: '1h' },
  message: { spec: str(), default: DEFAULT_MESSAGE },
  // Each defaults to `message` (see load.ts for the order: the business before `defaults`).
  messages: { spec: obj({ open: { spec: str() }, closed: { spec: str() } }), optional: true },
  source_addr: { spec: { kind: 'sender' } },
  // Default numbers.default_country and numbers.allowed_countries: filled in by load.ts.
  country: { spec: country },
  allowed_countries: { spec: list(country, 'must list at least one country') },
  timezone: { spec: { kind: 'timezone' }, default: machineTimeZone },
  // Absent: always open.
  hours: { spec: { kind: 'hours' } },
  closed: { spec: list({ kind: 'closure' }), default: [] },
  missed_on: { spec: list(oneOf(...MISSED_OUTCOMES)), default: [...MISSED_OUTCOMES] },
  min_ring: { spec: dur({ min: '0s' }), out: 'min_ring_ms', default: '0s' },
  active_conversation_window: { spec: dur({ min: '0s' }), out: 'active_conversation_window_ms', default: '24h' },
  vars: {
    spec: {
      kind: 'map',
      name: /^[a-z][a-z0-9_]*$/,
      nameHint: 'use lower-case letters, digits and "_", starting with a letter',
      value: str({ allowEmpty: true }),
    },
    default: {},
  },
  exclude: { spec: list({ kind: 'phone', prefixes: true }), default: [] },
  skip_landlines: { spec: bool, default: false },
  // A caller whose presentation the PBX never gave (README: withheld numbers): text them, or skip.
  presentation_unknown: { spec: oneOf('text', 'skip'), default: 'text' },
  limits: { spec: obj(limitFields({ per_hour: 60, per_day: 300, per_prefix_per_hour: 5 })) },

  // Two-way texting. Templates, checked like `message`.
  help: { spec: str(), default: DEFAULT_HELP },
  opt_out_message: { spec: str(), default: DEFAULT_OPT_OUT_MESSAGE },
  opt_in_message: { spec: str(), default: DEFAULT_OPT_IN_MESSAGE },
  // "off" / "none": null, read as no quiet hours (see load.ts).
  quiet_hours: { spec: { kind: 'quiet_hours' }, default: DEFAULT_QUIET_HOURS },
  // Absent: no follow-up. On a business it replaces the one here; "off" there drops it.
  follow_up: {
    spec: {
      ...obj({
        after: { spec: dur({ min: '1m' }), out: 'after_ms', required: true },
        message: { spec: str(), required: true },
      }),
      off: true,
    },
    optional: true,
  },
  // Merged key by key on a business; numbers in `sms` read with the business's country (load.ts).
  notify: {
    spec: obj({
      sms: { spec: list({ kind: 'phone' }), default: [] },
      webhook: {
        spec: {
          ...obj({
            url: { spec: { kind: 'url' }, required: true },
            secret: { spec: { kind: 'secret', fileKey: 'secret_file' } },
          }),
          off: true,
        },
        optional: true,
      },
      events: { spec: list(oneOf(...NOTIFY_EVENTS)), default: [...NOTIFY_EVENTS] },
    }),
  },
};

/** `spec` with every default taken out, at any depth. */
function withoutDefaults(spec: Spec): Spec {
  if (spec.kind === 'list') return { ...spec, item: withoutDefaults(spec.item) };
  if (spec.kind !== 'object') return spec;
  const fields = Object.fromEntries(
    Object.entries(spec.fields).map(([k, f]) => {
      const { default: _unused, ...rest } = f;
      return [k, { ...rest, spec: withoutDefaults(f.spec) }];
    }),
  );
  return { ...spec, fields };
}

/** A business: its own keys plus every `defaults` key, without defaults (those come from `defaults`). */
export const BUSINESS_FIELDS: Record<string, Field> = {
  name: { spec: str(), required: true },
  dids: {
    spec: list({ kind: 'phone', patterns: true }, 'must list at least one phone number or DID pattern'),
    required: true,
  },
  ...Object.fromEntries(
    Object.entries(DEFAULTS_FIELDS).map(([k, f]) => [
      k,
      // A mapping left out of a business is left out (not filled in) so `defaults` shows through.
      { spec: withoutDefaults(f.spec), out: f.out, ...(f.spec.kind === 'object' ? { optional: true } : {}) },
    ]),
  ),
};

export const SCHEMA: ObjectSpec = obj({
  asterisk: {
    spec: obj({
      // Before ami and ari: whether they are required depends on it.
      source: { spec: oneOf('ami', 'ari'), default: 'ami' },
      ami: {
        // Events over ARI: an absent ami block is harmless defaults (mctb does not connect to AMI).
        optionalIf: { test: (s) => s.source === 'ari', fill: { username: '', secret: '' } },
        spec: obj({
          host: { spec: str(), default: '127.0.0.1' },
          port: { spec: port, default: 5038 },
          username: { spec: str(), required: true },
          secret: { spec: { kind: 'secret', fileKey: 'secret_file', env: AMI_SECRET_ENV } },
          ping_interval: { spec: dur({ min: '1s', max: '1h' }), out: 'ping_interval_ms', default: '20s' },
          check_presentation: { spec: bool, default: true },
        }),
      },
      ari: {
        optional: true,
        requiredIf: { test: (s) => s.source === 'ari', message: 'required when asterisk.source is "ari"' },
        spec: obj({
          url: { spec: { kind: 'url' }, default: 'http://127.0.0.1:8088' },
          username: { spec: str(), required: true },
          password: { spec: { kind: 'secret', fileKey: 'password_file', env: ARI_PASSWORD_ENV } },
          app: { spec: str(), default: 'mctb' },
          check_presentation: { spec: bool, default: true },
        }),
      },
      inbound_contexts: {
        spec: list(str(), 'must list at least one dialplan context'),
        default: ['from-trunk', 'from-pstn', 'from-did-direct'],
      },
      decision_grace: { spec: dur({ min: '0s', max: '60s' }), out: 'decision_grace_ms', default: '2s' },
      max_call_length: { spec: dur({ min: '1m' }), out: 'max_call_ms', default: '4h' },
    }),
  },
  sms: {
    spec: obj({
      transport: { spec: oneOf('smpp', 'modem', 'log'), default: 'smpp' },
      smpp: {
        optional: true,
        requiredIf: {
          test: (s) => s.transport === 'smpp',
          message: 'required when sms.transport is "smpp" (use transport: log for a dry run without a gateway)',
        },
        spec: obj({
          host: { spec: str(), default: '127.0.0.1' },
          port: { spec: port, default: 2775 },
          system_id: { spec: str({ maxLength: 15, maxLengthWhy: 'SMPP 3.4 allows 15' }), required: true },
          password: { spec: { kind: 'secret', fileKey: 'password_file', env: SMPP_PASSWORD_ENV, maxLength: 64 } },
          system_type: { spec: str({ allowEmpty: true, maxLength: 12, maxLengthWhy: 'SMPP 3.4 allows 12' }), default: '' },
          source_addr: { spec: { kind: 'sender' }, required: true },
          tls: { spec: bool, default: false },
          tps: { spec: num({ above: 0 }), default: 10 },
          enquire_link: { spec: dur({ min: '1s' }), out: 'enquire_link_ms', default: '30s' },
        }),
      },
      // A GSM modem (AT commands over a serial port); texts go out from its SIM's number.
      modem: {
        optional: true,
        requiredIf: { test: (s) => s.transport === 'modem', message: 'required when sms.transport is "modem"' },
        spec: obj({
          device: { spec: str(), required: true },
          baud_rate: { spec: num({ integer: true, oneOf: BAUD_RATES }), default: 115200 },
          pin: {
            spec: {
              kind: 'secret',
              fileKey: 'pin_file',
              env: MODEM_PIN_ENV,
              optional: true,
              format: { test: /^\d{4,8}$/, what: '4 to 8 digits' },
            },
          },
          // Read with numbers.default_country (load.ts); absent: the SIM's own.
          smsc: { spec: { kind: 'phone' } },
        }),
      },
    }),
  },
  ledger: {
    spec: obj({
      path: { spec: str(), default: '/var/lib/mctb/mctb.db' },
      // Absent: keep everything. Opt-outs and contacts are never pruned.
      retention: { spec: dur({ min: '1d' }), out: 'retention_ms' },
      // A call the ledger could not record when it ended waits in memory and is recorded when the
      // ledger works again; its text goes out then only if that is at most this long after it was
      // due (the hangup plus the business's delay), else the call is recorded as `late`.
      late_after: { spec: dur({ min: '1s' }), out: 'late_after_ms', default: '10m' },
    }),
  },
  // Health and metrics over HTTP; absent: off.
  http: { spec: obj({ listen: { spec: str(), required: true } }), optional: true },
  // Numbers written without +country code (DIDs, exclude) are read with default_country unless a business sets `country`.
  numbers: {
    spec: obj({
      default_country: { spec: country, default: 'US' },
      // Default [default_country]: filled in by load.ts.
      allowed_countries: { spec: list(country, 'must list at least one country') },
    }),
  },
  // Caps across all businesses together; no defaults (an absent key is no cap).
  limits: { spec: obj(limitFields()) },
  // Keywords in replies, matched in upper case.
  compliance: {
    spec: obj({
      opt_out_scope: { spec: oneOf('business', 'all'), default: 'business' },
      stop_words: {
        spec: list(keyword, 'must list at least one word (opting out must always be possible)'),
        default: DEFAULT_STOP_WORDS,
      },
      start_words: { spec: list(keyword), default: DEFAULT_START_WORDS },
      help_words: { spec: list(keyword), default: DEFAULT_HELP_WORDS },
    }),
  },
  defaults: { spec: obj(DEFAULTS_FIELDS) },
  businesses: {
    spec: list(obj(BUSINESS_FIELDS), 'must list at least one business'),
    required: true,
  },
  log: {
    spec: obj({
      level: { spec: oneOf('error', 'warn', 'info', 'debug'), default: 'info' },
      format: { spec: oneOf('text', 'json'), default: 'text' },
    }),
  },
});

/** The YAML keys an object accepts (a secret field accepts its file key too). */
export function knownKeys(spec: ObjectSpec): string[] {
  const keys: string[] = [];
  for (const [key, field] of Object.entries(spec.fields)) {
    keys.push(key);
    if (field.spec.kind === 'secret') keys.push(field.spec.fileKey);
  }
  return keys;
}
