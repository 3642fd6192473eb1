// Posts staff notifications to each business's webhook from the ledger, signed, retried with
// backoff until delivered or a day has passed, so a webhook outage loses nothing. The event id
// and body are fixed when the event is written; only the timestamp and signature are per try.

import { createHmac } from 'node:crypto';
import type { BusinessConfig } from '../config/types';
import type { Ledger } from '../ledger/ledger';
import type { NotificationRow } from '../records/rows';
import type { Logger } from '../log';
import { settledWithin } from '../settle';

const POLL_MS = 500;
const REQUEST_TIMEOUT_MS = 10_000;
const RETRY_MIN_MS = 5000;
const RETRY_MAX_MS = 10 * 60_000;
const GIVE_UP_AFTER_MS = 24 * 3600_000;

/** `sha256=<hex of HMAC-SHA256(secret, "<timestamp>.<body>")>`, as receivers check it. */
export function signature(secret: string, timestamp: number, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')}`;
}

export function retryDelayMs(attempts: number): number {
  return Math.min(RETRY_MAX_MS, RETRY_MIN_MS * 2 ** Math.max(0, attempts - 1));
}

export class WebhookSender {
  private timer?: NodeJS.Timeout;
  private stopping = false;
  private busy = false;
  private inFlight?: Promise<void>;

  constructor(
    private readonly ledger: Ledger,
    /** A business by name, as configured now (a reload may change its webhook). */
    private readonly business: (name: string) => BusinessConfig | undefined,
    private readonly log: Logger,
    private readonly clock: () => number = Date.now,
    private readonly onDelivered: (row: NotificationRow) => void = () => undefined,
    /** The businesses whose notifications this daemon posts (a shared ledger holds others' too); undefined: all. */
    private readonly businesses?: () => readonly string[],
  ) {}

  start(): void {
    this.stopping = false;
    this.schedule(0);
  }

  poke(): void {
    if (!this.stopping) this.schedule(0);
  }

  async stop(waitMs = 5000): Promise<void> {
    this.stopping = true;
    clearTimeout(this.timer);
    if (this.inFlight) await settledWithin([this.inFlight], waitMs);
  }

  private schedule(ms: number): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.inFlight = this.poll();
    }, ms);
  }

  private async poll(): Promise<void> {
    if (this.busy || this.stopping) return;
    this.busy = true;
    try {
      for (const row of await this.ledger.notifications.due(this.clock(), undefined, this.businesses?.())) {
        if (this.stopping) break;
        await this.deliver(row);
      }
    } catch (err) {
      this.log.error('webhook worker could not read the ledger; will retry', { error: (err as Error).message });
    } finally {
      this.busy = false;
      if (!this.stopping) this.schedule(POLL_MS);
    }
  }

  private async deliver(row: NotificationRow): Promise<void> {
    const hook = this.business(row.business)?.notify.webhook;
    const now = this.clock();
    if (!hook) {
      await this.ledger.notifications.mark(row.id, { state: 'failed', error: 'no webhook configured any more' }, now);
      return;
    }
    const timestamp = Math.floor(now / 1000);
    let error: string | undefined;
    try {
      const res = await fetch(hook.url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'user-agent': 'mctb',
          'x-mctb-event-id': row.event_id,
          'x-mctb-timestamp': String(timestamp),
          'x-mctb-signature': signature(hook.secret, timestamp, row.body),
        },
        body: row.body,
        signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
      });
      await res.arrayBuffer().catch(() => undefined);
      if (res.status < 200 || res.status >= 300) error = `HTTP ${res.status}`;
    } catch (err) {
      error = (err as Error).name === 'TimeoutError' ? 'timeout' : ((err as { cause?: { code?: string } }).cause?.code ?? (err as Error).message);
    }
    const after = this.clock();
    if (error === undefined) {
      await this.ledger.notifications.mark(row.id, { state: 'delivered' }, after);
      this.log.info('webhook delivered', { event: row.event_id, type: row.type, business: row.business, attempts: row.attempts + 1 });
      this.onDelivered(row);
      return;
    }
    if (after - row.created_at >= GIVE_UP_AFTER_MS) {
      await this.ledger.notifications.mark(row.id, { state: 'failed', error }, after);
      this.log.error('webhook event given up after 24 hours of failures', { event: row.event_id, type: row.type, business: row.business, error });
      return;
    }
    const next = after + retryDelayMs(row.attempts + 1);
    await this.ledger.notifications.mark(row.id, { state: 'pending', nextAttemptAt: next, error }, after);
    // Warn on the first failure of an event, then quietly: an outage is one warning per event, not a flood.
    const level = row.attempts === 0 ? 'warn' : 'debug';
    this.log[level]('webhook not delivered; will retry', { event: row.event_id, url: new URL(hook.url).origin, error, retry_in_ms: next - after });
  }
}
