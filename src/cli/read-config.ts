// Loading the config the way every command does: templates checked against the variables mctb
// knows, problems printed as file:line:column, exit code 2 on any.

import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError, DEFAULT_CONFIG_PATH, formatProblem, loadConfigWithWarnings, resolveConfigPath, type ConfigResult } from '../config/load';
import type { Config } from '../config/types';
import { Ledger, LedgerDirectoryError, targetOf, type LedgerTarget } from '../ledger/ledger';
import { CORE_TEMPLATE_VARIABLES, checkTemplate } from '../messages/template';

export const EXIT_CONFIG = 2;

/**
 * Variables every template may use (message, messages.*, help, opt_out_message, opt_in_message,
 * follow_up.message); a business's `vars` add vars.NAME for each of them.
 */
export const TEMPLATE_VARIABLES: ReadonlySet<string> = new Set([
  ...CORE_TEMPLATE_VARIABLES,
  'business.hours_today',
  'business.next_open',
  'call.time',
]);

/** No config file where mctb looked: said with where it looked and how to start one (exit 2). */
export class MissingConfigError extends Error {
  constructor(
    readonly path: string,
    readonly from: '-c' | '$MCTB_CONFIG' | 'default',
  ) {
    super(`no config file at ${path}`);
  }

  lines(): string[] {
    const how = this.from === '-c' ? 'given with -c' : this.from === '$MCTB_CONFIG' ? 'from $MCTB_CONFIG' : 'the default: no -c given and $MCTB_CONFIG is not set';
    const example = join(__dirname, '..', '..', '..', 'config', 'mctb.example.yaml');
    return [
      `mctb: no config file at ${this.path} (${how})`,
      `mctb: the config is looked for at -c FILE, else $MCTB_CONFIG, else ${DEFAULT_CONFIG_PATH}`,
      `mctb: to start one, copy config/mctb.example.yaml${existsSync(example) ? ` (${example})` : ''} to ${DEFAULT_CONFIG_PATH}, edit it, and check it with \`mctb config check\`; \`mctb demo\` needs no config`,
    ];
  }
}

export function readConfig(cliPath: string | undefined): ConfigResult {
  const path = resolveConfigPath(cliPath);
  if (!existsSync(path)) {
    const from = cliPath !== undefined && cliPath !== '' ? '-c' : process.env.MCTB_CONFIG ? '$MCTB_CONFIG' : 'default';
    throw new MissingConfigError(path, from);
  }
  return loadConfigWithWarnings(path, process.env, {
    checkTemplate: (src, vars) => checkTemplate(src, new Set([...TEMPLATE_VARIABLES, ...vars.map((v) => 'vars.' + v)])),
  });
}

/** Prints a config error the way admins read it and returns the exit code. */
export function reportConfigError(err: unknown, out: NodeJS.WritableStream = process.stderr): number {
  if (err instanceof MissingConfigError) {
    for (const line of err.lines()) out.write(`${line}\n`);
    return EXIT_CONFIG;
  }
  if (err instanceof ConfigError) {
    for (const p of err.problems) out.write(`${formatProblem(p)}\n`);
    const n = err.problems.length;
    out.write(`mctb: ${n} problem${n === 1 ? '' : 's'} in the configuration; nothing was started\n`);
    return EXIT_CONFIG;
  }
  throw err;
}

/**
 * Runs a command against the configured ledger: reads the config (exit 2 on a problem), opens the
 * ledger, always closes it.
 */
export async function withLedger(
  cliPath: string | undefined,
  fn: (ledger: Ledger, config: Config) => Promise<number>,
  err: NodeJS.WritableStream = process.stderr,
): Promise<number> {
  let config;
  try {
    config = readConfig(cliPath).config;
  } catch (e) {
    return reportConfigError(e, err);
  }
  const ledger = await openLedger(targetOf(config.ledger), err);
  if (!ledger) return EXIT_CONFIG;
  try {
    return await fn(ledger, config);
  } finally {
    await ledger.close();
  }
}

/**
 * Opens the ledger for a command: a missing directory is reported (undefined: exit 2, as for a
 * config problem), and a ledger created now is said so on `err`.
 */
export async function openLedger(path: string | LedgerTarget, err: NodeJS.WritableStream = process.stderr): Promise<Ledger | undefined> {
  try {
    // No time limit on a statement: a report over ten million calls on PostgreSQL may need more
    // than the daemon's 30 s, and the user at the terminal can stop it.
    return await Ledger.open(path, { log: { info: (message) => err.write(`mctb: ${message}\n`) }, statementTimeoutMs: 0 });
  } catch (e) {
    if (!(e instanceof LedgerDirectoryError)) throw e;
    err.write(`mctb: ${e.message}\n`);
    return undefined;
  }
}
