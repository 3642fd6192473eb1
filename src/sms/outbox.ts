// The outbox worker: takes due sends from the ledger, checks once more that they may go out,
// hands them to the transport and writes back what happened. The ledger row moves
// scheduled → sending → submitted before and after the wire, so a crash at any point leaves a
// row that says what to do next.

import type { BusinessConfig } from '../config/types';
import type { Logger } from '../log';
import { maskNumber } from '../numbers/phone';
import { checkDue, type DueFacts } from '../policy/decide';
import type { SendRow } from '../records/rows';
import type { UnsentState } from '../records/states';
import type { SmsTransport } from './transport';
import { settledWithin } from '../settle';

export interface OutboxEvents {
  /** `callEndedAt`: when the caller hung up, for texts that answer a call (hangup → submit timing). */
  submitted(send: SendRow, messageIds: string[], callEndedAt?: number): void;
  finished(send: SendRow, state: UnsentState, reason: string): void;
  retrying(send: SendRow, error: string, nextAt: number): void;
}

/**
 * What the outbox needs of the ledger: its sends, and the transactions it shares with the rest
 * (the Ledger fits this shape; sms/ does not import it).
 */
export interface OutboxLedger {
  /** Runs fn in a transaction shared with other small writes meanwhile; resolves after the commit. */
  together<T>(fn: () => Promise<T>, opts?: { relaxed?: boolean }): Promise<T>;
  readonly sends: {
    due(now: number, limit?: number): Promise<SendRow[]>;
    dueFacts(row: SendRow): Promise<DueFacts & { callEndedAt?: number }>;
    claim(id: number, now: number): Promise<boolean>;
    markSubmitted(id: number, messageIds: readonly string[], now: number): Promise<void>;
    reschedule(id: number, dueAt: number, error: string, now: number, uncertain?: boolean): Promise<void>;
    finish(id: number, state: UnsentState, reason: string, now: number, error?: string): Promise<void>;
  };
}

const POLL_MS = 250;
const MAX_IN_FLIGHT = 32;
const RETRY_MIN_MS = 2000;
const RETRY_MAX_MS = 5 * 60_000;

export class Outbox {
  private timer?: NodeJS.Timeout;
  private running = false;
  private stopping = false;
  private readonly inFlight = new Map<number, Promise<boolean>>();
  private polling = false;

  constructor(
    private readonly ledger: OutboxLedger,
    private readonly transport: SmsTransport,
    /** A business by name, as configured now (a reload may change it). */
    private readonly business: (name: string) => BusinessConfig | undefined,
    private readonly log: Logger,
    private readonly events: Partial<OutboxEvents> = {},
    private readonly clock: () => number = Date.now,
  ) {}

  start(): void {
    this.running = true;
    this.stopping = false;
    this.schedule(0);
  }

  /** Wake now: a send was just scheduled. */
  poke(): void {
    if (this.running && !this.stopping) this.schedule(0);
  }

  /** Stops taking sends and waits (bounded) for those on the wire. */
  async stop(waitMs = 5000): Promise<void> {
    this.stopping = true;
    clearTimeout(this.timer);
    await settledWithin(this.inFlight.values(), waitMs);
    this.running = false;
  }

  private schedule(delayMs: number): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.poll(), delayMs);
  }

  private async poll(): Promise<void> {
    if (this.polling || this.stopping) return;
    this.polling = true;
    try {
      // Nothing can go out while the gateway is down; rows stay due and leave when it is back.
      if (this.transport.ready) {
        const room = MAX_IN_FLIGHT - this.inFlight.size;
        if (room > 0) {
          const due = await this.ledger.sends.due(this.clock(), room + this.inFlight.size);
          for (const row of due) {
            // stop() may have come while the ledger was read: it waits only for jobs already started.
            if (this.stopping || this.inFlight.size >= MAX_IN_FLIGHT) break;
            if (this.inFlight.has(row.id)) continue;
            const job = this.process(row).then(
              () => true,
              (err) => {
                this.log.error('outbox could not process a send; it stays scheduled', { send: row.id, error: (err as Error).message });
                return false;
              },
            );
            this.inFlight.set(row.id, job);
            void job.then((done) => {
              this.inFlight.delete(row.id);
              // Not after a failure (the ledger cannot be written: disk full, read-only): the next
              // regular poll tries again. Poking here polled again at once, a loop that took the
              // same row and logged ~300 errors a second for as long as the fault lasted (found by
              // test/reliability/ledger.test.ts).
              if (done) this.poke();
            });
          }
        }
      }
    } catch (err) {
      this.log.error('outbox could not read the ledger; will retry', { error: (err as Error).message });
    } finally {
      this.polling = false;
      if (!this.stopping) this.schedule(POLL_MS);
    }
  }

  private async process(row: SendRow): Promise<void> {
    const now = this.clock();
    // The texts taken in one poll read their facts and are claimed in one shared transaction: one
    // wait behind a burst of decisions for all of them, not one per statement per text.
    const { callEndedAt, verdict, claimed } = await this.ledger.together(async () => {
      const facts = await this.ledger.sends.dueFacts(row);
      const verdict = checkDue(row.kind, facts, this.business(row.business), now);
      if (verdict.action === 'finish') await this.ledger.sends.finish(row.id, verdict.state, verdict.reason, now);
      else if (verdict.action === 'wait') await this.ledger.sends.reschedule(row.id, verdict.until, verdict.reason, now);
      return { callEndedAt: facts.callEndedAt, verdict, claimed: verdict.action === 'send' && (await this.ledger.sends.claim(row.id, now)) };
    });
    if (verdict.action === 'finish') {
      this.log.info(`text ${verdict.state}`, { send: row.id, kind: row.kind, call: row.call_id, to: maskNumber(row.number), business: row.business, reason: verdict.reason });
      this.events.finished?.(row, verdict.state, verdict.reason);
      return;
    }
    if (verdict.action === 'wait') {
      this.log.info('text waits', { send: row.id, kind: row.kind, to: maskNumber(row.number), reason: verdict.reason, until: new Date(verdict.until).toISOString() });
      return;
    }
    if (!claimed) return;
    const result = await this.transport.submit({ to: row.number, from: row.source_addr, text: row.body, reference: row.id & 0xff });
    const after = this.clock();
    switch (result.kind) {
      case 'accepted':
        // Relaxed: made durable within a second (or by the next claim). Lost to a power cut in that
        // second, the text is still `sending` (its claim was durable): requeued after the restart and
        // marked interrupted, as after a crash mid-submit. One fsync less per text on the one connection.
        await this.ledger.together(() => this.ledger.sends.markSubmitted(row.id, result.messageIds, after), { relaxed: true });
        this.log.info('text submitted', { send: row.id, call: row.call_id, to: maskNumber(row.number), business: row.business, message_ids: result.messageIds.join(',') });
        this.events.submitted?.(row, result.messageIds, callEndedAt);
        break;
      case 'retry': {
        const nextAt = after + Math.min(RETRY_MAX_MS, RETRY_MIN_MS * 2 ** Math.min(row.attempts, 10));
        await this.ledger.together(() => this.ledger.sends.reschedule(row.id, nextAt, result.error, after, result.uncertain === true));
        this.log.warn('gateway did not take the text; will retry', { send: row.id, error: result.error, retry_in_ms: nextAt - after });
        this.events.retrying?.(row, result.error, nextAt);
        break;
      }
      case 'failed':
        await this.ledger.together(() => this.ledger.sends.finish(row.id, 'failed', 'gateway_rejected', after, result.error));
        this.log.error('gateway rejected the text', { send: row.id, to: maskNumber(row.number), status: result.error });
        this.events.finished?.(row, 'failed', result.error);
        break;
    }
  }
}
