// Number parsing is remembered per (country, raw value): the answers must be the ones a fresh
// parse gives, per country, and must not be changeable by whoever got them first.

import { expect } from 'chai';
import { classifyNumber, toE164 } from '../../src/numbers/phone';

describe('numbers: toE164 and classifyNumber, remembered', () => {
  it('the same answer every time, and per default country', () => {
    const cases: [raw: string, country: string, e164: string | undefined][] = [
      ['4155550123', 'US', '+14155550123'],
      ['030 1234567', 'DE', '+49301234567'],
      ['12', 'US', undefined],
      ['anonymous', 'US', undefined],
      ['+4930 1234567', 'US', '+49301234567'],
    ];
    for (let round = 0; round < 3; round++) {
      for (const [raw, country, e164] of cases) expect(toE164(raw, country), `${raw} in ${country}, round ${round}`).to.equal(e164);
    }
  });

  it('classifications repeat exactly, and are frozen', () => {
    const first = classifyNumber('+14155550123', 'US');
    const again = classifyNumber('+14155550123', 'US');
    expect(again).to.deep.equal(first);
    expect(first).to.include({ number: '+14155550123', region: 'US' });
    expect(Object.isFrozen(again)).to.equal(true);
    expect(() => {
      (again as { kind: string }).kind = 'mobile';
    }).to.throw(TypeError);
    expect(classifyNumber('72345', 'US')).to.include({ shortCode: true, valid: false });
    expect(classifyNumber('x'.repeat(10_000), 'US'), 'a kilobytes-long caller ID').to.equal(undefined);
  });

  it('many distinct numbers (more than it keeps) still get the right answers', () => {
    for (let i = 0; i < 9000; i++) {
      const raw = `+1415${String(2000000 + i).padStart(7, '0')}`;
      expect(toE164(raw, 'US')).to.equal(raw);
    }
    expect(toE164('4155550123', 'US')).to.equal('+14155550123');
  });
});
