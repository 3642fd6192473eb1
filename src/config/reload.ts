// What a reload (`systemctl reload mctb`, SIGHUP) may change in a running daemon. The keys of a
// connection or a listener (the PBX link, the SMS link, the ledger file, the HTTP listeners) and
// the log format are read once at start: a changed one is named and its old value kept until a
// restart. Everything else (businesses, their messages, delays, hours, limits, notify, numbers,
// compliance words, the log level, ledger.retention and ledger.late_after) takes effect at once.

import { isDeepStrictEqual } from 'node:util';
import { BUSINESS_FIELDS, SCHEMA } from './schema';
import type { Fields } from './spec';
import type { Config } from './types';

/** The keys read only at start, as paths into Config; each also covers every key below it. */
export const RESTART_ONLY = ['asterisk', 'sms', 'ledger.path', 'http', 'console', 'log.format'] as const;

export interface ReloadPlan {
  /** The config to run with: the new one, with the old value of each key in `needRestart`. */
  config: Config;
  /** Keys that changed and take effect now, e.g. "businesses[Brightside Dental].messages", "log.level". */
  applied: string[];
  /** Keys that changed but need a restart; their old values are kept. */
  needRestart: string[];
}

type Tree = Record<string, unknown>;

function isTree(v: unknown): v is Tree {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function at(tree: unknown, path: readonly string[]): unknown {
  let v = tree;
  for (const k of path) v = isTree(v) ? v[k] : undefined;
  return v;
}

/** A copy of `tree` with `value` at `path` (the objects along the path copied, the rest shared). */
function withValue(tree: Tree, path: readonly string[], value: unknown): Tree {
  const [head, ...rest] = path;
  const copy: Tree = { ...tree };
  if (rest.length === 0) {
    if (value === undefined) delete copy[head];
    else copy[head] = value;
  } else {
    copy[head] = withValue(isTree(tree[head]) ? tree[head] : {}, rest, value);
  }
  return copy;
}

/**
 * The paths (as key lists) below which `a` and `b` differ, down to `depth` levels (a list counts
 * as one value). A section present on one side only is compared with an empty one.
 */
export function changedPaths(a: unknown, b: unknown, depth = Infinity): string[][] {
  if (isDeepStrictEqual(a, b)) return [];
  if (depth <= 0 || !(isTree(a) || isTree(b)) || (a !== undefined && !isTree(a)) || (b !== undefined && !isTree(b))) return [[]];
  const ta = (a ?? {}) as Tree;
  const tb = (b ?? {}) as Tree;
  const keys = [...new Set([...Object.keys(ta), ...Object.keys(tb)])];
  return keys.flatMap((k) => changedPaths(ta[k], tb[k], depth - 1).map((rest) => [k, ...rest]));
}

/**
 * A path in the normalised Config as the key written in mctb.yaml: `delay_ms` → `delay`,
 * `http.host` → `http.listen` (a mapping reshaped into its one value), a value the loader derives
 * (a secret read from its file) → the key it comes from.
 */
function fileKey(fields: Fields, path: readonly string[]): string[] {
  const [head, ...rest] = path;
  const found = Object.entries(fields).find(([k, f]) => (f.out ?? k) === head);
  if (!found) return [];
  const [name, field] = found;
  const spec = field.spec;
  if (rest.length === 0 || spec.kind !== 'object') return [name];
  if (spec.then) {
    const own = Object.keys(spec.fields);
    return own.length === 1 ? [name, own[0]] : [name];
  }
  return [name, ...fileKey(spec.fields, rest)];
}

/** The distinct file keys of `paths` below `fields`, each after `prefix`. */
function named(fields: Fields, paths: readonly string[][], prefix: string): string[] {
  const keys = paths.map((p) => [prefix, ...fileKey(fields, p)].filter(Boolean).join('.'));
  return [...new Set(keys)];
}

/** Businesses compared by name: "businesses[NAME] (added)", "… (removed)", or the keys that changed in it. */
function changedBusinesses(a: Config['businesses'], b: Config['businesses']): string[] {
  const out: string[] = [];
  const before = new Map(a.map((x) => [x.name, x]));
  const after = new Map(b.map((x) => [x.name, x]));
  for (const [name, old] of before) {
    const now = after.get(name);
    if (!now) out.push(`businesses[${name}] (removed)`);
    else out.push(...named(BUSINESS_FIELDS, changedPaths(old, now, 1), `businesses[${name}]`));
  }
  for (const name of after.keys()) if (!before.has(name)) out.push(`businesses[${name}] (added)`);
  if (out.length === 0 && !isDeepStrictEqual(a.map((x) => x.name), b.map((x) => x.name))) out.push('businesses (order)');
  return out;
}

/** What reloading `next` over `current` does: which keys apply now, which wait for a restart. */
export function planReload(current: Config, next: Config): ReloadPlan {
  let config = next as unknown as Tree;
  const needRestart: string[] = [];
  for (const key of RESTART_ONLY) {
    const path = key.split('.');
    const changed = named(SCHEMA.fields, changedPaths(at(current, path), at(next, path)).map((p) => [...path, ...p]), '');
    if (changed.length === 0) continue;
    needRestart.push(...changed);
    config = withValue(config, path, at(current, path));
  }
  const applied: string[] = [];
  for (const k of new Set([...Object.keys(current), ...Object.keys(config)])) {
    if (k === 'file') continue;
    if (k === 'businesses') applied.push(...changedBusinesses(current.businesses, (config as unknown as Config).businesses));
    else applied.push(...named(SCHEMA.fields, changedPaths((current as unknown as Tree)[k], config[k], 2).map((p) => [k, ...p]), ''));
  }
  return { config: config as unknown as Config, applied, needRestart };
}
