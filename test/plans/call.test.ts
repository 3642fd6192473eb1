// planMissedCall, table-driven, without SQLite: every reason of the decision table (README, "What
// counts as a missed call"; CALL_REASONS) with what the plan writes for it: the call row, the
// text-back and follow-up, staff alerts and webhook posts, the callback task, the cancellation
// of waiting texts when the caller reached a person.

import { expect } from 'chai';
import YAML from 'yaml';
import type { EndedCall } from '../../src/calls/types';
import { parseConfig } from '../../src/config/load';
import type { Config } from '../../src/config/types';
import { factsQuery, planMissedCall, type MissedCallFacts } from '../../src/plans/call';
import { CALL_REASONS, type CallFacts, type CallReason } from '../../src/policy/decide';

const SHOP = '+15550001000';
const JANE = '+14155550123';
const STAFF = '+14155550999';
const NOW = Date.parse('2026-11-18T17:00:00Z'); // Wednesday 11:00 CST

function config(business: Record<string, unknown> = {}, top: Record<string, unknown> = {}): Config {
  return parseConfig(
    YAML.stringify({
      asterisk: { ami: { username: 'mctb', secret: 'x' } },
      sms: { transport: 'log' },
      numbers: { default_country: 'US', allowed_countries: ['US'] },
      defaults: { timezone: 'America/Chicago' },
      businesses: [{ name: 'Acme', dids: [SHOP], ...business }],
      ...top,
    }),
    '<test>',
    {},
  );
}

function call(over: Partial<EndedCall> = {}): EndedCall {
  return {
    callId: '1.1',
    direction: 'inbound',
    didRaw: '15550001000',
    did: SHOP,
    context: 'from-trunk',
    numberRaw: JANE,
    number: JANE,
    callerName: 'Jane Doe',
    withheld: false,
    presentation: 'allowed',
    midway: false,
    outcome: 'noanswer',
    startedAt: NOW - 20_000,
    endedAt: NOW,
    ringMs: 20_000,
    dialStatus: 'NOANSWER',
    hangupCause: 16,
    ...over,
  };
}

const NO_COUNTS = { businessHour: 0, businessDay: 0, businessPrefixHour: 0, globalHour: 0, globalDay: 0, globalPrefixHour: 0 };
const CLEAN: CallFacts = { optedOut: false, doNotText: false, pendingText: false, counts: NO_COUNTS };

interface Row {
  name: string;
  reason: CallReason;
  business?: Record<string, unknown>;
  top?: Record<string, unknown>;
  call?: Partial<EndedCall>;
  facts?: Partial<CallFacts> & { contactName?: string };
  late?: boolean;
  now?: number;
  /** Kinds of the sends the plan writes, in order. */
  sends?: string[];
  task?: boolean;
  reached?: boolean;
  notifications?: number;
}

const NOTIFY = { notify: { sms: [STAFF], webhook: { url: 'http://127.0.0.1:9/hook', secret: 'k' }, events: ['missed_call'] } };

const ROWS: Row[] = [
  { name: 'a missed call in hours: the open text', reason: 'missed', sends: ['text_back'], task: true },
  { name: 'with a follow-up', reason: 'missed', business: { follow_up: { after: '2h', message: 'Still need us, {{contact.first_name}}?' } }, sends: ['text_back', 'follow_up'], task: true },
  { name: 'with staff alerts and a webhook', reason: 'missed', business: NOTIFY, sends: ['text_back', 'staff_alert'], notifications: 1, task: true },
  { name: 'answered: waiting texts cancelled, tasks closed', reason: 'answered', call: { outcome: 'answered', dialStatus: 'ANSWER' }, sends: [], reached: true },
  { name: 'unknown end: nothing guessed', reason: 'unknown_end', call: { outcome: 'unknown_end' }, sends: [] },
  { name: 'an outbound call to a customer (staff calling back)', reason: 'outbound', call: { direction: 'outbound', outcome: 'answered' }, sends: [], reached: true },
  { name: 'a DID no business lists', reason: 'no_business', call: { did: '+15550009999', didRaw: '15550009999' }, sends: [] },
  { name: 'busy, not in missed_on', reason: 'not_in_missed_on', business: { missed_on: ['noanswer'] }, call: { outcome: 'busy' }, sends: [], task: true },
  { name: 'a pocket dial', reason: 'short_ring', business: { min_ring: '3s' }, call: { outcome: 'cancel', ringMs: 1000 }, sends: [], task: true },
  { name: 'a withheld caller: alerted, never texted, no task', reason: 'withheld', business: NOTIFY, call: { withheld: true, numberRaw: 'anonymous', number: undefined }, sends: ['staff_alert'], notifications: 1 },
  { name: 'presentation unknown, skip', reason: 'presentation_unknown', business: { presentation_unknown: 'skip' }, call: { presentation: 'unknown' }, sends: [], task: true },
  { name: 'not a phone number', reason: 'invalid_number', call: { numberRaw: 'anonymous', number: undefined }, sends: [] },
  { name: 'a short code', reason: 'short_code', call: { numberRaw: '72345', number: undefined }, sends: [], task: true },
  { name: 'a staff mobile (notify.sms) calls: alerted, never texted', reason: 'staff_number', business: { notify: { sms: [JANE], events: ['missed_call'] } }, sends: ['staff_alert'], task: true },
  { name: 'an excluded staff mobile', reason: 'excluded', business: { exclude: [JANE] }, sends: [], task: true },
  { name: 'premium rate', reason: 'premium_rate', call: { numberRaw: '+19005551234', number: '+19005551234' }, sends: [], task: true },
  { name: 'shared cost', reason: 'shared_cost', business: { allowed_countries: ['US', 'FR'] }, call: { numberRaw: '+33810123456', number: '+33810123456' }, sends: [], task: true },
  { name: 'a Canadian +1 number with [US]', reason: 'country_not_allowed', call: { numberRaw: '+16475550123', number: '+16475550123' }, sends: [], task: true },
  { name: 'a landline with skip_landlines', reason: 'landline', business: { allowed_countries: ['GB'], skip_landlines: true }, call: { numberRaw: '+442071234567', number: '+442071234567' }, sends: [], task: true },
  { name: 'marked do_not_text', reason: 'do_not_text', facts: { doNotText: true }, sends: [], task: true },
  { name: 'opted out', reason: 'opted_out', facts: { optedOut: true }, sends: [], task: true },
  { name: 'texted us 10 minutes ago', reason: 'active_conversation', facts: { lastInboundMessageAt: NOW - 600_000 }, sends: [], task: true },
  { name: 'a text already waiting', reason: 'deduped', facts: { pendingText: true }, sends: [], task: true },
  { name: 'a cap reached', reason: 'rate_limited', facts: { counts: { ...NO_COUNTS, businessHour: 60 } }, sends: [], task: true },
  { name: 'recorded past ledger.late_after', reason: 'late', late: true, business: { delay: '0s' }, now: NOW + 11 * 60_000, sends: [], task: true },
];

describe('plans: planMissedCall (pure, table-driven)', () => {
  for (const row of ROWS) {
    it(`${row.reason}: ${row.name}`, () => {
      const cfg = config(row.business, row.top);
      const c = call(row.call);
      const now = row.now ?? NOW;
      const q = factsQuery(c, cfg);
      const facts: MissedCallFacts = { caller: q ? { ...CLEAN, ...row.facts } : undefined, late: row.late ?? false, eventId: 'ev-1' };
      const plan = planMissedCall(c, facts, cfg, now);
      expect(plan, 'a plan').to.not.equal(undefined);
      const e = plan!.effects;
      expect(plan!.verdict.reason).to.equal(row.reason);
      expect(e.call.reason).to.equal(row.reason);
      expect(e.call.decision).to.equal(row.reason === 'missed' ? 'text' : 'no_text');
      expect(e.call.recordedAt).to.equal(now);
      expect(e.call.detail).to.be.a('string').and.not.equal('');
      expect(e.sends.map((s) => s.kind)).to.deep.equal(row.sends ?? []);
      expect(e.notifications.length).to.equal(row.notifications ?? 0);
      expect(e.openTask !== undefined, 'callback task').to.equal(row.task ?? false);
      expect(e.reachedPerson !== undefined, 'cancels waiting texts').to.equal(row.reached ?? false);
      expect(plan!.callTexts).to.equal(e.sends.filter((s) => s.kind === 'text_back' || s.kind === 'follow_up').length);
    });
  }

  it('has a row for every reason in CALL_REASONS', () => {
    const covered = new Set(ROWS.map((r) => r.reason));
    const missing = CALL_REASONS.filter((r) => !covered.has(r));
    expect(missing, 'reasons with no row in ROWS').to.deep.equal([]);
  });

  it('the text-back: its body, due time after delay, source; the follow-up after it', () => {
    const cfg = config({ delay: '30s', messages: { open: 'Hi {{contact.first_name}}, sorry we missed you at {{business.name}}.' }, follow_up: { after: '2h', message: 'Still need us?' } });
    const plan = planMissedCall(call(), { caller: { ...CLEAN, contactName: 'Doe, Janet' }, late: false, eventId: 'e' }, cfg, NOW)!;
    const [text, follow] = plan.effects.sends;
    expect(text).to.include({ business: 'Acme', number: JANE, sourceAddr: SHOP, dueAt: NOW + 30_000, kind: 'text_back' });
    expect(text.body).to.equal('Hi Janet, sorry we missed you at Acme.');
    expect(follow).to.include({ dueAt: NOW + 30_000 + 7_200_000, kind: 'follow_up', body: 'Still need us?' });
    expect(plan.dueAt).to.equal(NOW + 30_000);
  });

  it('the staff alert and the webhook event say why it was not texted, with the event id given', () => {
    const plan = planMissedCall(call(), { caller: { ...CLEAN, optedOut: true }, late: false, eventId: 'ev-42' }, config(NOTIFY), NOW)!;
    expect(plan.effects.sends[0]).to.include({ number: STAFF, kind: 'staff_alert' });
    expect(plan.effects.sends[0].body).to.match(/not texted: opted_out/);
    const body = JSON.parse(plan.effects.notifications[0].body);
    expect(body).to.include({ id: 'ev-42', type: 'missed_call', business: 'Acme' });
    expect(body.data).to.include({ texted: false, reason: 'opted_out', number: JANE });
  });

  it('the staff alert offers to answer the caller by name (the ledger writes the thread id), unless they cannot be texted', () => {
    const plan = planMissedCall(call(), { caller: { ...CLEAN, contactName: 'Janet Doe' }, late: false, eventId: 'e' }, config(NOTIFY), NOW)!;
    const alert = plan.effects.sends.find((s) => s.kind === 'staff_alert')!;
    expect(alert.body).to.match(/; texted back\. Reply to answer Janet Doe \(#\{thread\}\)\.$/);
    expect(alert.replyThread).to.equal(JANE);
    // No name in the ledger: the caller-ID name; none: the number.
    const byCallerId = planMissedCall(call(), { caller: { ...CLEAN }, late: false, eventId: 'e' }, config(NOTIFY), NOW)!;
    expect(byCallerId.effects.sends[1].body).to.match(/Reply to answer Jane Doe \(#\{thread\}\)\.$/);
    const byNumber = planMissedCall(call({ callerName: '' }), { caller: { ...CLEAN }, late: false, eventId: 'e' }, config(NOTIFY), NOW)!;
    expect(byNumber.effects.sends[1].body).to.match(/Reply to answer \+14155550123 \(#\{thread\}\)\.$/);
    for (const [name, c, facts] of [
      ['opted out', call(), { ...CLEAN, optedOut: true }],
      ['withheld', call({ withheld: true, numberRaw: 'anonymous', number: undefined }), undefined],
      ['premium rate', call({ numberRaw: '+19005551234', number: '+19005551234' }), undefined],
    ] as const) {
      const p = planMissedCall(c, { caller: facts, late: false, eventId: 'e' }, config(NOTIFY), NOW)!;
      const a = p.effects.sends.find((s) => s.kind === 'staff_alert')!;
      expect(a.body, name).to.not.match(/Reply to answer/);
      expect(a.replyThread, name).to.equal(undefined);
    }
  });

  it('an answered inbound call cancels waiting texts of that business; an outbound one of any business', () => {
    const inbound = planMissedCall(call({ outcome: 'answered' }), { caller: undefined, late: false, eventId: 'e' }, config(), NOW)!;
    expect(inbound.effects.reachedPerson).to.deep.equal({ number: JANE, business: 'Acme', cancelReason: 'called_back', closeReason: 'answered' });
    const outbound = planMissedCall(call({ direction: 'outbound', outcome: 'answered' }), { caller: undefined, late: false, eventId: 'e' }, config(), NOW)!;
    expect(outbound.effects.reachedPerson).to.deep.equal({ number: JANE, business: undefined, cancelReason: 'called_back', closeReason: 'answered' });
  });

  it('an internal call (outbound, no number) is not planned at all', () => {
    expect(planMissedCall(call({ direction: 'outbound', number: undefined, numberRaw: '101' }), { late: false, eventId: 'e' }, config(), NOW)).to.equal(undefined);
  });

  it('asks the ledger only about candidates, and refuses to plan one without its facts', () => {
    expect(factsQuery(call({ outcome: 'answered' }), config())).to.equal(undefined);
    expect(factsQuery(call(), config())).to.deep.include({ number: JANE, business: 'Acme' });
    expect(() => planMissedCall(call(), { late: false, eventId: 'e' }, config(), NOW)).to.throw(/needs the caller's facts/);
  });

  it('is pure: the same input gives the same plan', () => {
    const f = (): MissedCallFacts => ({ caller: { ...CLEAN }, late: false, eventId: 'e' });
    const cfg = config(NOTIFY);
    expect(planMissedCall(call(), f(), cfg, NOW)).to.deep.equal(planMissedCall(call(), f(), cfg, NOW));
  });
});
