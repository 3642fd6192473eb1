// Must-show 1 (issue 3): the decision, table-driven, every rule and reason code, with opening
// hours across daylight-saving changes in two time zones and dated closures.

import { expect } from 'chai';
import YAML from 'yaml';
import { parseConfig } from '../../src/config/load';
import type { Config } from '../../src/config/types';
import type { EndedCall } from '../../src/calls/types';
import { CALL_REASONS, checkDue, decide, vetoSend, type CallFacts, type CallReason, type DueFacts } from '../../src/policy/decide';
import { forEachEngine, openLedger } from '../support/engines';

function config(business: Record<string, unknown>, top: Record<string, unknown> = {}): Config {
  return parseConfig(
    YAML.stringify({
      asterisk: { ami: { username: 'mctb', secret: 'x' } },
      sms: { transport: 'log' },
      numbers: { default_country: 'US', allowed_countries: ['US'] },
      defaults: { timezone: 'America/Chicago' },
      businesses: [{ name: 'Acme', dids: ['+15550001000'], ...business }],
      ...top,
    }),
    '<test>',
    {},
  );
}

const utc = (iso: string) => Date.parse(iso);
const NOW = utc('2026-11-18T17:00:00Z'); // Wednesday 11:00 CST

function call(over: Partial<EndedCall> = {}): EndedCall {
  return {
    callId: '1.1',
    direction: 'inbound',
    didRaw: '15550001000',
    did: '+15550001000',
    context: 'from-trunk',
    numberRaw: '+14155550123',
    number: '+14155550123',
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
const facts = (over: Partial<CallFacts> = {}): CallFacts => ({ optedOut: false, doNotText: false, pendingText: false, counts: NO_COUNTS, ...over });

interface Row {
  name: string;
  business?: Record<string, unknown>;
  top?: Record<string, unknown>;
  call?: Partial<EndedCall>;
  facts?: Partial<CallFacts>;
  did?: string;
  now?: number;
  /** DecideOptions.lateAfterMs: the call waited for the ledger. */
  lateAfterMs?: number;
  reason: CallReason;
  kind?: 'open' | 'closed';
  detail?: RegExp;
}

const HOURS = { hours: { 'mon-fri': '08:00-12:00,13:00-17:30', sat: '09:00-12:00' }, closed: ['2026-12-25', '2026-12-31 12:00-23:59'] };
const ALL_WEEK = { hours: { 'mon-sun': '08:00-17:00' } };

const ROWS: Row[] = [
  { name: 'a missed call in open hours gets the open text', business: HOURS, reason: 'missed', kind: 'open' },
  { name: 'lunch break is closed', business: HOURS, call: { endedAt: utc('2026-11-18T18:30:00Z') }, reason: 'missed', kind: 'closed' },
  { name: 'Sunday is closed', business: HOURS, call: { endedAt: utc('2026-11-22T16:00:00Z') }, reason: 'missed', kind: 'closed' },
  { name: 'Saturday morning is open', business: HOURS, call: { endedAt: utc('2026-11-21T16:00:00Z') }, reason: 'missed', kind: 'open' },
  { name: 'a dated closure closes a weekday', business: HOURS, call: { endedAt: utc('2026-12-25T16:00:00Z') }, reason: 'missed', kind: 'closed' },
  { name: 'a partial closure: morning open', business: HOURS, call: { endedAt: utc('2026-12-31T16:00:00Z') }, reason: 'missed', kind: 'open' },
  { name: 'a partial closure: afternoon closed', business: HOURS, call: { endedAt: utc('2026-12-31T19:30:00Z') }, reason: 'missed', kind: 'closed' },
  { name: 'no hours: always open', call: { endedAt: utc('2026-11-22T08:00:00Z') }, reason: 'missed', kind: 'open' },
  // Daylight saving, America/Chicago: spring forward 2026-03-08, fall back 2026-11-01 (both Sundays).
  { name: 'Chicago spring-forward day 08:30 CDT is open', business: ALL_WEEK, call: { endedAt: utc('2026-03-08T13:30:00Z') }, reason: 'missed', kind: 'open' },
  { name: 'Chicago spring-forward day 07:30 CDT is closed', business: ALL_WEEK, call: { endedAt: utc('2026-03-08T12:30:00Z') }, reason: 'missed', kind: 'closed' },
  { name: 'Chicago fall-back day 16:30 CST is open', business: ALL_WEEK, call: { endedAt: utc('2026-11-01T22:30:00Z') }, reason: 'missed', kind: 'open' },
  { name: 'Chicago fall-back day 17:30 CST is closed', business: ALL_WEEK, call: { endedAt: utc('2026-11-01T23:30:00Z') }, reason: 'missed', kind: 'closed' },
  { name: 'Chicago fall-back day 07:30 CST is closed', business: ALL_WEEK, call: { endedAt: utc('2026-11-01T13:30:00Z') }, reason: 'missed', kind: 'closed' },
  // Europe/Berlin: spring forward 2026-03-29, fall back 2026-10-25.
  { name: 'Berlin spring-forward day 08:30 CEST is open', business: { ...ALL_WEEK, timezone: 'Europe/Berlin' }, call: { endedAt: utc('2026-03-29T06:30:00Z') }, reason: 'missed', kind: 'open' },
  { name: 'Berlin spring-forward day 07:59 CEST is closed', business: { ...ALL_WEEK, timezone: 'Europe/Berlin' }, call: { endedAt: utc('2026-03-29T05:59:00Z') }, reason: 'missed', kind: 'closed' },
  { name: 'Berlin fall-back day 08:00 CET is open', business: { ...ALL_WEEK, timezone: 'Europe/Berlin' }, call: { endedAt: utc('2026-10-25T07:00:00Z') }, reason: 'missed', kind: 'open' },
  { name: 'Berlin fall-back day 07:59 CET is closed', business: { ...ALL_WEEK, timezone: 'Europe/Berlin' }, call: { endedAt: utc('2026-10-25T06:59:00Z') }, reason: 'missed', kind: 'closed' },
  { name: 'Berlin fall-back day 16:59 CET is open', business: { ...ALL_WEEK, timezone: 'Europe/Berlin' }, call: { endedAt: utc('2026-10-25T15:59:00Z') }, reason: 'missed', kind: 'open' },
  // The call itself.
  { name: 'answered', call: { outcome: 'answered' }, reason: 'answered' },
  { name: 'end never seen', call: { outcome: 'unknown_end' }, reason: 'unknown_end' },
  { name: 'outbound', call: { direction: 'outbound' }, reason: 'outbound' },
  { name: 'a DID no business lists', did: '+15559999999', reason: 'no_business' },
  { name: 'an outcome outside missed_on', business: { missed_on: ['noanswer', 'busy'] }, call: { outcome: 'voicemail' }, reason: 'not_in_missed_on' },
  { name: 'a pocket dial under min_ring (caller hung up)', business: { min_ring: '5s' }, call: { outcome: 'cancel', ringMs: 3000 }, reason: 'short_ring', detail: /3s, under min_ring 5s/ },
  { name: 'min_ring does not apply to a ring-out', business: { min_ring: '5s' }, call: { outcome: 'noanswer', ringMs: 3000 }, reason: 'missed' },
  { name: 'a queue abandon over min_ring', business: { min_ring: '5s' }, call: { outcome: 'queue_abandon', ringMs: 12_000 }, reason: 'missed' },
  { name: 'withheld', call: { withheld: true }, reason: 'withheld' },
  // The number.
  { name: 'not a number', call: { numberRaw: 'anonymous', number: undefined }, reason: 'invalid_number' },
  { name: 'an internal extension', call: { numberRaw: '101', number: undefined }, reason: 'short_code' },
  { name: 'a short code', call: { numberRaw: '72345', number: undefined }, reason: 'short_code' },
  { name: 'an invalid number (555 exchange in a fictional area)', call: { numberRaw: '+15550001234', number: '+15550001234' }, reason: 'invalid_number' },
  { name: 'a staff mobile of the business (notify.sms)', business: { notify: { sms: ['+14155550123'] } }, reason: 'staff_number', detail: /staff mobile/ },
  { name: 'a staff mobile of another business is a caller like any', business: { notify: { sms: ['+14155550999'] } }, reason: 'missed' },
  { name: 'an excluded number', business: { exclude: ['+14155550123'] }, reason: 'excluded', detail: /\+14155550123/ },
  { name: 'an excluded prefix', business: { exclude: ['+1415'] }, reason: 'excluded', detail: /\+1415/ },
  { name: 'national form read with the business country', business: { exclude: ['4155550123'] }, call: { numberRaw: '4155550123' }, reason: 'excluded' },
  { name: 'premium rate', call: { numberRaw: '+19005551234' }, reason: 'premium_rate' },
  { name: 'shared cost', business: { allowed_countries: ['US', 'FR'] }, call: { numberRaw: '+33810123456' }, reason: 'shared_cost' },
  { name: 'Canada is +1 but not US', call: { numberRaw: '+16475550123' }, reason: 'country_not_allowed' },
  { name: 'a foreign mobile', call: { numberRaw: '+447911123456' }, reason: 'country_not_allowed' },
  { name: 'allowed_countries lets it through', business: { allowed_countries: ['US', 'CA'] }, call: { numberRaw: '+16475550123' }, reason: 'missed' },
  { name: 'presentation unknown, presentation_unknown: text (default)', call: { presentation: 'unknown' }, reason: 'missed' },
  { name: 'presentation unknown, presentation_unknown: skip', business: { presentation_unknown: 'skip' }, call: { presentation: 'unknown' }, reason: 'presentation_unknown' },
  { name: 'presentation allowed, presentation_unknown: skip', business: { presentation_unknown: 'skip' }, call: { presentation: 'allowed' }, reason: 'missed' },
  { name: 'a landline with skip_landlines', business: { allowed_countries: ['GB'], skip_landlines: true }, call: { numberRaw: '+442071234567' }, reason: 'landline' },
  { name: 'a landline without skip_landlines', business: { allowed_countries: ['GB'] }, call: { numberRaw: '+442071234567' }, reason: 'missed' },
  { name: 'a mobile with skip_landlines', business: { allowed_countries: ['GB'], skip_landlines: true }, call: { numberRaw: '+447400123456' }, reason: 'missed' },
  // The ledger.
  { name: 'do_not_text contact', facts: { doNotText: true }, reason: 'do_not_text' },
  { name: 'opted out', facts: { optedOut: true }, reason: 'opted_out' },
  { name: 'texted us 2 h ago', facts: { lastInboundMessageAt: NOW - 2 * 3600_000 }, reason: 'active_conversation', detail: /2 h earlier/ },
  { name: 'texted us 25 h ago', facts: { lastInboundMessageAt: NOW - 25 * 3600_000 }, reason: 'missed' },
  { name: 'a text already waiting', facts: { pendingText: true }, reason: 'deduped' },
  { name: 'texted 38 min ago', facts: { lastTextAt: NOW - 38 * 60_000 }, reason: 'deduped', detail: /dedupe_window — texted 10:22 AM, 38 min earlier/ },
  { name: 'texted 61 min ago', facts: { lastTextAt: NOW - 61 * 60_000 }, reason: 'missed' },
  { name: 'business per_hour cap', facts: { counts: { ...NO_COUNTS, businessHour: 60 } }, reason: 'rate_limited', detail: /business per_hour cap of 60/ },
  { name: 'business per_day cap', facts: { counts: { ...NO_COUNTS, businessDay: 300 } }, reason: 'rate_limited', detail: /per_day cap of 300/ },
  { name: 'business per_prefix_per_hour cap', facts: { counts: { ...NO_COUNTS, businessPrefixHour: 5 } }, reason: 'rate_limited', detail: /per_prefix_per_hour cap of 5 reached for \+1415555xxxx/ },
  { name: 'under every cap', facts: { counts: { ...NO_COUNTS, businessHour: 59, businessDay: 299, businessPrefixHour: 4 } }, reason: 'missed' },
  { name: 'own caps from the business', business: { limits: { per_hour: 2 } }, facts: { counts: { ...NO_COUNTS, businessHour: 2 } }, reason: 'rate_limited' },
  { name: 'a global cap across businesses', top: { limits: { per_hour: 10 } }, facts: { counts: { ...NO_COUNTS, globalHour: 10 } }, reason: 'rate_limited', detail: /global per_hour/ },
  { name: 'no global cap by default', facts: { counts: { ...NO_COUNTS, globalHour: 100_000 } }, reason: 'missed' },
  // A call that waited for the ledger (disk full): texted while the text would be at most late_after past due.
  { name: 'recorded 11 min after the hangup, late_after 10 min', business: { delay: '0s' }, now: NOW + 11 * 60_000, lateAfterMs: 600_000, reason: 'late', detail: /recorded 11 min after the hangup .* due 11:00 AM, would go out 11 min late, past ledger.late_after 10 min/ },
  { name: 'recorded 9 min after the hangup, late_after 10 min', business: { delay: '0s' }, now: NOW + 9 * 60_000, lateAfterMs: 600_000, reason: 'missed' },
  { name: 'recorded 11 min after the hangup with delay 5m: 6 min past due', business: { delay: '5m' }, now: NOW + 11 * 60_000, lateAfterMs: 600_000, reason: 'missed' },
  { name: 'recorded 16 min after the hangup with delay 5m: 11 min past due', business: { delay: '5m' }, now: NOW + 16 * 60_000, lateAfterMs: 600_000, reason: 'late', detail: /due 11:05 AM/ },
  { name: 'late but opted out: opted_out first', business: { delay: '0s' }, now: NOW + 60 * 60_000, lateAfterMs: 600_000, facts: { optedOut: true }, reason: 'opted_out' },
];

describe('text-back decision (table)', () => {
  for (const row of ROWS) {
    it(`${row.name} → ${row.reason}${row.kind ? ` (${row.kind})` : ''}`, () => {
      const cfg = config(row.business ?? {}, row.top);
      const c = call({ ...(row.did ? { did: row.did } : {}), ...row.call });
      const business = row.did ? undefined : cfg.businesses[0];
      const d = decide(c, business, facts(row.facts), cfg.limits, row.now ?? c.endedAt, { lateAfterMs: row.lateAfterMs });
      expect(d.reason, d.detail).to.equal(row.reason);
      expect(d.decision).to.equal(row.reason === 'missed' ? 'text' : 'no_text');
      expect(d.detail).to.be.a('string').and.not.equal('');
      if (row.kind) expect(d.messageKind).to.equal(row.kind);
      if (row.detail) expect(d.detail).to.match(row.detail);
    });
  }

  it('covers every reason code', () => {
    const covered = new Set(ROWS.map((r) => r.reason));
    expect(CALL_REASONS.filter((r) => !covered.has(r))).to.deep.equal([]);
  });

  it('vetoes a due text: do_not_text, opted out, called back, deduped', () => {
    const now = NOW;
    expect(vetoSend({ optedOut: false, answeredSince: false }, 3600_000, now)).to.equal(undefined);
    expect(vetoSend({ optedOut: false, doNotText: true, answeredSince: false }, 3600_000, now)).to.equal('do_not_text');
    expect(vetoSend({ optedOut: true, answeredSince: false }, 3600_000, now)).to.equal('opted_out');
    expect(vetoSend({ optedOut: false, answeredSince: true }, 3600_000, now)).to.equal('called_back');
    expect(vetoSend({ optedOut: false, answeredSince: false, lastTextAt: now - 1000 }, 3600_000, now)).to.equal('deduped');
  });
});

/** Quiet all day, and caps that any text would exceed: neither applies to a person's text. */
const quietAndCapped = () => config({ quiet_hours: '00:00-23:59', limits: { per_hour: 0, per_day: 0, per_prefix_per_hour: 0 } }).businesses[0];

describe('checkDue: texts a person wrote (console, relay)', () => {
  const b = quietAndCapped();
  const clean: DueFacts = { optedOut: false, doNotText: false, answeredSince: false, repliedSince: false, firstTextSent: false };

  for (const kind of ['console', 'relay']) {
    it(`${kind}: goes out in quiet hours and past the caps; skipped for an opt-out or do_not_text`, () => {
      expect(checkDue(kind, clean, b, NOW)).to.deep.equal({ action: 'send' });
      expect(checkDue(kind, { ...clean, answeredSince: true, repliedSince: true, lastTextAt: NOW - 1000 }, b, NOW)).to.deep.equal({ action: 'send' });
      expect(checkDue(kind, { ...clean, optedOut: true }, b, NOW)).to.deep.equal({ action: 'finish', state: 'skipped', reason: 'opted_out' });
      expect(checkDue(kind, { ...clean, doNotText: true }, b, NOW)).to.deep.equal({ action: 'finish', state: 'skipped', reason: 'do_not_text' });
    });
  }
});

forEachEngine('checkDue: texts a person wrote, over the ledger\'s facts', (engine) => {
  const b = quietAndCapped();

  it('a relay row made by hand for an opted-out (or do-not-text) number is skipped at due time, from the ledger\'s facts', async () => {
    const l = await openLedger(engine);
    try {
      const send = { business: 'Acme', sourceAddr: '+15550001000', body: 'See you at 3', dueAt: NOW, kind: 'relay', sentBy: '+14155550999' };
      const optedId = await l.sends.schedule({ ...send, number: '+14155550123' }, NOW);
      await l.optOuts.add('+14155550123', 'Acme', 'sms', NOW);
      const opted = (await l.sends.get(optedId))!;
      expect(opted).to.include({ kind: 'relay', sent_by: '+14155550999' });
      expect(checkDue(opted.kind, await l.sends.dueFacts(opted), b, NOW)).to.deep.equal({ action: 'finish', state: 'skipped', reason: 'opted_out' });

      const dntId = await l.sends.schedule({ ...send, number: '+14155550124' }, NOW);
      await l.contacts.upsert({ number: '+14155550124', name: 'Tom', tags: [], doNotText: true }, NOW);
      const dnt = (await l.sends.get(dntId))!;
      expect(checkDue(dnt.kind, await l.sends.dueFacts(dnt), b, NOW)).to.deep.equal({ action: 'finish', state: 'skipped', reason: 'do_not_text' });

      const fineId = await l.sends.schedule({ ...send, number: '+14155550125' }, NOW);
      const fine = (await l.sends.get(fineId))!;
      expect(checkDue(fine.kind, await l.sends.dueFacts(fine), b, NOW)).to.deep.equal({ action: 'send' });
    } finally {
      await l.close();
    }
  });
});
