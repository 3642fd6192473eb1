// Ended calls the ledger could not record (disk full, read-only, locked past busy_timeout): kept
// in memory in the order they ended and tried again, with backoff, until the ledger takes them.
// Calls that end meanwhile wait behind them, so calls are still recorded (and deduped) in order.
// Bounded: past `bound` calls the oldest are dropped, and counted. Nothing here survives a
// restart (a stop logs how many calls it loses). The caller passes the time in; what the queue
// does is logged here (namespace mctb:ledger), once per outage and then at most once a minute.

import type { Logger } from '../log';
import type { EndedCall } from './types';

/** Calls kept at most (about 1 KB each). */
export const UNWRITTEN_BOUND = 10_000;
/** The first retry comes this long after a failed write; each failure doubles it, up to RETRY_MAX_MS. */
export const RETRY_FIRST_MS = 1000;
export const RETRY_MAX_MS = 10_000;
/**
 * A call that fails while other calls of its attempt are written fails for a reason of its own,
 * not the ledger's: after this many such failures it is given up, so one bad call cannot hold
 * the queue (and every call behind it) for ever.
 */
export const OWN_FAILURES_MAX = 3;

/** Why a call was lost for good: dropped from a full queue, or failing on its own (OWN_FAILURES_MAX). */
export type LostReason = 'retry_queue_full' | 'write_failed';

export interface UnwrittenOptions {
  bound?: number;
  firstRetryMs?: number;
  maxRetryMs?: number;
  ownFailuresMax?: number;
  log?: Logger;
  /** Counts calls lost for good (a metric). */
  onLost?: (reason: LostReason, count: number) => void;
}

/** Repeated log lines (still down, queue full) at most this often. */
const REPEAT_LOG_MS = 60_000;

interface Waiting {
  call: EndedCall;
  ownFailures: number;
}

export interface AttemptOutcome {
  /** Calls dropped for good after OWN_FAILURES_MAX failures of their own. */
  givenUp: EndedCall[];
  /** The oldest calls dropped because the queue was full. */
  dropped: number;
}

export class UnwrittenCalls {
  private queue: Waiting[] = [];
  private readonly index = new Map<EndedCall, Waiting>();
  private readonly bound: number;
  private readonly firstRetryMs: number;
  private readonly maxRetryMs: number;
  private readonly ownFailuresMax: number;
  /** The wait before the next retry; 0 while the last attempt wrote something. */
  private backoffMs = 0;
  private retryAt = 0;
  /** Calls dropped because the queue was full, since start. */
  droppedTotal = 0;
  /** When the queue last went from empty to not empty (the ledger outage as the calls saw it). */
  since?: number;
  private readonly log?: Logger;
  private readonly onLost: (reason: LostReason, count: number) => void;
  private warnedAt = -Infinity;
  private droppedUnlogged = 0;
  private droppedLoggedAt = -Infinity;

  constructor(opts: UnwrittenOptions = {}) {
    this.bound = Math.max(1, opts.bound ?? UNWRITTEN_BOUND);
    this.firstRetryMs = opts.firstRetryMs ?? RETRY_FIRST_MS;
    this.maxRetryMs = Math.max(this.firstRetryMs, opts.maxRetryMs ?? RETRY_MAX_MS);
    this.ownFailuresMax = Math.max(1, opts.ownFailuresMax ?? OWN_FAILURES_MAX);
    this.log = opts.log;
    this.onLost = opts.onLost ?? (() => undefined);
  }

  get size(): number {
    return this.queue.length;
  }

  /** Whether this call is waiting here (it failed to be written before, or waits behind one that did). */
  has(call: EndedCall): boolean {
    return this.index.has(call);
  }

  /** Calls that ended while others wait here: they go behind them, untried. Returns how many of the oldest were dropped. */
  add(calls: readonly EndedCall[], now: number): number {
    for (const call of calls) this.push(call, now);
    return this.trim(now);
  }

  /** Whether a retry may run now. */
  due(now: number): boolean {
    return this.queue.length > 0 && now >= this.retryAt;
  }

  /** When the next retry may run; undefined when nothing waits. */
  get nextRetryAt(): number | undefined {
    return this.queue.length > 0 ? this.retryAt : undefined;
  }

  /** The oldest calls, up to `max`, to try writing; they stay here until attempted() says. */
  oldest(max: number): EndedCall[] {
    return this.queue.slice(0, max).map((w) => w.call);
  }

  /**
   * What became of an attempt to write `calls` (the oldest waiting here, or, when none wait, calls
   * just ended): `written[i]` for calls[i]. Written calls leave; the others stay, or are added
   * behind what waits. Nothing written: the ledger is down, so the next retry waits longer (1 s,
   * doubling to 10 s). Something written: the ledger works, so the rest is tried again at once,
   * and the calls that failed count a failure of their own. `errors[i]`: why calls[i] failed.
   */
  attempted(calls: readonly EndedCall[], written: readonly boolean[], now: number, errors: readonly (string | undefined)[] = []): AttemptOutcome {
    const anyWritten = written.some(Boolean);
    const waitingBefore = this.queue.length;
    const since = this.since ?? now;
    const leave = new Set<Waiting>();
    const givenUp: EndedCall[] = [];
    calls.forEach((call, i) => {
      const w = this.index.get(call);
      if (written[i]) {
        if (w) leave.add(w);
        return;
      }
      const waiting = w ?? this.push(call, now);
      if (anyWritten && ++waiting.ownFailures >= this.ownFailuresMax) {
        leave.add(waiting);
        givenUp.push(call);
      }
    });
    if (leave.size > 0) this.remove(leave);
    if (anyWritten) {
      this.backoffMs = 0;
      this.retryAt = now;
    } else {
      this.backoffMs = this.backoffMs === 0 ? this.firstRetryMs : Math.min(this.maxRetryMs, this.backoffMs * 2);
      this.retryAt = now + this.backoffMs;
    }
    const error = errors.find((e) => e !== undefined) ?? '';
    if (!anyWritten && waitingBefore === 0) {
      this.warnedAt = now;
      this.log?.error('the ledger cannot be written: ended calls wait in memory and are recorded (and texted, if still in time) when it can (retry_queue in /healthz)', { calls: this.queue.length, error });
    } else if (!anyWritten && now - this.warnedAt >= REPEAT_LOG_MS) {
      this.warnedAt = now;
      this.log?.warn('the ledger still cannot be written', { waiting: this.queue.length, since: new Date(since).toISOString(), error });
    }
    calls.forEach((call, i) => {
      if (written[i] || !anyWritten) return;
      if (givenUp.includes(call)) this.log?.error('could not record a call, though other calls were recorded; given up, its events are lost', { call: call.callId, error: errors[i] ?? '' });
      else this.log?.warn('could not record a call; trying again', { call: call.callId, error: errors[i] ?? '' });
    });
    if (givenUp.length > 0) this.onLost('write_failed', givenUp.length);
    if (waitingBefore > 0 && this.queue.length === 0) this.log?.warn('the ledger works again: every waiting call is recorded', { waited_ms: now - since });
    return { givenUp, dropped: this.trim(now) };
  }

  /** Something else was just written to the ledger: it works again, so try now (the backoff starts over). */
  ledgerWorks(now: number): void {
    if (this.queue.length === 0 || this.retryAt <= now) return;
    this.backoffMs = 0;
    this.retryAt = now;
  }

  /** Everything waiting, taken out and logged as lost (a stop: nothing here outlives the process). */
  clear(): EndedCall[] {
    const calls = this.queue.map((w) => w.call);
    this.queue = [];
    this.index.clear();
    this.since = undefined;
    if (calls.length > 0) {
      this.log?.error('stopping with ended calls the ledger could not record: they are lost (not recorded, not texted)', {
        calls: calls.length,
        oldest_ended_at: new Date(Math.min(...calls.map((c) => c.endedAt))).toISOString(),
      });
    }
    return calls;
  }

  private push(call: EndedCall, now: number): Waiting {
    if (this.queue.length === 0) this.since = now;
    const w = { call, ownFailures: 0 };
    this.queue.push(w);
    this.index.set(call, w);
    return w;
  }

  private remove(leave: ReadonlySet<Waiting>): void {
    this.queue = this.queue.filter((w) => !leave.has(w));
    for (const w of leave) this.index.delete(w.call);
    if (this.queue.length === 0) {
      this.since = undefined;
      this.backoffMs = 0;
    }
  }

  /** Drops the oldest past the bound; returns how many. */
  private trim(now: number): number {
    const over = this.queue.length - this.bound;
    if (over <= 0) return 0;
    for (const w of this.queue.slice(0, over)) this.index.delete(w.call);
    this.queue = this.queue.slice(over);
    this.droppedTotal += over;
    this.onLost('retry_queue_full', over);
    this.droppedUnlogged += over;
    if (now - this.droppedLoggedAt >= REPEAT_LOG_MS) {
      this.droppedLoggedAt = now;
      this.log?.error(`retry queue full (${this.bound} calls): the oldest calls waiting for the ledger were dropped, their events lost`, {
        dropped: this.droppedUnlogged,
        dropped_total: this.droppedTotal,
      });
      this.droppedUnlogged = 0;
    }
    return over;
  }
}
