import { expect } from 'chai';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import {
  ConfigError,
  DEFAULT_HELP,
  DEFAULT_MESSAGE,
  DEFAULT_OPT_IN_MESSAGE,
  DEFAULT_OPT_OUT_MESSAGE,
  formatDuration,
  loadConfig,
  loadConfigWithWarnings,
  parseConfig,
  parseConfigWithWarnings,
  parseDuration,
  resolveConfigPath,
} from '../../src/config/load';
import { SCHEMA } from '../../src/config/schema';
import { knownKeys, type ObjectSpec } from '../../src/config/spec';
import type { Config } from '../../src/config/types';
import { MINIMAL, businessWith } from './fixtures';

const EXAMPLE = path.resolve(__dirname, '../../../config/mctb.example.yaml');

let dir: string;
const write = (name: string, text: string): string => {
  const file = path.join(dir, name);
  fs.writeFileSync(file, text);
  return file;
};

/** Loads `text` from a temp file and returns the ConfigError message, with the file path shown as FILE. */
function problemsOf(text: string, env: NodeJS.ProcessEnv = {}): string[] {
  const file = write('mctb.yaml', text);
  try {
    loadConfig(file, env);
  } catch (e) {
    expect(e).to.be.instanceOf(ConfigError);
    const err = e as ConfigError;
    const lines = err.message.split('\n');
    expect(lines).to.have.length(err.problems.length);
    return lines.map((l) => (l.startsWith(file) ? 'FILE' + l.slice(file.length) : l));
  }
  throw new Error('expected a ConfigError, the config loaded');
}

describe('config: loadConfig', () => {
  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mctb-config-'));
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  describe('the example file', () => {
    it('loads as is and yields the documented defaults', () => {
      const { config, warnings } = loadConfigWithWarnings(EXAMPLE, {});
      const expected: Config = {
        file: EXAMPLE,
        site: 'main',
        asterisk: {
          source: 'ami',
          ami: {
            host: '127.0.0.1',
            port: 5038,
            username: 'mctb',
            secret: 'change-me',
            ping_interval_ms: 20_000,
            check_presentation: true,
          },
          inbound_contexts: ['from-trunk', 'from-pstn', 'from-did-direct'],
          decision_grace_ms: 2_000,
          max_call_ms: 4 * 3_600_000,
        },
        sms: {
          transport: 'smpp',
          smpp: {
            host: '127.0.0.1',
            port: 2775,
            system_id: 'mctb',
            password: 'change-me',
            system_type: '',
            source_addr: '+15550001000',
            tls: false,
            tps: 10,
            enquire_link_ms: 30_000,
          },
        },
        ledger: { driver: 'sqlite', path: '/var/lib/mctb/mctb.db', pool: 10, late_after_ms: 600_000 },
        numbers: { default_country: 'US', allowed_countries: ['US'] },
        limits: {},
        compliance: {
          opt_out_scope: 'business',
          stop_words: ['STOP', 'STOPALL', 'UNSUBSCRIBE', 'CANCEL', 'END', 'QUIT', 'REVOKE', 'OPTOUT', 'STOP IN ANY FORM'],
          start_words: ['START', 'UNSTOP', 'YES'],
          help_words: ['HELP', 'INFO'],
        },
        businesses: [businessWith({ name: 'Brightside Dental', dids: ['+15550001000'] })],
        log: { level: 'info', format: 'text' },
      };
      expect(config).to.deep.equal(expected);
      // The inline "change-me" secrets are flagged, not rejected, where they are written.
      const lines = fs.readFileSync(EXAMPLE, 'utf8').split('\n');
      const at = (key: string) => {
        const line = lines.findIndex((l) => l.trimStart().startsWith(`${key}: `) && l.includes('change-me'));
        return `${line + 1}:${lines[line].indexOf(`${key}: `) + key.length + 3}`;
      };
      expect(warnings.map((w) => `${w.line}:${w.column}: ${w.path}`)).to.deep.equal([
        `${at('secret')}: asterisk.ami.secret`,
        `${at('password')}: sms.smpp.password`,
      ]);
      expect(warnings[0].message).to.equal(
        'is still the example\'s placeholder "change-me": set the real secret (in secret_file or the MCTB_AMI_SECRET environment variable)',
      );
    });

    it('mentions every key the schema knows', () => {
      const text = fs.readFileSync(EXAMPLE, 'utf8');
      const missing: string[] = [];
      const walk = (spec: ObjectSpec, prefix: string) => {
        for (const key of knownKeys(spec)) {
          if (!new RegExp(`\\b${key}:`).test(text)) missing.push(prefix + key);
          const field = spec.fields[key];
          if (field?.spec.kind === 'object') walk(field.spec, `${prefix}${key}.`);
          if (field?.spec.kind === 'list' && field.spec.item.kind === 'object') walk(field.spec.item, `${prefix}${key}[].`);
        }
      };
      walk(SCHEMA, '');
      expect(missing).to.deep.equal([]);
    });
  });

  describe('defaults and normalisation', () => {
    it('fills in every default around the required keys', () => {
      const config = parseConfig(MINIMAL, 'mini.yaml', {});
      expect(config.file).to.equal('mini.yaml');
      expect(config.asterisk).to.deep.equal({
        source: 'ami',
        ami: { host: '127.0.0.1', port: 5038, username: 'mctb', secret: 's3cret', ping_interval_ms: 20_000, check_presentation: true },
        inbound_contexts: ['from-trunk', 'from-pstn', 'from-did-direct'],
        decision_grace_ms: 2_000,
        max_call_ms: 14_400_000,
      });
      expect(config.sms).to.deep.equal({ transport: 'log' });
      expect(config.ledger).to.deep.equal({ driver: 'sqlite', path: '/var/lib/mctb/mctb.db', pool: 10, late_after_ms: 600_000 });
      expect(config.numbers).to.deep.equal({ default_country: 'US', allowed_countries: ['US'] });
      expect(config.limits).to.deep.equal({});
      expect(config.log).to.deep.equal({ level: 'info', format: 'text' });
      expect(config.businesses).to.deep.equal([businessWith({ name: 'Brightside Dental', dids: ['+15550001000'] })]);
    });

    it('lets a business override any defaults key, and defaults override the built-ins', () => {
      const config = parseConfig(
        `${MINIMAL.replace('businesses:\n  - name: Brightside Dental\n    dids: ["+15550001000"]\n', '')}` +
          `numbers: { default_country: gb }
defaults:
  delay: 1m30s
  source_addr: Brightside
businesses:
  - name: Brightside Dental
    dids: ["+15550001000", "020 7946 0000"]
    delay: 0s
    message: "Sorry {{contact.first_name}}!"
  - name: Northside Ortho
    dids: ["+15550001001"]
    dedupe_window: 1d
    source_addr: "+15550001001"
`,
        'b.yaml',
        {},
      );
      expect(config.numbers.default_country).to.equal('GB');
      const gb = { country: 'GB', allowed_countries: ['GB'] };
      expect(config.businesses).to.deep.equal([
        businessWith({
          name: 'Brightside Dental',
          dids: ['+15550001000', '+442079460000'],
          delay_ms: 0,
          message: 'Sorry {{contact.first_name}}!',
          source_addr: 'Brightside',
          ...gb,
        }),
        businessWith({
          name: 'Northside Ortho',
          dids: ['+15550001001'],
          delay_ms: 90_000,
          dedupe_window_ms: 86_400_000,
          source_addr: '+15550001001',
          ...gb,
        }),
      ]);
    });

    it('reads plain numbers as text where text is expected, keeping leading zeros', () => {
      const config = parseConfig(MINIMAL.replace('secret: s3cret', 'secret: 0123'), 'n.yaml', {});
      expect(config.asterisk.ami.secret).to.equal('0123');
    });

    it('reads secret_file relative to the config file, trimming the trailing newline', () => {
      write('ami.secret', 'from-file\n');
      const file = write('rel.yaml', MINIMAL.replace('secret: s3cret', 'secret_file: ami.secret'));
      const { config, warnings } = loadConfigWithWarnings(file, {});
      expect(config.asterisk.ami.secret).to.equal('from-file');
      expect(warnings).to.deep.equal([]);
    });

    it('keeps a present sms.smpp block under transport log, and still validates it', () => {
      const smpp = `  smpp: { system_id: mctb, password: pw, source_addr: "+15550001000", tps: 2.5 }\n`;
      const config = parseConfig(MINIMAL.replace('  transport: log\n', `  transport: log\n${smpp}`), 's.yaml', {});
      expect(config.sms.transport).to.equal('log');
      expect(config.sms.smpp?.tps).to.equal(2.5);
      expect(() => parseConfig(MINIMAL.replace('  transport: log\n', '  transport: log\n  smpp: { password: pw }\n'), 's.yaml', {}))
        .to.throw(ConfigError)
        .with.property('message')
        .that.equals('s.yaml:7:3: sms.smpp.system_id: required key is missing\ns.yaml:7:3: sms.smpp.source_addr: required key is missing');
    });

    it('warns about, and drops, a DID listed twice in one business', () => {
      const { config, warnings } = parseConfigWithWarnings(
        MINIMAL.replace('secret: s3cret', 'secret_file: /dev/null').replace('["+15550001000"]', '["+15550001000", "5550001000"]'),
        'w.yaml',
        { MCTB_AMI_SECRET: 'x' },
      );
      expect(config.businesses[0].dids).to.deep.equal(['+15550001000']);
      expect(warnings.map((w) => `${w.line}:${w.column}: ${w.path}: ${w.message}`)).to.deep.equal([
        '9:28: businesses[0].dids[1]: +15550001000 is listed twice (also dids[0])',
      ]);
    });
  });

  describe('malformed configs', () => {
    it('reports YAML syntax errors at the parser\'s line and column', () => {
      expect(problemsOf('asterisk:\n  ami: { username: mctb\nsms: {}\n')).to.deep.equal([
        'FILE:3:1: Flow map in block collection must be sufficiently indented and end with a }',
      ]);
    });

    it('rejects a key given twice, and a second YAML document', () => {
      expect(problemsOf(`${MINIMAL}log: { level: debug }\nlog: { format: json }\n`)).to.deep.equal([
        'FILE:11:1: log: duplicate key (already set on line 10)',
      ]);
      expect(problemsOf(`${MINIMAL}---\nlog: {}\n`)).to.deep.equal([
        'FILE:10:1: the file holds more than one YAML document; remove the "---" line(s) and merge them',
      ]);
    });

    it('rejects an unknown top-level key with did-you-mean', () => {
      expect(problemsOf(`${MINIMAL}lgo:\n  level: debug\n`)).to.deep.equal(['FILE:10:1: lgo: unknown key (did you mean "log"?)']);
      expect(problemsOf(MINIMAL.replace('businesses:', 'busineses:'))).to.deep.equal([
        'FILE:1:1: businesses: required key is missing',
        'FILE:7:1: busineses: unknown key (did you mean "businesses"?)',
      ]);
    });

    it('rejects an unknown key with nothing close by listing the known ones', () => {
      expect(problemsOf(`${MINIMAL}telemetry: on\n`)).to.deep.equal([
        'FILE:10:1: telemetry: unknown key (expected one of: site, asterisk, sms, ledger, http, console, numbers, limits, compliance, defaults, businesses, log)',
      ]);
    });

    it('rejects an unknown nested key with did-you-mean', () => {
      const text = MINIMAL.replace(
        '  transport: log\n',
        '  transport: smpp\n  smpp:\n    system_id: mctb\n    pasword: pw\n    source_addr: "+15550001000"\n',
      );
      expect(problemsOf(text, { MCTB_SMPP_PASSWORD: 'pw' })).to.deep.equal([
        'FILE:9:5: sms.smpp.pasword: unknown key (did you mean "password"?)',
      ]);
    });

    it('points a key written one level too high to where it belongs', () => {
      expect(problemsOf(MINIMAL.replace('    secret: s3cret\n', '    secret: s3cret\n  port: 5038\n'))).to.deep.equal([
        'FILE:5:3: asterisk.port: unknown key (did you mean "ami.port"?)',
      ]);
    });

    it('rejects a port that is not a number', () => {
      expect(problemsOf(MINIMAL.replace('    username: mctb\n', '    username: mctb\n    port: abc\n'))).to.deep.equal([
        'FILE:4:11: asterisk.ami.port: expected a number from 1 to 65535, got "abc"',
      ]);
    });

    it('rejects a quoted or out-of-range port', () => {
      const text = MINIMAL.replace('    username: mctb\n', '    username: mctb\n    port: "5038"\n').replace(
        '  transport: log\n',
        '  transport: log\n  smpp: { system_id: m, password: p, source_addr: "+15550001000", port: 70000 }\n',
      );
      expect(problemsOf(text)).to.deep.equal([
        'FILE:4:11: asterisk.ami.port: expected a number from 1 to 65535, got "5038" (remove the quotes)',
        'FILE:8:73: sms.smpp.port: expected a number from 1 to 65535, got 70000',
      ]);
    });

    it('rejects durations without a unit or in words', () => {
      expect(problemsOf(`${MINIMAL}defaults:\n  delay: 30\n  dedupe_window: 5 minutes\n`)).to.deep.equal([
        'FILE:11:10: defaults.delay: expected a duration, got 30 (use a unit, e.g. "30s")',
        'FILE:12:18: defaults.dedupe_window: expected a duration such as "30s", "2m" or "1h30m" (units: ms, s, m, h, d), got "5 minutes"',
      ]);
    });

    it('rejects durations outside their range', () => {
      const text = MINIMAL.replace('sms:', '  decision_grace: 2m\n  max_call_length: 30s\nsms:');
      expect(problemsOf(text)).to.deep.equal([
        'FILE:5:19: asterisk.decision_grace: must be from 0s to 1m, got "2m"',
        'FILE:6:20: asterisk.max_call_length: must be at least 1m, got "30s"',
      ]);
    });

    it('rejects a DID that is not a phone number, at its index', () => {
      expect(problemsOf(MINIMAL.replace('["+15550001000"]', '["+15550001000", "555"]'))).to.deep.equal([
        'FILE:9:28: businesses[0].dids[1]: "555" is not a phone number',
      ]);
    });

    it('rejects a DID used by two businesses, naming the first', () => {
      const text = `${MINIMAL}  - name: Northside Ortho\n    dids:\n      - "+15550001001"\n      - 555-000-1000\n`;
      expect(problemsOf(text)).to.deep.equal([
        'FILE:13:9: businesses[1].dids[1]: +15550001000 is already a DID of "Brightside Dental" (businesses[0].dids[0])',
      ]);
    });

    it('rejects two businesses with the same name', () => {
      const text = `${MINIMAL}  - name: brightside dental\n    dids: ["+15550001001"]\n`;
      expect(problemsOf(text)).to.deep.equal([
        'FILE:10:11: businesses[1].name: "brightside dental" is already the name of businesses[0]; names must be unique',
      ]);
    });

    it('requires businesses', () => {
      expect(problemsOf(MINIMAL.replace(/businesses:[\s\S]*/, ''))).to.deep.equal(['FILE:1:1: businesses: required key is missing']);
      expect(problemsOf(MINIMAL.replace(/businesses:[\s\S]*/, 'businesses: []\n'))).to.deep.equal([
        'FILE:7:13: businesses: must list at least one business',
      ]);
    });

    it('requires the AMI username', () => {
      expect(problemsOf(MINIMAL.replace('    username: mctb\n', ''))).to.deep.equal([
        'FILE:2:3: asterisk.ami.username: required key is missing',
      ]);
    });

    it('rejects both secret and secret_file', () => {
      write('both.secret', 'x\n');
      expect(problemsOf(MINIMAL.replace('    secret: s3cret\n', '    secret: s3cret\n    secret_file: both.secret\n'))).to.deep.equal([
        'FILE:5:5: asterisk.ami.secret_file: cannot be used together with secret; keep one of them',
      ]);
    });

    it('requires one of secret and secret_file', () => {
      expect(problemsOf(MINIMAL.replace('    secret: s3cret\n', ''))).to.deep.equal([
        'FILE:2:3: asterisk.ami.secret: required key is missing (set secret or secret_file, or the MCTB_AMI_SECRET environment variable)',
      ]);
    });

    it('names a secret_file that cannot be read, and one that is empty', () => {
      const missing = path.join(dir, 'nope.secret');
      expect(problemsOf(MINIMAL.replace('secret: s3cret', `secret_file: ${missing}`))).to.deep.equal([
        `FILE:4:18: asterisk.ami.secret_file: cannot read ${JSON.stringify(missing)}: ENOENT: no such file or directory`,
      ]);
      const empty = write('empty.secret', '\n');
      expect(problemsOf(MINIMAL.replace('secret: s3cret', 'secret_file: empty.secret'))).to.deep.equal([
        `FILE:4:18: asterisk.ami.secret_file: ${JSON.stringify(empty)} is empty`,
      ]);
    });

    it('rejects an unknown transport with did-you-mean', () => {
      expect(problemsOf(MINIMAL.replace('transport: log', 'transport: smtp'))).to.deep.equal([
        'FILE:6:14: sms.transport: expected one of "smpp", "modem", "log", "twilio", "telnyx", "voipms", got "smtp" (did you mean "smpp"?)',
      ]);
    });

    it('requires sms.smpp when the transport is smpp (the default)', () => {
      expect(problemsOf(MINIMAL.replace('sms:\n  transport: log\n', ''))).to.deep.equal([
        'FILE:1:1: sms.smpp: required when sms.transport is "smpp" (use transport: log for a dry run without a gateway)',
      ]);
    });

    it('rejects a bad log level and format', () => {
      expect(problemsOf(`${MINIMAL}log:\n  level: verbose\n  format: JSON\n`)).to.deep.equal([
        'FILE:11:10: log.level: expected one of "error", "warn", "info", "debug", got "verbose"',
        'FILE:12:11: log.format: expected one of "text", "json", got "JSON" (did you mean "json"?)',
      ]);
    });

    it('rejects an unknown default_country', () => {
      expect(problemsOf(`${MINIMAL}numbers:\n  default_country: XX\n`)).to.deep.equal([
        'FILE:11:20: numbers.default_country: "XX" is not a known country code; use an ISO 3166 alpha-2 code, e.g. "US", "GB" or "DE"',
      ]);
      expect(problemsOf(`${MINIMAL}numbers:\n  default_country: 1\n`)).to.deep.equal([
        'FILE:11:20: numbers.default_country: "1" is a calling code, not a country; use the ISO 3166 alpha-2 code, e.g. "US", "GB" or "DE"',
      ]);
    });

    it('checks SMPP limits and sender addresses', () => {
      const text = MINIMAL.replace(
        '  transport: log\n',
        `  smpp:
    system_id: brightside-dental-sms
    password: ${'p'.repeat(65)}
    source_addr: Brightside Dental
    tls: yes
    tps: 0
`,
      );
      expect(problemsOf(text)).to.deep.equal([
        'FILE:7:16: sms.smpp.system_id: "brightside-dental-sms" is 21 characters long; SMPP 3.4 allows 15',
        'FILE:8:15: sms.smpp.password: is 65 characters long; at most 64 allowed',
        'FILE:9:18: sms.smpp.source_addr: expected an E.164 number such as "+15550001000" or a sender ID of 1 to 11 letters, digits and spaces, got "Brightside Dental"',
        'FILE:10:10: sms.smpp.tls: expected true or false, got "yes"',
        'FILE:11:10: sms.smpp.tps: expected a number greater than 0, got 0',
      ]);
    });

    it('rejects values of the wrong shape', () => {
      const text = MINIMAL.replace('["+15550001000"]', '"+15550001000"').replace('sms:', '  inbound_contexts: from-trunk\nsms:');
      expect(problemsOf(`${text}defaults:\n  message: {{business.name}}\n`)).to.deep.equal([
        'FILE:5:21: asterisk.inbound_contexts: expected a list, got "from-trunk" (write ["from-trunk"] for a single item)',
        'FILE:10:11: businesses[0].dids: expected a list, got "+15550001000" (write ["+15550001000"] for a single item)',
        'FILE:12:12: defaults.message: expected a string, got a mapping (put the text in quotes)',
      ]);
    });

    it('reports every problem at once, sorted by line', () => {
      const text = `log: { level: loud }
businesses:
  - name: A
    dids: ["555"]
    delay: soon
asterisk:
  ami: { username: mctb, secret: s, port: 0 }
sms: { transport: log, colour: blue }
`;
      expect(problemsOf(text)).to.deep.equal([
        'FILE:1:15: log.level: expected one of "error", "warn", "info", "debug", got "loud"',
        'FILE:4:12: businesses[0].dids[0]: "555" is not a phone number',
        'FILE:5:12: businesses[0].delay: expected a duration such as "30s", "2m" or "1h30m" (units: ms, s, m, h, d), got "soon"',
        'FILE:7:43: asterisk.ami.port: expected a number from 1 to 65535, got 0',
        'FILE:8:24: sms.colour: unknown key (expected one of: transport, smpp, modem, twilio, telnyx, voipms)',
      ]);
    });

    it('names a config file that cannot be read, with the OS reason', () => {
      const missing = path.join(dir, 'absent.yaml');
      expect(() => loadConfig(missing, {}))
        .to.throw(ConfigError)
        .with.property('message', `${missing}: cannot read: ENOENT: no such file or directory`);
      try {
        loadConfig(missing, {});
      } catch (e) {
        expect((e as ConfigError).problems).to.deep.equal([
          { file: missing, line: 0, column: 0, path: '', message: 'cannot read: ENOENT: no such file or directory' },
        ]);
      }
    });

    it('uses the path exactly as the user gave it', () => {
      const rel = path.relative(process.cwd(), write('rel-bad.yaml', `${MINIMAL}lgo: {}\n`));
      expect(() => loadConfig(rel, {})).to.throw(ConfigError, `${rel}:10:1: lgo: unknown key (did you mean "log"?)`);
    });
  });

  describe('environment overrides', () => {
    const SMPP = MINIMAL.replace(
      '  transport: log\n',
      '  transport: smpp\n  smpp: { system_id: mctb, password_file: /nonexistent/smpp.pw, source_addr: "+15550001000" }\n',
    ).replace('secret: s3cret', 'secret_file: /nonexistent/ami.secret');

    it('MCTB_AMI_SECRET and MCTB_SMPP_PASSWORD replace the secrets, and their files are not read', () => {
      const config = parseConfig(SMPP, 'env.yaml', { MCTB_AMI_SECRET: 'ami-env', MCTB_SMPP_PASSWORD: 'smpp-env' });
      expect(config.asterisk.ami.secret).to.equal('ami-env');
      expect(config.sms.smpp?.password).to.equal('smpp-env');
    });

    it('win over inline secrets too', () => {
      const config = parseConfig(MINIMAL, 'env.yaml', { MCTB_AMI_SECRET: 'ami-env' });
      expect(config.asterisk.ami.secret).to.equal('ami-env');
    });

    it('are ignored when empty, and process.env is the default', () => {
      expect(() => parseConfig(SMPP, 'env.yaml', { MCTB_AMI_SECRET: '', MCTB_SMPP_PASSWORD: 'x' })).to.throw(
        ConfigError,
        'env.yaml:4:18: asterisk.ami.secret_file: cannot read "/nonexistent/ami.secret": ENOENT: no such file or directory',
      );
      const saved = process.env.MCTB_AMI_SECRET;
      process.env.MCTB_AMI_SECRET = 'from-process';
      try {
        expect(parseConfig(MINIMAL, 'env.yaml').asterisk.ami.secret).to.equal('from-process');
      } finally {
        if (saved === undefined) delete process.env.MCTB_AMI_SECRET;
        else process.env.MCTB_AMI_SECRET = saved;
      }
    });
  });

  describe('template check hook', () => {
    const checkTemplate = (src: string) => {
      const problems: { offset: number; message: string }[] = [];
      for (let i = src.indexOf('{{nope}}'); i >= 0; i = src.indexOf('{{nope}}', i + 1)) {
        problems.push({ offset: i + 2, message: 'unknown placeholder "nope"' });
      }
      return problems;
    };

    it('reports template problems at the offending character, for each message', () => {
      const text = `${MINIMAL}    message: It's {{nope}}
  - name: B
    dids: ["+15550001001"]
    message: 'It''s "{{nope}}"'
  - name: C
    dids: ["+15550001002"]
    message: |
      Hello,
        {{nope}}
defaults:
  message: "Caf\\u00e9 {{nope}}"
`;
      const file = write('tmpl.yaml', text);
      expect(() => loadConfig(file, {}, { checkTemplate }))
        .to.throw(ConfigError)
        .with.property(
          'message',
          [
            `${file}:10:21: businesses[0].message: unknown placeholder "nope"`,
            `${file}:13:24: businesses[1].message: unknown placeholder "nope"`,
            `${file}:18:11: businesses[2].message: unknown placeholder "nope"`,
            `${file}:20:25: defaults.message: unknown placeholder "nope"`,
          ].join('\n'),
        );
    });

    it('passes the effective messages, the built-in defaults included', () => {
      const seen: string[] = [];
      parseConfig(`${MINIMAL}    message: own\n`, 't.yaml', {}, { checkTemplate: (src) => (seen.push(src), []) });
      expect(seen).to.deep.equal([DEFAULT_MESSAGE, DEFAULT_HELP, DEFAULT_OPT_OUT_MESSAGE, DEFAULT_OPT_IN_MESSAGE, 'own']);
    });
  });
});

describe('config: resolveConfigPath', () => {
  it('prefers -c, then $MCTB_CONFIG, then /etc/mctb/mctb.yaml', () => {
    expect(resolveConfigPath('cli.yaml', { MCTB_CONFIG: 'env.yaml' })).to.equal('cli.yaml');
    expect(resolveConfigPath(undefined, { MCTB_CONFIG: 'env.yaml' })).to.equal('env.yaml');
    expect(resolveConfigPath(undefined, {})).to.equal('/etc/mctb/mctb.yaml');
    expect(resolveConfigPath('', { MCTB_CONFIG: '' })).to.equal('/etc/mctb/mctb.yaml');
  });
});

describe('config: parseDuration', () => {
  it('reads units and combinations', () => {
    expect(parseDuration('45s')).to.equal(45_000);
    expect(parseDuration('2m')).to.equal(120_000);
    expect(parseDuration('1h')).to.equal(3_600_000);
    expect(parseDuration('1d')).to.equal(86_400_000);
    expect(parseDuration('500ms')).to.equal(500);
    expect(parseDuration('0s')).to.equal(0);
    expect(parseDuration('1h30m')).to.equal(5_400_000);
    expect(parseDuration('1.5s')).to.equal(1_500);
    expect(parseDuration(' 2m10s ')).to.equal(130_000);
  });

  it('rejects anything else', () => {
    for (const bad of ['', '30', '5 minutes', '-5s', '1x', 's', '1h 30m', '1hh']) {
      expect(parseDuration(bad), bad).to.equal(undefined);
    }
  });

  it('formats back', () => {
    expect(formatDuration(5_400_000)).to.equal('1h30m');
    expect(formatDuration(0)).to.equal('0s');
    expect(formatDuration(1_500)).to.equal('1s500ms');
  });
});
