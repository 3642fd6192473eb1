// Live updates for open consoles (server-sent events): a change to a thread (a missed call, a text
// in, a text's state) is published once with an id and kept in a short ring, so a browser that
// reconnects after a blip sends its Last-Event-ID and gets what it missed. Ids carry this
// process's boot id: one from before a restart (or older than the ring) gets `reset`, and the
// page reloads its lists instead of trusting a gap.

import { randomBytes } from 'node:crypto';

export interface Change {
  business: string;
  thread: number;
  /** What happened, for the browser's notification: a text in, a missed call, or a text's state. */
  what: 'reply' | 'call' | 'text';
}

export interface Subscriber {
  /** The businesses this reader may see; undefined: all. */
  businesses?: ReadonlySet<string>;
  send(id: string, change: Change): void;
  reset(): void;
}

const KEEP = 2000;
/** After the last reader left, changes are still kept this long: a browser back from a blip resumes. */
const LINGER_MS = 120_000;

export class LiveHub {
  private readonly boot = randomBytes(4).toString('hex');
  private seq = 0;
  private readonly ring: { seq: number; change: Change }[] = [];
  private readonly subscribers = new Set<Subscriber>();
  /** When the last reader left (undefined: never had one, or one is here). */
  private leftAt?: number;

  constructor(private readonly clock: () => number = Date.now) {}

  /**
   * Whether a change is worth looking up and keeping: a reader is here, or one left within
   * LINGER_MS and may come back with its last id. Otherwise the caller skips the work and calls
   * missed().
   */
  get watched(): boolean {
    return this.subscribers.size > 0 || (this.leftAt !== undefined && this.clock() - this.leftAt < LINGER_MS);
  }

  publish(change: Change): void {
    const seq = ++this.seq;
    this.ring.push({ seq, change });
    if (this.ring.length > KEEP) this.ring.splice(0, this.ring.length - KEEP);
    for (const s of this.subscribers) if (sees(s, change)) s.send(this.idOf(seq), change);
  }

  /**
   * A change happened while nobody listened, not kept: an id from before it cannot be resumed
   * (the reader reloads its lists instead).
   */
  missed(): void {
    this.seq++;
    this.ring.length = 0;
  }

  /** Adds a reader; replays what it missed since `lastEventId` (or resets it). Returns the unsubscribe. */
  subscribe(s: Subscriber, lastEventId?: string): () => void {
    if (lastEventId) {
      const [boot, n] = lastEventId.split('-');
      const since = Number(n);
      const oldest = this.ring[0]?.seq ?? this.seq + 1;
      if (boot !== this.boot || !Number.isInteger(since) || since > this.seq || (since < oldest - 1 && since < this.seq)) s.reset();
      else for (const e of this.ring) if (e.seq > since && sees(s, e.change)) s.send(this.idOf(e.seq), e.change);
    }
    this.subscribers.add(s);
    this.leftAt = undefined;
    return () => {
      this.subscribers.delete(s);
      if (this.subscribers.size === 0) this.leftAt = this.clock();
    };
  }

  /** The id a new reader starts from (nothing to replay). */
  get lastId(): string {
    return this.idOf(this.seq);
  }

  get size(): number {
    return this.subscribers.size;
  }

  private idOf(seq: number): string {
    return `${this.boot}-${seq}`;
  }
}

function sees(s: Subscriber, c: Change): boolean {
  return s.businesses === undefined || s.businesses.has(c.business);
}
