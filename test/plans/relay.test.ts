// planRelay and planInbound for a staff mobile's text, without SQLite: what is relayed, to whom,
// from which number, and what the staff member is told when nothing is (issue 14, the relay).

import { expect } from 'chai';
import YAML from 'yaml';
import { parseConfig } from '../../src/config/load';
import type { Config } from '../../src/config/types';
import { offeredThread } from '../../src/notify/events';
import { planInbound } from '../../src/plans/inbound';
import { planRelay, readRelayCommand, type RelayTarget } from '../../src/plans/relay';

const SHOP = '+15550001000';
const BETA = '+15550002000';
const JANE = '+14155550123';
const STAFF = '+14155550999';
const NOW = Date.parse('2026-11-18T17:00:00Z');

function config(): Config {
  return parseConfig(
    YAML.stringify({
      asterisk: { ami: { username: 'mctb', secret: 'x' } },
      sms: { transport: 'log' },
      numbers: { default_country: 'US', allowed_countries: ['US'] },
      defaults: { timezone: 'America/Chicago', quiet_hours: '00:00-23:59' },
      businesses: [
        { name: 'Acme', dids: [SHOP], notify: { sms: [STAFF] } },
        { name: 'Beta', dids: [BETA], notify: { sms: [STAFF] } },
        { name: 'Gamma', dids: ['+15550003000'] },
      ],
    }),
    '<test>',
    {},
  );
}

const target = (over: Partial<RelayTarget> = {}): RelayTarget => ({ threadId: 12, business: 'Acme', number: JANE, name: 'Jane', optedOut: false, doNotText: false, ...over });

describe('plans: the staff relay (pure)', () => {
  const cfg = config();
  const acme = cfg.businesses[0];

  it('reads #<thread> at the start, and nothing else', () => {
    expect(readRelayCommand('#12 See you at 3')).to.deep.equal({ threadId: 12, text: 'See you at 3' });
    expect(readRelayCommand('  #7: ok, booked ')).to.deep.equal({ threadId: 7, text: 'ok, booked' });
    expect(readRelayCommand('#12')).to.deep.equal({ threadId: 12, text: '' });
    expect(readRelayCommand('See you at 3, #12')).to.deep.equal({ text: 'See you at 3, #12' });
    expect(readRelayCommand('#12b is your room')).to.deep.equal({ text: '#12b is your room' });
  });

  it('relays the text to the contact from the thread business\'s number, sent_by the staff mobile, and confirms', () => {
    const plan = planRelay(STAFF, 'See you at 3', acme, target(), cfg, NOW);
    expect(plan.outcome).to.equal('sent');
    expect(plan.sends).to.deep.equal([
      { business: 'Acme', number: JANE, sourceAddr: SHOP, body: 'See you at 3', dueAt: NOW, kind: 'relay', sentBy: STAFF },
      { business: 'Acme', number: STAFF, sourceAddr: SHOP, body: 'Sent to Jane.', dueAt: NOW, kind: 'relay_confirm' },
    ]);
    expect(plan.relayedTo).to.deep.equal({ business: 'Acme', number: JANE });
    // No name: the number. A thread of another business listing the mobile: from that business's number.
    const beta = planRelay(STAFF, '#31 Tomorrow works', acme, target({ threadId: 31, business: 'Beta', name: null }), cfg, NOW);
    expect(beta.sends[0]).to.include({ business: 'Beta', sourceAddr: BETA, body: 'Tomorrow works' });
    expect(beta.sends[1]).to.include({ number: STAFF, sourceAddr: SHOP, body: `Sent to ${JANE}.` });
  });

  const refusals: { name: string; text: string; target?: RelayTarget; outcome: string; told: RegExp }[] = [
    { name: 'opted out', text: 'Hi', target: target({ optedOut: true }), outcome: 'opted_out', told: /^Not sent: Jane opted out of Acme texts\.$/ },
    { name: 'do not text (before an opt-out)', text: 'Hi', target: target({ optedOut: true, doNotText: true }), outcome: 'do_not_text', told: /^Not sent: Jane is marked do not text\.$/ },
    { name: 'an unknown #thread', text: '#999 Hi', outcome: 'unknown_thread', told: /no thread #999/ },
    { name: "a thread of a business that does not list the mobile", text: '#5 Hi', target: target({ threadId: 5, business: 'Gamma' }), outcome: 'unknown_thread', told: /no thread #5/ },
    { name: 'no alert in 24 h and no #thread', text: 'Hi', outcome: 'no_alert', told: /no alert to answer in the last 24 h\. Start with the # an alert gave/ },
    { name: 'nothing after #thread', text: '#12', target: target(), outcome: 'empty', told: /nothing to send to Jane/ },
    { name: 'a keyword after #thread', text: '#12 STOP', target: target(), outcome: 'keyword', told: /reads as a keyword/ },
    { name: 'a bare YES (a START word) from a staff mobile', text: 'Yes', target: target(), outcome: 'keyword', told: /reads as a keyword/ },
    { name: "a staff mobile's own thread", text: '#3 hi', target: target({ threadId: 3, number: STAFF }), outcome: 'unknown_thread', told: /staff mobile/ },
  ];
  for (const r of refusals) {
    it(`refuses: ${r.name}; the staff member is told in one text, nothing to the contact`, () => {
      const plan = planRelay(STAFF, r.text, acme, r.target, cfg, NOW);
      expect(plan.outcome).to.equal(r.outcome);
      expect(plan.sends).to.have.length(1);
      expect(plan.sends[0]).to.include({ number: STAFF, kind: 'relay_confirm', sourceAddr: SHOP, dueAt: NOW });
      expect(plan.sends[0].body).to.match(r.told);
      expect(plan.relayedTo).to.equal(undefined);
    });
  }

  it('planInbound: a staff text is relayed, stored as a message, never forwarded to staff or the webhook', () => {
    const plan = planInbound({ from: STAFF, to: SHOP, text: '#12 See you at 3' }, { business: acme, optedOut: false, eventId: 'e', relayTarget: target() }, cfg, NOW);
    expect(plan.action).to.equal('relayed');
    expect(plan.relay).to.equal('sent');
    expect(plan.effects.message).to.include({ business: 'Acme', number: STAFF, body: '#12 See you at 3', keyword: null });
    expect(plan.effects.sends.map((s) => s.kind)).to.deep.equal(['relay', 'relay_confirm']);
    expect(plan.effects.notifications).to.deep.equal([]);
    expect(plan.effects.relayedTo).to.deep.equal({ business: 'Acme', number: JANE });
    // STOP from a staff mobile opts it out, whatever thread it may answer.
    const stop = planInbound({ from: STAFF, to: SHOP, text: 'STOP' }, { business: acme, optedOut: false, eventId: 'e', relayTarget: target() }, cfg, NOW);
    expect(stop.action).to.equal('opted_out');
    expect(stop.effects.sends.map((s) => s.kind)).to.deep.equal(['opt_out_confirm']);
    expect(stop.effects.relayedTo).to.equal(undefined);
  });

  it('reads back the thread an alert offered from its end only', () => {
    expect(offeredThread('Acme: reply from +14155550123: hi Reply to answer Jane (#12).')).to.equal(12);
    expect(offeredThread('Acme: reply from +14155550123: see (#4). thanks')).to.equal(undefined);
    expect(offeredThread('Acme: +14155550123 opted out of texts.')).to.equal(undefined);
  });
});
