// Loading the config the way every command does: templates checked against the variables mctb
// knows, problems printed as file:line:column, exit code 2 on any.

import { ConfigError, formatProblem, loadConfigWithWarnings, resolveConfigPath, type ConfigResult } from '../config/load';
import { CORE_TEMPLATE_VARIABLES, checkTemplate } from '../messages/template';

export const EXIT_CONFIG = 2;

export const TEMPLATE_VARIABLES = CORE_TEMPLATE_VARIABLES;

export function readConfig(cliPath: string | undefined): ConfigResult {
  return loadConfigWithWarnings(resolveConfigPath(cliPath), process.env, {
    checkTemplate: (src) => checkTemplate(src, TEMPLATE_VARIABLES),
  });
}

/** Prints a config error the way admins read it and returns the exit code. */
export function reportConfigError(err: unknown, out: NodeJS.WritableStream = process.stderr): number {
  if (err instanceof ConfigError) {
    for (const p of err.problems) out.write(`${formatProblem(p)}\n`);
    const n = err.problems.length;
    out.write(`mctb: ${n} problem${n === 1 ? '' : 's'} in the configuration; nothing was started\n`);
    return EXIT_CONFIG;
  }
  throw err;
}
