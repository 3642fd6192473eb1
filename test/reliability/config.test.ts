// Reliability 6, bad config: 2000 random YAML documents (seeded: random nesting of mappings,
// lists and scalars, keys from the real schema and junk, values of the right kind or of any kind,
// block and flow style, anchors, aliases, tags, merge keys, multi-line scalars, then text-level
// damage: indentation off by one, tabs, stray indicators, lines cut, swapped or doubled). None may
// crash the loader: each ends in success or in a ConfigError whose every problem reads
// `file:line:column: path: message` (`file: message` for a file-level problem, line 0), with the
// line inside the document. Templates are checked as `mctb` does (src/cli/read-config.ts).

import { expect } from 'chai';
import YAML from 'yaml';
import { ConfigError, formatProblem, parseConfigWithWarnings, type ConfigProblem } from '../../src/config/load';
import { BUSINESS_FIELDS, SCHEMA } from '../../src/config/schema';
import type { Field, Spec } from '../../src/config/spec';
import { TEMPLATE_VARIABLES } from '../../src/cli/read-config';
import { checkTemplate } from '../../src/messages/template';
import { Prng, seeded } from '../support/reliability';

const ITERATIONS = 2000;
const FILE = '/nonexistent/mctb-fuzz/mctb.yaml'; // *_file keys resolve next to it: nothing there

// ---- values -------------------------------------------------------------------------------

const JUNK_KEYS = ['foo', 'Name', 'delay ', ' dids', 'DIDS', '__proto__', 'constructor', 'toString', '<<', '"quoted key"', '1', 'null', '~', 'yes', '- x', 'a b', 'ключ', '"ke:y"', '? complex'];
const STRINGS = [
  'Brightside Dental', '', ' ', 'x'.repeat(300), 'Hi {{business.name}}!', 'Hi{{contact.first_name| }}', '{{', '}}', '{{nope}}', '{{vars.booking}}', '{{business.name|', '%s %d',
  'a: b', '- x', '# not a comment', '@at', '`tick', 'multi\nline', 'tab\there', 'émoji 😀', '\u202eRTL', 'null', 'true', '0x1F', '1e999', '.nan', '-.inf', '0o17',
  '/nonexistent/secret', 'relative/secret', '../up', 'secret',
];
const SCALARS_BY_KIND: Record<string, string[]> = {
  number: ['0', '1', '-1', '5038', '65535', '65536', '2775', '1.5', '1e3', '99999999999999999999', '.inf', '.nan', '0x10', 'ten', '9600', '115200'],
  bool: ['true', 'false', 'yes', 'no', 'on', 'off', '1', '0', 'True', 'maybe'],
  duration: ['30s', '500ms', '2m', '1h', '1d', '1h30m', '0s', '-1s', '10x', '1.5s', '99999999999h', 's', '30', '1m1m', '1h 30m', '0ms'],
  country: ['US', 'us', 'GB', 'CA', 'XX', 'USA', '1', ''],
  phone: ['+15550001000', '5550001000', '+1555000XXXX', '+1555000*', '+1900', '123', 'abc', '+', '+1 (555) 000-1000', '+999999999999999999', '*'],
  sender: ['+15550001000', 'Brightside', 'TooLongSenderName', '', '15550001000', 'Brigh$ide'],
  timezone: ['America/Chicago', 'UTC', 'Europe/London', 'Mars/Olympus', '', '+02:00'],
  quiet_hours: ['21:00-08:00', 'off', 'none', '00:00-24:00', '24:00-01:00', '8-9', '21:00', 'x'],
  url: ['https://crm.example/hooks/mctb', 'http://127.0.0.1:9/x', 'ftp://x', 'not a url', 'https://', ''],
  closure: ['2026-12-25', '2026-12-31 12:00-23:59', '2026-02-30', 'tomorrow', '2026-12-25 25:00-26:00', '2026-12-25 12:00'],
  enum: ['ami', 'ari', 'smpp', 'log', 'modem', 'text', 'json', 'debug', 'business', 'all', 'noanswer', 'busy', 'answered', 'nope'],
};
const DAY_KEYS = ['mon', 'tue', 'mon-fri', 'sat', 'sun', 'fri-mon', 'weekdays', 'Mon', 'mon,wed', ''];
const RANGES = ['08:00-12:00,13:00-17:30', '09:00-12:00', 'closed', '00:00-24:00', '17:00-09:00', '25:00-26:00', '8-5', '', '08:00-08:00'];

interface Scalar {
  t: 'scalar';
  text: string;
}
interface MapNode {
  t: 'map';
  entries: [string, YNode][];
}
interface SeqNode {
  t: 'seq';
  items: YNode[];
}
interface AliasNode {
  t: 'alias';
  name: string;
}
type YNode = (Scalar | MapNode | SeqNode | AliasNode) & { anchor?: string; tag?: string; flow?: boolean };

class Gen {
  private anchors: string[] = [];
  constructor(private readonly rnd: Prng) {}

  /** A scalar written plainly, quoted, or as a block scalar, as YAML allows or not. */
  scalar(value: string): Scalar {
    const r = this.rnd;
    if (r.chance(0.04)) return { t: 'scalar', text: r.pick(['~', 'null', '', '[]', '{}', '"', "'", '&', '*', '!', '|', '>', '%', '@', '`', '? x', ': x', '- ', '#x']) };
    // Plain when YAML reads it back as written, mostly; now and then plain anyway (often invalid YAML).
    const safe = /^[A-Za-z0-9+][\w .:/+*-]*$/.test(value) && !/: | #|:$/.test(value);
    const x = r.next();
    if (x < (safe ? 0.8 : 0.1)) return { t: 'scalar', text: value };
    if (x < 0.88) return { t: 'scalar', text: JSON.stringify(value) };
    if (x < 0.95) return { t: 'scalar', text: `'${value.replace(/'/g, "''")}'` };
    return { t: 'scalar', text: `${r.pick(['|', '>', '|-', '>+', '|2'])}\n${value}` }; // the renderer indents it
  }

  anyScalar(): Scalar {
    const r = this.rnd;
    const pools = Object.values(SCALARS_BY_KIND);
    return this.scalar(r.chance(0.5) ? r.pick(STRINGS) : r.pick(r.pick(pools)));
  }

  /** Any node at all. */
  any(depth: number): YNode {
    const r = this.rnd;
    const k = depth > 4 ? 0 : r.int(0, 5);
    if (k <= 2) return this.decorate(this.anyScalar());
    if (k === 3) return this.decorate({ t: 'seq', items: Array.from({ length: r.int(0, 4) }, () => this.any(depth + 1)) });
    return this.decorate({ t: 'map', entries: Array.from({ length: r.int(0, 4) }, () => [this.junkOrAnyKey(), this.any(depth + 1)] as [string, YNode]) });
  }

  junkOrAnyKey(): string {
    return this.rnd.chance(0.5) ? this.rnd.pick(JUNK_KEYS) : this.rnd.pick(ALL_KEYS);
  }

  /** A node shaped by `spec` most of the time, anything now and then. */
  forSpec(spec: Spec, depth: number): YNode {
    const r = this.rnd;
    if (r.chance(0.12) || depth > 6) return this.any(depth);
    switch (spec.kind) {
      case 'object':
        return this.decorate({ t: 'map', entries: this.fields(spec.fields, depth) });
      case 'list':
        return this.decorate({ t: 'seq', items: Array.from({ length: r.int(0, 3) }, () => this.forSpec(spec.item, depth + 1)) });
      case 'map':
        return this.decorate({
          t: 'map',
          entries: Array.from({ length: r.int(0, 3) }, () => [r.pick(['booking', 'callback_number', 'Bad-Name', '1x', '']), this.forSpec(spec.value, depth + 1)] as [string, YNode]),
        });
      case 'hours':
        return this.decorate({ t: 'map', entries: Array.from({ length: r.int(0, 4) }, () => [r.pick(DAY_KEYS), this.scalar(r.pick(RANGES))] as [string, YNode]) });
      case 'string':
        return this.decorate(this.scalar(r.pick(STRINGS)));
      case 'number':
        return this.decorate(this.scalar(r.pick(SCALARS_BY_KIND.number)));
      case 'bool':
        return this.decorate(this.scalar(r.pick(SCALARS_BY_KIND.bool)));
      case 'duration':
        return this.decorate(this.scalar(r.pick(SCALARS_BY_KIND.duration)));
      case 'enum':
        return this.decorate(this.scalar(r.chance(0.7) ? r.pick(spec.values) : r.pick(SCALARS_BY_KIND.enum)));
      case 'secret':
        return this.decorate(this.scalar(r.pick(['s3cret', '', 'x'.repeat(100), '1234'])));
      default:
        return this.decorate(this.scalar(r.pick(SCALARS_BY_KIND[spec.kind] ?? STRINGS)));
    }
  }

  fields(fields: Record<string, Field>, depth: number): [string, YNode][] {
    const r = this.rnd;
    const out: [string, YNode][] = [];
    for (const [key, field] of Object.entries(fields)) {
      if (!r.chance(field.required ? 0.85 : 0.3)) continue;
      if (field.spec.kind === 'secret') {
        // The secret inline, or its file, or both.
        const which = r.int(0, 2);
        if (which !== 1) out.push([key, this.forSpec(field.spec, depth + 1)]);
        if (which !== 0) out.push([field.spec.fileKey, this.scalar(r.pick(['/nonexistent/secret', 'secret', '../up/secret', '']))]);
        continue;
      }
      out.push([key, this.forSpec(field.spec, depth + 1)]);
    }
    if (r.chance(0.2)) out.push([this.junkOrAnyKey(), this.any(depth + 1)]);
    if (r.chance(0.1) && out.length > 0) out.push(r.pick(out)); // a key given twice
    if (r.chance(0.1) && this.anchors.length > 0) out.push(['<<', { t: 'alias', name: r.pick(this.anchors) }]);
    // Shuffle a little.
    if (r.chance(0.3)) out.sort(() => r.next() - 0.5);
    return out;
  }

  decorate(node: YNode): YNode {
    const r = this.rnd;
    if (node.t !== 'alias' && r.chance(0.05)) {
      const name = `a${r.int(0, 5)}`;
      node.anchor = name;
      this.anchors.push(name);
    } else if (r.chance(0.04)) {
      return { t: 'alias', name: r.chance(0.8) && this.anchors.length > 0 ? r.pick(this.anchors) : 'undefined_anchor' };
    }
    if (r.chance(0.04)) node.tag = r.pick(['!!str', '!!int', '!!float', '!!bool', '!!null', '!!binary', '!!timestamp', '!!map', '!!seq', '!!set', '!!omap', '!custom', '!<tag:x>', '!!']);
    if ((node.t === 'map' || node.t === 'seq') && r.chance(0.15)) node.flow = true;
    return node;
  }
}

const ALL_KEYS = (() => {
  const keys = new Set<string>();
  const walk = (spec: Spec) => {
    if (spec.kind === 'object') {
      for (const [k, f] of Object.entries(spec.fields)) {
        keys.add(k);
        if (f.spec.kind === 'secret') keys.add(f.spec.fileKey);
        walk(f.spec);
      }
    } else if (spec.kind === 'list') walk(spec.item);
    else if (spec.kind === 'map') walk(spec.value);
  };
  walk(SCHEMA);
  for (const k of Object.keys(BUSINESS_FIELDS)) keys.add(k);
  return [...keys];
})();

// ---- rendering ----------------------------------------------------------------------------

function deco(node: YNode): string {
  return `${node.anchor ? `&${node.anchor} ` : ''}${node.tag ? `${node.tag} ` : ''}`;
}

function inline(node: YNode): string {
  switch (node.t) {
    case 'alias':
      return `*${node.name}`;
    case 'scalar':
      return deco(node) + node.text.replace(/\n/g, ' ');
    case 'seq':
      return `${deco(node)}[${node.items.map(inline).join(', ')}]`;
    case 'map':
      return `${deco(node)}{ ${node.entries.map(([k, v]) => `${k}: ${inline(v)}`).join(', ')} }`;
  }
}

function render(rnd: Prng, node: YNode, indent: number, unit: number, out: string[]): void {
  const pad = (n: number) => ' '.repeat(Math.max(0, n + (rnd.chance(0.02) ? rnd.pick([-1, 1]) : 0))); // now and then off by one
  const child = (prefix: string, v: YNode, at: number) => {
    if (v.t === 'alias' || v.flow || (v.t !== 'scalar' && (v.t === 'map' ? v.entries.length === 0 : v.items.length === 0))) {
      out.push(`${prefix} ${inline(v)}`);
    } else if (v.t === 'scalar') {
      if (v.text.includes('\n')) {
        const [head, ...rest] = v.text.split('\n');
        out.push(`${prefix} ${deco(v)}${head}`);
        for (const l of rest) out.push(`${pad(at + unit)}${l}`);
      } else out.push(`${prefix} ${deco(v)}${v.text}`);
    } else {
      out.push(`${prefix}${deco(v) ? ' ' + deco(v).trimEnd() : ''}`);
      render(rnd, v, at + unit, unit, out);
    }
  };
  if (node.t === 'map' && !node.flow) {
    for (const [k, v] of node.entries) child(`${pad(indent)}${k}:`, v, indent);
  } else if (node.t === 'seq' && !node.flow) {
    for (const v of node.items) child(`${pad(indent)}-`, v, indent);
  } else {
    out.push(`${pad(indent)}${inline(node)}`);
  }
}

const DAMAGE = [':', '-', '[', ']', '{', '}', '#', '&', '*', '!', '|', '>', "'", '"', '%', '@', '\t', ' ', '\n', ',', '?', '\u0000', '\ufeff'];

function damage(rnd: Prng, text: string): string {
  let lines = text.split('\n');
  for (let n = rnd.int(0, 3); n > 0; n--) {
    const i = rnd.int(0, Math.max(0, lines.length - 1));
    switch (rnd.int(0, 5)) {
      case 0:
        lines.splice(i, 1);
        break;
      case 1:
        lines.splice(i, 0, lines[i] ?? '');
        break;
      case 2:
        if (i + 1 < lines.length) [lines[i], lines[i + 1]] = [lines[i + 1], lines[i]];
        break;
      case 3: {
        const l = lines[i] ?? '';
        const at = rnd.int(0, l.length);
        lines[i] = l.slice(0, at) + rnd.pick(DAMAGE) + l.slice(at + rnd.int(0, 1));
        break;
      }
      case 4:
        lines[i] = (lines[i] ?? '').replace(/^ +/, (s) => (rnd.chance(0.5) ? '\t' + s.slice(1) : s + ' '));
        break;
      default:
        lines = lines.slice(0, rnd.int(1, lines.length));
    }
  }
  let out = lines.join('\n');
  if (rnd.chance(0.05)) out = rnd.pick(['%YAML 1.2\n---\n', '---\n', '\ufeff', '# comment\n']) + out;
  if (rnd.chance(0.05)) out += rnd.pick(['\n---\nmore: doc\n', '\n...\n', '\n... junk\n']);
  if (rnd.chance(0.05)) out = out.replace(/\n/g, '\r\n');
  return out;
}

/** A valid config, to be damaged a little (rendered by the yaml package: always valid YAML). */
const BASE = {
  asterisk: { ami: { host: '127.0.0.1', port: 5038, username: 'mctb', secret: 's3cret', ping_interval: '20s' }, inbound_contexts: ['from-trunk'], decision_grace: '2s' },
  sms: { transport: 'smpp', smpp: { host: '127.0.0.1', port: 2775, system_id: 'mctb', password: 'pw', source_addr: '+15550001000', tps: 10 } },
  ledger: { path: '/var/lib/mctb/mctb.db' },
  http: { listen: '127.0.0.1:9465' },
  numbers: { default_country: 'US' },
  limits: { per_hour: 100 },
  defaults: { timezone: 'America/Chicago', delay: '30s', hours: { 'mon-fri': '08:00-12:00,13:00-17:30' }, closed: ['2026-12-25'], quiet_hours: '21:00-08:00' },
  businesses: [
    { name: 'Brightside Dental', dids: ['+15550001000', '+1555000XXXX'], vars: { booking: 'https://example.com/book' }, message: 'Hi{{contact.first_name| }}, book at {{vars.booking}}' },
    { name: 'Late Clinic', dids: ['+15550002000'], follow_up: { after: '2h', message: 'Still need us?' }, notify: { sms: ['+13125550100'] } },
  ],
  log: { level: 'info', format: 'text' },
};

function randomValue(rnd: Prng, depth = 0): unknown {
  const k = depth > 2 ? rnd.int(0, 3) : rnd.int(0, 5);
  if (k === 0) return rnd.pick(STRINGS);
  if (k === 1) return rnd.pick(rnd.pick(Object.values(SCALARS_BY_KIND)));
  if (k === 2) return rnd.pick([0, -1, 1.5, 1e21, true, false, null, NaN, Infinity]);
  if (k === 3) return rnd.chance(0.5) ? [] : {};
  if (k === 4) return Array.from({ length: rnd.int(1, 3) }, () => randomValue(rnd, depth + 1));
  return Object.fromEntries(Array.from({ length: rnd.int(1, 3) }, () => [rnd.chance(0.5) ? rnd.pick(ALL_KEYS) : rnd.pick(JUNK_KEYS), randomValue(rnd, depth + 1)]));
}

function mutatedBase(rnd: Prng): string {
  const doc = JSON.parse(JSON.stringify(BASE)) as Record<string, unknown>;
  for (let n = rnd.int(1, 4); n > 0; n--) {
    // Walk down to a random container, then replace, drop or add one of its entries.
    let node: Record<string, unknown> | unknown[] = doc;
    for (let d = rnd.int(0, 4); d > 0; d--) {
      const keys = Object.keys(node);
      if (keys.length === 0) break;
      const next = (node as Record<string, unknown>)[rnd.pick(keys)];
      if (next === null || typeof next !== 'object') break;
      node = next as Record<string, unknown> | unknown[];
    }
    const keys = Object.keys(node);
    const op = rnd.int(0, 2);
    if (op === 0 && keys.length > 0) (node as Record<string, unknown>)[rnd.pick(keys)] = randomValue(rnd);
    else if (op === 1 && keys.length > 0) {
      if (Array.isArray(node)) node.splice(Number(rnd.pick(keys)), 1);
      else delete node[rnd.pick(keys)];
    } else if (Array.isArray(node)) node.push(randomValue(rnd));
    else node[rnd.chance(0.6) ? rnd.pick(ALL_KEYS) : rnd.pick(JUNK_KEYS)] = randomValue(rnd);
  }
  return YAML.stringify(doc, { indent: rnd.pick([2, 4]), defaultStringType: rnd.pick(['PLAIN', 'QUOTE_DOUBLE', 'QUOTE_SINGLE', 'BLOCK_LITERAL'] as const) });
}

/** A valid config damaged a little, a document shaped by the schema, or a random tree. */
function document(rnd: Prng): string {
  if (rnd.chance(0.35)) {
    const text = mutatedBase(rnd);
    return rnd.chance(0.2) ? damage(rnd, text) : text;
  }
  const gen = new Gen(rnd);
  let root: YNode;
  if (rnd.chance(0.15)) root = gen.any(0);
  else {
    const entries = gen.fields(SCHEMA.fields, 0);
    // Usually a business that could pass, so its own rules are reached.
    if (!entries.some(([k]) => k === 'businesses') && rnd.chance(0.8)) {
      entries.push(['businesses', { t: 'seq', items: [{ t: 'map', entries: gen.fields(BUSINESS_FIELDS, 2) }] }]);
    }
    root = { t: 'map', entries };
  }
  const out: string[] = [];
  render(rnd, root, 0, rnd.pick([2, 2, 4, 3]), out);
  const text = out.join('\n') + '\n';
  return rnd.chance(0.35) ? damage(rnd, text) : text;
}

// ---- the check ----------------------------------------------------------------------------

function checkProblem(p: ConfigProblem, lineCount: number, what: string): void {
  const f = formatProblem(p);
  expect(p.file, what).to.equal(FILE);
  expect(Number.isInteger(p.line) && Number.isInteger(p.column), `${what}: integer position: ${f}`).to.equal(true);
  expect(typeof p.message === 'string' && p.message.trim().length > 0, `${what}: a message: ${f}`).to.equal(true);
  expect(/[\r\n]/.test(f), `${what}: one line: ${JSON.stringify(f)}`).to.equal(false);
  // As printed, line breaks in a quoted value escaped (formatProblem).
  const oneLine = (t: string) => t.replace(/\n/g, '\\n').replace(/\r/g, '\\r');
  let head: string;
  if (p.line === 0) {
    expect(p.column, `${what}: file-level problem has no column: ${f}`).to.equal(0);
    head = `${FILE}: `;
  } else {
    expect(p.line >= 1 && p.line <= lineCount + 1 && p.column >= 1, `${what}: position inside the document (${lineCount} lines): ${f}`).to.equal(true);
    head = `${FILE}:${p.line}:${p.column}: `;
  }
  expect(f, what).to.equal(head + oneLine(p.path ? `${p.path}: ${p.message}` : p.message));
}

describe('reliability: bad config (seeded fuzz)', function () {
  this.timeout(60_000);

  it(`${ITERATIONS} random YAML documents: each loads or fails with file:line:column: path: message problems, never a crash`, () => {
    const rnd = seeded('config', 8001);
    const started = Date.now();
    const options = { checkTemplate: (src: string, vars: readonly string[]) => checkTemplate(src, new Set([...TEMPLATE_VARIABLES, ...vars.map((v) => 'vars.' + v)])) };
    let ok = 0;
    let yamlErrors = 0;
    let invalid = 0;
    let problems = 0;
    for (let i = 0; i < ITERATIONS; i++) {
      const text = document(rnd);
      const lineCount = text.split('\n').length;
      const what = `document ${i} (seed ${rnd.seed}):\n${text.slice(0, 3000)}\n--`;
      try {
        const { warnings } = parseConfigWithWarnings(text, FILE, {}, options);
        ok++;
        for (const w of warnings) checkProblem(w, lineCount, what);
      } catch (err) {
        if (!(err instanceof ConfigError)) throw new Error(`${what}\nnot a ConfigError: ${(err as Error)?.stack ?? String(err)}`);
        expect(err.problems.length, what).to.be.greaterThan(0);
        expect(err.message, what).to.equal(err.problems.map(formatProblem).join('\n'));
        for (const p of [...err.problems, ...err.warnings]) checkProblem(p, lineCount, what);
        problems += err.problems.length;
        if (YAML.parseDocument(text, { uniqueKeys: false }).errors.length > 0) yamlErrors++;
        else invalid++;
      }
    }
    const ms = Date.now() - started;
    console.log(`      [config] ${ITERATIONS} documents in ${ms} ms: ${ok} valid, ${invalid} invalid config, ${yamlErrors} invalid YAML; ${problems} problems reported`);
    expect(ok + invalid + yamlErrors).to.equal(ITERATIONS);
    expect(invalid, 'documents that reach validation').to.be.greaterThan(ITERATIONS / 4);
    expect(ok, 'documents that load').to.be.greaterThan(0);
    expect(ms).to.be.below(30_000);
  });
});
