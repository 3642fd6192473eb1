import { expect } from 'chai';
import {
  CORE_TEMPLATE_VARIABLES,
  checkTemplate,
  firstNameFromCallerId,
  parseTemplate,
  renderTemplate,
  sanitizeValue,
} from '../../src/messages/template';

const TEMPLATE = 'Hi{{contact.first_name| }}, sorry {{ business.name }} missed your call from {{caller.number}}.';

describe('messages/template', () => {
  describe('parseTemplate', () => {
    it('splits text and variables, with prefixes and whitespace around names', () => {
      const { parts, problems } = parseTemplate('Hi{{contact.first_name| }}, {{ business.name }}!');
      expect(problems).to.deep.equal([]);
      expect(parts).to.deep.equal([
        { kind: 'text', text: 'Hi' },
        { kind: 'variable', name: 'contact.first_name', prefix: ' ', offset: 2 },
        { kind: 'text', text: ', ' },
        { kind: 'variable', name: 'business.name', prefix: '', offset: 28 },
        { kind: 'text', text: '!' },
      ]);
    });

    it('reports an unclosed "{{" with its offset and keeps it as text', () => {
      const src = 'Hello {{business.name';
      const { parts, problems } = parseTemplate(src);
      expect(problems).to.deep.equal([{ offset: 6, message: 'unclosed "{{"' }]);
      expect(parts).to.deep.equal([{ kind: 'text', text: src }]);
    });

    it('reports an unclosed "{{" followed by a good variable', () => {
      const { parts, problems } = parseTemplate('a {{b c {{caller.number}}');
      expect(problems).to.deep.equal([{ offset: 2, message: 'unclosed "{{"' }]);
      expect(parts.filter((p) => p.kind === 'variable')).to.have.length(1);
      expect(renderTemplate('a {{b c {{caller.number}}', { 'caller.number': '+1555' })).to.equal('a {{b c +1555');
    });

    it('reports empty and malformed names', () => {
      expect(parseTemplate('x {{ }} y').problems).to.deep.equal([{ offset: 2, message: 'empty variable name' }]);
      expect(parseTemplate('{{|hi}}').problems).to.deep.equal([{ offset: 0, message: 'empty variable name' }]);
      expect(parseTemplate('ab{{first name}}').problems).to.deep.equal([{ offset: 2, message: 'malformed variable name "first name"' }]);
      expect(parseTemplate('{{contact..x}}').problems).to.have.length(1);
      expect(parseTemplate('{{1abc}}').problems).to.have.length(1);
    });

    it('treats a stray "}}" as literal text', () => {
      const { parts, problems } = parseTemplate('a }} b');
      expect(problems).to.deep.equal([]);
      expect(parts).to.deep.equal([{ kind: 'text', text: 'a }} b' }]);
    });
  });

  describe('checkTemplate', () => {
    it('accepts the core variables', () => {
      expect(checkTemplate(TEMPLATE, CORE_TEMPLATE_VARIABLES)).to.deep.equal([]);
      expect([...CORE_TEMPLATE_VARIABLES].sort()).to.deep.equal(['business.name', 'caller.number', 'contact.first_name']);
    });

    it('reports unknown variables with did-you-mean', () => {
      expect(checkTemplate('Hi {{contact.firstname}}', CORE_TEMPLATE_VARIABLES)).to.deep.equal([
        { offset: 3, message: 'unknown variable "contact.firstname" (did you mean "contact.first_name"?)' },
      ]);
      expect(checkTemplate('{{caller.first_name}}', CORE_TEMPLATE_VARIABLES)[0]!.message).to.equal(
        'unknown variable "caller.first_name" (did you mean "contact.first_name"?)',
      );
      expect(checkTemplate('{{Business.Name}}', CORE_TEMPLATE_VARIABLES)[0]!.message).to.contain('did you mean "business.name"');
    });

    it('reports unknown variables without a suggestion when nothing is close', () => {
      expect(checkTemplate('{{weather.today}}', CORE_TEMPLATE_VARIABLES)).to.deep.equal([
        { offset: 0, message: 'unknown variable "weather.today"' },
      ]);
    });

    it('lists parse and name problems in source order', () => {
      const problems = checkTemplate('{{bussiness.name}} {{ }} {{caller.numbr', CORE_TEMPLATE_VARIABLES);
      expect(problems.map((p) => p.offset)).to.deep.equal([0, 19, 25]);
      expect(problems[0]!.message).to.contain('did you mean "business.name"');
    });

    it('uses the given set of known names', () => {
      const known = new Set([...CORE_TEMPLATE_VARIABLES, 'business.hours']);
      expect(checkTemplate('{{business.hours}}', known)).to.deep.equal([]);
    });
  });

  describe('renderTemplate', () => {
    const values = { 'business.name': 'Acme Dental', 'caller.number': '+14155550123' };

    it('renders the prefix only when the value is non-empty', () => {
      expect(renderTemplate(TEMPLATE, { ...values, 'contact.first_name': 'Jane' })).to.equal(
        'Hi Jane, sorry Acme Dental missed your call from +14155550123.',
      );
      expect(renderTemplate(TEMPLATE, { ...values, 'contact.first_name': '' })).to.equal(
        'Hi, sorry Acme Dental missed your call from +14155550123.',
      );
      expect(renderTemplate(TEMPLATE, values)).to.equal('Hi, sorry Acme Dental missed your call from +14155550123.');
      expect(renderTemplate('{{a|, dear }}!', { a: 'Bo' })).to.equal(', dear Bo!');
    });

    it('inserts values literally, never re-parsing them', () => {
      const out = renderTemplate(TEMPLATE, { ...values, 'contact.first_name': '{{business.name}}', 'caller.number': '{{caller.number' });
      expect(out).to.equal('Hi {{business.name}}, sorry Acme Dental missed your call from {{caller.number.');
    });

    it('renders unknown names and prototype keys as empty', () => {
      expect(renderTemplate('[{{nope}}][{{constructor}}][{{toString|x}}]', {})).to.equal('[][][]');
    });

    it('renders the same source consistently across calls (cache)', () => {
      const src = 'Call {{business.name}} back';
      expect(renderTemplate(src, { 'business.name': 'A' })).to.equal('Call A back');
      expect(renderTemplate(src, { 'business.name': 'B' })).to.equal('Call B back');
      for (let i = 0; i < 100; i++) renderTemplate(`t${i} {{x}}`, { x: 'y' });
      expect(renderTemplate(src, { 'business.name': 'C' })).to.equal('Call C back');
    });
  });

  describe('sanitizeValue', () => {
    it('strips control and bidi/format characters and collapses whitespace', () => {
      expect(sanitizeValue('  Jane\t\n\x00\x07Doe\x1b[31m \u0085 ', 100)).to.equal('Jane Doe[31m');
      expect(sanitizeValue('\u202EenaJ\u202C \u200BDoe\uFEFF\u2066x\u2069\u200F', 100)).to.equal('enaJ Doex');
      expect(sanitizeValue('a\u0080\u009Fb', 100)).to.equal('ab');
      expect(sanitizeValue('a \u200B b', 100)).to.equal('a b');
    });

    it('truncates a 10 kB value to maxLength', () => {
      const raw = ('Jane\u0001 ' + 'x'.repeat(1000) + '\n').repeat(10);
      expect(raw.length).to.be.greaterThan(10_000);
      const out = sanitizeValue(raw, 64);
      expect(out).to.have.length(64);
      expect(out.startsWith('Jane x')).to.equal(true);
      expect(out).to.not.match(/[\u0000-\u001f]/);
    });

    it('does not split a surrogate pair when truncating', () => {
      expect(sanitizeValue('ab😀c', 3)).to.equal('ab');
      expect(sanitizeValue('ab😀c', 4)).to.equal('ab😀');
      expect(sanitizeValue('abc', 0)).to.equal('');
    });

    it('drops lone surrogates and NFC-normalizes', () => {
      expect(sanitizeValue('a\uD83Db\uDE00c', 10)).to.equal('abc');
      expect(sanitizeValue('Jose\u0301', 10)).to.equal('Jos\u00e9');
    });
  });

  describe('firstNameFromCallerId', () => {
    const cases: [string, string][] = [
      ['', ''],
      ['Anonymous', ''],
      ['<unknown>', ''],
      ['unknown', ''],
      ['Unavailable', ''],
      ['Restricted', ''],
      ['Private', ''],
      ['PRIVATE CALLER', ''],
      ['WIRELESS CALLER', ''],
      ['CELL PHONE   CA', ''],
      ['SAN FRANCISCO CA', ''],
      ['SAN FRANCISCO', ''],
      ['BEVERLY HILLS CA', ''],
      ['TORONTO   ON', ''],
      ['Jane Wa', 'Jane'],
      ['TOLL FREE CALL', ''],
      ['Jane Doe 2', ''],
      ['5551234567', ''],
      ['jane@example.com', ''],
      ['{{business.name}}', ''],
      ['Jane {Doe}', ''],
      ['Jane <Doe>', ''],
      ['Jane "JD" Doe', ''],
      ['J Doe', ''],
      ['J. Doe', ''],
      ['J', ''],
      ['Jane', ''],
      ['Jane ' + 'Doe'.repeat(13), ''],
      ['Maximiliannnnnnnnnnnnn Doe', ''],
      ['ACME LLC', ''],
      ['Acme Inc.', ''],
      ['ACME CORP', ''],
      ['SMITH & CO', ''],
      ['JONES CO', ''],
      ['Bright Smile Dental', ''],
      ['Main Street Clinic', ''],
      ['ST MARY HOSPITAL', ''],
      ['WALGREENS PHARMACY', ''],
      ['LINCOLN HIGH SCHOOL', ''],
      ['CITY OF AUSTIN', ''],
      ['Doe,Jane,Ann', ''],
      [',Jane', ''],
      ['Jane Doe', 'Jane'],
      ['JANE DOE', 'Jane'],
      ['jane doe', 'Jane'],
      ['Doe, Jane', 'Jane'],
      ['DOE,JANE', 'Jane'],
      ['DOE,JANE M', 'Jane'],
      ["Mary-Kate O'Neil", 'Mary-Kate'],
      ["MARY-KATE O'NEIL", 'Mary-Kate'],
      ['José García', 'José'],
      ['JOSÉ GARCÍA', 'José'],
      ['McKenzie Smith', 'McKenzie'],
      ['Dr. Jane Doe', 'Jane'],
      ['  Jane\u200B   Doe\n', 'Jane'],
      ['Jane Park', 'Jane'],
    ];
    for (const [input, expected] of cases) {
      it(`${JSON.stringify(input)} → ${JSON.stringify(expected)}`, () => {
        expect(firstNameFromCallerId(input)).to.equal(expected);
      });
    }

    it('never returns more than 20 characters', () => {
      expect(firstNameFromCallerId('Bartholomewtholomew Doe')).to.equal('Bartholomewtholomew');
      expect(firstNameFromCallerId('Bartholomewtholomewxx Doe')).to.equal('');
    });
  });
});
