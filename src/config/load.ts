// Reads mctb.yaml into the normalised Config, or fails with every problem found, each as
// "file:line:column: path: message".

import * as fs from 'fs';
import * as path from 'path';
import { LineCounter, isScalar, parseDocument, type Node, type YAMLError } from 'yaml';
import { scalarSourceOffset } from './position';
import { DEFAULTS_FIELDS, DEFAULT_CONFIG_PATH, SCHEMA } from './schema';
import type { BusinessConfig, Config, ConfigProblem } from './types';
import { Walker, osReason } from './validate';

export { parseDuration, formatDuration } from './duration';
export { DEFAULT_CONFIG_PATH, DEFAULT_MESSAGE, AMI_SECRET_ENV, SMPP_PASSWORD_ENV } from './schema';
export type { ConfigProblem } from './types';

/** "config/x.yaml:3:5: asterisk.ami.port: expected ..." ("file: message" when not tied to a line). */
export function formatProblem(p: ConfigProblem): string {
  const where = p.line > 0 ? `${p.file}:${p.line}:${p.column}` : p.file;
  return p.path ? `${where}: ${p.path}: ${p.message}` : `${where}: ${p.message}`;
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
  /** Checks a message template; its problems are reported at the template's place in the file. */
  checkTemplate?: (src: string) => TemplateProblem[];
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
  if (doc.errors.length > 0) {
    throw new ConfigError(
      doc.errors.map((e) => ({ file, ...at(e.pos[0]), path: '', message: yamlErrorMessage(e) })),
      yamlWarnings,
    );
  }

  const walker = new Walker(file, doc, lineCounter, env, path.dirname(file));
  walker.warnings.push(...yamlWarnings);
  const root = walker.object(SCHEMA, doc.contents as Node | null, '', undefined) ?? {};
  const businesses = checkBusinesses(walker, root);
  if (options.checkTemplate) checkTemplates(walker, text, businesses, root, options.checkTemplate);

  if (walker.errors.length > 0) throw new ConfigError(walker.errors, walker.warnings);
  const config: Config = {
    file,
    asterisk: root.asterisk as Config['asterisk'],
    sms: root.sms as Config['sms'],
    ledger: root.ledger as Config['ledger'],
    numbers: root.numbers as Config['numbers'],
    businesses: businesses as unknown as BusinessConfig[],
    log: root.log as Config['log'],
  };
  return { config, warnings: sortProblems(walker.warnings) };
}

type Obj = Record<string, unknown>;

/**
 * Unique names and DIDs across businesses, then each business's values: its own keys over
 * `defaults`. Works on whatever part of the list is valid so every problem is found at once.
 */
function checkBusinesses(walker: Walker, root: Obj): (Obj | undefined)[] {
  const list = (root.businesses as (Obj | undefined)[] | undefined) ?? [];
  const defaults = (root.defaults as Obj | undefined) ?? {};
  const names = new Map<string, number>();
  const owners = new Map<string, { business: number; index: number }>();
  const label = (i: number) => {
    const name = list[i]?.name;
    return typeof name === 'string' ? JSON.stringify(name) : `businesses[${i}]`;
  };

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
    if (Array.isArray(business.dids)) {
      const unique: string[] = [];
      (business.dids as (string | undefined)[]).forEach((did, k) => {
        if (did === undefined) return;
        const didPath = `${p}.dids[${k}]`;
        const owner = owners.get(did);
        if (owner && owner.business === i) {
          walker.warnings.push({ file: walker.file, ...walker.positionOf(didPath), path: didPath, message: `${did} is listed twice (also dids[${owner.index}])` });
          return;
        }
        if (owner) {
          walker.errorAt(
            didPath,
            `${did} is already a DID of ${label(owner.business)} (businesses[${owner.business}].dids[${owner.index}])`,
            walker.positionOf(didPath),
          );
          return;
        }
        owners.set(did, { business: i, index: k });
        unique.push(did);
      });
      business.dids = unique;
    }
    const merged: Obj = { name: business.name, dids: business.dids };
    for (const [key, field] of Object.entries(DEFAULTS_FIELDS)) {
      const out = field.out ?? key;
      const value = business[out] ?? defaults[out];
      if (value !== undefined) merged[out] = value;
    }
    return merged;
  });
}

/** Runs the template checker over defaults.message and every business's own message. */
function checkTemplates(
  walker: Walker,
  text: string,
  businesses: (Obj | undefined)[],
  root: Obj,
  check: (src: string) => TemplateProblem[],
): void {
  const defaults = (root.defaults as Obj | undefined) ?? {};
  const targets: { path: string; template: unknown }[] = [{ path: 'defaults.message', template: defaults.message }];
  businesses.forEach((b, i) => {
    if (walker.nodes.has(`businesses[${i}].message`)) targets.push({ path: `businesses[${i}].message`, template: b?.message });
  });
  for (const { path: p, template } of targets) {
    if (typeof template !== 'string') continue;
    const node = walker.nodes.get(p);
    for (const problem of check(template)) {
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

function yamlErrorMessage(e: YAMLError): string {
  if (e.code === 'MULTIPLE_DOCS') return 'the file holds more than one YAML document; remove the "---" line(s) and merge them';
  return e.message;
}

function sortProblems(problems: ConfigProblem[]): ConfigProblem[] {
  return problems
    .map((p, i) => ({ p, i }))
    .sort((a, b) => a.p.line - b.p.line || a.p.column - b.p.column || a.i - b.i)
    .map(({ p }) => p);
}
