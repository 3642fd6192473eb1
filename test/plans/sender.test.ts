// Issue 15, "Sender": who a business's texts come from (sms_from), and that every text of a
// conversation goes from the number it is on.

import { expect } from 'chai';
import YAML from 'yaml';
import { parseConfig } from '../../src/config/load';
import type { Config } from '../../src/config/types';
import { sourceOf } from '../../src/plans/call';
import { planInbound } from '../../src/plans/inbound';

const MAIN = '+15550001000';
const AFTER_HOURS = '+15550001009';

function config(sms: Record<string, unknown>, business: Record<string, unknown> = {}): Config {
  return parseConfig(
    YAML.stringify({
      asterisk: { ami: { username: 'm', secret: 's' } },
      sms,
      businesses: [{ name: 'Brightside Dental', dids: [MAIN, AFTER_HOURS], ...business }],
    }),
    '<test>',
    {},
  );
}

describe('sms_from: who texts come from', () => {
  const smpp = { transport: 'smpp', smpp: { system_id: 'm', password: 'p', source_addr: '+15550009999' } };

  it('is the fixed sender with SMPP unless a business says dialled', () => {
    const c = config(smpp);
    expect(sourceOf(c.businesses[0], c, AFTER_HOURS)).to.equal('+15550009999');
    const d = config(smpp, { sms_from: 'dialled' });
    expect(sourceOf(d.businesses[0], d, AFTER_HOURS)).to.equal(AFTER_HOURS);
    expect(sourceOf(d.businesses[0], d, MAIN)).to.equal(MAIN);
  });

  it('falls back to the fixed sender when the number is not one of the business DIDs', () => {
    const d = config(smpp, { sms_from: 'dialled' });
    expect(sourceOf(d.businesses[0], d, '+19995550000')).to.equal('+15550009999');
    expect(sourceOf(d.businesses[0], d)).to.equal('+15550009999');
  });

  it('takes a fixed sms_from (a number or an alphanumeric sender) over source_addr', () => {
    const c = config(smpp, { sms_from: 'BRIGHTSIDE', source_addr: '+15550001000' });
    expect(sourceOf(c.businesses[0], c, AFTER_HOURS)).to.equal('BRIGHTSIDE');
  });

  it('takes "dialed" (US spelling) as dialled, and refuses a sender that is neither, naming the key', () => {
    const d = config(smpp, { sms_from: 'dialed' });
    expect(sourceOf(d.businesses[0], d, AFTER_HOURS)).to.equal(AFTER_HOURS);
    expect(() => config(smpp, { sms_from: '555-0100 main line' })).to.throw(/sms_from: must be dialled, an E\.164 number/);
  });

  it('answers STOP, HELP and replies from the number the text was sent to', () => {
    const c = config(smpp, { sms_from: 'dialled' });
    const plan = planInbound({ from: '+14155550123', to: AFTER_HOURS, text: 'HELP' }, { business: c.businesses[0], optedOut: false, contact: undefined, eventId: 'e1' }, c, 0);
    expect(plan.effects.sends.map((s) => s.sourceAddr)).to.deep.equal([AFTER_HOURS]);
  });
});
