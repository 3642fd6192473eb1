// Staying connected to a peer (the PBX, the SMS gateway): capped exponential backoff between
// attempts, and each up/down change logged once, so an outage does not flood the log.

import type { Logger } from './log';

export class Reconnect {
  private backoffMs: number;
  private timer?: NodeJS.Timeout;
  private downAnnounced = false;

  constructor(
    private readonly log: Logger,
    private readonly messages: { up: string; down: string },
    private readonly minMs = 1000,
    private readonly maxMs = 60_000,
  ) {
    this.backoffMs = minMs;
  }

  /** The link is up: log it (once per outage) and start the next outage's backoff from the bottom. */
  connected(fields: Record<string, unknown>): void {
    this.backoffMs = this.minMs;
    this.downAnnounced = false;
    this.log.info(this.messages.up, fields);
  }

  /** The link is down: warn once per outage, then try `retry` after the current backoff. */
  lost(why: string, fields: Record<string, unknown>, retry: () => void): void {
    if (!this.downAnnounced) {
      this.downAnnounced = true;
      this.log.warn(this.messages.down, { ...fields, why });
    } else {
      this.log.debug('still unreachable', { ...fields, why, retry_in_ms: this.backoffMs });
    }
    clearTimeout(this.timer);
    this.timer = setTimeout(retry, this.backoffMs);
    this.backoffMs = Math.min(this.backoffMs * 2, this.maxMs);
  }

  /** Credentials were refused: they will not fix themselves soon, so wait the longest. */
  refused(): void {
    this.backoffMs = this.maxMs;
  }

  cancel(): void {
    clearTimeout(this.timer);
  }
}
