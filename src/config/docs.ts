// config/mctb.example.yaml and the README's table of keys, rendered from the schema: each key's
// doc, default or example, and constraints. scripts/gen-config-docs.ts writes them
// (`npm run gen:config`); test/config/docs.test.ts fails when the committed copies differ.

import YAML from 'yaml';
import { durationRange } from './scalars';
import { SCHEMA } from './schema';
import type { Field, Fields, Spec } from './spec';

/** Comments beside a value start here, as admins are used to from the hand-written file. */
const NOTE_COLUMN = 36;
const WIDTH = 100;

export const TABLE_START = '<!-- config-keys:start -->';
export const TABLE_END = '<!-- config-keys:end -->';

// --- the example file ----------------------------------------------------------------------

const HEADER = [
  'mctb: missed call text back for Asterisk.',
  '',
  'Copy to /etc/mctb/mctb.yaml (or point to it with `mctb -c FILE` or $MCTB_CONFIG) and edit. Every key is ' +
    'shown with its default; keys you leave out take that default; keys shown commented out have none, or one ' +
    'that depends on other keys. Only asterisk.ami.username, the AMI secret, sms.smpp (system_id, password, ' +
    'source_addr) and businesses must be given (with source: ari, asterisk.ari.username and its password instead ' +
    'of the AMI ones; with transport: modem, sms.modem.device instead of sms.smpp). mctb refuses to start on a ' +
    'mistake and lists every one as file:line:column: key: message.',
  '',
  'Durations take a unit: 500ms, 45s, 2m, 1h, 1d, or combined: 1h30m. A bare number is an error.',
  '',
  'Secrets: write them inline (as below, for a quick start), or better put them in a file that only the mctb ' +
    'user can read and name it with secret_file / password_file (a relative path is read from this file\'s ' +
    'directory; trailing newlines are ignored). In containers, the environment variables ' +
    `${listing(secretEnvs(SCHEMA.fields))} override both when set.`,
];

interface Line {
  /** Indentation and comment marks before the code. */
  lead: string;
  code: string;
  note?: string;
}
const BLANK: Line = { lead: '', code: '' };

/** config/mctb.example.yaml. */
export function exampleConfig(): string {
  const lines: Line[] = HEADER.flatMap((p) => (p === '' ? [{ lead: '#', code: '' }] : comment('', p)));
  lines.push(BLANK, ...renderFields(SCHEMA.fields, '', false, ''));
  return lines.flatMap(format).join('\n') + '\n';
}

function renderFields(fields: Fields, lead: string, commented: boolean, parent: string): Line[] {
  const lines: Line[] = [];
  const siblings = staticDefaults(fields);
  let first = true;
  for (const [name, field] of Object.entries(fields)) {
    if (field.sameAs) continue;
    if (!first && (lead === '' || field.about)) lines.push(BLANK);
    first = false;
    if (field.about) lines.push(...comment(lead, field.about));
    const hidden = commented || !shown(field, siblings);
    lines.push(...renderKey(name, field, hidden && !commented ? `${lead}# ` : lead, hidden, join(parent, name)));
  }
  return lines;
}

function renderKey(name: string, field: Field, lead: string, commented: boolean, path: string): Line[] {
  const spec = field.spec;
  const note = noteOf(field);
  if (spec.kind === 'object') return [{ lead, code: `${name}:`, note }, ...renderFields(spec.fields, `${lead}  `, commented, path)];
  const value = shownValue(field, path);
  if (spec.kind === 'list' && spec.item.kind === 'object') {
    const item = spec.item;
    const lines: Line[] = [{ lead, code: `${name}:`, note }];
    for (const entry of value as Record<string, unknown>[]) {
      Object.entries(entry).forEach(([k, v], i) => {
        lines.push(...valueLines(k, v, item.fields[k], `${lead}${i === 0 ? '  - ' : '    '}`));
      });
    }
    return lines;
  }
  const lines = valueLines(name, value, field, lead);
  if (spec.kind === 'secret') lines.push({ lead: `${lead}# `, code: `${spec.fileKey}: ${flow(spec.fileExample)}` });
  return lines;
}

/** `name: value`, a non-empty mapping written as a block under it (hours). */
function valueLines(name: string, value: unknown, field: Field, lead: string): Line[] {
  const note = noteOf(field);
  if (value !== null && typeof value === 'object' && !Array.isArray(value) && Object.keys(value).length > 0) {
    return [{ lead, code: `${name}:`, note }, ...Object.entries(value).map(([k, v]) => ({ lead: `${lead}  `, code: `${k}: ${flow(v)}` }))];
  }
  return [{ lead, code: `${name}: ${flow(value)}`, note }];
}

/**
 * Whether the example sets the key (else it is shown commented out): keys with a fixed default
 * or required, and mappings needed with the defaults (sms.smpp for transport: smpp).
 */
function shown(field: Field, siblings: Record<string, unknown>): boolean {
  if (field.required) return true;
  if (field.spec.kind === 'object') return field.optionalIf !== undefined || !field.optional || (field.requiredIf?.test(siblings) ?? false);
  if (field.spec.kind === 'secret') return !field.optional;
  return isFixed(field.default);
}

function shownValue(field: Field, path: string): unknown {
  const value = isFixed(field.default) ? field.default : field.example;
  if (value === undefined) throw new Error(`schema: ${path} needs a fixed default or an example for the docs`);
  return value;
}

const isFixed = (value: unknown) => value !== undefined && typeof value !== 'function';

function staticDefaults(fields: Fields): Record<string, unknown> {
  return Object.fromEntries(Object.entries(fields).flatMap(([k, f]) => (isFixed(f.default) ? [[f.out ?? k, f.default]] : [])));
}

function noteOf(field: Field): string {
  const limit = bounds(field.spec);
  return [
    field.required ? 'required: ' : '',
    field.doc,
    limit ? ` (${limit})` : '',
    field.defaultIs ? `; default: ${field.defaultIs}` : '',
  ].join('');
}

/** Constraints worth a word beside the value (the README table shows them all). */
function bounds(spec: Spec): string {
  if (spec.kind === 'duration') return durationBounds(spec);
  if (spec.kind === 'string' && spec.maxLength !== undefined) return `at most ${spec.maxLength} characters`;
  if (spec.kind === 'number' && spec.oneOf) return spec.oneOf.join(', ');
  return '';
}

function durationBounds(spec: Spec & { kind: 'duration' }): string {
  const range = durationRange(spec);
  return range === 'at least 0s' ? '' : range;
}

/** One line per code line; a note beside it, wrapped under itself, or above when the code is long. */
function format(line: Line): string[] {
  const text = line.lead + line.code;
  if (!line.note) return [text.trimEnd()];
  if (text.length + 2 > NOTE_COLUMN) return [...comment(line.lead, line.note).map((l) => (l.lead + l.code).trimEnd()), text];
  const [head, ...rest] = wrap(line.note, WIDTH - NOTE_COLUMN - 2);
  return [`${text.padEnd(NOTE_COLUMN)}# ${head}`, ...rest.map((l) => `${' '.repeat(NOTE_COLUMN)}# ${l}`)];
}

function comment(lead: string, prose: string): Line[] {
  return wrap(prose, WIDTH - lead.length - 2).map((l) => ({ lead: `${lead}# `, code: l }));
}

function wrap(text: string, width: number): string[] {
  const lines: string[] = [];
  let current = '';
  for (const word of text.split(/\s+/)) {
    if (current && current.length + 1 + word.length > width) {
      lines.push(current);
      current = word;
    } else current = current ? `${current} ${word}` : word;
  }
  return [...lines, current];
}

/** A value as YAML on one line: plain when that reads back as the same string, else double-quoted. */
function flow(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(flow).join(', ')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value);
    return entries.length === 0 ? '{}' : `{ ${entries.map(([k, v]) => `${k}: ${flow(v)}`).join(', ')} }`;
  }
  if (typeof value !== 'string') return String(value);
  const plain = (/^[A-Za-z0-9_./][\w./@-]*$/.test(value) || /^https?:\/\/[\w.:/@-]+$/.test(value)) && YAML.parse(value) === value;
  return plain ? value : JSON.stringify(value);
}

function secretEnvs(fields: Fields): string[] {
  return Object.values(fields).flatMap((f) => {
    if (f.spec.kind === 'secret') return f.spec.env ? [f.spec.env] : [];
    return f.spec.kind === 'object' ? secretEnvs(f.spec.fields) : [];
  });
}

function listing(words: string[]): string {
  return words.length < 2 ? words.join('') : `${words.slice(0, -1).join(', ')} and ${words[words.length - 1]}`;
}

function join(parent: string, name: string): string {
  return parent ? `${parent}.${name}` : name;
}

// --- the README table ----------------------------------------------------------------------

/** The Markdown table of every key: path, type, default, doc. */
export function keyTable(): string {
  const rows = ['| Key | Type | Default | Description |', '|---|---|---|---|'];
  const walk = (fields: Fields, prefix: string) => {
    const inherited: string[] = [];
    for (const [name, field] of Object.entries(fields)) {
      if (field.sameAs) {
        inherited.push(field.sameAs);
        continue;
      }
      const path = prefix + name;
      rows.push(row([`\`${path}\``, typeText(field.spec), defaultText(field), field.doc]));
      const spec = field.spec;
      if (spec.kind === 'object') walk(spec.fields, `${path}.`);
      if (spec.kind === 'list' && spec.item.kind === 'object') walk(spec.item.fields, `${path}[].`);
    }
    if (inherited.length > 0) rows.push(row([`\`${prefix}*\``, '', '`defaults`', 'any key of `defaults`, for this business alone']));
  };
  walk(SCHEMA.fields, '');
  return rows.join('\n');
}

/** `readme` with the table between its markers replaced by the current one. */
export function withKeyTable(readme: string): string {
  const start = readme.indexOf(TABLE_START);
  const end = readme.indexOf(TABLE_END);
  if (start < 0 || end < start) throw new Error(`README.md has no ${TABLE_START} ... ${TABLE_END} markers`);
  return `${readme.slice(0, start + TABLE_START.length)}\n${keyTable()}\n${readme.slice(end)}`;
}

function row(cells: string[]): string {
  return `| ${cells.map((c) => c.replace(/\|/g, '\\|')).join(' | ')} |`;
}

function defaultText(field: Field): string {
  if (field.required || (field.spec.kind === 'secret' && !field.optional)) return 'required';
  if (field.requiredIf) return field.requiredIf.message.replace(/ \(.*\)$/, '');
  if (isFixed(field.default)) return `\`${flow(field.default)}\``;
  if (field.defaultIs) return field.defaultIs;
  return field.spec.kind === 'object' ? '' : '—';
}

function typeText(spec: Spec): string {
  switch (spec.kind) {
    case 'string':
      return spec.maxLength === undefined ? 'text' : `text, at most ${spec.maxLength} characters`;
    case 'number': {
      const what = spec.integer ? 'whole number' : 'number';
      if (spec.oneOf) return `one of ${spec.oneOf.join(', ')}`;
      if (spec.min !== undefined && spec.max !== undefined) return `${what}, ${spec.min} to ${spec.max}`;
      if (spec.above !== undefined) return `${what} above ${spec.above}`;
      if (spec.min !== undefined) return `${what}, at least ${spec.min}`;
      return what;
    }
    case 'bool':
      return '`true` | `false`';
    case 'duration': {
      const range = durationBounds(spec);
      return range ? `duration, ${range}` : 'duration';
    }
    case 'enum':
      return spec.values.map((v) => `\`${v}\``).join(' | ');
    case 'country':
      return 'country code';
    case 'phone':
      return spec.patterns ? 'phone number or DID pattern' : spec.prefixes ? 'phone number or +prefix' : 'phone number';
    case 'sender':
      return 'E.164 number or sender ID';
    case 'timezone':
      return 'IANA time zone';
    case 'hours':
      return 'days: HH:MM-HH:MM,...';
    case 'closure':
      return 'date, or date HH:MM-HH:MM';
    case 'quiet_hours':
      return 'HH:MM-HH:MM, or `off`';
    case 'url':
      return 'http(s) URL';
    case 'listen':
      return 'host:port';
    case 'map':
      return `names to ${typeText(spec.value)}`;
    case 'list':
      return `list of ${typeText(spec.item)}`;
    case 'object':
      return spec.off ? 'mapping, or `off`' : 'mapping';
    case 'secret':
      return `secret, or \`${spec.fileKey}\`${spec.env ? `, or $${spec.env}` : ''}`;
  }
}
