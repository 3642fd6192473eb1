// The queue of ended calls on their way into the ledger, with back-pressure on the PBX: past
// `pause` calls waiting, the PBX's events stop being read (TCP back-pressure: the socket buffers
// fill and Asterisk holds the rest) until fewer than `resume` wait. A burst the ledger cannot keep
// up with waits in the PBX, not in this process's memory. Calls the ledger could not record go to
// the retry queue (src/calls/unwritten.ts) and are tried again with backoff.

import type { Logger } from '../log';
import type { EndedCall } from './types';
import type { UnwrittenCalls } from './unwritten';

/** Calls recorded in one transaction at most: small enough that the outbox, queued behind a batch, waits milliseconds. */
export const DECISION_BATCH = 50;
export const BACKLOG_PAUSE = 1000;
export const BACKLOG_RESUME = 500;

export interface DecisionsOptions {
  /**
   * Runs each fn in one transaction, each settling alone (Ledger.batchEach). Ended calls are
   * committed relaxed (`relaxed: true`: no fsync of their own; the outbox's claim makes them durable).
   */
  batchEach<T>(fns: readonly (() => Promise<T>)[], opts: { relaxed?: boolean }): Promise<PromiseSettledResult<T>[]>;
  /** Records one call (in the batch's transaction); returns what to do once it is committed. `late`: it waited for the ledger. */
  record(call: EndedCall, late: boolean): Promise<() => void>;
  unwritten: UnwrittenCalls;
  /** Stop reading the PBX (true), or read it again (false) after `pausedMs` (0 when pausing). */
  pause(paused: boolean, waiting: number, pausedMs: number): void;
  log: Logger;
  clock: () => number;
  backlogPause?: number;
  backlogResume?: number;
}

export class Decisions {
  private readonly queue: EndedCall[] = [];
  /** Ended calls taken from the queue and not yet committed. */
  private deciding = 0;
  private chain: Promise<void> = Promise.resolve();
  private readonly pending = new Set<Promise<unknown>>();
  private retryTimer?: NodeJS.Timeout;
  /** Since when the PBX has not been read, if it is paused now. */
  private pausedSince?: number;
  private pauseWarnedAt = -Infinity;
  private stopped = false;
  readonly pauseAt: number;
  readonly resumeAt: number;

  constructor(private readonly o: DecisionsOptions) {
    this.pauseAt = Math.max(1, o.backlogPause ?? BACKLOG_PAUSE);
    this.resumeAt = Math.min(this.pauseAt, Math.max(1, o.backlogResume ?? BACKLOG_RESUME));
  }

  /** Ended calls not yet in the ledger. */
  get backlog(): number {
    return this.queue.length + this.deciding;
  }

  /** Whether PBX events are being left unread (back-pressure) right now. */
  get paused(): boolean {
    return this.pausedSince !== undefined;
  }

  /**
   * Decisions run one batch at a time: each call reads the ledger (opt-outs, recent texts, caps)
   * and writes its plan before the next reads, so two calls ending in the same instant cannot
   * both text. What follows a decision (events, logs, waking the outbox) runs after the commit.
   */
  add(ended: readonly EndedCall[]): void {
    if (ended.length === 0) return;
    this.queue.push(...ended);
    if (this.backlog >= this.pauseAt) this.pauseSource();
    if (this.queue.length > ended.length) return; // a batch is queued already
    void this.runNext();
  }

  /** The unwritten calls are worth trying now (the ledger committed something). */
  ledgerWorks(): void {
    const u = this.o.unwritten;
    if (u.nextRetryAt === undefined || u.due(this.o.clock())) return;
    u.ledgerWorks(this.o.clock());
    this.scheduleRetry();
  }

  /**
   * At stop: records the last calls ended, waits for the decisions under way, gives unwritten
   * calls one more try; what is still unwritten then is lost (and logged).
   */
  async stop(last: readonly EndedCall[] = []): Promise<void> {
    this.stopped = true;
    this.add(last);
    await Promise.allSettled([...this.pending]);
    clearTimeout(this.retryTimer);
    const u = this.o.unwritten;
    if (u.size === 0) return;
    u.ledgerWorks(this.o.clock());
    await this.runNext();
    u.clear();
  }

  /** Resolves once every call added so far is committed or waiting for a retry. */
  async idle(): Promise<void> {
    await Promise.allSettled([...this.pending]);
  }

  private runNext(): Promise<void> {
    const job = this.chain.then(() => this.run());
    this.chain = job;
    this.pending.add(job);
    void job.finally(() => this.pending.delete(job));
    return job;
  }

  /**
   * Records ended calls in the order they ended: first those the ledger could not take before
   * (once their retry is due), then new ones. While calls wait for the ledger, calls that end
   * wait behind them (not counted as back-pressure: a ledger that is down, not slow, is not
   * waited out in the PBX), so none is recorded, nor deduped, before a call that ended earlier.
   * Returns with the queue empty.
   */
  private async run(): Promise<void> {
    const u = this.o.unwritten;
    for (;;) {
      const now = this.o.clock();
      if (u.size > 0 && this.queue.length > 0) {
        u.add(this.queue.splice(0), now);
        this.resumeSource();
      }
      let batch: EndedCall[];
      const retried = u.size > 0;
      if (retried) {
        if (!u.due(now)) return this.scheduleRetry();
        batch = u.oldest(DECISION_BATCH);
      } else if (this.queue.length > 0) {
        batch = this.queue.splice(0, DECISION_BATCH);
        this.deciding = batch.length;
      } else {
        return;
      }
      const { written, errors, effects } = await this.record(batch, retried);
      this.deciding = 0;
      if (retried || written.includes(false)) {
        u.attempted(batch, written, this.o.clock(), errors);
        this.scheduleRetry();
      }
      if (this.queue.length < this.resumeAt) this.resumeSource();
      for (const effect of effects) effect();
    }
  }

  /** Writes ended calls in one transaction; one that fails fails alone (Ledger.batchEach). */
  private async record(batch: EndedCall[], retried: boolean): Promise<{ written: boolean[]; errors: (string | undefined)[]; effects: (() => void)[] }> {
    const effects: (() => void)[] = [];
    try {
      const settled = await this.o.batchEach(batch.map((call) => () => this.o.record(call, retried)), { relaxed: true });
      const errors = settled.map((r) => (r.status === 'rejected' ? (r.reason as Error).message : undefined));
      for (const r of settled) if (r.status === 'fulfilled') effects.push(r.value);
      return { written: settled.map((r) => r.status === 'fulfilled'), errors, effects };
    } catch (err) {
      return { written: batch.map(() => false), errors: batch.map(() => (err as Error).message), effects };
    }
  }

  private scheduleRetry(): void {
    clearTimeout(this.retryTimer);
    const at = this.o.unwritten.nextRetryAt;
    if (at === undefined || this.stopped) return;
    this.retryTimer = setTimeout(() => void this.runNext(), Math.max(0, at - this.o.clock()));
  }

  private pauseSource(): void {
    if (this.pausedSince !== undefined || this.stopped) return;
    this.pausedSince = this.o.clock();
    this.o.pause(true, this.backlog, 0);
    // Under a sustained flood this pauses about once a second: warn at most once a minute.
    if (this.pausedSince - this.pauseWarnedAt < 60_000) return;
    this.pauseWarnedAt = this.pausedSince;
    this.o.log.warn('decisions are behind: reading PBX events paused until they catch up (see mctb_pbx_paused_seconds_total)', { waiting: this.backlog });
  }

  private resumeSource(): void {
    if (this.pausedSince === undefined) return;
    const pausedMs = this.o.clock() - this.pausedSince;
    this.pausedSince = undefined;
    this.o.log.debug('decisions caught up: reading PBX events again', { paused_ms: pausedMs });
    this.o.pause(false, this.backlog, pausedMs);
  }
}
