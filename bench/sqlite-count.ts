// Preloaded into `mctb run` in profile mode (node -r): counts every statement the daemon runs
// through sqlite3 (Statement run/get/all/each, which Database run/get/all use too, and
// Database exec), by SQL text, and writes the counts to $BENCH_SQLITE_COUNT_FILE when the
// process exits. Each one is a round trip to sqlite3's worker thread, a cost of its own.
// Changes nothing else.

import { writeFileSync } from 'node:fs';
// eslint-disable-next-line @typescript-eslint/no-require-imports
const sqlite3 = require('sqlite3') as { Database: { prototype: Record<string, unknown> }; Statement: { prototype: Record<string, unknown> } };

/** Counts by method and exact SQL text (no string work per call); tidied on exit. */
const counts = new Map<string, Map<unknown, number>>();

function count(proto: Record<string, unknown>, method: string, sqlOf: (self: { sql?: string }, args: unknown[]) => unknown): void {
  const original = proto[method] as (this: unknown, ...args: unknown[]) => unknown;
  const bySql = new Map<unknown, number>();
  counts.set(method, bySql);
  proto[method] = function (this: { sql?: string }, ...args: unknown[]) {
    const sql = sqlOf(this, args);
    bySql.set(sql, (bySql.get(sql) ?? 0) + 1);
    return original.apply(this, args);
  };
}

for (const method of ['run', 'get', 'all', 'each']) count(sqlite3.Statement.prototype, method, (self) => self.sql);
count(sqlite3.Database.prototype, 'exec', (_self, args) => args[0]);

process.on('exit', () => {
  const file = process.env.BENCH_SQLITE_COUNT_FILE;
  if (!file) return;
  const out = new Map<string, number>();
  for (const [method, bySql] of counts) {
    for (const [sql, n] of bySql) {
      const key = `${method}: ${typeof sql === 'string' ? sql.replace(/\s+/g, ' ').trim().slice(0, 90) : '?'}`;
      out.set(key, (out.get(key) ?? 0) + n);
    }
  }
  writeFileSync(file, JSON.stringify(Object.fromEntries([...out].sort((a, b) => b[1] - a[1])), null, 1));
});
