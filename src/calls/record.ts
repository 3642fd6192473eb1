// One ended call into the ledger: read the caller's facts, plan (src/plans/call.ts), write the
// plan, and hand back what to do once it is committed (wake the outbox and the webhook sender,
// log, report the decision). Runs inside the transaction of a batch (src/calls/decisions.ts).

import { randomUUID } from 'node:crypto';
import type { Config } from '../config/types';
import { part, type Logger } from '../log';
import { maskNumber } from '../numbers/phone';
import { factsQuery, planMissedCall, type CallFactsQuery, type CallPlan } from '../plans/call';
import type { CallDecision, CallFacts, CallReason } from '../policy/decide';
import type { CallEffects } from '../records/rows';
import type { EndedCall } from './types';

export interface CallDecided {
  call: EndedCall;
  business?: string;
  decision: 'text' | 'no_text';
  reason: CallReason;
  /** The decision in one sentence. */
  detail: string;
  sendId?: number;
  dueAt?: number;
  /** false when the ledger already had this call (events replayed). */
  recorded: boolean;
}

/** The ledger as a call's record uses it (Ledger.calls). */
export interface CallLedger {
  facts(number: string, business: string, now: number, caps: CallFactsQuery['caps']): Promise<CallFacts & { contactName?: string }>;
  apply(e: CallEffects): Promise<{ inserted: boolean; sendId?: number; cancelled: number }>;
}

export interface CallRecorderDeps {
  ledger: () => CallLedger;
  /** The config now (a reload may replace it between calls). */
  config: () => Config;
  log: Logger;
  clock: () => number;
  /** After the commit: texts were scheduled, webhook events queued. */
  pokeOutbox: () => void;
  pokeWebhooks: () => void;
  decided: (d: CallDecided) => void;
}

export class CallRecorder {
  /** Running totals since start (shown in logs; the ledger keeps the durable record). */
  readonly counters = { rate_limited: 0 };
  private readonly rateWarned = new Map<string, number>();

  constructor(private readonly d: CallRecorderDeps) {}

  /** Records one ended call and returns what to do once it is committed. `late`: it waited for the ledger. */
  record = async (call: EndedCall, late = false): Promise<() => void> => {
    const ledger = this.d.ledger();
    const now = this.d.clock();
    const config = this.d.config();
    const q = factsQuery(call, config);
    const caller = q ? await ledger.facts(q.number, q.business, now, q.caps) : undefined;
    const plan = planMissedCall(call, { caller, late, eventId: randomUUID() }, config, now);
    if (!plan) return () => undefined; // internal calls are not ours to keep
    const res = await ledger.apply(plan.effects);
    return () => this.after(call, plan, res, now);
  };

  private after(call: EndedCall, plan: CallPlan, res: { inserted: boolean; sendId?: number; cancelled: number }, now: number): void {
    const { verdict, number, dueAt } = plan;
    const recorded = res.inserted;
    if (recorded && plan.effects.sends.length > 0) this.d.pokeOutbox();
    if (recorded && plan.effects.notifications.length > 0) this.d.pokeWebhooks();
    if (recorded && verdict.reason === 'rate_limited') this.noteRateLimited(verdict, now);
    if (res.cancelled > 0 && number) this.d.log.info('waiting text cancelled: caller reached a person', { to: maskNumber(number), count: res.cancelled });
    part(this.d.log, 'calls').info(recorded ? 'call decided' : 'call already in the ledger (replayed events); nothing to do', {
      call: call.callId,
      did: call.did ?? call.didRaw,
      caller: number ? maskNumber(number) : call.withheld ? 'withheld' : 'invalid',
      outcome: call.outcome,
      decision: verdict.decision,
      reason: verdict.reason,
      ...(dueAt !== undefined && recorded ? { text_in_ms: Math.max(0, dueAt - now) } : {}),
    });
    this.d.decided({
      call,
      business: plan.business?.name,
      decision: recorded ? verdict.decision : 'no_text',
      reason: verdict.reason,
      detail: verdict.detail,
      sendId: plan.callTexts > 0 ? res.sendId : undefined,
      dueAt,
      recorded,
    });
  }

  /** Counts every rate-limited call; warns once per cap per hour, not once per call. */
  private noteRateLimited(verdict: CallDecision, now: number): void {
    const key = `${verdict.business?.name ?? ''}/${verdict.cap ?? ''}`;
    this.counters.rate_limited++;
    const window = Math.floor(now / 3600_000);
    if (this.rateWarned.get(key) === window) return;
    this.rateWarned.set(key, window);
    part(this.d.log, 'policy').warn('text cap reached: texts are skipped as rate_limited until the window passes (possible SMS pumping)', {
      business: verdict.business?.name ?? '',
      cap: verdict.cap ?? '',
      detail: verdict.detail,
      rate_limited_total: this.counters.rate_limited,
    });
  }
}
