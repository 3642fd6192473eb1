// The one description of mctb.yaml. Each key is declared once, here or in business-keys.ts
// (the keys of `defaults` and of a business), with key(): its value, default, constraints, doc
// and example. From it come the validation and defaults (validate.ts), the normalised names
// (`out`), the Config type (types.ts), and config/mctb.example.yaml and the README's key table
// (docs.ts, `npm run gen:config`). A new setting is a new key() here; then regenerate the docs.

import { BUSINESS, CAP, CAP_DOCS, DEFAULTS_FIELDS } from './business-keys';
import { bool, country, dur, key, list, listen, num, obj, oneOf, phone, secret, sender, str, url } from './spec';

export {
  DEFAULT_MESSAGE,
  DEFAULT_HELP,
  DEFAULT_OPT_OUT_MESSAGE,
  DEFAULT_OPT_IN_MESSAGE,
  NOTIFY_EVENTS,
  DEFAULTS_FIELDS,
  BUSINESS_FIELDS,
  machineTimeZone,
} from './business-keys';

export const DEFAULT_CONFIG_PATH = '/etc/mctb/mctb.yaml';

export const DEFAULT_STOP_WORDS = ['STOP', 'STOPALL', 'UNSUBSCRIBE', 'CANCEL', 'END', 'QUIT', 'REVOKE', 'OPTOUT', 'STOP IN ANY FORM'];
export const DEFAULT_START_WORDS = ['START', 'UNSTOP', 'YES'];
export const DEFAULT_HELP_WORDS = ['HELP', 'INFO'];

export const BAUD_RATES = [9600, 19200, 38400, 57600, 115200, 230400, 460800, 921600] as const;

export const AMI_SECRET_ENV = 'MCTB_AMI_SECRET';
export const ARI_PASSWORD_ENV = 'MCTB_ARI_PASSWORD';
export const SMPP_PASSWORD_ENV = 'MCTB_SMPP_PASSWORD';
export const MODEM_PIN_ENV = 'MCTB_MODEM_PIN';
export const TWILIO_TOKEN_ENV = 'MCTB_TWILIO_AUTH_TOKEN';
export const TELNYX_KEY_ENV = 'MCTB_TELNYX_API_KEY';
export const VOIPMS_PASSWORD_ENV = 'MCTB_VOIPMS_API_PASSWORD';
export const VOIPMS_TOKEN_ENV = 'MCTB_VOIPMS_WEBHOOK_TOKEN';
export const LEDGER_PASSWORD_ENV = 'MCTB_LEDGER_PASSWORD';

/** The HTTP carriers: `sms_from` defaults to the dialled number with these. */
export const HTTP_CARRIERS = ['twilio', 'telnyx', 'voipms'] as const;

/** What every HTTP carrier's section has besides its credentials. */
function carrierKeys(name: string, api: string, webhookPath: string, tps: number) {
  return {
    base_url: key(url, { default: api, doc: `${name}'s REST API; another base reaches a compatible API (a proxy, a test server${name === 'Twilio' ? ", SignalWire's Twilio-compatible API" : ''})` }),
    webhook_path: key(str({ pattern: { test: /^\/[\w./-]*$/, what: 'a path starting with /' } }), {
      example: webhookPath,
      doc: "incoming texts and delivery status are POSTed here, on http.listen (mctb config check prints the URL to give the carrier); left out: no webhooks",
    }),
    poll_interval: key(dur({ min: '5s', max: '1h' }), { out: 'poll_interval_ms', example: '30s', doc: 'fetch incoming texts this often (for a box no webhook can reach); left out: no polling' }),
    tps: key(num({ above: 0 }), { default: tps, doc: 'at most this many texts per second (per the carrier\'s documented long-code rate)' }),
  };
}


const port = num({ integer: true, min: 1, max: 65535 });
const keyword = str({ upperCase: true });
const PRES_DOC = "also ask CALLERID(pres) live (fallback: the dialplan's MCTB_PRES line; README: withheld numbers)";

const ASTERISK = obj({
  // Before ami and ari: whether they are required depends on it.
  source: key(oneOf('ami', 'ari'), { default: 'ami', doc: 'where call events come from: ami (manager.conf) | ari (ari.conf, http.conf)' }),
  ami: key(
    obj({
      host: key(str(), { default: '127.0.0.1', doc: "the PBX's address" }),
      port: key(port, { default: 5038, doc: 'the AMI port (manager.conf)' }),
      username: key(str(), { required: true, example: 'mctb', doc: 'the [mctb] user in manager.conf' }),
      secret: key(secret({ fileKey: 'secret_file', fileExample: '/etc/mctb/ami.secret', env: AMI_SECRET_ENV }), {
        example: 'change-me',
        doc: "that user's secret; or: secret_file (not both)",
      }),
      ping_interval: key(dur({ min: '1s', max: '1h' }), {
        out: 'ping_interval_ms',
        default: '20s',
        doc: 'Ping this often; no Pong within the same time drops and reconnects',
      }),
      check_presentation: key(bool, { default: true, doc: PRES_DOC }),
    }),
    {
      // Events over ARI: an absent ami block is harmless defaults (mctb does not connect to AMI).
      optionalIf: { test: (s) => s.source === 'ari', fill: { username: '', secret: '' } },
      doc: 'Asterisk Manager Interface; required with source: ami (checked if given with ari)',
    },
  ),
  ari: key(
    obj({
      url: key(url, { default: 'http://127.0.0.1:8088', doc: "Asterisk's HTTP server (http.conf); http:// or https://" }),
      username: key(str(), { required: true, example: 'mctb', doc: 'the [mctb] user in ari.conf' }),
      password: key(secret({ fileKey: 'password_file', fileExample: '/etc/mctb/ari.password', env: ARI_PASSWORD_ENV }), {
        example: 'change-me',
        doc: "that user's password; or: password_file (not both)",
      }),
      app: key(str(), { default: 'mctb', doc: 'Stasis application name mctb subscribes as' }),
      check_presentation: key(bool, { default: true, doc: PRES_DOC }),
    }),
    {
      optional: true,
      requiredIf: { test: (s) => s.source === 'ari', message: 'required when asterisk.source is "ari"' },
      doc: 'Asterisk REST Interface, for source: ari (then the ami block may be left out)',
    },
  ),
  inbound_contexts: key(list(str(), 'must list at least one dialplan context'), {
    default: ['from-trunk', 'from-pstn', 'from-did-direct'],
    doc: 'dialplan contexts where calls from the PSTN enter; calls elsewhere (internal) are ignored',
  }),
  decision_grace: key(dur({ min: '0s', max: '60s' }), {
    out: 'decision_grace_ms',
    default: '2s',
    doc: "a call is decided the moment its last channel is gone; when some leg outlives the caller's hangup, at most this long after it",
  }),
  max_call_length: key(dur({ min: '1m' }), { out: 'max_call_ms', default: '4h', doc: 'forget a call whose hangup never arrives after this' }),
});

const SMS = obj({
  transport: key(oneOf('smpp', 'modem', 'log', ...HTTP_CARRIERS), {
    default: 'smpp',
    doc:
      "smpp: send through the SMPP gateway (sms.smpp); modem: send and receive with a GSM modem's SIM (sms.modem; " +
      "no source_addr); twilio: Twilio's REST API, or SignalWire's with base_url (sms.twilio); telnyx: Telnyx's Messaging API (sms.telnyx); " +
      'voipms: the VoIP.ms REST API (sms.voipms); log: dry run, write each text to the log (sms.smpp is then optional)',
  }),
  smpp: key(
    obj({
      host: key(str(), { default: '127.0.0.1', doc: "the gateway's address" }),
      port: key(port, { default: 2775, doc: "the gateway's SMPP port" }),
      system_id: key(str({ maxLength: 15, maxLengthWhy: 'SMPP 3.4 allows 15' }), {
        required: true,
        example: 'mctb',
        doc: 'the account the gateway gave you',
      }),
      password: key(secret({ fileKey: 'password_file', fileExample: '/etc/mctb/smpp.password', env: SMPP_PASSWORD_ENV, maxLength: 64 }), {
        example: 'change-me',
        doc: "that account's password; or: password_file (not both)",
      }),
      system_type: key(str({ allowEmpty: true, maxLength: 12, maxLengthWhy: 'SMPP 3.4 allows 12' }), {
        default: '',
        doc: 'most gateways want it empty',
      }),
      source_addr: key(sender, {
        required: true,
        example: '+15550001000',
        doc: 'sender of the texts: an E.164 number, or an alphanumeric sender ID of 1-11 letters, digits, spaces',
      }),
      tls: key(bool, { default: false, doc: 'bind over TLS' }),
      tps: key(num({ above: 0 }), { default: 10, doc: 'at most this many texts per second' }),
      enquire_link: key(dur({ min: '1s' }), { out: 'enquire_link_ms', default: '30s', doc: 'keep-alive interval' }),
    }),
    {
      optional: true,
      requiredIf: {
        test: (s) => s.transport === 'smpp',
        message: 'required when sms.transport is "smpp" (use transport: log for a dry run without a gateway)',
      },
      doc: 'the SMPP gateway, for transport: smpp',
    },
  ),
  modem: key(
    obj({
      device: key(str(), { required: true, example: '/dev/ttyUSB2', doc: "the modem's AT command port" }),
      baud_rate: key(num({ integer: true, oneOf: BAUD_RATES }), { default: 115200, doc: 'serial port speed' }),
      pin: key(
        secret({ fileKey: 'pin_file', fileExample: '/etc/mctb/sim.pin', env: MODEM_PIN_ENV, format: { test: /^\d{4,8}$/, what: '4 to 8 digits' } }),
        { optional: true, example: '1234', doc: "the SIM's PIN, 4 to 8 digits; leave out for a SIM without PIN lock; or: pin_file (not both)" },
      ),
      // Read with numbers.default_country (load.ts).
      smsc: key(phone(), { example: '+15550009999', doc: 'SMS centre number; default: the one stored on the SIM' }),
    }),
    {
      optional: true,
      requiredIf: { test: (s) => s.transport === 'modem', message: 'required when sms.transport is "modem"' },
      doc: "a GSM/LTE modem on a serial port, for transport: modem; texts go out from its SIM's number",
    },
  ),
  twilio: key(
    obj({
      account_sid: key(str({ pattern: { test: /^AC[0-9a-f]{32}$/, what: 'AC followed by 32 hex digits' } }), { required: true, example: 'AC0123456789abcdef0123456789abcdef', doc: 'the Account SID (Twilio console)' }),
      auth_token: key(secret({ fileKey: 'auth_token_file', fileExample: '/etc/mctb/twilio.token', env: TWILIO_TOKEN_ENV }), { example: 'change-me', doc: "the account's Auth Token (it also signs webhooks); or: auth_token_file (not both)" }),
      messaging_service_sid: key(str(), { example: 'MG0123456789abcdef0123456789abcdef', doc: 'send through this Messaging Service (A2P 10DLC campaign) with the business number as From' }),
      ...carrierKeys('Twilio', 'https://api.twilio.com', '/webhooks/twilio', 1),
    }),
    { optional: true, requiredIf: { test: (s) => s.transport === 'twilio', message: 'required when sms.transport is "twilio"' }, doc: 'Twilio (or SignalWire with base_url), for transport: twilio' },
  ),
  telnyx: key(
    obj({
      api_key: key(secret({ fileKey: 'api_key_file', fileExample: '/etc/mctb/telnyx.key', env: TELNYX_KEY_ENV }), { example: 'change-me', doc: 'an API v2 key; or: api_key_file (not both)' }),
      messaging_profile_id: key(str(), { required: true, example: '40017f8e-0000-4000-8000-000000000000', doc: 'the Messaging Profile the numbers belong to' }),
      public_key: key(str(), { example: 'base64 Ed25519 public key', doc: "the account's webhook signing public key (Mission Control: Keys & Credentials); required with webhook_path" }),
      ...carrierKeys('Telnyx', 'https://api.telnyx.com', '/webhooks/telnyx', 1),
      // Telnyx's API has no list of received texts to fetch (load.ts refuses the key).
      poll_interval: key(dur({ min: '5s', max: '1h' }), { out: 'poll_interval_ms', example: '30s', doc: "not supported: Telnyx's API has no list of received texts to fetch; texts come by webhook (webhook_path)" }),
    }),
    { optional: true, requiredIf: { test: (s) => s.transport === 'telnyx', message: 'required when sms.transport is "telnyx"' }, doc: 'Telnyx, for transport: telnyx' },
  ),
  voipms: key(
    obj({
      username: key(str(), { required: true, example: 'you@example.com', doc: 'the VoIP.ms account e-mail' }),
      api_password: key(secret({ fileKey: 'api_password_file', fileExample: '/etc/mctb/voipms.password', env: VOIPMS_PASSWORD_ENV }), { example: 'change-me', doc: 'the API password (Main Menu → SOAP and REST/JSON API); or: api_password_file (not both)' }),
      webhook_token: key(secret({ fileKey: 'webhook_token_file', fileExample: '/etc/mctb/voipms.token', env: VOIPMS_TOKEN_ENV, format: { test: /^[A-Za-z0-9._~-]{32,}$/, what: 'at least 32 letters, digits, or . _ ~ - (e.g. `openssl rand -hex 24`)' } }), {
        optional: true,
        example: 'a long random string',
        doc: 'VoIP.ms signs nothing: its SMS URL callback carries this token (at least 32 characters); required with webhook_path',
      }),
      allow_from: key(list(str()), { example: ['184.75.215.0/24'], doc: 'callbacks only from these addresses or prefixes (optional)' }),
      ...carrierKeys('VoIP.ms', 'https://voip.ms/api/v1/rest.php', '/webhooks/voipms', 1),
    }),
    { optional: true, requiredIf: { test: (s) => s.transport === 'voipms', message: 'required when sms.transport is "voipms"' }, doc: 'VoIP.ms, for transport: voipms' },
  ),
});

const LEDGER = obj({
  driver: key(oneOf('sqlite', 'postgres'), {
    default: 'sqlite',
    doc: 'sqlite: one file on this box, nothing else needed; postgres: a PostgreSQL database that several daemons share (many PBXs, one console; or an active/standby pair)',
  }),
  path: key(str(), { default: '/var/lib/mctb/mctb.db', doc: 'with driver: sqlite, the SQLite file: every call decision and every text sent' }),
  url: key(
    str({
      pattern: {
        test: /^postgres(?:ql)?:\/\/(?![^/@]*:[^/@]*@)[^\s]+$/,
        what: 'a postgres:// URL without a password in it (mctb logs the URL: give the password in ledger.password_file or MCTB_LEDGER_PASSWORD)',
      },
    }),
    {
      requiredIf: { test: (s) => s.driver === 'postgres', message: 'required when ledger.driver is "postgres"' },
      example: 'postgres://mctb@db.example.com:5432/mctb',
      doc: 'with driver: postgres, the database (it must exist; mctb creates its tables); ?sslmode=require etc. as libpq reads them',
    },
  ),
  password: key(secret({ fileKey: 'password_file', fileExample: '/etc/mctb/ledger.password', env: LEDGER_PASSWORD_ENV }), {
    optional: true,
    example: 'change-me',
    doc: "with driver: postgres, the role's password; or: password_file (not both); leave out for peer or certificate authentication",
  }),
  pool: key(num({ integer: true, min: 2, max: 100 }), { default: 10, doc: 'with driver: postgres, connections to the database at most' }),
  retention: key(dur({ min: '1d' }), {
    out: 'retention_ms',
    example: '400d',
    doc: 'prune calls, texts and messages older than this, daily (never opt-outs or contacts); left out: keep all',
  }),
  late_after: key(dur({ min: '1s' }), {
    out: 'late_after_ms',
    default: '10m',
    doc:
      'a call the ledger could not record at once (disk full, read-only, locked) is texted when it can be, only if ' +
      'the text is then at most this late (after hangup + delay); else it is recorded as late',
  }),
});

const NUMBERS = obj({
  default_country: key(country, { default: 'US', doc: 'ISO 3166 code for numbers written without +country code (DIDs, callers)' }),
  allowed_countries: key(list(country, 'must list at least one country'), {
    default: (s: Record<string, unknown>) => (typeof s.default_country === 'string' ? [s.default_country] : undefined),
    defaultIs: '[default_country]',
    example: ['US'],
    doc: 'countries whose callers may be texted: countries, not calling codes ([US] does not text Canada although both are +1)',
  }),
});

const COMPLIANCE = obj({
  opt_out_scope: key(oneOf('business', 'all'), {
    default: 'business',
    doc: 'business: an opt-out stops texts from the business texted; all: from every business here',
  }),
  stop_words: key(list(keyword, 'must list at least one word (opting out must always be possible)'), {
    default: DEFAULT_STOP_WORDS,
    doc: 'a reply that is, or starts with, one of these opts the number out',
  }),
  start_words: key(list(keyword), { default: DEFAULT_START_WORDS, doc: 'a reply that is one of these opts it back in' }),
  help_words: key(list(keyword), { default: DEFAULT_HELP_WORDS, doc: 'a reply that is one of these gets `help`' }),
});

export const SCHEMA = obj({
  site: key(str({ pattern: { test: /^[a-z0-9][a-z0-9_-]{0,31}$/, what: 'lower-case letters, digits, - and _, at most 32' } }), {
    default: 'main',
    doc: 'this daemon in a shared ledger (ledger.driver: postgres), in logs and /metrics: one name per PBX; an active/standby pair shares one',
  }),
  asterisk: key(ASTERISK, { doc: 'the PBX' }),
  sms: key(SMS, { doc: 'how texts go out and replies come in' }),
  ledger: key(LEDGER, { doc: 'the record of calls and texts' }),
  http: key(
    obj({
      listen: key(listen, { required: true, example: '127.0.0.1:9465', doc: 'host:port; keep it on loopback (or open it to the carrier for webhooks: README, Carriers)' }),
      public_url: key(url, { example: 'https://mctb.example.com', doc: "how a carrier reaches http.listen from outside (a reverse proxy, a port forward): mctb config check prints each webhook's URL on it" }),
    }),
    {
      optional: true,
      doc: 'health and metrics over HTTP; off unless set',
      about:
        'GET /healthz (200, or 503 with the state of the PBX link, SMS link and ledger as JSON) and GET /metrics (Prometheus).',
    },
  ),
  console: key(
    obj({
      listen: key(listen, { required: true, example: '0.0.0.0:8080', doc: 'host:port of the web console (inbox, threads, dashboard, contacts)' }),
      tls: key(
        obj({
          cert_file: key(str(), { required: true, example: '/etc/mctb/console.crt', doc: 'PEM certificate (chain)' }),
          key_file: key(str(), { required: true, example: '/etc/mctb/console.key', doc: 'its PEM private key' }),
        }),
        { optional: true, doc: 'serve HTTPS; without it, put the console behind a TLS reverse proxy' },
      ),
      trust_proxy: key(bool, {
        default: false,
        doc: 'behind a TLS reverse proxy on this host: take the client address and https from X-Forwarded-For/-Proto (cookies then Secure)',
      }),
      session_idle: key(dur({ min: '1m', max: '30d' }), { out: 'session_idle_ms', default: '8h', doc: 'sign out a session unused this long' }),
      session_lifetime: key(dur({ min: '1h', max: '365d' }), { out: 'session_lifetime_ms', default: '7d', doc: 'sign out every session this long after sign-in' }),
      login_attempts: key(num({ integer: true, min: 1, max: 100 }), {
        default: 5,
        doc: 'wrong passwords allowed per user name, and per address, within login_window; the next try is refused even when right',
      }),
      login_window: key(dur({ min: '1m', max: '1d' }), { out: 'login_window_ms', default: '15m', doc: 'the window login_attempts counts in' }),
    }),
    {
      optional: true,
      doc: 'the web console for staff and owners; off unless set',
      about:
        'Users are added with `mctb users add`. Served by `mctb run` itself; no internet needed (every script and style comes from mctb). ' +
        '/healthz and /metrics stay on `http.listen`.',
    },
  ),
  numbers: key(NUMBERS, {
    doc: 'how phone numbers are read',
    about: 'Numbers written without +country code (DIDs, exclude) are read with default_country unless a business sets `country`.',
  }),
  limits: key(
    obj({
      per_hour: key(CAP, { example: 200, doc: CAP_DOCS.per_hour }),
      per_day: key(CAP, { example: 1000, doc: CAP_DOCS.per_day }),
      per_prefix_per_hour: key(CAP, { example: 20, doc: CAP_DOCS.per_prefix_per_hour }),
    }),
    {
      doc: 'caps across all businesses together',
      about: 'No defaults: a key left out is no cap. 0 = never text. Over a cap the text is skipped (and logged as rate_limited), never queued.',
    },
  ),
  compliance: key(COMPLIANCE, {
    doc: 'keywords in replies, matched in any case',
    about:
      'A reply that is, or starts with, a stop word opts the number out (it is never texted again until it sends a ' +
      'start word); a start word opts it back in; a help word gets `help`. stop_words cannot be empty: opting out ' +
      'must always be possible.',
  }),
  defaults: key(obj(DEFAULTS_FIELDS), {
    doc: 'per-business behaviour; any key may be set again on a business',
    about:
      'Every key here may be set again on a business to override it: a value or list set on a business replaces ' +
      'the one here; a mapping (messages, vars, limits, notify) is merged key by key, the business keys winning.',
  }),
  businesses: key(list(BUSINESS, 'must list at least one business'), {
    required: true,
    example: [{ name: 'Brightside Dental', dids: ['+15550001000'] }],
    doc: 'at least one',
    about: 'Each business may also set any key of `defaults` for itself, e.g. delay: 1m, or its own message and vars.',
  }),
  log: key(
    obj({
      level: key(oneOf('error', 'warn', 'info', 'debug'), { default: 'info', doc: 'error | warn | info | debug' }),
      format: key(oneOf('text', 'json'), { default: 'text', doc: 'text | json (one object a line)' }),
    }),
    { doc: 'what mctb writes to stderr (the journal under systemd)' },
  ),
});
