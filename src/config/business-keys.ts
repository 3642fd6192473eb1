// The keys of `defaults` and of each business in mctb.yaml (see schema.ts for the rest).

import { MISSED_OUTCOMES } from '../calls/types';
import {
  bool,
  closure,
  country,
  dur,
  hours,
  key,
  list,
  mapOf,
  num,
  obj,
  objOrOff,
  oneOf,
  phone,
  quietHours,
  reshaped,
  secret,
  sender,
  str,
  timezone,
  url,
  type Field,
  type Fields,
  type InferFields,
  type Spec,
} from './spec';

export const DEFAULT_MESSAGE =
  'Hi{{contact.first_name| }}, this is {{business.name}}. Sorry we missed your call! How can we help?';
export const DEFAULT_HELP = "{{business.name}}: reply here and we'll get back to you. To stop texts reply STOP.";
export const DEFAULT_OPT_OUT_MESSAGE = "You're unsubscribed from {{business.name}} texts. Reply START to resubscribe.";
export const DEFAULT_OPT_IN_MESSAGE = "You're resubscribed to {{business.name}} texts. Reply STOP to unsubscribe.";

export const NOTIFY_EVENTS = ['missed_call', 'reply', 'opt_out'] as const;

/** The zone this machine runs in, the default `timezone`. */
export function machineTimeZone(): string {
  try {
    return Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC';
  } catch {
    return 'UTC';
  }
}

/** A text cap; 0 means never text. */
export const CAP = num({ integer: true, min: 0 });

/** What each cap counts, for `limits` per business and for all businesses together. */
export const CAP_DOCS = {
  per_hour: 'texts in any rolling hour',
  per_day: 'texts in any rolling 24 hours',
  per_prefix_per_hour: "texts in any rolling hour to numbers sharing a prefix (the caller's number less its last 4 digits)",
};

const TEMPLATE_VARIABLES =
  'Variables: {{business.name}}, {{contact.first_name}}, {{caller.number}}, {{business.hours_today}}, ' +
  '{{business.next_open}}, {{call.time}}, and {{vars.NAME}} for each of `vars`. ' +
  '{{name| }} writes the part after | only when the value is not empty.';

/**
 * Keys of `defaults`; every one of them may also be set on a business. On a business, a
 * mapping (`messages`, `vars`, `limits`, `notify`) is merged key by key over the one in
 * `defaults`; any other value, lists and `follow_up` included, replaces it (load.ts).
 */
export const DEFAULTS_FIELDS = {
  delay: key(dur({ min: '0s' }), { out: 'delay_ms', default: '30s', doc: 'wait this long after the missed call before texting (0s = at once)' }),
  dedupe_window: key(dur({ min: '0s' }), {
    out: 'dedupe_window_ms',
    default: '1h',
    doc: 'never text the same caller for the same business twice within this',
  }),
  message: key(str(), { default: DEFAULT_MESSAGE, doc: 'the text to a missed caller', about: TEMPLATE_VARIABLES }),
  messages: key(
    obj({
      open: key(str(), {
        defaultIs: '`message`',
        example: "Sorry we missed you at {{business.name}}! We'll call back shortly, or reply here.",
        doc: 'for calls missed while open',
      }),
      closed: key(str(), {
        defaultIs: '`message`',
        example: "Thanks for calling {{business.name}}. We're closed; we open {{business.next_open}}. Reply here to book.",
        doc: 'for calls missed while closed',
      }),
    }),
    {
      // The order is the business's messages.X, its message, then defaults' messages.X, defaults' message (load.ts).
      optional: true,
      defaultIs: '`message`',
      doc: 'different texts for calls missed while open and while closed (see hours, closed)',
      about:
        'Which text a business gets, for each of open and closed: its own messages.open/closed, else its own ' +
        'message, else messages here, else message here. So a business that sets only `message` sends that one ' +
        'text always, even when messages are set here.',
    },
  ),
  source_addr: key(sender, {
    example: '+15550001000',
    doc: 'sender for texts; default: sms.smpp.source_addr (not used with transport: modem); sms_from, when set, wins',
  }),
  sms_from: key(str({ pattern: { test: /^(dialled|dialed|\+[1-9]\d{6,14}|[A-Za-z0-9 ]{1,11})$/, what: 'dialled, an E.164 number (+15550001000) or an alphanumeric sender of 1-11 letters, digits and spaces' } }), {
    example: 'dialled',
    doc:
      'who texts come from: dialled (the DID the caller dialled, and for every later text the number the ' +
      'conversation is on) or a fixed number or alphanumeric sender; default: dialled with the HTTP carriers ' +
      '(twilio, telnyx, voipms), else source_addr',
  }),
  country: key(country, {
    defaultIs: 'numbers.default_country',
    example: 'US',
    doc: "reads this business's numbers written without +code (DIDs, exclude, notify.sms)",
  }),
  allowed_countries: key(list(country, 'must list at least one country'), {
    defaultIs: 'numbers.allowed_countries',
    example: ['US', 'CA'],
    doc: 'whose callers may be texted (set it too when you set country)',
  }),
  timezone: key(timezone, {
    default: machineTimeZone,
    defaultIs: "this machine's zone",
    example: 'America/Chicago',
    doc: 'IANA time zone of hours, closed and quiet_hours',
  }),
  hours: key(hours, {
    example: { 'mon-fri': '08:00-12:00,13:00-17:30', sat: '09:00-12:00', sun: 'closed' },
    doc: 'weekly opening hours, in `timezone`; left out: always open',
    about:
      'Keys: mon tue wed thu fri sat sun, ranges (mon-fri) and lists (mon,wed,fri). Values: 24-hour ranges ' +
      'separated by commas, 00:00-24:00 for all day, or closed. Days not listed are closed. Ranges cannot cross ' +
      'midnight: split them. To make a business always open when hours are set here: hours: { mon-sun: "00:00-24:00" }',
  }),
  closed: key(list(closure), {
    default: [],
    doc: 'dated closures in `timezone`, a whole day or part of one, e.g. ["2026-12-25", "2026-12-31 12:00-24:00"]',
  }),
  missed_on: key(list(oneOf(...MISSED_OUTCOMES)), {
    default: [...MISSED_OUTCOMES],
    doc: 'which missed calls earn a text; [] never texts',
    about:
      'noanswer, busy, cancel (the caller hung up while ringing), unavailable (no one could be rung), voicemail ' +
      '(the caller reached voicemail), queue_abandon (the caller left a queue).',
  }),
  min_ring: key(dur({ min: '0s' }), {
    out: 'min_ring_ms',
    default: '0s',
    doc: 'a call the caller ended sooner than this (cancel, queue_abandon) is a pocket dial: no text',
  }),
  active_conversation_window: key(dur({ min: '0s' }), {
    out: 'active_conversation_window_ms',
    default: '24h',
    doc: 'no automatic text to someone who texted us within this',
  }),
  vars: key(mapOf(str({ allowEmpty: true }), /^[a-z][a-z0-9_]*$/, 'use lower-case letters, digits and "_", starting with a letter'), {
    default: {},
    doc: 'your own template variables, used as {{vars.NAME}}, e.g. { booking_link: "https://example.com/book" }',
  }),
  exclude: key(list(phone({ prefixes: true })), {
    default: [],
    doc: 'numbers never texted: full numbers (read with `country`) or prefixes written + and digits, e.g. ["+1900", "555-010-0000"]',
  }),
  skip_landlines: key(bool, { default: false, doc: 'true: skip callers the numbering plan says are landlines' }),
  presentation_unknown: key(oneOf('text', 'skip'), {
    default: 'text',
    doc:
      'a caller whose presentation the PBX never gave (neither the MCTB_PRES dialplan line nor the live lookup ' +
      'answered; README: withheld numbers): text or skip',
  }),
  limits: key(
    obj({
      per_hour: key(CAP, { default: 60, doc: CAP_DOCS.per_hour }),
      per_day: key(CAP, { default: 300, doc: CAP_DOCS.per_day }),
      per_prefix_per_hour: key(CAP, { default: 5, doc: CAP_DOCS.per_prefix_per_hour }),
    }),
    { doc: 'caps per business; 0 = never text; over a cap the text is skipped (rate_limited)' },
  ),

  // Two-way texting. Templates, checked like `message`.
  help: key(str(), {
    default: DEFAULT_HELP,
    doc: 'the reply to a help word',
    about: 'Texts answering replies: templates with the variables of `message`.',
  }),
  opt_out_message: key(str(), { default: DEFAULT_OPT_OUT_MESSAGE, doc: 'sent once when a number opts out' }),
  opt_in_message: key(str(), { default: DEFAULT_OPT_IN_MESSAGE, doc: 'sent when a number opts back in' }),
  quiet_hours: key(quietHours, {
    default: '21:00-08:00',
    doc: 'follow-ups wait out these hours, in `timezone`: HH:MM-HH:MM (24-hour), may cross midnight; off: none',
  }),
  follow_up: key(
    objOrOff({
      after: key(dur({ min: '1m' }), { out: 'after_ms', required: true, example: '2h', doc: 'how long after the first text' }),
      message: key(str(), {
        required: true,
        example: 'Just checking in from {{business.name}}: reply here any time to book.',
        doc: 'the follow-up text',
      }),
    }),
    {
      optional: true,
      doc: 'one more text when the caller has not replied; left out: none',
      about: 'Set on a business, it replaces this one; follow_up: off there sends none.',
    },
  ),
  notify: key(
    obj({
      // Numbers read with the business's country (load.ts).
      sms: key(list(phone()), { default: [], doc: 'staff mobiles texted on each event, e.g. ["555-010-0001"] (read with `country`)' }),
      webhook: key(
        objOrOff({
          url: key(url, { required: true, example: 'https://example.com/mctb/events', doc: 'http:// or https://' }),
          secret: key(secret({ fileKey: 'secret_file', fileExample: '/etc/mctb/webhook.secret' }), {
            example: 'change-me',
            doc: 'signs each request (README: Staff alerts); or: secret_file (not both)',
          }),
        }),
        { optional: true, doc: "each event is also POSTed to url, signed with secret; webhook: off on a business drops this one" },
      ),
      events: key(list(oneOf(...NOTIFY_EVENTS)), { default: [...NOTIFY_EVENTS], doc: 'which events are sent' }),
    }),
    { doc: "staff alerts; merged key by key with a business's own notify" },
  ),
};

/** A business's own keys; every `defaults` key may be set on it too. */
const BUSINESS_OWN = {
  name: key(str(), { required: true, example: 'Brightside Dental', doc: 'unique' }),
  dids: key(list(phone({ patterns: true }), 'must list at least one phone number or DID pattern'), {
    required: true,
    example: ['+15550001000'],
    doc: 'the numbers callers dial to reach it, unique across businesses',
    about:
      'Also patterns: "+1555000XXXX" (X = any digit) or "+1555000*" (anything after); an exact DID of another ' +
      'business wins over a pattern.',
  }),
};

/** A business as the rest of mctb reads it: its keys over `defaults`, merged by load.ts. */
export type BusinessConfig = InferFields<typeof BUSINESS_OWN & typeof DEFAULTS_FIELDS> & {
  /** DID patterns (`+1555000XXXX`, `+1555000*`) split from `dids`, matched when no exact DID does. */
  did_patterns: string[];
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
export const BUSINESS_FIELDS: Fields = {
  ...BUSINESS_OWN,
  ...Object.fromEntries(
    Object.entries(DEFAULTS_FIELDS as Fields).map(([k, f]): [string, Field] => [
      k,
      {
        spec: withoutDefaults(f.spec),
        out: f.out,
        doc: f.doc,
        sameAs: `defaults.${k}`,
        // A mapping left out of a business is left out (not filled in) so `defaults` shows through.
        ...(f.spec.kind === 'object' ? { optional: true } : {}),
      },
    ]),
  ),
};

export const BUSINESS = reshaped<BusinessConfig>(obj(BUSINESS_FIELDS));
