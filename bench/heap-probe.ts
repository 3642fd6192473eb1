// Preloaded into `mctb run` in the memory phase (node --expose-gc -r): on SIGUSR2, runs a full
// garbage collection and appends process.memoryUsage() to $BENCH_HEAP_FILE. RSS alone cannot
// tell live objects from garbage V8 has not collected or memory it has not handed back; the
// live heap after a full GC can. Nothing else in the daemon changes.

import { appendFileSync } from 'node:fs';

process.on('SIGUSR2', () => {
  (globalThis as { gc?: () => void }).gc?.();
  const m = process.memoryUsage();
  const mb = (n: number) => Math.round((n / 2 ** 20) * 10) / 10;
  appendFileSync(process.env.BENCH_HEAP_FILE ?? '/dev/null', JSON.stringify({ rss_mb: mb(m.rss), heap_used_mb: mb(m.heapUsed), heap_total_mb: mb(m.heapTotal), external_mb: mb(m.external) }) + '\n');
});
