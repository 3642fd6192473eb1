// Walks a parsed YAML document along the schema: checks types, fills defaults, renames keys
// to their normalised names and records every problem with its line and column.
// An invalid value comes back as `undefined` (after its error is recorded), so one run finds
// every problem in the file.

import * as fs from 'fs';
import * as path from 'path';
import { Document, isAlias, isMap, isScalar, isSeq, type LineCounter, type Node, type Pair, type Scalar } from 'yaml';
import { buildWeeklyHours, parseDayKey, parseRanges } from '../policy/hours';
import { scalarSourceOffset } from './position';
import { isOffWord } from './quiet-hours';
import { checkScalar, describe, scalarText, type ScalarSpec } from './scalars';
import { knownKeys, type Field, type MapSpec, type ObjectSpec, type SecretSpec, type Spec } from './spec';
import { closest } from './suggest';
import type { ConfigProblem, WeeklyHours } from './types';

type Position = { line: number; column: number };
type Where = Node | null | undefined;

export class Walker {
  readonly errors: ConfigProblem[] = [];
  readonly warnings: ConfigProblem[] = [];
  /** Value node of every validated path that appears in the file ("businesses[0].message"). */
  readonly nodes = new Map<string, Node>();
  /** Key node of every path that appears in the file. */
  readonly keys = new Map<string, Node>();
  private readonly factory = new Document();

  constructor(
    readonly file: string,
    private readonly doc: Document,
    private readonly lineCounter: LineCounter,
    private readonly env: NodeJS.ProcessEnv,
    /** Relative *_file paths are read from here. */
    private readonly baseDir: string,
    /** The YAML text, to place errors at a character inside a value. */
    private readonly source = '',
  ) {}

  // --- problems ---------------------------------------------------------------------------

  /** Line and column of the first of `places` that has a place in the source; 1:1 otherwise. */
  position(...places: Where[]): Position {
    for (const node of places) {
      const range = node?.range;
      if (range && (range[1] > range[0] || !isScalar(node))) {
        const { line, col } = this.lineCounter.linePos(range[0]);
        return { line, column: col };
      }
    }
    return { line: 1, column: 1 };
  }

  positionAtOffset(offset: number): Position {
    const { line, col } = this.lineCounter.linePos(offset);
    return { line, column: col };
  }

  /** Position of character `offset` of a scalar's value; the scalar's start when that cannot be mapped. */
  positionIn(node: Where, offset: number, ...fallback: Where[]): Position {
    const at = node && isScalar(node) && offset >= 0 ? scalarSourceOffset(node, this.source, offset) : undefined;
    return at === undefined ? this.position(node, ...fallback) : this.positionAtOffset(at);
  }

  /** Position of a validated path: its value, else its key. */
  positionOf(p: string): Position {
    return this.position(this.nodes.get(p), this.keys.get(p));
  }

  error(p: string, message: string, ...places: Where[]): undefined {
    this.errors.push({ file: this.file, ...this.position(...places), path: p, message });
    return undefined;
  }

  errorAt(p: string, message: string, at: Position): void {
    this.errors.push({ file: this.file, ...at, path: p, message });
  }

  warn(p: string, message: string, ...places: Where[]): void {
    this.warnings.push({ file: this.file, ...this.position(...places), path: p, message });
  }

  // --- values -----------------------------------------------------------------------------

  /** Validates `node` against `spec`; `keyNode` places errors about empty values and missing keys. */
  value(spec: Spec, node: Where, p: string, keyNode: Where): unknown {
    if (node && isAlias(node)) node = (node.resolve(this.doc) as Node | undefined) ?? null;
    if (node?.range) this.nodes.set(p, node);
    switch (spec.kind) {
      case 'object':
        return this.object(spec, node, p, keyNode);
      case 'list':
        return this.list(spec.item, spec.nonEmpty, node, p, keyNode);
      case 'map':
        return this.map(spec, node, p, keyNode);
      case 'hours':
        return this.hours(node, p, keyNode);
      case 'secret':
        throw new Error(`schema: a secret field must sit directly in an object (${p})`);
      default:
        return this.scalar(spec, node, p, keyNode);
    }
  }

  private list(item: Spec, nonEmpty: string | undefined, node: Where, p: string, keyNode: Where): unknown[] | undefined {
    let items: Where[];
    if (node == null || (isScalar(node) && node.value === null)) items = [];
    else if (isSeq(node)) items = node.items as Where[];
    else {
      const hint = isScalar(node) ? ` (write [${JSON.stringify(String(node.value))}] for a single item)` : '';
      return this.error(p, `expected a list, got ${describe(node)}${hint}`, node, keyNode);
    }
    if (items.length === 0 && nonEmpty) return this.error(p, nonEmpty, node, keyNode);
    // Invalid items stay as holes so indexes keep matching the file.
    return items.map((it, i) => this.value(item, it, `${p}[${i}]`, it ?? node));
  }

  /**
   * The pairs of a mapping whose keys the admin names: each key checked to be a plain name and
   * given once, recorded under `p.key`. Undefined (after the error) when `node` is not a mapping.
   */
  private pairsOf(node: Where, p: string, keyNode: Where, what = ''): { name: string; pair: Pair }[] | undefined {
    if (node == null || (isScalar(node) && node.value === null)) return [];
    if (!isMap(node)) return this.error(p, `expected a mapping${what} ("key: value" lines), got ${describe(node)}`, node, keyNode);
    const out: { name: string; pair: Pair }[] = [];
    const seen = new Set<string>();
    for (const pair of node.items) {
      const key = pair.key as Where;
      if (!isScalar(key) || key.value === null || typeof key.value === 'object') {
        this.error(p, 'keys must be plain names', key, node);
        continue;
      }
      const name = scalarText(key);
      const childPath = join(p, name);
      if (seen.has(name)) {
        this.error(childPath, `duplicate key (already set on line ${this.position(this.keys.get(childPath)).line})`, key);
        continue;
      }
      seen.add(name);
      this.keys.set(childPath, key);
      out.push({ name, pair });
    }
    return out;
  }

  private map(spec: MapSpec, node: Where, p: string, keyNode: Where): Record<string, unknown> | undefined {
    const pairs = this.pairsOf(node, p, keyNode);
    if (!pairs) return undefined;
    const out: Record<string, unknown> = {};
    for (const { name, pair } of pairs) {
      const childPath = join(p, name);
      if (!spec.name.test(name)) {
        const fixed = name.toLowerCase().replace(/[^a-z0-9_]+/g, '_').replace(/^[^a-z]+/, '');
        const hint = fixed.length === name.length && spec.name.test(fixed) ? ` (e.g. ${JSON.stringify(fixed)})` : '';
        this.error(childPath, `${JSON.stringify(name)} is not a valid name; ${spec.nameHint}${hint}`, pair.key as Where);
        continue;
      }
      const v = this.value(spec.value, pair.value as Where, childPath, pair.key as Where);
      if (v !== undefined) out[name] = v;
    }
    return out;
  }

  /** `hours`: day keys to ranges, each checked where it is written. */
  private hours(node: Where, p: string, keyNode: Where): WeeklyHours | undefined {
    const pairs = this.pairsOf(node, p, keyNode);
    if (!pairs) return undefined;
    if (pairs.length === 0) {
      return this.error(p, 'names no days (leave hours out to be open at all times; write mon-sun: closed to be closed at all times)', node, keyNode);
    }
    const entries: { key: string; value: string; keyNode: Scalar; valueNode: Scalar }[] = [];
    let ok = true;
    for (const { name, pair } of pairs) {
      const childPath = join(p, name);
      const key = pair.key as Scalar;
      const day = parseDayKey(name);
      if (!day.ok) {
        ok = false;
        this.errorAt(childPath, day.message, this.positionIn(key, day.offset));
      }
      let valueNode = pair.value as Where;
      if (valueNode && isAlias(valueNode)) valueNode = (valueNode.resolve(this.doc) as Node | undefined) ?? null;
      if (valueNode?.range) this.nodes.set(childPath, valueNode);
      if (!isScalar(valueNode) || valueNode.value === null) {
        ok = false;
        const hint = isSeq(valueNode) ? ' (write the ranges in one string: "08:00-12:00,13:00-17:30")' : '';
        this.error(childPath, `expected opening times such as "08:00-12:00,13:00-17:30" or "closed", got ${describe(valueNode)}${hint}`, valueNode, key);
        continue;
      }
      const value = scalarText(valueNode);
      const ranges = parseRanges(value);
      if (!ranges.ok) {
        ok = false;
        this.errorAt(childPath, ranges.message, this.positionIn(valueNode, ranges.offset, key));
        continue;
      }
      entries.push({ key: name, value, keyNode: key, valueNode });
    }
    if (!ok) return undefined;
    const built = buildWeeklyHours(entries);
    if (built.ok) return built.value;
    // A day given in two keys: reported at the later one.
    const entry = entries.find((e) => e.key === built.key);
    if (!entry) return this.error(p, built.message, keyNode, node);
    const at = built.part === 'value' ? this.positionIn(entry.valueNode, built.offset, entry.keyNode) : this.positionIn(entry.keyNode, built.offset);
    this.errorAt(join(p, entry.key), built.message, at);
    return undefined;
  }

  /**
   * A mapping along `spec`. Null when the spec allows "off" and that is written. `lenient`:
   * missing required keys are not errors (an object not needed, filled with its defaults).
   */
  object(spec: ObjectSpec, node: Where, p: string, keyNode: Where, lenient = false): Record<string, unknown> | null | undefined {
    if (spec.off && isScalar(node) && node.value !== null) {
      if (typeof node.value === 'string' && isOffWord(node.value)) return null;
      return this.error(p, `expected a mapping ("key: value" lines) or off, got ${describe(node)}`, node, keyNode);
    }
    const named = this.pairsOf(node, p, keyNode, p ? '' : ' of settings at the top level');
    if (!named) return undefined;
    const known = knownKeys(spec);
    const pairs = new Map<string, Pair>();
    for (const { name, pair } of named) {
      if (known.includes(name)) pairs.set(name, pair);
      else this.error(join(p, name), unknownKeyMessage(name, spec), pair.key as Where);
    }
    const anchor = keyNode ?? node;
    const out: Record<string, unknown> = {};
    for (const [key, field] of Object.entries(spec.fields)) {
      const childPath = join(p, key);
      const pair = pairs.get(key);
      let v: unknown;
      const fallback = pair || field.spec.kind === 'secret' ? undefined : defaultOf(field, out);
      if (field.spec.kind === 'secret') {
        const given = pairs.has(key) || pairs.has(field.spec.fileKey);
        if (!lenient || given) v = this.secret(field.spec, field.optional === true, key, pairs, p, anchor);
      } else if (pair) {
        v = this.value(field.spec, pair.value as Where, childPath, pair.key as Where);
      } else if (fallback !== undefined) {
        v = this.value(field.spec, this.factory.createNode(fallback), childPath, anchor);
      } else if (field.spec.kind === 'object' && field.optionalIf?.test(out)) {
        v = { ...this.object(field.spec, undefined, childPath, anchor, true), ...field.optionalIf.fill };
      } else if (field.spec.kind === 'object' && !field.optional && !field.requiredIf) {
        v = this.object(field.spec, undefined, childPath, anchor, lenient);
      } else if (field.required && !lenient) {
        this.error(childPath, 'required key is missing', anchor);
      }
      if (v !== undefined) out[field.out ?? key] = v;
    }
    for (const [key, field] of Object.entries(spec.fields)) {
      if (field.requiredIf && !lenient && !pairs.has(key) && field.requiredIf.test(out)) {
        this.error(join(p, key), field.requiredIf.message, anchor);
      }
    }
    return spec.then ? (spec.then as (value: Record<string, unknown>) => Record<string, unknown>)(out) : out;
  }

  /** A secret inline, from a file, or from the environment (which wins). */
  private secret(spec: SecretSpec, optional: boolean, key: string, pairs: Map<string, Pair>, parent: string, anchor: Where): string | undefined {
    const p = join(parent, key);
    const fileP = join(parent, spec.fileKey);
    const inlinePair = pairs.get(key);
    const filePair = pairs.get(spec.fileKey);
    const fromEnv = spec.env === undefined ? undefined : this.env[spec.env];
    const tooLong = (s: string) => spec.maxLength !== undefined && s.length > spec.maxLength;
    const lengthMessage = (n: number) => `${n} characters long; at most ${spec.maxLength} allowed`;
    const badFormat = (s: string) => spec.format !== undefined && !spec.format.test.test(s);
    const formatMessage = `must be ${spec.format?.what}`;
    const orEnv = spec.env === undefined ? '' : ` or the ${spec.env} environment variable`;

    let inline: string | undefined;
    if (inlinePair) {
      inline = this.value({ kind: 'string' }, inlinePair.value as Where, p, inlinePair.key as Where) as string | undefined;
      if (inline !== undefined) {
        const at = [this.nodes.get(p), inlinePair.key as Where];
        // The unedited example passes every check: say so rather than fail later at the PBX.
        if (/^change-?me\b/i.test(inline.trim())) this.warn(p, `is still the example's placeholder "${inline.trim()}": set the real secret (in ${spec.fileKey}${orEnv})`, ...at);
        else this.warn(p, `written in the config file; prefer ${spec.fileKey} (a file only mctb can read)${orEnv}`, ...at);
        if (tooLong(inline)) inline = this.error(p, `is ${lengthMessage(inline.length)}`, ...at);
        else if (badFormat(inline)) inline = this.error(p, formatMessage, ...at);
      }
    }
    let fileName: string | undefined;
    if (filePair) {
      fileName = this.value({ kind: 'string' }, filePair.value as Where, fileP, filePair.key as Where) as string | undefined;
    }
    if (inlinePair && filePair) {
      return this.error(fileP, `cannot be used together with ${key}; keep one of them`, filePair.key as Where);
    }
    if (fromEnv !== undefined && fromEnv !== '') {
      if (tooLong(fromEnv)) this.errorAt(p, `${spec.env} is ${lengthMessage(fromEnv.length)}`, { line: 0, column: 0 });
      else if (badFormat(fromEnv)) this.errorAt(p, `${spec.env} ${formatMessage}`, { line: 0, column: 0 });
      else return fromEnv;
      return undefined;
    }
    if (inlinePair) return inline;
    if (filePair) {
      if (fileName === undefined) return undefined;
      const full = path.resolve(this.baseDir, fileName);
      const at = [this.nodes.get(fileP), filePair.key as Where];
      let content: string;
      try {
        content = fs.readFileSync(full, 'utf8').replace(/[\r\n]+$/, '');
      } catch (e) {
        return this.error(fileP, `cannot read ${JSON.stringify(full)}: ${osReason(e)}`, ...at);
      }
      if (content.length === 0) return this.error(fileP, `${JSON.stringify(full)} is empty`, ...at);
      if (tooLong(content)) return this.error(fileP, `${JSON.stringify(full)} holds a ${key} ${lengthMessage(content.length)}`, ...at);
      if (badFormat(content)) return this.error(fileP, `${JSON.stringify(full)} holds a ${key} that is not ${spec.format?.what}`, ...at);
      return content;
    }
    if (optional) return undefined;
    const envHint = spec.env === undefined ? '' : `, or the ${spec.env} environment variable`;
    return this.error(p, `required key is missing (set ${key} or ${spec.fileKey}${envHint})`, anchor);
  }

  private scalar(spec: ScalarSpec, node: Where, p: string, keyNode: Where): unknown {
    const checked = checkScalar(spec, node);
    if ('value' in checked) {
      if (checked.warning) this.warn(p, checked.warning, node, keyNode);
      return checked.value;
    }
    if (checked.offset === undefined) return this.error(p, checked.message, node, keyNode);
    this.errorAt(p, checked.message, this.positionIn(node, checked.offset, keyNode));
    return undefined;
  }
}

// --- helpers ------------------------------------------------------------------------------

/** The value a field takes when its key is absent: its default, computed from the siblings when a function. */
function defaultOf(field: Field, siblings: Record<string, unknown>): unknown {
  return typeof field.default === 'function' ? (field.default as (s: Record<string, unknown>) => unknown)(siblings) : field.default;
}

export function join(parent: string, key: string): string {
  return parent ? `${parent}.${key}` : key;
}

function unknownKeyMessage(name: string, spec: ObjectSpec): string {
  const known = knownKeys(spec);
  let guess = closest(name, known);
  // The normalised name written as a key ("delay_ms" for "delay").
  guess ??= Object.entries(spec.fields).find(([, f]) => f.out === name)?.[0];
  // A key one level too high ("secret" beside "ami" instead of inside it).
  if (!guess) {
    for (const [key, field] of Object.entries(spec.fields)) {
      if (field.spec.kind === 'object' && knownKeys(field.spec).includes(name)) {
        guess = `${key}.${name}`;
        break;
      }
    }
  }
  return guess ? `unknown key (did you mean ${JSON.stringify(guess)}?)` : `unknown key (expected one of: ${known.join(', ')})`;
}

/** "ENOENT: no such file or directory" from a Node fs error. */
export function osReason(e: unknown): string {
  const err = e as NodeJS.ErrnoException;
  const message = typeof err?.message === 'string' ? err.message : String(e);
  return message.replace(/, \w+(?: '.*')?$/, '');
}
