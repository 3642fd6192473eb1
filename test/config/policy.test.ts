// The text-back policy settings: time zone, hours, closures, messages, outcomes, vars,
// exclusions, limits, countries and DID patterns.

import { expect } from 'chai';
import { TEMPLATE_VARIABLES } from '../../src/cli/read-config';
import {
  ConfigError,
  DEFAULT_HELP,
  DEFAULT_MESSAGE,
  DEFAULT_OPT_IN_MESSAGE,
  DEFAULT_OPT_OUT_MESSAGE,
  parseConfig,
  parseConfigWithWarnings,
  type ParseOptions,
} from '../../src/config/load';
import { checkTemplate } from '../../src/messages/template';
import { MACHINE_ZONE, MINIMAL, businessWith } from './fixtures';

/** The template check `mctb` itself runs (see src/cli/read-config.ts). */
const TEMPLATES: ParseOptions = {
  checkTemplate: (src, vars) => checkTemplate(src, new Set([...TEMPLATE_VARIABLES, ...vars.map((v) => 'vars.' + v)])),
};

/** MINIMAL runs to line 9 (`dids` of the one business); text added after it starts on line 10. */
function problemsOf(text: string, options: ParseOptions = TEMPLATES): string[] {
  try {
    parseConfig(text, 'mctb.yaml', {}, options);
  } catch (e) {
    expect(e).to.be.instanceOf(ConfigError);
    return (e as ConfigError).message.split('\n');
  }
  throw new Error('expected a ConfigError, the config loaded');
}

const load = (text: string) => parseConfig(text, 'mctb.yaml', {}, TEMPLATES);

describe('config: text-back policy settings', () => {
  describe('defaults', () => {
    it('gives every new key its default when nothing is written', () => {
      const config = load(MINIMAL);
      expect(config.numbers).to.deep.equal({ default_country: 'US', allowed_countries: ['US'] });
      expect(config.limits).to.deep.equal({});
      const [b] = config.businesses;
      expect(b).to.deep.equal(businessWith({ name: 'Brightside Dental', dids: ['+15550001000'] }));
      expect(b.timezone).to.equal(MACHINE_ZONE);
      expect(b.hours).to.equal(undefined);
      expect(b).to.not.have.property('hours');
      expect(b.messages).to.deep.equal({ open: DEFAULT_MESSAGE, closed: DEFAULT_MESSAGE });
    });

    it('takes numbers.allowed_countries from default_country, and a business country from numbers', () => {
      const config = load(`${MINIMAL}numbers: { default_country: ca }\n`);
      expect(config.numbers).to.deep.equal({ default_country: 'CA', allowed_countries: ['CA'] });
      expect(config.businesses[0]).to.include({ country: 'CA' });
      expect(config.businesses[0].allowed_countries).to.deep.equal(['CA']);
    });
  });

  describe('overrides', () => {
    const TEXT = `${MINIMAL.replace('["+15550001000"]', '["+15550001000", "+1555000xxxx", "+1555001*"]')}    country: gb
    allowed_countries: [gb, ie]
    timezone: Europe/London
    hours: { mon-fri: "08:00-12:00,13:00-17:30", sat: "09:00-12:00", sun: closed }
    closed: ["2026-12-25", "2026-12-31 12:00-24:00"]
    message: own
    missed_on: []
    min_ring: 5s
    active_conversation_window: 2h
    vars: { booking_link: "https://b.example/book" }
    exclude: ["+1900", "020 7946 0000", "+44 20 7946 0001"]
    skip_landlines: true
    limits: { per_day: 0 }
  - name: Northside Ortho
    dids: ["5550001001", "020 7946 0002"]
numbers: { default_country: US, allowed_countries: [us, ca] }
limits: { per_hour: 100, per_prefix_per_hour: 0 }
defaults:
  country: GB
  timezone: america/chicago
  hours:
    mon-fri: "09:00-17:00"
  closed: ["2026-01-01"]
  messages: { closed: "We're closed; we open {{business.next_open}}." }
  missed_on: [noanswer, busy]
  min_ring: 3s
  active_conversation_window: 12h
  vars: { phone: "555-0100" }
  exclude: ["020 7946 0009"]
  skip_landlines: false
  limits: { per_hour: 10 }
`;

    it('reads top-level numbers.allowed_countries and limits', () => {
      const config = load(TEXT);
      expect(config.numbers).to.deep.equal({ default_country: 'US', allowed_countries: ['US', 'CA'] });
      expect(config.limits).to.deep.equal({ per_hour: 100, per_prefix_per_hour: 0 });
    });

    it('lets a business override every key; mappings merge key by key over defaults', () => {
      const [own] = load(TEXT).businesses;
      expect(own).to.deep.equal(
        businessWith({
          name: 'Brightside Dental',
          dids: ['+15550001000'],
          did_patterns: ['+1555000XXXX', '+1555001*'],
          country: 'GB',
          allowed_countries: ['GB', 'IE'],
          timezone: 'Europe/London',
          hours: {
            days: [
              [[480, 720], [780, 1050]],
              [[480, 720], [780, 1050]],
              [[480, 720], [780, 1050]],
              [[480, 720], [780, 1050]],
              [[480, 720], [780, 1050]],
              [[540, 720]],
              [],
            ],
          },
          closed: [{ date: '2026-12-25' }, { date: '2026-12-31', range: [720, 1440] }],
          // The business's own message wins over defaults.messages.
          message: 'own',
          messages: { open: 'own', closed: 'own' },
          missed_on: [],
          min_ring_ms: 5_000,
          active_conversation_window_ms: 7_200_000,
          vars: { phone: '555-0100', booking_link: 'https://b.example/book' },
          exclude: ['+1900', '+442079460000', '+442079460001'],
          skip_landlines: true,
          limits: { per_hour: 10, per_day: 0, per_prefix_per_hour: 5 },
        }),
      );
    });

    it('gives a business without its own keys those of defaults, numbers read with defaults.country', () => {
      const [, inherited] = load(TEXT).businesses;
      const weekday = [[540, 1020]] as const;
      expect(inherited).to.deep.equal(
        businessWith({
          name: 'Northside Ortho',
          dids: ['+445550001001', '+442079460002'],
          country: 'GB',
          allowed_countries: ['US', 'CA'],
          timezone: 'America/Chicago',
          hours: { days: [weekday, weekday, weekday, weekday, weekday, [], []] },
          closed: [{ date: '2026-01-01' }],
          messages: { open: DEFAULT_MESSAGE, closed: "We're closed; we open {{business.next_open}}." },
          missed_on: ['noanswer', 'busy'],
          min_ring_ms: 3_000,
          active_conversation_window_ms: 43_200_000,
          vars: { phone: '555-0100' },
          exclude: ['+442079460009'],
          limits: { per_hour: 10, per_day: 300, per_prefix_per_hour: 5 },
        }),
      );
    });

    it('picks each text: business messages.X, business message, defaults messages.X, defaults message', () => {
      const config = load(`${MINIMAL}  - name: B
    dids: ["+15550001001"]
    messages: { open: "b open" }
  - name: C
    dids: ["+15550001002"]
    messages: { open: "c open" }
    message: "c message"
  - name: D
    dids: ["+15550001003"]
    message: "d message"
defaults:
  message: "default message"
  messages: { closed: "default closed" }
`);
      expect(config.businesses.map((b) => [b.name, b.messages.open, b.messages.closed])).to.deep.equal([
        ['Brightside Dental', 'default message', 'default closed'],
        ['B', 'b open', 'default closed'],
        ['C', 'c open', 'c message'],
        ['D', 'd message', 'd message'],
      ]);
    });

    it('reads an inherited exclude number with each business\'s own country', () => {
      const config = load(`${MINIMAL}    country: GB\n  - name: B\n    dids: ["+15550001001"]\ndefaults:\n  exclude: ["555-010-0000", "+1976"]\n`);
      expect(config.businesses.map((b) => b.exclude)).to.deep.equal([
        ['+445550100000', '+1976'],
        ['+15550100000', '+1976'],
      ]);
    });

    it('accepts an empty missed_on (never text) and limits of 0', () => {
      const [b] = load(`${MINIMAL}    missed_on: []\n    limits: { per_hour: 0, per_day: 0, per_prefix_per_hour: 0 }\n`).businesses;
      expect(b.missed_on).to.deep.equal([]);
      expect(b.limits).to.deep.equal({ per_hour: 0, per_day: 0, per_prefix_per_hour: 0 });
    });
  });

  describe('timezone', () => {
    it('rejects an unknown zone with did-you-mean', () => {
      expect(problemsOf(`${MINIMAL}defaults:\n  timezone: America/Chicag\n`)).to.deep.equal([
        'mctb.yaml:11:13: defaults.timezone: unknown time zone "America/Chicag" (did you mean "America/Chicago"?)',
      ]);
    });

    it('suggests the zone of a city given alone, and names the form otherwise', () => {
      expect(problemsOf(`${MINIMAL}    timezone: new york\n`)).to.deep.equal([
        'mctb.yaml:10:15: businesses[0].timezone: unknown time zone "new york" (did you mean "America/New_York"?)',
      ]);
      expect(problemsOf(`${MINIMAL}    timezone: Mars/Olympus\n`)).to.deep.equal([
        'mctb.yaml:10:15: businesses[0].timezone: unknown time zone "Mars/Olympus" (use an IANA name such as "America/Chicago" or "Europe/London")',
      ]);
    });

    it('accepts a zone in any case, spelled the usual way, and UTC', () => {
      expect(load(`${MINIMAL}    timezone: europe/london\n`).businesses[0].timezone).to.equal('Europe/London');
      expect(load(`${MINIMAL}    timezone: UTC\n`).businesses[0].timezone).to.equal('UTC');
    });
  });

  describe('hours', () => {
    const hours = (lines: string) => `${MINIMAL}defaults:\n  hours:\n${lines}`;

    it('rejects a malformed value at the offending character', () => {
      expect(problemsOf(hours('    mon-fri: "8am-5pm"\n'))).to.deep.equal([
        'mctb.yaml:12:15: defaults.hours.mon-fri: "8am" is not a time; write HH:MM (24-hour)',
      ]);
    });

    it('rejects overlapping ranges in one value', () => {
      expect(problemsOf(hours('    mon-fri: 08:00-12:00,11:00-17:30\n'))).to.deep.equal([
        'mctb.yaml:12:26: defaults.hours.mon-fri: "11:00-17:30" overlaps "08:00-12:00"',
      ]);
    });

    it('rejects a day in two keys with overlapping hours, at the later key', () => {
      expect(problemsOf(hours('    mon-fri: "08:00-12:00"\n    fri,sat: "09:00-13:00"\n'))).to.deep.equal([
        'mctb.yaml:13:5: defaults.hours.fri,sat: fri is given in "mon-fri" and "fri,sat" with overlapping hours: 09:00-13:00 overlaps 08:00-12:00',
      ]);
    });

    it('merges a day in two keys when the hours do not overlap', () => {
      const [b] = load(hours('    mon-fri: "08:00-12:00"\n    fri: "13:00-15:00"\n')).businesses;
      expect(b.hours?.days[4]).to.deep.equal([[480, 720], [780, 900]]);
      expect(b.hours?.days[5]).to.deep.equal([]);
    });

    it('rejects a range crossing midnight, at its end time', () => {
      expect(problemsOf(hours('    mon-fri: "08:00-12:00,22:00-02:00"\n'))).to.deep.equal([
        'mctb.yaml:12:33: defaults.hours.mon-fri: ranges cannot cross midnight; split it across two days',
      ]);
    });

    it('rejects an unknown day in a key, at the key', () => {
      expect(problemsOf(hours('    mon-fry: "08:00-12:00"\n'))).to.deep.equal([
        'mctb.yaml:12:9: defaults.hours.mon-fry: unknown day "fry"; use mon, tue, wed, thu, fri, sat, sun',
      ]);
    });

    it('rejects values that are not one string, and an empty mapping', () => {
      expect(problemsOf(hours('    mon: ["08:00-12:00"]\n'))).to.deep.equal([
        'mctb.yaml:12:10: defaults.hours.mon: expected opening times such as "08:00-12:00,13:00-17:30" or "closed", got a list (write the ranges in one string: "08:00-12:00,13:00-17:30")',
      ]);
      expect(problemsOf(`${MINIMAL}    hours: {}\n`)).to.deep.equal([
        'mctb.yaml:10:12: businesses[0].hours: names no days (leave hours out to be open at all times; write mon-sun: closed to be closed at all times)',
      ]);
    });

    it('rejects a key given twice', () => {
      expect(problemsOf(hours('    sat: "09:00-12:00"\n    sat: "13:00-14:00"\n'))).to.deep.equal([
        'mctb.yaml:13:5: defaults.hours.sat: duplicate key (already set on line 12)',
      ]);
    });
  });

  describe('closed', () => {
    it('rejects a date that does not exist, at the day', () => {
      expect(problemsOf(`${MINIMAL}defaults:\n  closed: ["2026-12-25", "2026-02-30", "2026-12-31 12:00-24:00"]\n`)).to.deep.equal([
        'mctb.yaml:11:35: defaults.closed[1]: 2026-02-30 is not a real date (Feb 2026 has 28 days)',
      ]);
    });
  });

  describe('missed_on', () => {
    it('rejects an unknown outcome, with did-you-mean', () => {
      expect(problemsOf(`${MINIMAL}defaults:\n  missed_on: [noanswer, no_answer, hangup]\n`)).to.deep.equal([
        'mctb.yaml:11:25: defaults.missed_on[1]: expected one of "noanswer", "busy", "cancel", "unavailable", "voicemail", "queue_abandon", got "no_answer" (did you mean "noanswer"?)',
        'mctb.yaml:11:36: defaults.missed_on[2]: expected one of "noanswer", "busy", "cancel", "unavailable", "voicemail", "queue_abandon", got "hangup"',
      ]);
    });
  });

  describe('exclude', () => {
    it('rejects an entry that is neither a number nor a +prefix', () => {
      expect(problemsOf(`${MINIMAL}defaults:\n  exclude: ["+1900", "555-010-0000", abc, "+"]\n`)).to.deep.equal([
        'mctb.yaml:11:38: defaults.exclude[2]: "abc" is not a number or a +prefix',
        'mctb.yaml:11:43: defaults.exclude[3]: "+" is not a number or a +prefix',
      ]);
    });
  });

  describe('vars', () => {
    it('rejects names that are not lower-case identifiers, at the name', () => {
      expect(problemsOf(`${MINIMAL}defaults:\n  vars:\n    Booking-Link: x\n    ok_1: y\n    2x: z\n`)).to.deep.equal([
        'mctb.yaml:12:5: defaults.vars.Booking-Link: "Booking-Link" is not a valid name; use lower-case letters, digits and "_", starting with a letter (e.g. "booking_link")',
        'mctb.yaml:14:5: defaults.vars.2x: "2x" is not a valid name; use lower-case letters, digits and "_", starting with a letter',
      ]);
    });
  });

  describe('limits', () => {
    it('rejects negative and fractional limits, global and per business', () => {
      expect(problemsOf(`${MINIMAL}limits: { per_hour: -1, per_day: 1.5 }\ndefaults:\n  limits:\n    per_prefix_per_hour: -5\n`)).to.deep.equal([
        'mctb.yaml:10:21: limits.per_hour: expected a number of at least 0, got -1',
        'mctb.yaml:10:34: limits.per_day: expected a whole number of at least 0, got 1.5',
        'mctb.yaml:13:26: defaults.limits.per_prefix_per_hour: expected a number of at least 0, got -5',
      ]);
    });
  });

  describe('countries', () => {
    it('rejects an unknown business country without also rejecting the numbers it would have read', () => {
      expect(problemsOf(`${MINIMAL.replace('["+15550001000"]', '["+15550001000", "5550001001"]')}    country: XX\n    exclude: ["5550001002"]\n`)).to.deep.equal([
        'mctb.yaml:10:14: businesses[0].country: "XX" is not a known country code; use an ISO 3166 alpha-2 code, e.g. "US", "GB" or "DE"',
      ]);
    });

    it('rejects an empty allowed_countries', () => {
      expect(problemsOf(`${MINIMAL}numbers: { allowed_countries: [] }\n`)).to.deep.equal([
        'mctb.yaml:10:31: numbers.allowed_countries: must list at least one country',
      ]);
    });
  });

  describe('DID patterns', () => {
    it('accepts X and * patterns alone, in upper case, apart from exact DIDs', () => {
      const [b] = load(MINIMAL.replace('["+15550001000"]', '["+1555000xxxx", "+1555001*"]')).businesses;
      expect(b.dids).to.deep.equal([]);
      expect(b.did_patterns).to.deep.equal(['+1555000XXXX', '+1555001*']);
    });

    it('rejects a pattern used by two businesses, naming the first, and warns about one listed twice', () => {
      const text = `${MINIMAL}  - name: B\n    dids: ["+1555000XXXX", "+1555000xxxx"]\n  - name: C\n    dids: ["+1555000XXXX"]\n`;
      expect(problemsOf(text)).to.deep.equal([
        'mctb.yaml:13:12: businesses[2].dids[0]: +1555000XXXX is already a DID pattern of "B" (businesses[1].dids[0])',
      ]);
      const { config, warnings } = parseConfigWithWarnings(text.replace(/  - name: C[\s\S]*/, ''), 'mctb.yaml', {});
      expect(config.businesses[1].did_patterns).to.deep.equal(['+1555000XXXX']);
      const didWarnings = warnings.filter((w) => w.path.startsWith('businesses'));
      expect(didWarnings.map((w) => `${w.line}:${w.column}: ${w.path}: ${w.message}`)).to.deep.equal([
        '11:28: businesses[1].dids[1]: +1555000XXXX is listed twice (also dids[0])',
      ]);
    });

    it('rejects a malformed pattern and an empty list', () => {
      expect(problemsOf(MINIMAL.replace('["+15550001000"]', '["+1555X00", "+1555*1"]'))).to.deep.equal([
        'mctb.yaml:9:12: businesses[0].dids[0]: "+1555X00" is not a phone number or a DID pattern (write "+", digits, then an X for each free digit or a final "*", e.g. "+1555000XXXX" or "+1555000*")',
        'mctb.yaml:9:24: businesses[0].dids[1]: "+1555*1" is not a phone number or a DID pattern (write "+", digits, then an X for each free digit or a final "*", e.g. "+1555000XXXX" or "+1555000*")',
      ]);
      expect(problemsOf(MINIMAL.replace('["+15550001000"]', '[]'))).to.deep.equal([
        'mctb.yaml:9:11: businesses[0].dids: must list at least one phone number or DID pattern',
      ]);
    });
  });

  describe('templates', () => {
    it('reports an unknown variable in messages.closed at its line and column', () => {
      const text = `${MINIMAL}    messages:\n      open: "Hi {{contact.first_name}}, it's {{call.time}}"\n      closed: "We open {{business.nextopen}}"\n`;
      expect(problemsOf(text)).to.deep.equal([
        'mctb.yaml:12:24: businesses[0].messages.closed: unknown variable "business.nextopen" (did you mean "business.next_open"?)',
      ]);
    });

    it('accepts {{vars.booking_link}} where it is defined, and rejects it with did-you-mean where not', () => {
      const text = `${MINIMAL}    vars: { booking_link: "https://a.example" }
    message: "Book: {{vars.booking_link}}"
  - name: B
    dids: ["+15550001001"]
    vars: { booking_lnk: "https://b.example" }
    message: "Book: {{vars.booking_link}}"
`;
      expect(problemsOf(text)).to.deep.equal([
        'mctb.yaml:15:21: businesses[1].message: unknown variable "vars.booking_link" (did you mean "vars.booking_lnk"?)',
      ]);
      expect(load(text.replace('booking_lnk', 'booking_link')).businesses[1].vars).to.deep.equal({ booking_link: 'https://b.example' });
    });

    it('checks a defaults template with the vars of defaults, at the defaults key', () => {
      const text = `${MINIMAL}    vars: { booking_link: "https://a.example" }\ndefaults:\n  messages: { closed: "Book: {{vars.booking_link}}" }\n`;
      expect(problemsOf(text)).to.deep.equal([
        'mctb.yaml:12:30: defaults.messages.closed: unknown variable "vars.booking_link"',
      ]);
      expect(load(text.replace('defaults:\n', 'defaults:\n  vars: { booking_link: "https://d.example" }\n')).businesses[0].messages.closed).to.equal(
        'Book: {{vars.booking_link}}',
      );
    });

    it('calls the hook once for each template written, with the vars that apply there', () => {
      const seen: [string, readonly string[]][] = [];
      parseConfig(
        `${MINIMAL}    vars: { own: "1" }
    messages: { open: "b open" }
defaults:
  vars: { shared: "2" }
  messages: { open: "d open", closed: "d closed" }
`,
        'mctb.yaml',
        {},
        { checkTemplate: (src, vars) => (seen.push([src, vars]), []) },
      );
      expect(seen).to.deep.equal([
        [DEFAULT_MESSAGE, ['shared']],
        ['d open', ['shared']],
        ['d closed', ['shared']],
        [DEFAULT_HELP, ['shared']],
        [DEFAULT_OPT_OUT_MESSAGE, ['shared']],
        [DEFAULT_OPT_IN_MESSAGE, ['shared']],
        ['b open', ['shared', 'own']],
      ]);
    });
  });
});
