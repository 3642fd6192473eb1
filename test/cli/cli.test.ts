// The `mctb` command as users run it: help, version, config check (valid and 8+ invalid files,
// exit code 2 with file:line:column), and the demo.

import { expect } from 'chai';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from '../support/harness';
import { mctb, yamlConfig } from '../support/cli';

const pkg = require('../../../package.json') as { version: string };

describe('mctb command line', function () {
  this.timeout(60_000);
  const { dir, cleanup } = tempDir('mctb-cli-');
  after(cleanup);

  const write = (name: string, text: string): string => {
    const file = join(dir, name);
    writeFileSync(file, text);
    return file;
  };
  const valid = () => yamlConfig({ amiPort: 5038, smppPort: 2775, ledger: join(dir, 'x.db') });

  it('--help lists every command; each command has --help; --version prints the version', async () => {
    const help = await mctb(['--help']);
    expect(help.code).to.equal(0);
    for (const cmd of ['run', 'config', 'demo', 'contacts', 'optout', 'tasks', 'why']) expect(help.stdout).to.match(new RegExp(`^\\s+${cmd}\\b`, 'm'));
    for (const args of [['run', '--help'], ['config', 'check', '--help'], ['demo', '--help']]) {
      const r = await mctb(args);
      expect(r.code, args.join(' ')).to.equal(0);
      expect(r.stdout).to.include('Usage: mctb');
    }
    expect((await mctb(['config', 'check', '--help'])).stdout).to.include('$MCTB_CONFIG');
    const v = await mctb(['--version']);
    expect(v.stdout.trim()).to.equal(pkg.version);
  });

  it('config check: a valid file prints each business text with encoding and segments, exit 0', async () => {
    const file = write('ok.yaml', valid());
    const r = await mctb(['config', 'check', '-c', file]);
    expect(r.code, r.stderr).to.equal(0);
    expect(r.stdout).to.include('Brightside Dental');
    expect(r.stdout).to.include('"Hi Jane, this is Brightside Dental. Sorry we missed your call! How can we help?"');
    expect(r.stdout).to.include('"Hi, this is Brightside Dental. Sorry we missed your call! How can we help?"');
    expect(r.stdout).to.match(/GSM-7, \d+ septets, 1 segment/);
    expect(r.stderr).to.include('secret'); // warning: inline secret
  });

  it('config check: warns when a text takes more than one segment, and shows UCS-2 for emoji', async () => {
    const long = valid().replace('dedupe_window: 1h', `dedupe_window: 1h\n  message: "${'Sorry we missed you at {{business.name}} 🙂 '.repeat(3)}"`);
    const r = await mctb(['config', 'check', '-c', write('long.yaml', long)]);
    expect(r.code, r.stderr).to.equal(0);
    expect(r.stdout).to.include('UCS-2, 132 UTF-16 units, 2 segments');
    expect(r.stdout).to.include('warning: takes 2 segments');
  });

  it('config check reads $MCTB_CONFIG when -c is not given', async () => {
    const file = write('env.yaml', valid());
    const r = await mctb(['config', 'check'], { env: { MCTB_CONFIG: file } });
    expect(r.code, r.stderr).to.equal(0);
    expect(r.stdout).to.include(file);
  });

  const BAD: { name: string; edit: (y: string) => string; message: (file: string) => string }[] = [
    { name: 'yaml syntax', edit: (y) => y.replace('numbers: { default_country: US }', 'numbers: { default_country: US'), message: (f) => `${f}:10:1:` },
    { name: 'unknown top-level key', edit: (y) => y.replace('numbers:', 'numbrs:'), message: (f) => `${f}:9:1: numbrs: unknown key (did you mean "numbers"?)` },
    { name: 'unknown nested key', edit: (y) => y.replace('password: "pw"', 'pasword: "pw"'), message: (_f) => `sms.smpp.pasword: unknown key (did you mean "password"?)` },
    { name: 'port not a number', edit: (y) => y.replace('port: 5038', 'port: abc'), message: (f) => `${f}:2:33: asterisk.ami.port: expected a number from 1 to 65535, got "abc"` },
    { name: 'duration without unit', edit: (y) => y.replace('delay: 0s', 'delay: 30'), message: (f) => `${f}:11:10: defaults.delay:` },
    { name: 'invalid DID', edit: (y) => y.replace('"+15550001001"', '"555"'), message: (f) => `${f}:15:28: businesses[0].dids[1]: "555" is not a phone number` },
    { name: 'bad transport', edit: (y) => y.replace('transport: smpp', 'transport: smtp'), message: (f) => `${f}:6:14: sms.transport: expected one of "smpp", "modem", "log", "twilio", "telnyx", "voipms", got "smtp" (did you mean "smpp"?)` },
    { name: 'bad log level', edit: (y) => y.replace('level: debug', 'level: loud'), message: (f) => `${f}:16:15: log.level:` },
    { name: 'missing secret file', edit: (y) => y.replace('secret: "s3cret"', 'secret_file: /nonexistent/ami.secret'), message: (_f) => `/nonexistent/ami.secret` },
    { name: 'unknown template variable', edit: (y) => y.replace('dedupe_window: 1h', 'dedupe_window: 1h\n  message: "Hi {{contact.firstname}}"'), message: (_f) => `defaults.message: unknown variable "contact.firstname" (did you mean "contact.first_name"?)` },
    { name: 'unknown time zone', edit: (y) => y.replace('dedupe_window: 1h', 'dedupe_window: 1h\n  timezone: America/Chicag'), message: (f) => `${f}:13:13: defaults.timezone: unknown time zone "America/Chicag" (did you mean "America/Chicago"?)` },
    { name: 'overlapping hours', edit: (y) => y.replace('dedupe_window: 1h', 'dedupe_window: 1h\n  hours: { mon-fri: "08:00-12:00,11:00-17:00" }'), message: (f) => `${f}:13:34: defaults.hours.mon-fri: "11:00-17:00" overlaps "08:00-12:00"` },
    { name: 'malformed hours', edit: (y) => y.replace('dedupe_window: 1h', 'dedupe_window: 1h\n  hours: { mon-fri: "8am-5pm" }'), message: (f) => `${f}:13:22: defaults.hours.mon-fri: "8am" is not a time; write HH:MM (24-hour)` },
    { name: 'unknown variable in the closed text', edit: (y) => y.replace('dedupe_window: 1h', 'dedupe_window: 1h\n  messages: { closed: "We open {{business.next_opn}}" }'), message: (f) => `${f}:13:32: defaults.messages.closed: unknown variable "business.next_opn" (did you mean "business.next_open"?)` },
    { name: 'no businesses', edit: (y) => y.replace(/businesses:[\s\S]*?(?=log:)/, ''), message: (_f) => `businesses` },
  ];

  for (const bad of BAD) {
    it(`config check rejects a config with ${bad.name}: file:line:column message, exit 2`, async () => {
      const file = write(`bad-${bad.name.replace(/\W+/g, '-')}.yaml`, bad.edit(valid()));
      const r = await mctb(['config', 'check', '-c', file]);
      expect(r.code, r.stdout + r.stderr).to.equal(2);
      expect(r.stderr).to.include(bad.message(file));
      expect(r.stderr).to.match(new RegExp(`^${file.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}:\\d+:\\d+: `, 'm'));
      expect(r.stdout).to.equal('');
    });
  }

  it('run refuses to start on an invalid config with exit 2, and names a missing file', async () => {
    const r = await mctb(['run', '-c', write('bad-run.yaml', valid().replace('numbers:', 'numbrs:'))]);
    expect(r.code).to.equal(2);
    expect(r.stderr).to.include('numbrs: unknown key');
    const missing = await mctb(['config', 'check', '-c', join(dir, 'nope.yaml')]);
    expect(missing.code).to.equal(2);
    expect(missing.stderr).to.include(`no config file at ${join(dir, 'nope.yaml')} (given with -c)`);
  });

  it('demo runs with no config, exits 0, and its timeline shows a text sent and an answered call not texted', async () => {
    const r = await mctb(['demo'], { env: { MCTB_CONFIG: '/nonexistent.yaml' } });
    expect(r.code, r.stderr).to.equal(0);
    expect(r.stdout).to.match(/SMS\s+submitted to \+14155550123 .*"Hi Jane, this is Brightside Dental/);
    expect(r.stdout).to.match(/RECEIPT\s+delivered/);
    expect(r.stdout).to.match(/CALL\s+Tom Nguyen <\+16175550110>[^\n]*\n[^\n]*OUTCOME\s+answered by a person\n[^\n]*DECISION\s+no text: a person answered/);
    expect(r.stdout).to.match(/DECISION\s+no text: number withheld/);
    // Two-way SMS (issue 16): a reply alerted to the front desk, a STOP confirmed once, callback tasks; a header for an admin.
    expect(r.stdout).to.match(/^mctb demo: what mctb does with your PBX's calls/);
    expect(r.stdout).to.match(/REPLY\s+\+14155550123 texts "Yes please! Can someone call me back after 3\?": a reply/);
    expect(r.stdout).to.match(/ALERT\s+staff alert to \+13125550100: "Brightside Dental: reply from Jane Doe/);
    expect(r.stdout).to.match(/REPLY\s+\+13125550147 texts "STOP": opted out/);
    expect(r.stdout.match(/SMS\s+opt-out confirmation to \+13125550147/g)).to.have.length(1);
    expect(r.stdout).to.match(/TASK\s+call back Jane Doe \+14155550123 for Brightside Dental: 2 missed calls/);
  });

  it('demo --transport modem runs the pipeline against the simulated modem on a pseudo-terminal', async () => {
    const r = await mctb(['demo', '--transport', 'modem'], { timeoutMs: 60_000 });
    expect(r.code, r.stderr).to.equal(0);
    expect(r.stdout).to.include('through a simulated GSM modem (AT commands) on the pseudo-terminal');
    expect(r.stdout).to.match(/SMS\s+submitted to \+14155550123 .*id mr:/);
    expect(r.stdout).to.match(/RECEIPT\s+delivered \(id mr:/);
    expect(r.stdout).to.match(/4 texted, 4 not texted; 4 SMS submitted, 4 delivery receipts/);
  });

  it('demo --json prints one JSON object per line', async () => {
    const r = await mctb(['demo', '--json', '--transport', 'log']);
    expect(r.code, r.stderr).to.equal(0);
    const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as { kind: string; reason?: string });
    expect(lines.some((l) => l.kind === 'SMS')).to.equal(true);
    expect(lines.some((l) => l.kind === 'DECISION' && l.reason === 'answered')).to.equal(true);
    expect(lines[lines.length - 1].kind).to.equal('SUMMARY');
  });

  it('optout add/list/remove and tasks work against the configured ledger', async () => {
    const file = write('ops.yaml', valid());
    const add = await mctb(['optout', 'add', '(415) 555-0123', '-c', file]);
    expect(add.code, add.stderr).to.equal(0);
    expect(add.stdout).to.include('+14155550123 opted out of all businesses');
    const list = await mctb(['optout', 'list', '--json', '-c', file]);
    expect(JSON.parse(list.stdout.trim())).to.include({ number: '+14155550123', business: 'all', source: 'admin' });
    const bad = await mctb(['optout', 'add', '+14155550123', '--business', 'Nope', '-c', file]);
    expect(bad.code).to.equal(2);
    expect(bad.stderr).to.include('no business named "Nope"');
    const remove = await mctb(['optout', 'remove', '+14155550123', '-c', file]);
    expect(remove.stdout).to.include('opted back in');
    expect((await mctb(['optout', 'list', '-c', file])).stdout).to.include('0 opt-outs');
    const tasks = await mctb(['tasks', '-c', file]);
    expect(tasks.code, tasks.stderr).to.equal(0);
    expect(tasks.stdout).to.include('0 open tasks');
    const done = await mctb(['tasks', 'done', '99', '-c', file]);
    expect(done.code).to.equal(1);
    expect(done.stderr).to.include('no task 99');
  });
});
