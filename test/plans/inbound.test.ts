// planInbound, table-driven, without SQLite: every keyword path of an incoming text (STOP and its
// synonyms, START, HELP/INFO, an ordinary reply forwarded, a reply from a staff mobile, an
// opted-out sender, a reply that later cancels a follow-up, a text to a number no business uses).

import { expect } from 'chai';
import YAML from 'yaml';
import { parseConfig } from '../../src/config/load';
import type { Config } from '../../src/config/types';
import { inboundBusinesses, planInbound, type InboundFacts } from '../../src/plans/inbound';
import { checkDue } from '../../src/policy/decide';

const SHOP = '+15550001000';
const OTHER = '+15550002000';
const JANE = '+14155550123';
const STAFF = '+14155550999';
const NOW = Date.parse('2026-11-18T17:00:00Z');

function config(top: Record<string, unknown> = {}): Config {
  return parseConfig(
    YAML.stringify({
      asterisk: { ami: { username: 'mctb', secret: 'x' } },
      sms: { transport: 'log' },
      numbers: { default_country: 'US', allowed_countries: ['US'] },
      defaults: { timezone: 'America/Chicago' },
      businesses: [
        {
          name: 'Acme',
          dids: [SHOP],
          help: '{{business.name}}: call 555-0100.',
          opt_out_message: 'You are opted out of {{business.name}} texts.',
          opt_in_message: 'Welcome back to {{business.name}}.',
          notify: { sms: [STAFF], webhook: { url: 'http://127.0.0.1:9/hook', secret: 'k' }, events: ['reply', 'opt_out'] },
        },
        { name: 'Beta', dids: [OTHER] },
      ],
      ...top,
    }),
    '<test>',
    {},
  );
}

interface Row {
  name: string;
  text: string;
  from?: string;
  optedOut?: boolean;
  top?: Record<string, unknown>;
  action: string;
  keyword: 'stop' | 'start' | 'help' | null;
  /** Kinds of the sends, in order. */
  sends: string[];
  notifications: number;
  optOut?: string;
  optIn?: string;
  cancels?: string;
}

const ROWS: Row[] = [
  { name: 'STOP', text: 'STOP', action: 'opted_out', keyword: 'stop', sends: ['opt_out_confirm', 'staff_alert'], notifications: 1, optOut: 'Acme', cancels: 'Acme' },
  { name: 'stop, any case and punctuation', text: 'Stop.', action: 'opted_out', keyword: 'stop', sends: ['opt_out_confirm', 'staff_alert'], notifications: 1, optOut: 'Acme', cancels: 'Acme' },
  { name: 'a text starting with a stop word', text: 'stop texting me please', action: 'opted_out', keyword: 'stop', sends: ['opt_out_confirm', 'staff_alert'], notifications: 1, optOut: 'Acme', cancels: 'Acme' },
  ...['STOPALL', 'UNSUBSCRIBE', 'CANCEL', 'END', 'QUIT', 'REVOKE', 'OPTOUT', 'STOP IN ANY FORM'].map(
    (w): Row => ({ name: `synonym ${w}`, text: w, action: 'opted_out', keyword: 'stop', sends: ['opt_out_confirm', 'staff_alert'], notifications: 1, optOut: 'Acme', cancels: 'Acme' }),
  ),
  { name: 'STOP with opt_out_scope all', text: 'STOP', top: { compliance: { opt_out_scope: 'all' } }, action: 'opted_out', keyword: 'stop', sends: ['opt_out_confirm', 'staff_alert'], notifications: 1, optOut: '*', cancels: '*' },
  { name: 'STOP again: confirmed once only', text: 'STOP', optedOut: true, action: 'already_opted_out', keyword: 'stop', sends: [], notifications: 0, cancels: 'Acme' },
  { name: 'START when opted out', text: 'START', optedOut: true, action: 'opted_in', keyword: 'start', sends: ['opt_in_confirm'], notifications: 0, optIn: 'Acme' },
  { name: 'UNSTOP when opted out', text: 'unstop', optedOut: true, action: 'opted_in', keyword: 'start', sends: ['opt_in_confirm'], notifications: 0, optIn: 'Acme' },
  { name: 'YES when not opted out is a reply', text: 'Yes', action: 'reply', keyword: null, sends: ['staff_alert'], notifications: 1 },
  { name: 'HELP', text: 'HELP', action: 'help_sent', keyword: 'help', sends: ['help'], notifications: 0 },
  { name: 'INFO', text: 'info?', action: 'help_sent', keyword: 'help', sends: ['help'], notifications: 0 },
  { name: 'HELP from an opted-out sender still gets help', text: 'HELP', optedOut: true, action: 'help_sent', keyword: 'help', sends: ['help'], notifications: 0 },
  { name: 'an ordinary reply, forwarded', text: 'Yes, Tuesday works', action: 'reply', keyword: null, sends: ['staff_alert'], notifications: 1 },
  { name: 'a reply from an opted-out sender is still forwarded', text: 'Are you open today?', optedOut: true, action: 'reply', keyword: null, sends: ['staff_alert'], notifications: 1 },
  // A staff mobile's text is an answer to relay (test/plans/relay.test.ts), never forwarded as a reply; here with no alert to answer.
  { name: 'a text from a staff mobile is not forwarded; with nothing to answer, staff are told how', text: 'On my way', from: STAFF, action: 'relay_refused', keyword: null, sends: ['relay_confirm'], notifications: 0 },
  { name: 'STOP from a staff mobile opts it out, nothing relayed', text: 'STOP', from: STAFF, action: 'opted_out', keyword: 'stop', sends: ['opt_out_confirm'], notifications: 1, optOut: 'Acme', cancels: 'Acme' },
  { name: 'HELP from a staff mobile gets the help text', text: 'help', from: STAFF, action: 'help_sent', keyword: 'help', sends: ['help'], notifications: 0 },
];

const facts = (cfg: Config, over: Partial<InboundFacts> = {}): InboundFacts => ({ business: cfg.businesses[0], optedOut: false, contact: { name: 'Jane Doe', caller_id_name: 'JANE D' }, eventId: 'ev-1', ...over });

describe('plans: planInbound (pure, table-driven)', () => {
  for (const row of ROWS) {
    it(`${row.action}: ${row.name}`, () => {
      const cfg = config(row.top);
      const from = row.from ?? JANE;
      const plan = planInbound({ from, to: SHOP, text: row.text }, facts(cfg, { optedOut: row.optedOut ?? false }), cfg, NOW);
      const e = plan.effects;
      expect(plan.action).to.equal(row.action);
      expect(plan.keyword).to.equal(row.keyword);
      expect(e.message).to.deep.equal({ business: 'Acme', number: from, to: SHOP, body: row.text, keyword: row.keyword, receivedAt: NOW });
      expect(e.sends.map((s) => s.kind)).to.deep.equal(row.sends);
      expect(e.notifications.length).to.equal(row.notifications);
      expect(e.optOut?.scope).to.equal(row.optOut);
      expect(e.optIn?.scope).to.equal(row.optIn);
      expect(e.cancelScheduled).to.deep.equal(row.cancels ? { scope: row.cancels, reason: 'opted_out' } : undefined);
      for (const s of e.sends) expect(s.dueAt).to.equal(NOW);
    });
  }

  it('replies are rendered from the business templates, to the sender, from its number', () => {
    const cfg = config();
    const stop = planInbound({ from: JANE, to: SHOP, text: 'STOP' }, facts(cfg), cfg, NOW);
    expect(stop.effects.sends[0]).to.include({ number: JANE, sourceAddr: SHOP, body: 'You are opted out of Acme texts.' });
    expect(stop.effects.sends[1]).to.include({ number: STAFF, kind: 'staff_alert' });
    expect(JSON.parse(stop.effects.notifications[0].body)).to.include({ id: 'ev-1', type: 'opt_out' });
    const help = planInbound({ from: JANE, to: SHOP, text: 'help' }, facts(cfg), cfg, NOW);
    expect(help.effects.sends[0].body).to.equal('Acme: call 555-0100.');
    const reply = planInbound({ from: JANE, to: SHOP, text: 'Tuesday?' }, facts(cfg), cfg, NOW);
    expect(reply.effects.sends[0].body).to.equal('Acme: reply from Jane Doe +14155550123: Tuesday? Reply to answer Jane Doe (#{thread}).');
    expect(reply.effects.sends[0].replyThread).to.equal(JANE);
    // An opted-out or do-not-text sender's reply is forwarded with no offer to answer.
    const opted = planInbound({ from: JANE, to: SHOP, text: 'Tuesday?' }, facts(cfg, { optedOut: true }), cfg, NOW);
    expect(opted.effects.sends[0].body).to.equal('Acme: reply from Jane Doe +14155550123: Tuesday?');
    const dnt = planInbound({ from: JANE, to: SHOP, text: 'Tuesday?' }, facts(cfg, { contact: { name: null, caller_id_name: null, do_not_text: 1 } }), cfg, NOW);
    expect(dnt.effects.sends[0].body).to.equal('Acme: reply from +14155550123: Tuesday?');
  });

  it('a reply counts as conversation and cancels a follow-up when it is due; a keyword does not', () => {
    const cfg = config();
    const reply = planInbound({ from: JANE, to: SHOP, text: 'thanks, booked' }, facts(cfg), cfg, NOW);
    expect(reply.effects.message.keyword).to.equal(null); // what Sends' due facts read as "replied since"
    const help = planInbound({ from: JANE, to: SHOP, text: 'HELP' }, facts(cfg), cfg, NOW);
    expect(help.effects.message.keyword).to.equal('help');
    const due = { optedOut: false, answeredSince: false, repliedSince: true, firstTextSent: true };
    expect(checkDue('follow_up', due, cfg.businesses[0], NOW + 3_600_000)).to.deep.equal({ action: 'finish', state: 'cancelled', reason: 'replied' });
  });

  it('the business: the one whose number it was sent to; every business for a number none uses (unknown DID)', () => {
    const cfg = config();
    expect(inboundBusinesses(SHOP, cfg).map((b) => b.name)).to.deep.equal(['Acme']);
    expect(inboundBusinesses(OTHER, cfg).map((b) => b.name)).to.deep.equal(['Beta']);
    expect(inboundBusinesses('+15559999999', cfg).map((b) => b.name)).to.deep.equal(['Acme', 'Beta']);
    // A text to an unknown number is planned for the business chosen (here the first listed).
    const plan = planInbound({ from: JANE, to: '+15559999999', text: 'hello?' }, facts(cfg), cfg, NOW);
    expect(plan.effects.message).to.include({ business: 'Acme', to: '+15559999999' });
  });
});
