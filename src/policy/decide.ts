// Whether a call earns a text, and whether a scheduled text may still go out. Pure: facts from
// the ledger and the current time come in as arguments; a decision with a reason code goes out.

import { isMissed, type EndedCall } from '../calls/types';
import type { BusinessConfig } from '../config/types';

/** Why a call was or was not texted; one list, recorded in the ledger and the logs. */
export type CallReason =
  | 'missed' // will be texted
  | 'answered'
  | 'unknown_end'
  | 'outbound'
  | 'no_business'
  | 'withheld'
  | 'invalid_number'
  | 'opted_out'
  | 'deduped';

export type SendVeto = 'opted_out' | 'deduped' | 'called_back';

export interface CallDecision {
  decision: 'text' | 'no_text';
  reason: CallReason;
  business?: BusinessConfig;
}

/** Finds the business a DID belongs to. */
export class BusinessDirectory {
  private readonly byDid = new Map<string, BusinessConfig>();
  constructor(readonly businesses: readonly BusinessConfig[]) {
    for (const b of businesses) for (const did of b.dids) if (!this.byDid.has(did)) this.byDid.set(did, b);
  }
  forDid(did: string | undefined): BusinessConfig | undefined {
    return did === undefined ? undefined : this.byDid.get(did);
  }
  get dids(): ReadonlySet<string> {
    return new Set(this.byDid.keys());
  }
}

/** First pass, from the call alone: is this a missed call from a textable caller to a business? */
export function decideOnCall(call: EndedCall, business: BusinessConfig | undefined): CallDecision {
  if (call.direction !== 'inbound') return { decision: 'no_text', reason: 'outbound' };
  if (!business) return { decision: 'no_text', reason: 'no_business' };
  const no = (reason: CallReason): CallDecision => ({ decision: 'no_text', reason, business });
  if (call.outcome === 'answered') return no('answered');
  if (!isMissed(call.outcome)) return no('unknown_end');
  if (call.withheld) return no('withheld');
  if (!call.number) return no('invalid_number');
  return { decision: 'text', reason: 'missed', business };
}

export interface SendFacts {
  optedOut: boolean;
  /** When this number was last texted for this business (any other send). */
  lastTextAt?: number;
  /** Another text to this number for this business is already waiting. */
  otherPending?: boolean;
  /** The caller was answered by a person (called back, or called again) after this missed call. */
  answeredSince: boolean;
}

/**
 * Checked when a text is scheduled and again when it is due. Returns why it must not go out, or
 * undefined when it may.
 */
export function vetoSend(facts: SendFacts, dedupeWindowMs: number, now: number): SendVeto | undefined {
  if (facts.optedOut) return 'opted_out';
  if (facts.answeredSince) return 'called_back';
  if (facts.otherPending) return 'deduped';
  if (facts.lastTextAt !== undefined && now - facts.lastTextAt < dedupeWindowMs) return 'deduped';
  return undefined;
}

/** What a veto does to the send: a called-back caller cancels it, the others skip it. */
export function vetoState(veto: SendVeto): 'cancelled' | 'skipped' {
  return veto === 'called_back' ? 'cancelled' : 'skipped';
}
