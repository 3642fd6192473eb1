// `ledger.retention`: once a minute after start, then daily, old calls, texts and messages go;
// opt-outs and contacts stay (Admin.prune). A failure is logged and tried again the next day.

import type { Logger } from '../log';

export interface PrunerOptions {
  retentionMs: number;
  /** Deletes rows older than retentionMs (Ledger.admin.prune); returns what it deleted. */
  prune(retentionMs: number, now: number): Promise<object>;
  log: Logger;
  clock: () => number;
  firstAfterMs?: number;
  everyMs?: number;
}

export class Pruner {
  private first?: NodeJS.Timeout;
  private every?: NodeJS.Timeout;
  private stopped = false;

  constructor(private readonly o: PrunerOptions) {}

  start(): void {
    const run = () => void this.runOnce();
    this.first = setTimeout(run, this.o.firstAfterMs ?? 60_000);
    this.every = setInterval(run, this.o.everyMs ?? 24 * 3600_000);
    this.first.unref();
    this.every.unref();
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.first);
    clearInterval(this.every);
  }

  async runOnce(): Promise<void> {
    if (this.stopped) return;
    try {
      const result = await this.o.prune(this.o.retentionMs, this.o.clock());
      this.o.log.info('pruned rows older than ledger.retention', { ...result });
    } catch (err) {
      this.o.log.error('ledger pruning failed; will try again tomorrow', { error: (err as Error).message });
    }
  }
}
