// Small numeric helpers for the benchmark figures.

/** The p-th percentile (0..100) by nearest rank; undefined for no samples. */
export function percentile(sorted: readonly number[], p: number): number | undefined {
  if (sorted.length === 0) return undefined;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))];
}

export interface Summary {
  n: number;
  p50?: number;
  p99?: number;
  max?: number;
}

export function summarize(values: readonly number[], digits = 2): Summary {
  const sorted = Float64Array.from(values).sort();
  const list = Array.from(sorted);
  return { n: list.length, p50: round(percentile(list, 50), digits), p99: round(percentile(list, 99), digits), max: round(list[list.length - 1], digits) };
}

export function round(x: number | undefined, digits = 2): number | undefined {
  if (x === undefined || !Number.isFinite(x)) return undefined;
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

/** Renders rows as a fixed-width text table (first column left-aligned, the rest right-aligned). */
export function table(header: readonly string[], rows: readonly (readonly (string | number | undefined)[])[]): string {
  const cells = [header, ...rows].map((r) => r.map((c) => (c === undefined ? '-' : String(c))));
  const widths = header.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? '').length)));
  const line = (r: readonly string[]) => r.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  return [line(cells[0]), widths.map((w) => '-'.repeat(w)).join('  '), ...cells.slice(1).map(line)].join('\n');
}
