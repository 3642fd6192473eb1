// Token bucket: at most `ratePerSec` takes per second on average, bursts up to `burst`.
// Waiters are served in order, so concurrent submits never exceed the gateway's tps.

export class TokenBucket {
  private tokens: number;
  private last: number;
  private queue: Promise<void> = Promise.resolve();

  constructor(
    private readonly ratePerSec: number,
    private readonly burst: number,
    private readonly clock: () => number = Date.now,
  ) {
    this.tokens = burst;
    this.last = clock();
  }

  take(): Promise<void> {
    const turn = this.queue.then(() => this.waitForToken());
    this.queue = turn;
    return turn;
  }

  private async waitForToken(): Promise<void> {
    for (;;) {
      const now = this.clock();
      this.tokens = Math.min(this.burst, this.tokens + ((now - this.last) / 1000) * this.ratePerSec);
      this.last = now;
      if (this.tokens >= 1) {
        this.tokens -= 1;
        return;
      }
      const waitMs = Math.ceil(((1 - this.tokens) / this.ratePerSec) * 1000);
      await new Promise((r) => setTimeout(r, waitMs));
    }
  }
}

/**
 * A carrier's per-number rate (`tps` per sending number, as the HTTP carriers meter a long code):
 * one TokenBucket per sender, made on first use.
 */
export class PerSender {
  private readonly buckets = new Map<string, TokenBucket>();

  constructor(
    private readonly ratePerSec: number,
    private readonly clock: () => number = Date.now,
  ) {}

  /** Resolves when `from` may send one more text. */
  take(from: string): Promise<void> {
    let b = this.buckets.get(from);
    if (!b) this.buckets.set(from, (b = new TokenBucket(this.ratePerSec, 1, this.clock)));
    return b.take();
  }
}
