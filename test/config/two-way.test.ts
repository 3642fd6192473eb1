// Two-way texting, staff alerts, ARI and modem settings: help / opt-out / opt-in texts, quiet
// hours, follow-up, notify, compliance keywords, asterisk.source + asterisk.ari, sms.modem.

import { expect } from 'chai';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { TEMPLATE_VARIABLES } from '../../src/cli/read-config';
import {
  ConfigError,
  DEFAULT_HELP,
  DEFAULT_OPT_IN_MESSAGE,
  DEFAULT_OPT_OUT_MESSAGE,
  parseConfig,
  parseConfigWithWarnings,
  type ParseOptions,
} from '../../src/config/load';
import { checkTemplate } from '../../src/messages/template';
import { MINIMAL, businessWith } from './fixtures';

const TEMPLATES: ParseOptions = {
  checkTemplate: (src, vars) => checkTemplate(src, new Set([...TEMPLATE_VARIABLES, ...vars.map((v) => 'vars.' + v)])),
};

/** MINIMAL runs to line 9 (`dids` of the one business); text added after it starts on line 10. */
function problemsOf(text: string, env: NodeJS.ProcessEnv = {}): string[] {
  try {
    parseConfig(text, 'mctb.yaml', env, TEMPLATES);
  } catch (e) {
    expect(e).to.be.instanceOf(ConfigError);
    return (e as ConfigError).message.split('\n');
  }
  throw new Error('expected a ConfigError, the config loaded');
}

const load = (text: string, env: NodeJS.ProcessEnv = {}) => parseConfig(text, 'mctb.yaml', env, TEMPLATES);

/** MINIMAL with the asterisk block replaced. */
const withAsterisk = (block: string) => MINIMAL.replace(/^asterisk:\n(  .*\n)*/, block);
/** MINIMAL with the sms block replaced. */
const withSms = (block: string) => MINIMAL.replace(/^sms:\n(  .*\n)*/m, block);

const ALL_EVENTS = ['missed_call', 'reply', 'opt_out'];

describe('config: two-way texting, alerts, ARI and modem', () => {
  describe('defaults', () => {
    it('gives every new key its default when nothing is written', () => {
      const config = load(MINIMAL);
      expect(config.asterisk.source).to.equal('ami');
      expect(config.asterisk).to.not.have.property('ari');
      expect(config.sms).to.deep.equal({ transport: 'log' });
      expect(config.compliance).to.deep.equal({
        opt_out_scope: 'business',
        stop_words: ['STOP', 'STOPALL', 'UNSUBSCRIBE', 'CANCEL', 'END', 'QUIT', 'REVOKE', 'OPTOUT', 'STOP IN ANY FORM'],
        start_words: ['START', 'UNSTOP', 'YES'],
        help_words: ['HELP', 'INFO'],
      });
      const [b] = config.businesses;
      expect(b.help).to.equal(DEFAULT_HELP);
      expect(b.help).to.equal("{{business.name}}: reply here and we'll get back to you. To stop texts reply STOP.");
      expect(b.opt_out_message).to.equal("You're unsubscribed from {{business.name}} texts. Reply START to resubscribe.");
      expect(b.opt_in_message).to.equal("You're resubscribed to {{business.name}} texts. Reply STOP to unsubscribe.");
      expect(b.opt_out_message).to.equal(DEFAULT_OPT_OUT_MESSAGE);
      expect(b.opt_in_message).to.equal(DEFAULT_OPT_IN_MESSAGE);
      expect(b.quiet_hours).to.deep.equal({ start: 21 * 60, end: 8 * 60 });
      expect(b).to.not.have.property('follow_up');
      expect(b.notify).to.deep.equal({ sms: [], events: ALL_EVENTS });
      expect(b.notify).to.not.have.property('webhook');
      expect(b).to.deep.equal(businessWith({ name: 'Brightside Dental', dids: ['+15550001000'] }));
    });

    it('lets a business override help, opt_out_message and opt_in_message', () => {
      const [b, c] = load(`${MINIMAL}    help: "b help"
    opt_out_message: "b out"
  - name: C
    dids: ["+15550001001"]
defaults:
  opt_in_message: "d in"
`).businesses;
      expect([b.help, b.opt_out_message, b.opt_in_message]).to.deep.equal(['b help', 'b out', 'd in']);
      expect([c.help, c.opt_out_message, c.opt_in_message]).to.deep.equal([DEFAULT_HELP, DEFAULT_OPT_OUT_MESSAGE, 'd in']);
    });
  });

  describe('quiet_hours', () => {
    it('accepts a range crossing midnight, a range within a day, 24:00 as the end, and off / none', () => {
      const config = load(`${MINIMAL}    quiet_hours: 22:30-07:15
  - name: B
    dids: ["+15550001001"]
    quiet_hours: "12:00-13:30"
  - name: C
    dids: ["+15550001002"]
    quiet_hours: 20:00-24:00
  - name: D
    dids: ["+15550001003"]
    quiet_hours: none
  - name: E
    dids: ["+15550001004"]
defaults:
  quiet_hours: "OFF"
`);
      const [b, c, d, e, f] = config.businesses;
      expect(b.quiet_hours).to.deep.equal({ start: 1350, end: 435 });
      expect(c.quiet_hours).to.deep.equal({ start: 720, end: 810 });
      expect(d.quiet_hours).to.deep.equal({ start: 1200, end: 0 });
      expect(e).to.not.have.property('quiet_hours');
      expect(f).to.not.have.property('quiet_hours');
      // A business's own value wins over defaults' off.
      expect(load(`${MINIMAL}    quiet_hours: 21:00-08:00\ndefaults:\n  quiet_hours: off\n`).businesses[0].quiet_hours).to.deep.equal({
        start: 1260,
        end: 480,
      });
    });

    it('rejects an hour past 23 at its column', () => {
      expect(problemsOf(`${MINIMAL}defaults:\n  quiet_hours: 25:00-08:00\n`)).to.deep.equal([
        'mctb.yaml:11:16: defaults.quiet_hours: hour 25 is past 23',
      ]);
      expect(problemsOf(`${MINIMAL}    quiet_hours: "21:00-25:00"\n`)).to.deep.equal([
        'mctb.yaml:10:25: businesses[0].quiet_hours: hour 25 is past 23',
      ]);
    });

    it('rejects an empty range, bad minutes and text that is not a range, at the character', () => {
      expect(problemsOf(`${MINIMAL}    quiet_hours: "21:00-21:00"
  - name: B
    dids: ["+15550001001"]
    quiet_hours: 22:00-08:75
  - name: C
    dids: ["+15550001002"]
    quiet_hours: 9pm-8am
  - name: D
    dids: ["+15550001003"]
    quiet_hours: nights
`)).to.deep.equal([
        'mctb.yaml:10:25: businesses[0].quiet_hours: "21:00-21:00" starts and ends at the same time; write off for no quiet hours',
        'mctb.yaml:13:27: businesses[1].quiet_hours: minutes 75 must be below 60',
        'mctb.yaml:16:18: businesses[2].quiet_hours: "9pm" is not a time; write HH:MM-HH:MM (24-hour), e.g. "21:00-08:00", or off',
        'mctb.yaml:19:18: businesses[3].quiet_hours: "nights" is not a time range; write HH:MM-HH:MM (24-hour), e.g. "21:00-08:00", or off',
      ]);
    });
  });

  describe('follow_up', () => {
    const TEXT = `${MINIMAL}    follow_up: { after: 30m, message: "Still there? {{business.name}}" }
  - name: B
    dids: ["+15550001001"]
    follow_up: off
  - name: C
    dids: ["+15550001002"]
defaults:
  follow_up:
    after: 2h
    message: "Just checking in from {{business.name}}."
`;

    it('is replaced by a business\'s own, dropped by off, and inherited otherwise', () => {
      const [own, off, inherited] = load(TEXT).businesses;
      expect(own.follow_up).to.deep.equal({ after_ms: 1_800_000, message: 'Still there? {{business.name}}' });
      expect(off).to.not.have.property('follow_up');
      expect(inherited.follow_up).to.deep.equal({ after_ms: 7_200_000, message: 'Just checking in from {{business.name}}.' });
    });

    it('is absent unless written, and none in defaults turns it off', () => {
      expect(load(MINIMAL).businesses[0]).to.not.have.property('follow_up');
      expect(load(`${MINIMAL}defaults:\n  follow_up: none\n`).businesses[0]).to.not.have.property('follow_up');
    });

    it('requires both after and message, after at least 1m, and a mapping or off', () => {
      expect(problemsOf(`${MINIMAL}    follow_up: { after: 30s }
  - name: B
    dids: ["+15550001001"]
    follow_up: later
defaults:
  follow_up:
    message: "x"
`)).to.deep.equal([
        'mctb.yaml:10:5: businesses[0].follow_up.message: required key is missing',
        'mctb.yaml:10:25: businesses[0].follow_up.after: must be at least 1m, got "30s"',
        'mctb.yaml:13:16: businesses[1].follow_up: expected a mapping ("key: value" lines) or off, got "later"',
        'mctb.yaml:15:3: defaults.follow_up.after: required key is missing',
      ]);
    });
  });

  describe('templates', () => {
    it('checks help, opt-out, opt-in and follow-up texts with the variables of message, at the character', () => {
      const text = `${MINIMAL}    vars: { link: "https://b.example" }
    help: "Call {{caller.number}} or {{vars.link}} at {{call.time}}"
    opt_out_message: "Bye from {{business.nam}}"
    follow_up: { after: 1h, message: "Hi{{contact.first_name| }}, {{vars.lnk}}" }
defaults:
  opt_in_message: "Back with {{buisness.name}}"
`;
      expect(problemsOf(text)).to.deep.equal([
        'mctb.yaml:12:32: businesses[0].opt_out_message: unknown variable "business.nam" (did you mean "business.name"?)',
        'mctb.yaml:13:67: businesses[0].follow_up.message: unknown variable "vars.lnk" (did you mean "vars.link"?)',
        'mctb.yaml:15:30: defaults.opt_in_message: unknown variable "buisness.name" (did you mean "business.name"?)',
      ]);
    });
  });

  describe('notify', () => {
    it('reads staff numbers with the business\'s country, merges key by key, and webhook: off drops an inherited webhook', () => {
      const { config, warnings } = parseConfigWithWarnings(
        `${MINIMAL}    notify: { events: [opt_out] }
  - name: B
    dids: ["+15550001001"]
    country: US
    notify:
      sms: ["555-010-0002", "+44 20 7946 0003"]
      webhook: off
defaults:
  country: GB
  notify:
    sms: ["020 7946 0001"]
    webhook: { url: "https://example.com/mctb", secret: s3cret }
`,
        'mctb.yaml',
        {},
      );
      const [gb, us] = config.businesses;
      expect(gb.notify).to.deep.equal({
        sms: ['+442079460001'],
        webhook: { url: 'https://example.com/mctb', secret: 's3cret' },
        events: ['opt_out'],
      });
      expect(us.notify).to.deep.equal({ sms: ['+15550100002', '+442079460003'], events: ALL_EVENTS });
      expect(us.notify).to.not.have.property('webhook');
      const notifyWarnings = warnings.filter((w) => w.path.includes('notify'));
      expect(notifyWarnings.map((w) => `${w.line}:${w.column}: ${w.path}: ${w.message}`)).to.deep.equal([
        '21:57: defaults.notify.webhook.secret: written in the config file; prefer secret_file (a file only mctb can read)',
      ]);
    });

    it('reads the webhook secret from secret_file', () => {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mctb-notify-'));
      try {
        const file = path.join(dir, 'mctb.yaml');
        fs.writeFileSync(path.join(dir, 'hook.secret'), 'from-file\n');
        const text = `${MINIMAL}    notify: { webhook: { url: "http://10.0.0.5:8080/hook", secret_file: hook.secret } }\n`;
        const { config, warnings } = parseConfigWithWarnings(text, file, {});
        expect(config.businesses[0].notify.webhook).to.deep.equal({ url: 'http://10.0.0.5:8080/hook', secret: 'from-file' });
        expect(warnings.filter((w) => w.path.includes('notify'))).to.deep.equal([]);
      } finally {
        fs.rmSync(dir, { recursive: true, force: true });
      }
    });

    it('rejects a bad URL, a missing webhook secret, a bad staff number and an unknown event', () => {
      expect(problemsOf(`${MINIMAL}    notify:
      sms: ["555-010-0001", "555"]
      webhook: { url: "not a url", secret: x }
  - name: B
    dids: ["+15550001001"]
    notify:
      webhook:
        url: ftp://example.com/x
  - name: C
    dids: ["+15550001002"]
    notify: { webhook: { url: "https://example.com/h" }, events: [missed_call, replied] }
`)).to.deep.equal([
        'mctb.yaml:11:29: businesses[0].notify.sms[1]: "555" is not a phone number',
        'mctb.yaml:12:23: businesses[0].notify.webhook.url: "not a url" is not a URL; write it in full, e.g. "https://example.com/mctb"',
        'mctb.yaml:16:7: businesses[1].notify.webhook.secret: required key is missing (set secret or secret_file)',
        'mctb.yaml:17:14: businesses[1].notify.webhook.url: "ftp://example.com/x" is not an http:// or https:// URL',
        'mctb.yaml:20:15: businesses[2].notify.webhook.secret: required key is missing (set secret or secret_file)',
        'mctb.yaml:20:80: businesses[2].notify.events[1]: expected one of "missed_call", "reply", "opt_out", got "replied"',
      ]);
    });

    it('rejects an inherited staff number that the business\'s country cannot read, naming the business', () => {
      expect(problemsOf(`${MINIMAL}    country: FR\ndefaults:\n  notify: { sms: ["212-555-0123"] }\n`)).to.deep.equal([
        'mctb.yaml:12:19: defaults.notify.sms[0]: "212-555-0123" is not a phone number (read with country FR of "Brightside Dental")',
      ]);
    });
  });

  describe('compliance', () => {
    it('reads words in upper case, without repeats, and the scope', () => {
      const config = load(`${MINIMAL}compliance:
  opt_out_scope: all
  stop_words: [stop, " Stop  All ", arrêt, STOP]
  start_words: []
`);
      expect(config.compliance).to.deep.equal({
        opt_out_scope: 'all',
        stop_words: ['STOP', 'STOP ALL', 'ARRÊT'],
        start_words: [],
        help_words: ['HELP', 'INFO'],
      });
    });

    it('rejects an empty stop_words, an empty word, a word in two lists and an unknown scope', () => {
      expect(problemsOf(`${MINIMAL}compliance:
  opt_out_scope: everyone
  stop_words: []
  help_words: [help, "", yes]
`)).to.deep.equal([
        'mctb.yaml:11:18: compliance.opt_out_scope: expected one of "business", "all", got "everyone"',
        'mctb.yaml:12:15: compliance.stop_words: must list at least one word (opting out must always be possible)',
        'mctb.yaml:13:22: compliance.help_words[1]: must not be empty',
        'mctb.yaml:13:26: compliance.help_words[2]: "YES" is also in start_words; a word can be in one list only',
      ]);
    });
  });

  describe('asterisk.source and asterisk.ari', () => {
    const ARI = 'asterisk:\n  source: ari\n  ari:\n    username: mctb\n    password: pw\n';

    it('with source ari, needs no ami block and fills harmless AMI defaults', () => {
      const config = load(withAsterisk(ARI));
      expect(config.asterisk).to.deep.equal({
        source: 'ari',
        ami: { host: '127.0.0.1', port: 5038, username: '', secret: '', ping_interval_ms: 20_000, check_presentation: true },
        ari: { url: 'http://127.0.0.1:8088', username: 'mctb', password: 'pw', app: 'mctb', check_presentation: true },
        inbound_contexts: ['from-trunk', 'from-pstn', 'from-did-direct'],
        decision_grace_ms: 2_000,
        max_call_ms: 14_400_000,
      });
    });

    it('still validates an ami block given with source ari, and keeps an ari block given with source ami', () => {
      expect(problemsOf(withAsterisk(`${ARI}  ami: { port: 0 }\n`))).to.deep.equal([
        'mctb.yaml:6:3: asterisk.ami.username: required key is missing',
        'mctb.yaml:6:3: asterisk.ami.secret: required key is missing (set secret or secret_file, or the MCTB_AMI_SECRET environment variable)',
        'mctb.yaml:6:16: asterisk.ami.port: expected a number from 1 to 65535, got 0',
      ]);
      const config = load(MINIMAL.replace('asterisk:\n', 'asterisk:\n  ari: { url: "https://pbx.example:8089", username: u, password: p, app: textback }\n'));
      expect(config.asterisk.source).to.equal('ami');
      expect(config.asterisk.ari).to.deep.equal({ url: 'https://pbx.example:8089', username: 'u', password: 'p', app: 'textback', check_presentation: true });
    });

    it('takes the ARI password from MCTB_ARI_PASSWORD, over password_file', () => {
      const config = load(withAsterisk(ARI.replace('password: pw', 'password_file: /nonexistent/ari.pw')), { MCTB_ARI_PASSWORD: 'env-pw' });
      expect(config.asterisk.ari?.password).to.equal('env-pw');
    });

    it('rejects source ari without asterisk.ari, a missing username and password, a bad URL and an unknown source', () => {
      expect(problemsOf(withAsterisk('asterisk:\n  source: ari\n'))).to.deep.equal([
        'mctb.yaml:1:1: asterisk.ari: required when asterisk.source is "ari"',
      ]);
      expect(problemsOf(withAsterisk('asterisk:\n  source: ari\n  ari: { url: "127.0.0.1:8088" }\n'))).to.deep.equal([
        'mctb.yaml:3:3: asterisk.ari.username: required key is missing',
        'mctb.yaml:3:3: asterisk.ari.password: required key is missing (set password or password_file, or the MCTB_ARI_PASSWORD environment variable)',
        'mctb.yaml:3:15: asterisk.ari.url: "127.0.0.1:8088" is not a URL; write it in full, e.g. "https://example.com/mctb"',
      ]);
      expect(problemsOf(withAsterisk('asterisk:\n  source: ari\n  ari: { url: "ws://127.0.0.1:8088/ari", username: u, password: p }\n'))).to.deep.equal([
        'mctb.yaml:3:15: asterisk.ari.url: "ws://127.0.0.1:8088/ari" is not an http:// or https:// URL',
      ]);
      expect(problemsOf(MINIMAL.replace('asterisk:\n', 'asterisk:\n  source: sip\n'))).to.deep.equal([
        'mctb.yaml:2:11: asterisk.source: expected one of "ami", "ari", got "sip"',
      ]);
    });
  });

  describe('sms.transport modem and sms.modem', () => {
    it('reads a modem block with its defaults; texts need no source_addr', () => {
      const config = load(withSms('sms:\n  transport: modem\n  modem:\n    device: /dev/ttyUSB2\n'));
      expect(config.sms).to.deep.equal({ transport: 'modem', modem: { device: '/dev/ttyUSB2', baud_rate: 115200 } });
      expect(config.businesses[0]).to.not.have.property('source_addr');
    });

    it('reads every modem key: PIN as text with leading zeros, SMSC as E.164', () => {
      const { config, warnings } = parseConfigWithWarnings(
        withSms('sms:\n  transport: modem\n  modem: { device: /dev/ttyACM0, baud_rate: 9600, pin: 0123, smsc: "555-000-9999" }\n'),
        'mctb.yaml',
        {},
      );
      expect(config.sms.modem).to.deep.equal({ device: '/dev/ttyACM0', baud_rate: 9600, pin: '0123', smsc: '+15550009999' });
      const pinWarnings = warnings.filter((w) => w.path.startsWith('sms'));
      expect(pinWarnings.map((w) => `${w.line}:${w.column}: ${w.path}: ${w.message}`)).to.deep.equal([
        '7:56: sms.modem.pin: written in the config file; prefer pin_file (a file only mctb can read) or the MCTB_MODEM_PIN environment variable',
      ]);
      expect(load(withSms('sms:\n  transport: modem\n  modem: { device: /dev/ttyACM0, pin_file: /nonexistent/pin }\n'), { MCTB_MODEM_PIN: '98765432' }).sms.modem?.pin).to.equal(
        '98765432',
      );
    });

    it('rejects transport modem without sms.modem, and a modem block without a device', () => {
      expect(problemsOf(MINIMAL.replace('transport: log', 'transport: modem'))).to.deep.equal([
        'mctb.yaml:5:1: sms.modem: required when sms.transport is "modem"',
      ]);
      expect(problemsOf(withSms('sms:\n  transport: modem\n  modem: { baud_rate: 57600 }\n'))).to.deep.equal([
        'mctb.yaml:7:3: sms.modem.device: required key is missing',
      ]);
    });

    it('rejects a baud rate not in the standard list, naming them and the likely one', () => {
      expect(problemsOf(withSms('sms:\n  transport: modem\n  modem:\n    device: /dev/ttyUSB2\n    baud_rate: 11520\n'))).to.deep.equal([
        'mctb.yaml:9:16: sms.modem.baud_rate: expected one of 9600, 19200, 38400, 57600, 115200, 230400, 460800, 921600, got 11520 (did you mean 115200?)',
      ]);
      expect(problemsOf(withSms('sms:\n  transport: modem\n  modem:\n    device: /dev/ttyUSB2\n    baud_rate: 300\n'))).to.deep.equal([
        'mctb.yaml:9:16: sms.modem.baud_rate: expected one of 9600, 19200, 38400, 57600, 115200, 230400, 460800, 921600, got 300',
      ]);
    });

    it('rejects a PIN with letters or of the wrong length, wherever it comes from, and a bad SMSC', () => {
      const modem = (extra: string) => withSms(`sms:\n  transport: modem\n  modem:\n    device: /dev/ttyUSB2\n${extra}`);
      expect(problemsOf(modem('    pin: 12ab\n    smsc: "123"\n'))).to.deep.equal([
        'mctb.yaml:9:10: sms.modem.pin: must be 4 to 8 digits',
        'mctb.yaml:10:11: sms.modem.smsc: "123" is not a phone number',
      ]);
      expect(problemsOf(modem('    pin: 123\n'))).to.deep.equal(['mctb.yaml:9:10: sms.modem.pin: must be 4 to 8 digits']);
      expect(problemsOf(modem(''), { MCTB_MODEM_PIN: 'abcd' })).to.deep.equal(['mctb.yaml: sms.modem.pin: MCTB_MODEM_PIN must be 4 to 8 digits']);
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mctb-pin-'));
      try {
        const pinFile = path.join(dir, 'sim.pin');
        fs.writeFileSync(pinFile, '12345678901\n');
        expect(problemsOf(modem(`    pin_file: ${pinFile}\n`))).to.deep.equal([
          `mctb.yaml:9:15: sms.modem.pin_file: ${JSON.stringify(pinFile)} holds a pin that is not 4 to 8 digits`,
        ]);
      } finally {
        fs.rmSync(dir, { recursive: true, force: true });
      }
    });

    it('keeps the smpp rules for transport smpp, and validates a modem block given with another transport', () => {
      expect(problemsOf(MINIMAL.replace('  transport: log\n', '  transport: smpp\n'))).to.deep.equal([
        'mctb.yaml:5:1: sms.smpp: required when sms.transport is "smpp" (use transport: log for a dry run without a gateway)',
      ]);
      expect(problemsOf(MINIMAL.replace('  transport: log\n', '  transport: log\n  modem: { device: /dev/ttyUSB2, baud_rate: 1 }\n'))).to.deep.equal([
        'mctb.yaml:7:45: sms.modem.baud_rate: expected one of 9600, 19200, 38400, 57600, 115200, 230400, 460800, 921600, got 1',
      ]);
    });
  });
});
