// Reads mctb.yaml into the normalised Config, or fails with every problem found, each as
// "file:line:column: path: message".

import * as fs from 'fs';
import * as path from 'path';
import { LineCounter, isScalar, parseDocument, type Node, type YAMLError } from 'yaml';
import { scalarSourceOffset } from './position';
import { phoneEntry } from './scalars';
import { DEFAULTS_FIELDS, DEFAULT_CONFIG_PATH, SCHEMA } from './schema';
import type { Fields, PhoneSpec, Spec } from './spec';
import type { Config, ConfigProblem } from './types';
import { Walker, osReason } from './validate';
import { publicKeyFrom } from '../sms/telnyx/signature';

export { parseDuration, formatDuration } from './duration';
export {
  DEFAULT_CONFIG_PATH,
  DEFAULT_MESSAGE,
  DEFAULT_HELP,
  DEFAULT_OPT_OUT_MESSAGE,
  DEFAULT_OPT_IN_MESSAGE,
  DEFAULT_STOP_WORDS,
  DEFAULT_START_WORDS,
  DEFAULT_HELP_WORDS,
  NOTIFY_EVENTS,
  AMI_SECRET_ENV,
  ARI_PASSWORD_ENV,
  SMPP_PASSWORD_ENV,
  MODEM_PIN_ENV,
} from './schema';
export type { ConfigProblem } from './types';

/** "config/x.yaml:3:5: asterisk.ami.port: expected ..." ("file: message" when not tied to a line). */
export function formatProblem(p: ConfigProblem): string {
  const where = p.line > 0 ? `${p.file}:${p.line}:${p.column}` : p.file;
  // One problem, one line: many messages quote the value as written (hours, quiet_hours, template
  // variables, http.listen), and a block scalar's line break split the problem over two lines,
  // the second not in this form (found by test/reliability/config.test.ts). Escaped as in JSON.
  const text = p.path ? `${where}: ${p.path}: ${p.message}` : `${where}: ${p.message}`;
  return text.replace(/[\r\n]/g, (c) => (c === '\n' ? '\\n' : '\\r'));
}

export class ConfigError extends Error {
  /** Sorted by line; `message` is these, formatted one per line. */
  readonly problems: ConfigProblem[];
  /** Warnings found before giving up, for tools that show both. */
  readonly warnings: ConfigProblem[];

  constructor(problems: ConfigProblem[], warnings: ConfigProblem[] = []) {
    const sorted = sortProblems(problems);
    super(sorted.map(formatProblem).join('\n'));
    this.name = 'ConfigError';
    this.problems = sorted;
    this.warnings = sortProblems(warnings);
  }
}

export interface TemplateProblem {
  /** Offset in the template text. */
  offset: number;
  message: string;
}

export interface ParseOptions {
  /**
   * Checks a message template, given the names of the `vars` it may use (without "vars.");
   * its problems are reported at the template's place in the file. Called once for each
   * template written (message, messages.open, messages.closed, help, opt_out_message,
   * opt_in_message and follow_up.message in `defaults` and in each business), and for each
   * built-in default of defaults.message, help, opt_out_message and opt_in_message not written.
   */
  checkTemplate?: (src: string, vars: readonly string[]) => TemplateProblem[];
}

export interface ConfigResult {
  config: Config;
  /** Non-fatal problems, sorted by line (e.g. a secret written inline). */
  warnings: ConfigProblem[];
}

/** `-c` value, else $MCTB_CONFIG, else /etc/mctb/mctb.yaml. */
export function resolveConfigPath(cliPath?: string, env: NodeJS.ProcessEnv = process.env): string {
  if (cliPath !== undefined && cliPath !== '') return cliPath;
  const fromEnv = env.MCTB_CONFIG;
  if (fromEnv !== undefined && fromEnv !== '') return fromEnv;
  return DEFAULT_CONFIG_PATH;
}

export function loadConfig(file: string, env: NodeJS.ProcessEnv = process.env, options: ParseOptions = {}): Config {
  return loadConfigWithWarnings(file, env, options).config;
}

export function loadConfigWithWarnings(file: string, env: NodeJS.ProcessEnv = process.env, options: ParseOptions = {}): ConfigResult {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    throw new ConfigError([{ file, line: 0, column: 0, path: '', message: `cannot read: ${osReason(e)}` }]);
  }
  return parseConfigWithWarnings(text, file, env, options);
}

export function parseConfig(text: string, file: string, env: NodeJS.ProcessEnv = process.env, options: ParseOptions = {}): Config {
  return parseConfigWithWarnings(text, file, env, options).config;
}

/**
 * Validates and normalises a config given as text. `file` names it in messages and in
 * Config.file; relative secret_file / password_file paths are read from its directory.
 */
export function parseConfigWithWarnings(
  text: string,
  file: string,
  env: NodeJS.ProcessEnv = process.env,
  options: ParseOptions = {},
): ConfigResult {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: false });
  const at = (offset: number) => {
    const { line, col } = lineCounter.linePos(offset);
    return { line, column: col };
  };
  const yamlWarnings = doc.warnings.map((w) => ({ file, ...at(w.pos[0]), path: '', message: w.message }));
  const notYaml = notYamlAtAll(text);
  if (notYaml) throw new ConfigError([{ file, line: notYaml.line, column: 1, path: '', message: notYaml.message }], []);
  if (doc.errors.length > 0) throw new ConfigError(yamlProblems(doc.errors, text, file, at), yamlWarnings);
  if (doc.contents === null) {
    throw new ConfigError([{ file, line: 1, column: 1, path: '', message: 'the file is empty (or only comments); start from config/mctb.example.yaml' }], []);
  }

  const walker = new Walker(file, doc, lineCounter, env, path.dirname(file), text);
  walker.warnings.push(...yamlWarnings);
  const root = walker.object(SCHEMA, doc.contents as Node | null, '', undefined) ?? {};
  checkModem(walker, root);
  checkTelnyx(walker, root);
  checkVoipms(walker, root);
  checkCompliance(walker, root);
  const businesses = checkBusinesses(walker, root);
  if (options.checkTemplate) checkTemplates(walker, text, businesses, root, options.checkTemplate);

  if (walker.errors.length > 0) throw new ConfigError(walker.errors, walker.warnings);
  const { defaults: _merged, ...sections } = root;
  // Without errors, the walker has built every section along SCHEMA, and the businesses as merged above.
  const config = { file, ...sections, businesses } as Config;
  return { config, warnings: sortProblems(walker.warnings) };
}

type Obj = Record<string, unknown>;

const DID_SPEC: PhoneSpec = { kind: 'phone', patterns: true };
const EXCLUDE_SPEC: PhoneSpec = { kind: 'phone', prefixes: true };
const PHONE_SPEC: PhoneSpec = { kind: 'phone' };

/** sms.modem.smsc read with numbers.default_country. */
function checkModem(walker: Walker, root: Obj): void {
  const modem = (root.sms as Obj | undefined)?.modem as Obj | undefined;
  if (!modem || typeof modem.smsc !== 'string') return;
  const country = (root.numbers as Obj | undefined)?.default_country;
  const text = modem.smsc;
  // Without a valid default_country (its error is reported) only a +number can be read.
  if (typeof country !== 'string' && !text.trim().startsWith('+')) return;
  const entry = phoneEntry(PHONE_SPEC, text, typeof country === 'string' ? country : 'US');
  if ('number' in entry) modem.smsc = entry.number;
  else if ('error' in entry) walker.errorAt('sms.modem.smsc', entry.error, walker.positionOf('sms.modem.smsc'));
}

/**
 * sms.telnyx: no polling (Telnyx's API lists no received texts), and webhooks only with the key
 * that checks their signatures (src/sms/telnyx/signature.ts).
 */
function checkTelnyx(walker: Walker, root: Obj): void {
  const t = (root.sms as Obj | undefined)?.telnyx as Obj | undefined;
  if (!t) return;
  if (t.poll_interval_ms !== undefined) {
    walker.errorAt(
      'sms.telnyx.poll_interval',
      "Telnyx's API has no list of received texts to poll (its message records carry no text): remove poll_interval and receive texts by webhook (webhook_path, on http.listen, reachable from Telnyx)",
      walker.positionOf('sms.telnyx.poll_interval'),
    );
  }
  if (typeof t.public_key === 'string') {
    try {
      publicKeyFrom(t.public_key);
    } catch (e) {
      walker.errorAt('sms.telnyx.public_key', `${(e as Error).message}: copy it from Mission Control (Keys & Credentials → Public Key)`, walker.positionOf('sms.telnyx.public_key'));
    }
  } else if (typeof t.webhook_path === 'string') {
    walker.errorAt('sms.telnyx.public_key', "required with webhook_path: the account's public key checks each webhook's signature (Mission Control: Keys & Credentials → Public Key)", walker.positionOf('sms.telnyx'));
  }
}

/** VoIP.ms signs nothing: its callback is told from a forgery by the token alone. */
function checkVoipms(walker: Walker, root: Obj): void {
  const voipms = (root.sms as Obj | undefined)?.voipms as Obj | undefined;
  if (!voipms || typeof voipms.webhook_path !== 'string' || voipms.webhook_token !== undefined) return;
  walker.errorAt(
    'sms.voipms.webhook_path',
    'needs webhook_token (or webhook_token_file): VoIP.ms signs nothing, so its callback URL carries a token of at least 32 characters (e.g. `openssl rand -hex 24`)',
    walker.positionOf('sms.voipms.webhook_path'),
  );
}

const KEYWORD_LISTS = ['stop_words', 'start_words', 'help_words'] as const;

/** Each keyword list without repeats, and no word in two lists (reported where it is written). */
function checkCompliance(walker: Walker, root: Obj): void {
  const compliance = root.compliance as Obj | undefined;
  if (!compliance) return;
  const owner = new Map<string, { list: string; index: number }>();
  for (const list of KEYWORD_LISTS) {
    const words = compliance[list];
    if (!Array.isArray(words)) continue;
    const kept: string[] = [];
    words.forEach((word: unknown, index) => {
      if (typeof word !== 'string') return;
      const first = owner.get(word);
      if (first && first.list !== list) {
        const here = `compliance.${list}[${index}]`;
        const there = `compliance.${first.list}[${first.index}]`;
        const [at, other] = walker.nodes.has(here) ? [here, first.list] : [there, list];
        walker.errorAt(at, `"${word}" is also in ${other}; a word can be in one list only`, walker.positionOf(at));
        return;
      }
      if (!first) owner.set(word, { list, index });
      if (!kept.includes(word)) kept.push(word);
    });
    compliance[list] = kept;
  }
}

/**
 * The country a level reads numbers with: its own `country` when written, else the one above.
 * Null when the country that applies is invalid (its error is reported; numbers without +code
 * cannot be read then).
 */
function countryAt(walker: Walker, keyPath: string, value: unknown, above: string | null): string | null {
  if (!walker.keys.has(keyPath)) return above;
  return typeof value === 'string' ? value : null;
}

/**
 * Unique names and DIDs across businesses, then each business's values: its own keys over
 * `defaults` (mappings merged key by key), numbers read with its country. Works on whatever
 * part of the list is valid so every problem is found at once.
 */
function checkBusinesses(walker: Walker, root: Obj): (Obj | undefined)[] {
  const list = (root.businesses as (Obj | undefined)[] | undefined) ?? [];
  const defaults = (root.defaults as Obj | undefined) ?? {};
  const numbers = root.numbers as Obj | undefined;
  const baseCountry = typeof numbers?.default_country === 'string' ? numbers.default_country : null;
  const defaultsCountry = countryAt(walker, 'defaults.country', defaults.country, baseCountry);

  const names = new Map<string, number>();
  const owners = new Map<string, { business: number; index: number }>();
  const patternOwners = new Map<string, { business: number; index: number }>();
  const label = (i: number) => {
    const name = list[i]?.name;
    return typeof name === 'string' ? JSON.stringify(name) : `businesses[${i}]`;
  };
  const reported = new Set<string>();
  const errorOnce = (p: string, message: string) => {
    if (reported.has(p)) return;
    reported.add(p);
    walker.errorAt(p, message, walker.positionOf(p));
  };

  /** Numbers (and, for `exclude`, prefixes) written at `listPath`, read with `country`; `whose` names the business when the list is inherited. */
  const readNumbers = (spec: PhoneSpec, raw: unknown, listPath: string, country: string | null, whose?: string): string[] => {
    const out: string[] = [];
    if (!Array.isArray(raw)) return out;
    raw.forEach((text, k) => {
      if (typeof text !== 'string') return;
      if (country === null && !text.trim().startsWith('+')) return;
      const entry = phoneEntry(spec, text, country ?? 'US');
      if ('error' in entry) errorOnce(`${listPath}[${k}]`, whose ? `${entry.error} (read with country ${country} of ${whose})` : entry.error);
      else if ('number' in entry) out.push(entry.number);
      else if ('prefix' in entry) out.push(entry.prefix);
    });
    return [...new Set(out)];
  };
  const readExclude = (raw: unknown, listPath: string, country: string | null, whose?: string) =>
    readNumbers(EXCLUDE_SPEC, raw, listPath, country, whose);
  const defaultsNotify = (defaults.notify as Obj | undefined) ?? {};
  // Checked once as written, even if every business sets its own.
  const defaultsExclude = readExclude(defaults.exclude, 'defaults.exclude', defaultsCountry);
  const defaultsStaff = readNumbers(PHONE_SPEC, defaultsNotify.sms, 'defaults.notify.sms', defaultsCountry);

  return list.map((business, i) => {
    if (!business) return undefined;
    const p = `businesses[${i}]`;
    if (typeof business.name === 'string') {
      const key = business.name.trim().toLowerCase();
      const first = names.get(key);
      if (first !== undefined) {
        walker.errorAt(`${p}.name`, `${JSON.stringify(business.name)} is already the name of businesses[${first}]; names must be unique`, walker.positionOf(`${p}.name`));
      } else names.set(key, i);
    }
    const country = countryAt(walker, `${p}.country`, business.country, defaultsCountry);

    const dids: string[] = [];
    const patterns: string[] = [];
    if (Array.isArray(business.dids)) {
      (business.dids as unknown[]).forEach((text, k) => {
        if (typeof text !== 'string') return;
        const didPath = `${p}.dids[${k}]`;
        const entry = phoneEntry(DID_SPEC, text, country ?? 'US');
        if ('error' in entry) {
          // A number without +code cannot be read without a valid country; that error is reported.
          if (country !== null || text.trim().startsWith('+')) errorOnce(didPath, entry.error);
          return;
        }
        const isPattern = 'pattern' in entry;
        const did = isPattern ? entry.pattern : (entry as { number: string }).number;
        const map = isPattern ? patternOwners : owners;
        const what = isPattern ? 'DID pattern' : 'DID';
        const owner = map.get(did);
        if (owner && owner.business === i) {
          walker.warnings.push({ file: walker.file, ...walker.positionOf(didPath), path: didPath, message: `${did} is listed twice (also dids[${owner.index}])` });
          return;
        }
        if (owner) {
          walker.errorAt(
            didPath,
            `${did} is already a ${what} of ${label(owner.business)} (businesses[${owner.business}].dids[${owner.index}])`,
            walker.positionOf(didPath),
          );
          return;
        }
        map.set(did, { business: i, index: k });
        (isPattern ? patterns : dids).push(did);
      });
    }

    const merged: Obj = { name: business.name, dids, did_patterns: patterns };
    for (const [key, field] of Object.entries(DEFAULTS_FIELDS as Fields)) {
      const out = field.out ?? key;
      const own = business[out];
      const base = defaults[out];
      // Null is "off" written (quiet_hours, follow_up): it wins over defaults and leaves the key out.
      const value = mergedKeyByKey(field.spec) && own !== null ? { ...(base as Obj | undefined), ...definedOnly(own as Obj | undefined) } : own !== undefined ? own : base;
      if (value !== undefined && value !== null) merged[out] = value;
    }
    if (country !== null) merged.country = country;
    merged.allowed_countries = business.allowed_countries ?? defaults.allowed_countries ?? numbers?.allowed_countries;
    // Per text: the business's messages.X, its message, then defaults' messages.X, defaults' message.
    const own = (business.messages as Obj | undefined) ?? {};
    const inherited = (defaults.messages as Obj | undefined) ?? {};
    const effective = (x: 'open' | 'closed') => own[x] ?? business.message ?? inherited[x] ?? defaults.message;
    merged.messages = { open: effective('open'), closed: effective('closed') };
    if (walker.keys.has(`${p}.exclude`)) {
      merged.exclude = readExclude(business.exclude, `${p}.exclude`, country);
    } else if (country === defaultsCountry) {
      merged.exclude = defaultsExclude;
    } else {
      merged.exclude = readExclude(defaults.exclude, 'defaults.exclude', country, label(i));
    }
    const notify = merged.notify as Obj;
    if (walker.keys.has(`${p}.notify.sms`)) {
      notify.sms = readNumbers(PHONE_SPEC, (business.notify as Obj | undefined)?.sms, `${p}.notify.sms`, country);
    } else if (country === defaultsCountry) {
      notify.sms = defaultsStaff;
    } else {
      notify.sms = readNumbers(PHONE_SPEC, defaultsNotify.sms, 'defaults.notify.sms', country, label(i));
    }
    if (notify.webhook == null) delete notify.webhook;
    return merged;
  });
}

/**
 * A mapping of `defaults` set on a business is merged key by key, the business's keys winning;
 * anything else, a mapping that can be switched off (follow_up) included, replaces it.
 */
function mergedKeyByKey(spec: Spec): boolean {
  return spec.kind === 'map' || (spec.kind === 'object' && !spec.off);
}

function definedOnly(o: Obj | undefined): Obj {
  return Object.fromEntries(Object.entries(o ?? {}).filter(([, v]) => v !== undefined));
}

/**
 * Runs the template checker over every template as written: defaults.message (the built-in
 * one included) and defaults.messages.* with the variables of `defaults`, then each business's
 * own message and messages.* with that business's variables.
 */
function checkTemplates(
  walker: Walker,
  text: string,
  businesses: (Obj | undefined)[],
  root: Obj,
  check: (src: string, vars: readonly string[]) => TemplateProblem[],
): void {
  const defaults = (root.defaults as Obj | undefined) ?? {};
  const raw = (root.businesses as (Obj | undefined)[] | undefined) ?? [];
  const varNames = (vars: unknown) => Object.keys((vars as Obj | undefined) ?? {});
  const templatesOf = (level: Obj | undefined) => {
    const messages = (level?.messages as Obj | undefined) ?? {};
    const followUp = (level?.follow_up as Obj | null | undefined) ?? {};
    return {
      message: level?.message,
      'messages.open': messages.open,
      'messages.closed': messages.closed,
      help: level?.help,
      opt_out_message: level?.opt_out_message,
      opt_in_message: level?.opt_in_message,
      'follow_up.message': followUp.message,
    };
  };
  // Checked even when they are the built-in ones.
  const builtIn = new Set(['defaults.message', 'defaults.help', 'defaults.opt_out_message', 'defaults.opt_in_message']);
  const targets: { path: string; template: unknown; vars: string[] }[] = [];
  const add = (prefix: string, level: Obj | undefined, vars: string[]) => {
    for (const [key, template] of Object.entries(templatesOf(level))) {
      const p = `${prefix}.${key}`;
      if (walker.nodes.has(p) || builtIn.has(p)) targets.push({ path: p, template, vars });
    }
  };
  add('defaults', defaults, varNames(defaults.vars));
  businesses.forEach((b, i) => add(`businesses[${i}]`, raw[i], varNames(b?.vars)));

  for (const { path: p, template, vars } of targets) {
    if (typeof template !== 'string') continue;
    const node = walker.nodes.get(p);
    for (const problem of check(template, vars)) {
      if (!node) {
        // The built-in default: no place in the file.
        walker.errorAt(p, `built-in default: ${problem.message}`, { line: 0, column: 0 });
        continue;
      }
      const offset = isScalar(node) ? scalarSourceOffset(node, text, problem.offset) : undefined;
      const position = offset === undefined ? walker.position(node, walker.keys.get(p)) : walker.positionAtOffset(offset);
      walker.errorAt(p, problem.message, position);
    }
  }
}

/**
 * The YAML parser's errors as advice for the mistakes people make, at the same place: a value
 * starting with `{{` or holding ": " that needs quotes, tabs (one problem, not one a line), a list
 * item indented off its list.
 */
function yamlProblems(errors: readonly YAMLError[], text: string, file: string, at: (offset: number) => { line: number; column: number }): ConfigProblem[] {
  const lines = text.split(/\r?\n/);
  const out: ConfigProblem[] = [];
  const tabs = errors.filter((e) => e.code === 'TAB_AS_INDENT');
  if (tabs.length > 0) {
    const first = at(tabs[0].pos[0]);
    const count = lines.filter((l) => /^ *\t/.test(l)).length;
    out.push({ file, ...first, path: '', message: `tabs indent ${count} line${count === 1 ? '' : 's'} (the first is line ${first.line}); YAML indents with spaces only: replace each tab with spaces` });
  }
  for (const e of errors) {
    if (e.code === 'TAB_AS_INDENT') continue;
    const pos = at(e.pos[0]);
    out.push({ file, ...pos, path: '', message: yamlErrorMessage(e, lines, pos.line) });
  }
  return out;
}

function yamlErrorMessage(e: YAMLError, lines: readonly string[], line: number): string {
  if (e.code === 'MULTIPLE_DOCS') return 'the file holds more than one YAML document; remove the "---" line(s) and merge them';
  const text = lines[line - 1] ?? '';
  const value = /^\s*(?:- )?[\w.-]+:\s+(.*)$/.exec(text)?.[1] ?? '';
  const quoted = (v: string) => `${text.slice(0, text.length - v.length)}"${v.replace(/"/g, '\\"')}"`;
  if (value.startsWith('{{')) return `a value that starts with "{{" must be in quotes, or YAML reads it as a mapping: ${quoted(value).trim()}`;
  if (e.code === 'BLOCK_AS_IMPLICIT_KEY' && /:\s/.test(value)) return `this text holds ": ", which YAML reads as a new key: put the whole text in quotes: ${quoted(value).trim()}`;
  if (e.code === 'BAD_INDENT' || (e.code === 'MISSING_CHAR' && /without - indicator/.test(e.message))) {
    const list = enclosingList(lines, line);
    if (list) {
      const here = lines[line - 1];
      const col = here.length - here.trimStart().length + 1;
      const name = list.name ? `the list "${list.name}"` : 'this list';
      if (here.trimStart().startsWith('- ')) return `${name}: this item's "-" is at column ${col}, but the list's items start at column ${list.column} (line ${list.line}); indent it to match`;
      return `${name}: this line starts at column ${col}; an item's keys line up with the first one after its "-" (column ${list.column + 2}), the next item starts with "-" at column ${list.column} (line ${list.line})`;
    }
  }
  return e.message;
}

/** The nearest list above `line`: the column of its "-" items, the line of the first, and its key. */
function enclosingList(lines: readonly string[], line: number): { column: number; line: number; name: string } | undefined {
  const indent = (l: string) => l.length - l.trimStart().length;
  for (let i = line - 2; i >= 0; i--) {
    const m = /^(\s*)- /.exec(lines[i]);
    if (!m) continue;
    const col = m[1].length;
    // Up through the list's other items and their nested lines, to the line that names it.
    let k = i - 1;
    let first = i;
    for (; k >= 0; k--) {
      const l = lines[k];
      if (l.trim() === '' || l.trimStart().startsWith('#')) continue;
      if (indent(l) === col && l.trimStart().startsWith('- ')) first = k;
      else if (indent(l) <= col) break;
    }
    const key = k >= 0 ? /^\s*([\w.-]+):\s*$/.exec(lines[k])?.[1] ?? '' : '';
    return { column: col + 1, line: first + 1, name: key };
  }
  return undefined;
}

/** An INI file, or JSON with comments: not YAML at all, whatever the parser makes of it. */
function notYamlAtAll(text: string): { line: number; message: string } | undefined {
  const lines = text.split(/\r?\n/);
  const section = lines.findIndex((l) => /^\s*\[[\w .-]+\]\s*$/.test(l));
  if (section >= 0 && lines.some((l) => /^\s*[\w.-]+\s*=\s*\S/.test(l))) {
    return { line: section + 1, message: 'this looks like an INI file ("[section]", "key = value"), not YAML ("key: value", nested by indentation); start from config/mctb.example.yaml' };
  }
  if (/^\s*[{[]/.test(text)) {
    const comment = lines.findIndex((l) => /^\s*(\/\/|\/\*)/.test(l));
    if (comment >= 0) return { line: comment + 1, message: 'this looks like JSON with comments: neither YAML nor JSON has "//" or "/* */" comments; write it as YAML (start from config/mctb.example.yaml), with "#" comments' };
  }
  return undefined;
}

function sortProblems(problems: ConfigProblem[]): ConfigProblem[] {
  return problems
    .map((p, i) => ({ p, i }))
    .sort((a, b) => a.p.line - b.p.line || a.p.column - b.p.column || a.i - b.i)
    .map(({ p }) => p);
}
