// One connection lifecycle for every link to a peer (the PBX over AMI or ARI, the SMPP gateway,
// the GSM modem): each adapter says how to open and close one connection; the rest is here.
//
// - Generations: every connection attempt gets an Attempt; callbacks of a connection that was
//   torn down find `attempt.live` false and do nothing.
// - One state vocabulary (LinkState), each change emitted once.
// - Capped exponential backoff between attempts; each up/down change logged once per outage. A
//   peer never reached is named as such ("could not connect to AMI at host:port: <reason>"), not
//   called "down". Refused credentials wait the longest (`refused()`).
// - A connect deadline (the connection must be up within it), a keep-alive watchdog (a probe each
//   interval; no answer by the next one drops the connection), and timers that belong to one
//   connection: all cleared at teardown.
// - Teardown: the generation moves on, the timers go, then the adapter's close().

import type { Logger } from '../log';

export type LinkState = 'connecting' | 'connected' | 'disconnected' | 'stopped';

/**
 * The longest wait between two attempts to reach the PBX. After a PBX restart the first calls come
 * within seconds: mctb must be back by then. One attempt every 5 s is no load on a PBX that stays
 * down (README: "PBX restarts").
 */
export const PBX_RECONNECT_MAX_MS = 5000;

export interface LinkOptions {
  /**
   * What is logged. `up` once the link is up, `down` when it went down after being up,
   * `unreachable` (e.g. "could not connect to AMI at host:port") when it was never up.
   */
  messages: { up: string; down: string; unreachable?: string };
  /** Logged with every up and down line, e.g. { peer: 'host:port' }. */
  fields: Record<string, unknown>;
  /** The detail of the `connecting` state: where to (host:port, URL, device). */
  where: string;
  /** Backoff bounds (default 1 s .. 60 s). */
  minMs?: number;
  maxMs?: number;
  /** The connection must be up within `ms` of each attempt, else it is lost with `why`. */
  connectTimeout?: { ms: number; why: string };
  /** Each state change, once. */
  onState?: (state: LinkState, detail: string) => void;
}

export interface LinkAdapter {
  /**
   * Opens one connection. Calls `link.up()` once it is usable and `link.lost(why)` when it fails;
   * checks `attempt.live` in every callback.
   */
  open(attempt: Attempt): void;
  /** Closes what open() made (listeners, sockets). The attempt is no longer live by then. */
  close(): void | Promise<void>;
}

/** One connection attempt: live until the link tears it down (also while a stop drains it). */
export interface Attempt {
  readonly live: boolean;
}

export interface KeepAlive {
  intervalMs: number;
  /** Sends one probe; `answered` when the peer answers it. */
  probe(answered: () => void): void;
  /** Logged (warn) when a probe went unanswered for a whole interval; the link is then lost with `why`. */
  timedOut: { message: string; why: string; fields?: Record<string, unknown> };
}

export class Link {
  private current = 0;
  private stateNow: LinkState = 'disconnected';
  private detailNow = '';
  private stoppedNow = true;
  private backoffMs: number;
  private readonly minMs: number;
  private readonly maxMs: number;
  private retryTimer?: NodeJS.Timeout;
  private downAnnounced = false;
  private everUp = false;
  /** Timers of the current connection (connect deadline, keep-alive, the adapter's own). */
  private readonly timers = new Set<NodeJS.Timeout>();
  private deadlineCancel?: () => void;
  private keepAliveHeld = false;
  private probeOutstanding = false;

  constructor(
    private readonly log: Logger,
    private readonly options: LinkOptions,
    private readonly adapter: LinkAdapter,
  ) {
    this.minMs = options.minMs ?? 1000;
    this.maxMs = options.maxMs ?? 60_000;
    this.backoffMs = this.minMs;
  }

  get state(): LinkState {
    return this.stateNow;
  }

  get isUp(): boolean {
    return this.stateNow === 'connected';
  }

  get stopped(): boolean {
    return this.stoppedNow;
  }

  /** The wait before the next attempt. */
  get nextDelayMs(): number {
    return this.backoffMs;
  }

  start(): void {
    if (!this.stoppedNow) return;
    this.stoppedNow = false;
    this.open();
  }

  /**
   * No more attempts; `drain` runs first (e.g. wait for submits on the wire, unbind), then the
   * connection is torn down and the state is `stopped`.
   */
  async stop(drain?: () => Promise<void>): Promise<void> {
    this.stoppedNow = true;
    clearTimeout(this.retryTimer);
    await drain?.();
    await this.teardown();
    this.setState('stopped', 'stopped');
  }

  /** The attempt's connection is usable: log it (once per outage), reset the backoff, state connected. */
  up(fields: Record<string, unknown> = {}, detail = this.options.where): void {
    this.clearDeadline();
    this.backoffMs = this.minMs;
    this.downAnnounced = false;
    this.everUp = true;
    this.log.info(this.options.messages.up, { ...this.options.fields, ...fields });
    this.setState('connected', detail);
  }

  /** The connection failed or died: tear it down, warn once per outage, try again after the backoff. */
  lost(why: string): void {
    void this.teardown();
    if (this.stoppedNow) return;
    this.setState('disconnected', why);
    const fields = this.options.fields;
    if (!this.downAnnounced) {
      this.downAnnounced = true;
      const { down, unreachable } = this.options.messages;
      if (!this.everUp && unreachable) this.log.warn(`${unreachable}: ${why}; retrying with backoff`, { ...fields, retry_in_ms: this.backoffMs });
      else this.log.warn(down, { ...fields, why });
    } else {
      this.log.debug('still unreachable', { ...fields, why, retry_in_ms: this.backoffMs });
    }
    clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(() => this.open(), this.backoffMs);
    this.backoffMs = Math.min(this.backoffMs * 2, this.maxMs);
  }

  /** Credentials were refused (or the like): they will not fix themselves soon, so wait the longest. */
  refused(): void {
    this.backoffMs = this.maxMs;
  }

  /** A state within the same connection (e.g. a modem searching for the network): emitted when it changes. */
  setState(state: LinkState, detail: string): void {
    if (state === this.stateNow && detail === this.detailNow) return;
    const changed = state !== this.stateNow;
    this.stateNow = state;
    this.detailNow = detail;
    // The same state with a new detail is news only while connecting (the steps of getting there).
    if (changed || state === 'connecting') this.options.onState?.(state, detail);
  }

  /** `fn` after `ms`, unless the connection is torn down first. Returns the cancel. */
  after(ms: number, fn: () => void): () => void {
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      fn();
    }, ms);
    timer.unref();
    this.timers.add(timer);
    return () => {
      clearTimeout(timer);
      this.timers.delete(timer);
    };
  }

  /**
   * Probes the peer every interval while the connection lasts; a probe still unanswered at the
   * next tick drops the connection. Call once the connection is up.
   */
  keepAlive(k: KeepAlive): void {
    const generation = this.current;
    this.probeOutstanding = false;
    const timer = setInterval(() => {
      if (generation !== this.current || this.keepAliveHeld) return;
      if (this.probeOutstanding) {
        this.log.warn(k.timedOut.message, k.timedOut.fields ?? {});
        this.lost(k.timedOut.why);
        return;
      }
      this.probeOutstanding = true;
      k.probe(() => {
        if (generation === this.current) this.probeOutstanding = false;
      });
    }, k.intervalMs);
    timer.unref();
    this.timers.add(timer);
  }

  /**
   * Reading stopped (back-pressure): the peer's answers to the probes queue behind the unread
   * data, so the watchdog stands still until release().
   */
  holdKeepAlive(): void {
    this.keepAliveHeld = true;
  }

  releaseKeepAlive(): void {
    this.keepAliveHeld = false;
    this.probeOutstanding = false;
  }

  /**
   * The peer sent something: it is alive, so the probe outstanding counts as answered. After a
   * pause its answer queues behind everything sent meanwhile, which can take longer than an
   * interval to read on a busy machine; without this the watchdog would drop a working link.
   */
  heard(): void {
    this.probeOutstanding = false;
  }

  private open(): void {
    if (this.stoppedNow) return;
    const generation = ++this.current;
    this.setState('connecting', this.options.where);
    const deadline = this.options.connectTimeout;
    if (deadline) {
      this.deadlineCancel = this.after(deadline.ms, () => {
        if (generation === this.current) this.lost(deadline.why);
      });
    }
    const current = () => this.current;
    this.adapter.open({
      get live() {
        return generation === current();
      },
    });
  }

  private clearDeadline(): void {
    this.deadlineCancel?.();
    this.deadlineCancel = undefined;
  }

  private teardown(): void | Promise<void> {
    this.current++;
    this.deadlineCancel = undefined;
    for (const timer of this.timers) {
      clearTimeout(timer);
      clearInterval(timer);
    }
    this.timers.clear();
    return this.adapter.close();
  }
}

/** What a link reports: each state change, once. */
export type LinkEvents = { state: [state: LinkState, detail: string] };

/**
 * A socket error code in the words of `mctb doctor`'s lines, `mctb send-test` and the SMPP log:
 * "connection refused (ECONNREFUSED)"; "connection failed (CODE)" for a code not listed.
 */
export function socketErrorWords(code: string): string {
  return SOCKET_ERROR_WORDS[code] ? `${SOCKET_ERROR_WORDS[code]} (${code})` : `connection failed (${code})`;
}

/** The socket error codes socketErrorWords puts in words. */
export const SOCKET_ERROR_WORDS: Readonly<Record<string, string>> = {
  ECONNREFUSED: 'connection refused',
  ECONNRESET: 'connection reset',
  ENOTFOUND: 'host name not found',
  EAI_AGAIN: 'host name not found',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
  ETIMEDOUT: 'connection timed out',
};

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
