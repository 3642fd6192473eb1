// Whether a call earns a text, and whether a scheduled text may still go out. Pure: the call,
// facts read from the ledger, the config and the current time come in; a decision with a reason
// code and a sentence explaining it goes out. Every rule of the text-back policy is here.

import { isMissed, type EndedCall } from '../calls/types';
import type { BusinessConfig, Limits } from '../config/types';
import { classifyNumber, numberPrefix, type CallerNumber } from '../numbers/phone';
import { isOpenAt, localTime } from './hours';
import { isQuietAt, nextAllowedAt } from './quiet';

/** Why a call was or was not texted; one list, recorded in the ledger and the logs. */
export const CALL_REASONS = [
  'missed', // will be texted
  'answered',
  'unknown_end',
  'outbound',
  'no_business',
  'not_in_missed_on',
  'short_ring',
  'withheld',
  'presentation_unknown',
  'invalid_number',
  'short_code',
  'staff_number', // a staff mobile in the business's notify.sms: staff get alerts, never a text-back
  'excluded',
  'premium_rate',
  'shared_cost',
  'country_not_allowed',
  'landline',
  'do_not_text',
  'opted_out',
  'active_conversation',
  'deduped',
  'rate_limited',
  'late', // would be texted, but the ledger could not record the call until past ledger.late_after
] as const;
export type CallReason = (typeof CALL_REASONS)[number];

export type SendVeto = 'opted_out' | 'do_not_text' | 'deduped' | 'called_back';

export interface CallDecision {
  decision: 'text' | 'no_text';
  reason: CallReason;
  /** One sentence for `mctb why` and the logs. */
  detail: string;
  business?: BusinessConfig;
  /** The caller in E.164, read with the business's country. */
  number?: string;
  /** Which text: the business was open or closed when the call ended. */
  messageKind?: 'open' | 'closed';
  /** The cap that stopped it (rate_limited), e.g. "per_prefix_per_hour". */
  cap?: string;
}

/** Finds the business a DID belongs to: exact numbers first, then patterns in config order. */
export class BusinessDirectory {
  private readonly byDid = new Map<string, BusinessConfig>();
  private readonly patterns: { re: RegExp; business: BusinessConfig }[] = [];

  constructor(readonly businesses: readonly BusinessConfig[]) {
    for (const b of businesses) {
      for (const did of b.dids) if (!this.byDid.has(did)) this.byDid.set(did, b);
      for (const p of b.did_patterns ?? []) this.patterns.push({ re: didPatternRegExp(p), business: b });
    }
  }

  forDid(did: string | undefined): BusinessConfig | undefined {
    if (did === undefined) return undefined;
    return this.byDid.get(did) ?? this.patterns.find((p) => p.re.test(did))?.business;
  }

  isBusinessDid = (did: string): boolean => this.forDid(did) !== undefined;
}

/** "+1555000XXXX" (X: any digit) or "+1555000*" (any remainder) → an anchored RegExp. */
export function didPatternRegExp(pattern: string): RegExp {
  const body = pattern.replace(/\+/g, '\\+').replace(/X/gi, '\\d').replace(/\*$/, '\\d*');
  return new RegExp(`^${body}$`);
}

/** A missed call from a number that may be texted, pending the ledger facts. */
export interface Candidate {
  call: EndedCall;
  business: BusinessConfig;
  caller: CallerNumber;
}

/** First pass, from the call and the config alone. */
export function screenCall(call: EndedCall, business: BusinessConfig | undefined): CallDecision | Candidate {
  if (call.direction !== 'inbound') return no('outbound', 'outbound call');
  if (!business) return no('no_business', `dialled ${call.did ?? call.didRaw}, which no business lists`);
  const b = business;
  const stop = (reason: CallReason, detail: string, number?: string): CallDecision => ({ decision: 'no_text', reason, detail, business: b, number });
  if (call.outcome === 'answered') return stop('answered', 'a person answered');
  if (!isMissed(call.outcome)) return stop('unknown_end', 'the end of the call was not seen (PBX connection lost or call too long)');
  if (!b.missed_on.includes(call.outcome)) return stop('not_in_missed_on', `${call.outcome} is not in missed_on`);
  if ((call.outcome === 'cancel' || call.outcome === 'queue_abandon') && call.ringMs < b.min_ring_ms) {
    return stop('short_ring', `caller hung up after ${fmtSeconds(call.ringMs)}, under min_ring ${fmtSeconds(b.min_ring_ms)}`);
  }
  if (call.withheld) return stop('withheld', 'the caller withheld their number');
  if (call.presentation === 'unknown' && b.presentation_unknown === 'skip') {
    return stop('presentation_unknown', 'the PBX never said whether the caller withheld their number (presentation_unknown: skip)');
  }
  const caller = classifyNumber(call.numberRaw, b.country);
  if (!caller) return stop('invalid_number', 'the caller ID is not a phone number');
  if (caller.shortCode) return stop('short_code', `${caller.number} is a short code`, caller.number);
  if (!caller.valid) return stop('invalid_number', `${caller.number} is not a valid number`, caller.number);
  if (b.notify.sms.includes(caller.number)) return stop('staff_number', `${caller.number} is a staff mobile in notify.sms: staff get alerts, not text-backs`, caller.number);
  const excluded = b.exclude.find((e) => caller.number === e || caller.number.startsWith(e));
  if (excluded) return stop('excluded', `matches exclude entry ${excluded}`, caller.number);
  if (caller.kind === 'premium_rate') return stop('premium_rate', `${caller.number} is a premium-rate number`, caller.number);
  if (caller.kind === 'shared_cost') return stop('shared_cost', `${caller.number} is a shared-cost number`, caller.number);
  if (!caller.region || !b.allowed_countries.includes(caller.region)) {
    return stop('country_not_allowed', `${caller.number} is in ${caller.region ?? 'no known country'}, not in allowed_countries [${b.allowed_countries.join(', ')}]`, caller.number);
  }
  if (b.skip_landlines && caller.kind === 'landline') return stop('landline', `${caller.number} is a landline (skip_landlines)`, caller.number);
  return { call, business: b, caller };
}

export function isCandidate(x: CallDecision | Candidate): x is Candidate {
  return 'caller' in x;
}

/** Texts counted against the caps, each over its own window ending now. */
export interface RateCounts {
  businessHour: number;
  businessDay: number;
  businessPrefixHour: number;
  globalHour: number;
  globalDay: number;
  globalPrefixHour: number;
}

export interface CallFacts {
  optedOut: boolean;
  doNotText: boolean;
  /** Last text sent (or going out) to this number for this business. */
  lastTextAt?: number;
  /** A text to this number for this business is already waiting. */
  pendingText: boolean;
  /** Last message the contact sent us (not a keyword like STOP/HELP). */
  lastInboundMessageAt?: number;
  counts: RateCounts;
}

export interface DecideOptions {
  /**
   * For a call decided late (the ledger could not record it when it ended): a text that would go
   * out more than this after it was due (the hangup plus the business's `delay`) is not sent
   * (`late`). Unset: no such limit (a call decided as it ends).
   */
  lateAfterMs?: number;
}

/** Second pass: the ledger's facts about this caller, and the caps. */
export function decideCandidate(c: Candidate, facts: CallFacts, globalLimits: Limits, now: number, opts: DecideOptions = {}): CallDecision {
  const b = c.business;
  const number = c.caller.number;
  const stop = (reason: CallReason, detail: string, cap?: string): CallDecision => ({ decision: 'no_text', reason, detail, business: b, number, cap });
  if (facts.doNotText) return stop('do_not_text', 'the contact is marked do_not_text');
  if (facts.optedOut) return stop('opted_out', 'the caller opted out');
  if (facts.lastInboundMessageAt !== undefined && now - facts.lastInboundMessageAt < b.active_conversation_window_ms) {
    return stop('active_conversation', `the contact texted us at ${localTime(b.timezone, facts.lastInboundMessageAt)}, ${ago(now - facts.lastInboundMessageAt)} earlier (active_conversation_window)`);
  }
  if (facts.pendingText) return stop('deduped', 'dedupe_window — a text to this caller is already waiting');
  if (facts.lastTextAt !== undefined && now - facts.lastTextAt < b.dedupe_window_ms) {
    return stop('deduped', `dedupe_window — texted ${localTime(b.timezone, facts.lastTextAt)}, ${ago(now - facts.lastTextAt)} earlier`);
  }
  const cap = firstCapReached(b.limits, globalLimits, facts.counts);
  if (cap) return stop('rate_limited', `${cap.scope} ${cap.name} cap of ${cap.limit} reached${cap.name === 'per_prefix_per_hour' ? ` for ${numberPrefix(number)}xxxx` : ''}`, `${cap.scope}.${cap.name}`);
  const dueAt = c.call.endedAt + b.delay_ms;
  if (opts.lateAfterMs !== undefined && now - dueAt > opts.lateAfterMs) {
    return stop(
      'late',
      `recorded ${ago(now - c.call.endedAt)} after the hangup (the ledger could not be written): the text, due ${localTime(b.timezone, dueAt)}, would go out ${ago(now - dueAt)} late, past ledger.late_after ${ago(opts.lateAfterMs)}`,
    );
  }
  const open = isOpenAt(b, c.call.endedAt);
  return {
    decision: 'text',
    reason: 'missed',
    detail: `${c.call.outcome} while ${open ? 'open' : 'closed'}: the ${open ? 'open' : 'closed'}-hours text`,
    business: b,
    number,
    messageKind: open ? 'open' : 'closed',
  };
}

/** Both passes, for callers that have the facts at hand (tests, `mctb why`). */
export function decide(call: EndedCall, business: BusinessConfig | undefined, facts: CallFacts, globalLimits: Limits, now: number, opts: DecideOptions = {}): CallDecision {
  const screened = screenCall(call, business);
  return isCandidate(screened) ? decideCandidate(screened, facts, globalLimits, now, opts) : screened;
}

function firstCapReached(own: Limits, global: Limits, n: RateCounts): { scope: 'business' | 'global'; name: keyof Limits; limit: number } | undefined {
  const checks: [scope: 'business' | 'global', name: keyof Limits, limit: number | undefined, count: number][] = [
    ['business', 'per_prefix_per_hour', own.per_prefix_per_hour, n.businessPrefixHour],
    ['business', 'per_hour', own.per_hour, n.businessHour],
    ['business', 'per_day', own.per_day, n.businessDay],
    ['global', 'per_prefix_per_hour', global.per_prefix_per_hour, n.globalPrefixHour],
    ['global', 'per_hour', global.per_hour, n.globalHour],
    ['global', 'per_day', global.per_day, n.globalDay],
  ];
  for (const [scope, name, limit, count] of checks) if (limit !== undefined && count >= limit) return { scope, name, limit };
  return undefined;
}

export interface SendFacts {
  optedOut: boolean;
  doNotText?: boolean;
  /** When this number was last texted for this business (any other send). */
  lastTextAt?: number;
  /** The caller was answered by a person (called back, or called again) after this missed call. */
  answeredSince: boolean;
}

/** Checked again when a text is due. Returns why it must not go out, or undefined when it may. */
export function vetoSend(facts: SendFacts, dedupeWindowMs: number, now: number): SendVeto | undefined {
  if (facts.doNotText) return 'do_not_text';
  if (facts.optedOut) return 'opted_out';
  if (facts.answeredSince) return 'called_back';
  if (facts.lastTextAt !== undefined && now - facts.lastTextAt < dedupeWindowMs) return 'deduped';
  return undefined;
}

/** What a veto does to the send: a called-back caller cancels it, the others skip it. */
export function vetoState(veto: SendVeto): 'cancelled' | 'skipped' {
  return veto === 'called_back' ? 'cancelled' : 'skipped';
}

export interface DueFacts extends SendFacts {
  /** The contact wrote to us (not a keyword) after the missed call. */
  repliedSince: boolean;
  /** For a follow-up: its call's first text reached the gateway. */
  firstTextSent: boolean;
}

export type DueVerdict =
  | { action: 'send' }
  | { action: 'finish'; state: 'cancelled' | 'skipped'; reason: string }
  | { action: 'wait'; until: number; reason: string };

/**
 * When a text is due, by kind. Replies to STOP/START/HELP always go (a STOP confirmation goes to
 * a number that has just opted out, by law); staff alerts respect an opt-out; the follow-up waits
 * out quiet hours and is dropped once the contact replied or reached a person. A text a person
 * wrote (console, relay) is checked again for an opt-out or do_not_text that came in since it was
 * planned, and nothing else: no caps and no quiet hours, a person is in the loop.
 */
export function checkDue(kind: string, facts: DueFacts, business: BusinessConfig | undefined, now: number): DueVerdict {
  const finish = (state: 'cancelled' | 'skipped', reason: string): DueVerdict => ({ action: 'finish', state, reason });
  switch (kind) {
    case 'text_back': {
      const veto = vetoSend(facts, business?.dedupe_window_ms ?? 0, now);
      return veto ? finish(vetoState(veto), veto) : { action: 'send' };
    }
    case 'follow_up': {
      if (!facts.firstTextSent) return finish('skipped', 'first_text_not_sent');
      if (facts.doNotText) return finish('skipped', 'do_not_text');
      if (facts.optedOut) return finish('skipped', 'opted_out');
      if (facts.answeredSince) return finish('cancelled', 'called_back');
      if (facts.repliedSince) return finish('cancelled', 'replied');
      if (business && isQuietAt(business.quiet_hours, business.timezone, now)) {
        return { action: 'wait', until: nextAllowedAt(business.quiet_hours, business.timezone, now), reason: 'quiet_hours' };
      }
      return { action: 'send' };
    }
    case 'staff_alert':
      return facts.optedOut ? finish('skipped', 'opted_out') : { action: 'send' };
    case 'console':
    case 'relay':
      if (facts.doNotText) return finish('skipped', 'do_not_text');
      if (facts.optedOut) return finish('skipped', 'opted_out');
      return { action: 'send' };
    default:
      return { action: 'send' };
  }
}

function no(reason: CallReason, detail: string): CallDecision {
  return { decision: 'no_text', reason, detail };
}

function fmtSeconds(ms: number): string {
  return `${Math.round(ms / 100) / 10}s`;
}

/** "38 min", "2 h 5 min", "45 s". */
export function ago(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min`;
  const h = Math.floor(m / 60);
  return m % 60 ? `${h} h ${m % 60} min` : `${h} h`;
}
