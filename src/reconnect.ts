// Staying connected to a peer (the PBX, the SMS gateway): capped exponential backoff between
// attempts, and each up/down change logged once, so an outage does not flood the log. A peer
// that was never reached is named as such ("could not connect to ... : ECONNREFUSED"), not
// called "down".

import type { Logger } from './log';

export class Reconnect {
  private backoffMs: number;
  private timer?: NodeJS.Timeout;
  private downAnnounced = false;
  private everUp = false;

  constructor(
    private readonly log: Logger,
    /** `unreachable`: what failed before the link was ever up, e.g. "could not connect to AMI at host:port". */
    private readonly messages: { up: string; down: string; unreachable?: string },
    private readonly minMs = 1000,
    private readonly maxMs = 60_000,
  ) {
    this.backoffMs = minMs;
  }

  /** The link is up: log it (once per outage) and start the next outage's backoff from the bottom. */
  connected(fields: Record<string, unknown>): void {
    this.backoffMs = this.minMs;
    this.downAnnounced = false;
    this.everUp = true;
    this.log.info(this.messages.up, fields);
  }

  /** The link is down: warn once per outage, then try `retry` after the current backoff. */
  lost(why: string, fields: Record<string, unknown>, retry: () => void): void {
    if (!this.downAnnounced) {
      this.downAnnounced = true;
      if (!this.everUp && this.messages.unreachable) this.log.warn(`${this.messages.unreachable}: ${why}; retrying with backoff`, { ...fields, retry_in_ms: this.backoffMs });
      else this.log.warn(this.messages.down, { ...fields, why });
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

  /** The wait before the next attempt. */
  get nextDelayMs(): number {
    return this.backoffMs;
  }

  cancel(): void {
    clearTimeout(this.timer);
  }
}

/**
 * The longest wait between two attempts to reach the PBX. After a PBX restart the first calls come
 * within seconds: mctb must be back by then. One attempt every 5 s is no load on a PBX that stays
 * down (README: "PBX restarts").
 */
export const PBX_RECONNECT_MAX_MS = 5000;

/** A socket error as an admin reads it: the code with what it means. */
export function networkErrorText(err: unknown): string {
  const e = err as { code?: unknown; message?: unknown } | undefined;
  const code = typeof e?.code === 'string' ? e.code : '';
  const meaning: Record<string, string> = {
    ECONNREFUSED: 'connection refused: nothing listens on that port',
    ECONNRESET: 'connection reset by the peer',
    ETIMEDOUT: 'timed out',
    EHOSTUNREACH: 'host unreachable',
    ENETUNREACH: 'network unreachable',
    ENOTFOUND: 'host name not found',
    EAI_AGAIN: 'host name lookup failed (temporary)',
    EPIPE: 'connection closed by the peer',
  };
  if (code && meaning[code]) return `${meaning[code]} (${code})`;
  if (typeof e?.message === 'string' && e.message) return e.message;
  return code || String(err);
}
