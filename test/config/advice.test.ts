// The config mistakes a new admin makes (issue 16), each answered with advice at file:line:column
// rather than the YAML parser's raw words: quotes around "{{…}}" and around a text holding ": ",
// tabs, a list item indented off its list, a file that is not YAML, an empty file, a DID without
// its area code, a legacy time zone abbreviation, and the example's placeholder secrets.

import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError, parseConfigWithWarnings } from '../../src/config/load';

const BASE = 'asterisk:\n  ami: { username: mctb }\nsms: { transport: log }\nledger: { path: /tmp/x.db }\nnumbers: { default_country: US }\n';
/** The AMI secret from the environment: no warning about it in the way. */
const ENV = { MCTB_AMI_SECRET: 's3cret' };
const ONE_BUSINESS = 'businesses:\n  - name: A\n    dids: ["+15550001000"]\n';

function problems(text: string): string[] {
  try {
    parseConfigWithWarnings(text, 'mctb.yaml', ENV);
  } catch (e) {
    if (e instanceof ConfigError) return e.problems.map((p) => `${p.line}:${p.column} ${p.path ? `${p.path}: ` : ''}${p.message}`);
    throw e;
  }
  return [];
}

function warnings(text: string): string[] {
  return parseConfigWithWarnings(text, 'mctb.yaml', ENV).warnings.map((w) => `${w.line}:${w.column} ${w.path ? `${w.path}: ` : ''}${w.message}`);
}

const CASES: { name: string; text: string; want: RegExp[] }[] = [
  {
    name: 'an unquoted value starting with {{',
    text: `${BASE}defaults:\n  message: {{business.name}} missed you\n${ONE_BUSINESS}`,
    want: [/^7:\d+ a value that starts with "\{\{" must be in quotes.*: message: "\{\{business\.name\}\} missed you"$/],
  },
  {
    name: 'a colon inside an unquoted message',
    text: `${BASE}defaults:\n  message: Hi: we missed your call\n${ONE_BUSINESS}`,
    want: [/^7:\d+ this text holds ": ", which YAML reads as a new key: put the whole text in quotes: message: "Hi: we missed your call"$/],
  },
  {
    name: 'tabs: one problem naming the first line and the count',
    text: 'asterisk:\n\tami:\n\t\thost: x\n',
    want: [/^2:1 tabs indent 2 lines \(the first is line 2\); YAML indents with spaces only/],
  },
  {
    name: 'a list item indented one space off',
    text: `${BASE}${ONE_BUSINESS}   - name: B\n`,
    want: [/^9:\d+ the list "businesses": this item's "-" is at column 4, but the list's items start at column 3 \(line 7\)/],
  },
  {
    name: "an item's key indented one space off",
    text: `${BASE}businesses:\n  - name: A\n   dids: ["+15550001000"]\n`,
    want: [/the list "businesses": this line starts at column 4; an item's keys line up with the first one after its "-" \(column 5\)/],
  },
  {
    name: 'an INI file',
    text: '[asterisk]\nhost = 127.0.0.1\nport = 5038\n',
    want: [/^1:1 this looks like an INI file .*start from config\/mctb\.example\.yaml$/],
  },
  {
    name: 'JSON with comments',
    text: '{\n  // the PBX\n  "asterisk": {}\n}\n',
    want: [/^2:1 this looks like JSON with comments/],
  },
  { name: 'an empty file', text: '', want: [/^1:1 the file is empty \(or only comments\); start from config\/mctb\.example\.yaml$/] },
  { name: 'only comments', text: '# nothing yet\n', want: [/^1:1 the file is empty/] },
  {
    name: 'a DID without its area code',
    text: `${BASE}businesses:\n  - name: A\n    dids: ["555-0100"]\n`,
    want: [/^8:\d+ businesses\[0\]\.dids\[0\]: "555-0100" is not a phone number: the area code \(or country code\) is missing; read with country US/],
  },
  {
    name: 'timezone: EST',
    text: `${BASE}defaults:\n  timezone: EST\n${ONE_BUSINESS}`,
    want: [/^7:\d+ defaults\.timezone: "EST" is a fixed offset or an abbreviation, not a place: it ignores summer time.*did you mean "America\/New_York"\?/],
  },
  {
    name: 'timezone: pst (any case)',
    text: `${BASE}${ONE_BUSINESS}    timezone: pst\n`,
    want: [/did you mean "America\/Los_Angeles"\?/],
  },
];

describe('config advice for the mistakes people make', () => {
  for (const c of CASES) {
    it(c.name, () => {
      const got = problems(c.text);
      expect(got, got.join('\n')).to.have.length(c.want.length);
      c.want.forEach((re, i) => expect(got[i]).to.match(re));
    });
  }

  it('timezone: Etc/GMT+5 is accepted with a warning that it is UTC−5 and keeps no summer time', () => {
    const w = warnings(`${BASE}defaults:\n  timezone: Etc/GMT+5\n${ONE_BUSINESS}`);
    expect(w.some((l) => /^7:\d+ defaults\.timezone: Etc\/GMT\+5 is a fixed offset \(no summer time\), and its sign is inverted: Etc\/GMT\+5 is UTC−5/.test(l)), w.join('\n')).to.equal(true);
  });

  it('a real IANA zone gets no warning', () => {
    expect(warnings(`${BASE}defaults:\n  timezone: America/New_York\n${ONE_BUSINESS}`)).to.deep.equal([]);
  });

  it('the unedited example: its change-me secrets are named as the placeholder they are', () => {
    const file = join(__dirname, '..', '..', '..', 'config', 'mctb.example.yaml');
    const w = parseConfigWithWarnings(readFileSync(file, 'utf8'), file, {}).warnings.map((x) => `${x.path}: ${x.message}`);
    expect(w.filter((l) => /is still the example's placeholder "change-me": set the real secret/.test(l)).map((l) => l.split(':')[0])).to.have.members([
      'asterisk.ami.secret',
      'sms.smpp.password',
    ]);
  });
});
