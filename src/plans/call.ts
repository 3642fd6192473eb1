// What an ended call causes, as plain data: its row with the decision and why, the text-back and
// follow-up with their bodies and due times, staff alerts and webhook posts, the callback task,
// and, when the caller reached a person, the cancellation of texts waiting for them. Pure: the
// ledger's facts, the config and the time come in (read and applied by src/calls/decisions.ts).

import { isMissed, type EndedCall } from '../calls/types';
import type { BusinessConfig, Config, Limits } from '../config/types';
import { renderTemplate, sanitizeValue } from '../messages/template';
import { alertsFor } from '../notify/events';
import { composeTextBack, templateValues } from '../policy/compose';
import { BusinessDirectory, decideCandidate, isCandidate, screenCall, type CallDecision, type CallFacts, type CallReason, type Candidate } from '../policy/decide';
import { localTime } from '../policy/hours';
import type { CallEffects, NewSend } from '../records/rows';

/** What the ledger is asked about a caller before the plan is made (Calls.facts). */
export interface CallFactsQuery {
  number: string;
  business: string;
  caps: { own: Limits; global: Limits };
}

export interface MissedCallFacts {
  /** The ledger's facts about the caller; read only when factsQuery asked for them. */
  caller?: CallFacts & { contactName?: string };
  /** The call waited for the ledger (it could not be recorded when it ended): `late` applies. */
  late: boolean;
  /** Id of the webhook event this call may post. */
  eventId: string;
}

export interface CallPlan {
  /** What the ledger writes, in one transaction (Calls.apply). */
  effects: CallEffects;
  verdict: CallDecision;
  business?: BusinessConfig;
  /** The caller in E.164, when known. */
  number?: string;
  /** When the text-back is due, when there is one. */
  dueAt?: number;
  /** Texts of the call itself (text-back, follow-up): effects.sends starts with these. */
  callTexts: number;
}

const directories = new WeakMap<readonly BusinessConfig[], BusinessDirectory>();

/** The business a DID belongs to (the directory is built once per config). */
export function businessOfCall(call: Pick<EndedCall, 'did'>, config: Config): BusinessConfig | undefined {
  let d = directories.get(config.businesses);
  if (!d) directories.set(config.businesses, (d = new BusinessDirectory(config.businesses)));
  return d.forDid(call.did);
}

/** The transports whose texts come from the dialled number unless a business says otherwise. */
const DIALLED_BY_DEFAULT: ReadonlySet<string> = new Set(['twilio', 'telnyx', 'voipms']);

/**
 * The number a text goes out from for a business. With `sms_from: dialled` (the default with the
 * HTTP carriers) that is `on`, the number the conversation is on (the DID the caller dialled, the
 * number a reply was sent to) when it is one of the business's DIDs; else the business's fixed
 * sender (sms_from, source_addr, sms.smpp.source_addr, its first DID).
 */
export function sourceOf(b: BusinessConfig, config: Config, on?: string): string {
  // "dialed", the US spelling, means the same.
  const given = b.sms_from === 'dialed' ? 'dialled' : b.sms_from;
  const from = given ?? (DIALLED_BY_DEFAULT.has(config.sms.transport) ? 'dialled' : undefined);
  if (from === 'dialled' && on !== undefined && b.dids.includes(on)) return on;
  if (from !== undefined && from !== 'dialled') return from;
  return b.source_addr ?? config.sms.smpp?.source_addr ?? b.dids[0] ?? '';
}

const screenings = new WeakMap<EndedCall, { config: Config; business: BusinessConfig | undefined; screened: CallDecision | Candidate }>();

/**
 * The first pass of the decision (config alone), kept per call object: factsQuery and
 * planMissedCall both need it, and reading the number (libphonenumber) twice per call is waste
 * on the hot path. Deterministic, so the cache changes no answer.
 */
function screen(call: EndedCall, config: Config): { business: BusinessConfig | undefined; screened: CallDecision | Candidate } {
  const hit = screenings.get(call);
  if (hit && hit.config === config) return hit;
  const business = businessOfCall(call, config);
  const out = { config, business, screened: screenCall(call, business) };
  screenings.set(call, out);
  return out;
}

/** What to read from the ledger before planning this call; undefined: nothing (the config alone decides). */
export function factsQuery(call: EndedCall, config: Config): CallFactsQuery | undefined {
  const { screened } = screen(call, config);
  if (!isCandidate(screened)) return undefined;
  return { number: screened.caller.number, business: screened.business.name, caps: { own: screened.business.limits, global: config.limits } };
}

/**
 * The plan for one ended call; undefined for an internal call (outbound with no number), which
 * is not ours to keep. `now` is when it is recorded.
 */
export function planMissedCall(call: EndedCall, facts: MissedCallFacts, config: Config, now: number): CallPlan | undefined {
  const { business, screened } = screen(call, config);
  if (!isCandidate(screened) && screened.reason === 'outbound' && !call.number) return undefined;
  let verdict: CallDecision;
  let contactName: string | undefined;
  if (isCandidate(screened)) {
    if (!facts.caller) throw new Error(`planMissedCall: call ${call.callId} needs the caller's facts (factsQuery)`);
    // A call that waited for the ledger is texted only while still in time (ledger.late_after).
    verdict = decideCandidate(screened, facts.caller, config.limits, now, { lateAfterMs: facts.late ? config.ledger.late_after_ms : undefined });
    contactName = facts.caller.contactName;
  } else {
    verdict = screened;
  }
  const number = verdict.number ?? call.number;
  const sends: NewSend[] = [];
  let dueAt: number | undefined;
  if (verdict.decision === 'text' && verdict.business && number) {
    const b = verdict.business;
    dueAt = call.endedAt + b.delay_ms;
    const ctx = { contactName, now };
    const source = sourceOf(b, config, call.did);
    sends.push({ business: b.name, number, sourceAddr: source, body: composeTextBack(b, call, { ...ctx, messageKind: verdict.messageKind ?? 'open' }), dueAt, kind: 'text_back' });
    if (b.follow_up) {
      const body = renderTemplate(b.follow_up.message, templateValues(b, call, ctx));
      sends.push({ business: b.name, number, sourceAddr: source, body, dueAt: dueAt + b.follow_up.after_ms, kind: 'follow_up' });
    }
  }
  const missed = isMissed(call.outcome);
  const alerts = business && call.direction === 'inbound' && missed ? missedCallAlerts(business, call, verdict, number, contactName, facts.eventId, config, now) : { sends: [], notifications: [] };
  const effects: CallEffects = {
    call: {
      callId: call.callId,
      direction: call.direction,
      business: business?.name,
      did: call.did,
      number,
      numberRaw: call.numberRaw,
      callerName: call.callerName,
      outcome: call.outcome,
      decision: verdict.decision,
      reason: verdict.reason,
      detail: verdict.detail,
      startedAt: call.startedAt,
      endedAt: call.endedAt,
      recordedAt: now,
      midway: call.midway,
      presentation: call.direction === 'inbound' ? call.presentation : undefined,
    },
    sends: [...sends, ...alerts.sends],
    notifications: alerts.notifications,
    openTask: business && number && !call.withheld && missed ? { business: business.name, number } : undefined,
    // The caller reached a person (called again, or staff called them): a waiting text would be noise.
    reachedPerson:
      call.outcome === 'answered' && number
        ? { number, business: call.direction === 'inbound' ? business?.name : undefined, cancelReason: 'called_back', closeReason: 'answered' }
        : undefined,
  };
  return { effects, verdict, business, number, dueAt, callTexts: sends.length };
}

/** Reasons a caller cannot be texted even by a person: the alert does not offer to answer them. */
const UNANSWERABLE: ReadonlySet<CallReason> = new Set<CallReason>(['withheld', 'invalid_number', 'short_code', 'premium_rate', 'shared_cost', 'country_not_allowed', 'staff_number', 'do_not_text', 'opted_out']);

function missedCallAlerts(business: BusinessConfig, call: EndedCall, verdict: CallDecision, number: string | undefined, contactName: string | undefined, eventId: string, config: Config, now: number) {
  const answer = number && !call.withheld && !UNANSWERABLE.has(verdict.reason) ? { number, name: contactName || sanitizeValue(call.callerName, 64) || null } : undefined;
  return alertsFor(
    business,
    {
      type: 'missed_call',
      data: {
        call_id: call.callId,
        number: call.withheld ? null : (number ?? null),
        caller_name: call.withheld ? '' : sanitizeValue(call.callerName, 64),
        did: call.did ?? null,
        outcome: call.outcome,
        texted: verdict.decision === 'text',
        reason: verdict.reason,
        at: new Date(call.endedAt).toISOString(),
      },
    },
    { eventId, now, localTime: localTime(business.timezone, call.endedAt), sourceAddr: sourceOf(business, config, call.did), answer },
  );
}
