// `mctb users add|list|remove|passwd` (the web console's users) and `mctb audit` (what they, and
// these commands, did). A password is read from --password-file or asked twice on the terminal
// without echo; it is never an argument (other users see arguments in `ps`) and never printed or
// stored in the audit log.

import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { Writable } from 'node:stream';
import type { Config } from '../config/types';
import { closest } from '../config/suggest';
import { hashPassword, passwordProblem } from '../console/passwords';
import type { Ledger } from '../ledger/ledger';
import { UserExistsError } from '../ledger/users';
import { AUDIT_ACTIONS } from '../records/states';
import type { AuditRow } from '../records/rows';
import { parseLimit } from './lists';
import { EXIT_CONFIG, withLedger } from './read-config';
import { formatTime, isoTime, parseWhen } from './time';

/** Who the audit log names for what these commands do. */
const ACTOR = 'cli';

export type Role = 'owner' | 'staff';
export const ROLES: readonly Role[] = ['owner', 'staff'];

/**
 * Why `name` cannot be a user name. ASCII only: SQLite compares names ignoring the case of ASCII
 * letters alone, and look-alike letters from other scripts would make two users read the same.
 */
export function userNameProblem(name: string): string | undefined {
  if (!/^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$/.test(name)) return `"${name}" is not a user name: 1 to 64 of the letters a-z, digits and . _ @ -, starting with a letter or digit`;
  return undefined;
}

/** The password on the first line of `file` (its line ending stripped); throws when it cannot be read. */
export function readPasswordFile(file: string): string {
  return readFileSync(file, 'utf8').split('\n')[0].replace(/\r$/, '');
}

/**
 * Asks for one line on a terminal without echoing it: the prompt is written, then everything
 * readline would echo is dropped. Undefined when the user ends input (Ctrl-C, Ctrl-D).
 */
export function askHidden(prompt: string, input: NodeJS.ReadableStream, output: NodeJS.WritableStream): Promise<string | undefined> {
  let muted = false;
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      if (!muted) output.write(chunk);
      done();
    },
  });
  const rl = createInterface({ input, output: sink, terminal: true });
  return new Promise((resolve) => {
    let answered = false;
    rl.on('SIGINT', () => rl.close());
    rl.on('close', () => {
      if (answered) return;
      output.write('\n');
      resolve(undefined);
    });
    rl.question(prompt, (answer) => {
      answered = true;
      output.write('\n');
      rl.close();
      resolve(answer);
    });
    muted = true;
  });
}

export interface PasswordSource {
  passwordFile?: string;
  /** The terminal (tests hand in their own). */
  input?: NodeJS.ReadableStream & { isTTY?: boolean };
}

/** The new password from the file, or asked twice on the terminal; else a message and the exit code. */
export async function newPassword(command: string, name: string, src: PasswordSource, err: NodeJS.WritableStream): Promise<{ password: string } | { code: number }> {
  let password: string;
  if (src.passwordFile !== undefined) {
    try {
      password = readPasswordFile(src.passwordFile);
    } catch (e) {
      err.write(`mctb ${command}: --password-file ${src.passwordFile}: cannot read: ${(e as Error).message}\n`);
      return { code: EXIT_CONFIG };
    }
  } else {
    const input = src.input ?? process.stdin;
    if (!input.isTTY) {
      err.write(`mctb ${command}: no terminal to ask the password on: give it with --password-file FILE (its first line)\n`);
      return { code: EXIT_CONFIG };
    }
    const first = await askHidden(`New password for ${name}: `, input, err);
    const again = first === undefined ? undefined : await askHidden('Again: ', input, err);
    if (first === undefined || again === undefined) {
      err.write(`mctb ${command}: cancelled; nothing changed\n`);
      return { code: 1 };
    }
    if (first !== again) {
      err.write(`mctb ${command}: the two passwords differ; nothing changed\n`);
      return { code: EXIT_CONFIG };
    }
    password = first;
  }
  const problem = passwordProblem(password);
  if (problem) {
    err.write(`mctb ${command}: ${problem}; nothing changed\n`);
    return { code: EXIT_CONFIG };
  }
  return { password };
}

/** The businesses a user is given, checked against the config; a message when one is not there. */
function checkBusinesses(role: Role, given: readonly string[], config: Config): string | undefined {
  const known = config.businesses.map((b) => b.name);
  if (role === 'owner') return given.length ? 'an owner sees every business: give --business only with --role staff' : undefined;
  if (given.length === 0) return `a staff user works for named businesses: give --business NAME (once per business; businesses: ${known.join(', ')})`;
  for (const name of given) {
    if (known.includes(name)) continue;
    const meant = closest(name, known);
    return `no business "${name}" in ${config.file}${meant ? `: did you mean "${meant}"?` : ''} (businesses: ${known.join(', ')})`;
  }
  return undefined;
}

export interface UsersAddOptions extends PasswordSource {
  config?: string;
  role: Role;
  business?: string[];
}

export function usersAdd(name: string, opts: UsersAddOptions, out = process.stdout, err = process.stderr): Promise<number> {
  return withLedger(
    opts.config,
    async (ledger, config) => {
      const problem = userNameProblem(name) ?? checkBusinesses(opts.role, opts.business ?? [], config);
      if (problem) {
        err.write(`mctb users add: ${problem}\n`);
        return EXIT_CONFIG;
      }
      // Refused before the password is asked for, not after it was typed twice.
      if (await ledger.users.get(name)) return taken(name, err);
      const got = await newPassword('users add', name, opts, err);
      if ('code' in got) return got.code;
      const businesses = [...new Set(opts.business ?? [])];
      const passwordHash = await hashPassword(got.password);
      try {
        const now = Date.now();
        // The change and its audit entry commit together, or neither does.
        await ledger.together(async () => {
          const user = await ledger.users.add({ name, role: opts.role, businesses, passwordHash }, now);
          await ledger.audit.add({ actor: ACTOR, action: 'user_added', subject: user.name, detail: describeAccess(user.role, user.businesses) }, now);
        });
      } catch (e) {
        if (e instanceof UserExistsError) return taken(name, err);
        throw e;
      }
      out.write(`added ${name}: ${describeAccess(opts.role, businesses)}\n`);
      return 0;
    },
    err,
  );
}

function taken(name: string, err: NodeJS.WritableStream): number {
  err.write(`mctb users add: a user "${name}" already exists (names are the same in any case); \`mctb users passwd ${name}\` sets a new password\n`);
  return 1;
}

const describeAccess = (role: Role, businesses: readonly string[]): string => (role === 'owner' ? 'owner (every business)' : `staff (${businesses.join(', ')})`);

export function usersList(opts: { config?: string; json?: boolean }, out = process.stdout, err = process.stderr): Promise<number> {
  return withLedger(
    opts.config,
    async (ledger, config) => {
      const users = await ledger.users.list();
      // Live sessions as the console judges them; with the console off, every row left.
      const now = Date.now();
      const live = config.console && { now, idleMs: config.console.session_idle_ms, lifetimeMs: config.console.session_lifetime_ms };
      for (const u of users) {
        const sessions = await ledger.sessions.countFor(u.id, live);
        if (opts.json) {
          out.write(JSON.stringify({ name: u.name, role: u.role, businesses: u.businesses, created_at: isoTime(u.created_at, 'system'), password_changed_at: isoTime(u.password_changed_at, 'system'), sessions }) + '\n');
        } else {
          out.write(`${u.name}  ${describeAccess(u.role, u.businesses)}  created ${formatTime(u.created_at, 'system')}  ${sessions} session${sessions === 1 ? '' : 's'} open\n`);
        }
      }
      if (!opts.json) out.write(`${users.length} user${users.length === 1 ? '' : 's'}${users.length === 0 ? ' (add one with `mctb users add NAME --role owner`)' : ''}\n`);
      return 0;
    },
    err,
  );
}

export function usersRemove(name: string, opts: { config?: string }, out = process.stdout, err = process.stderr): Promise<number> {
  return withLedger(
    opts.config,
    async (ledger) => {
      const user = await ledger.users.get(name);
      if (!user) return noUser('users remove', name, err);
      const sessions = await ledger.sessions.countFor(user.id);
      const now = Date.now();
      const removed = await ledger.together(async () => {
        if (!(await ledger.users.remove(user.name))) return false;
        await ledger.audit.add({ actor: ACTOR, action: 'user_removed', subject: user.name, detail: describeAccess(user.role, user.businesses) }, now);
        return true;
      });
      if (!removed) return noUser('users remove', name, err);
      out.write(`removed ${user.name}${sessions ? `; ${sessions} session${sessions === 1 ? '' : 's'} ended` : ''}\n`);
      return 0;
    },
    err,
  );
}

export function usersPasswd(name: string, opts: PasswordSource & { config?: string }, out = process.stdout, err = process.stderr): Promise<number> {
  return withLedger(
    opts.config,
    async (ledger) => {
      const user = await ledger.users.get(name);
      if (!user) return noUser('users passwd', name, err);
      const got = await newPassword('users passwd', user.name, opts, err);
      if ('code' in got) return got.code;
      const hash = await hashPassword(got.password);
      const sessions = await ledger.sessions.countFor(user.id);
      const now = Date.now();
      const changed = await ledger.together(async () => {
        if (!(await ledger.users.setPassword(user.name, hash, now))) return false;
        await ledger.audit.add({ actor: ACTOR, action: 'password_changed', subject: user.name, detail: sessions ? `${sessions} session${sessions === 1 ? '' : 's'} ended` : null }, now);
        return true;
      });
      if (!changed) return noUser('users passwd', name, err);
      out.write(`password changed for ${user.name}${sessions ? `; ${sessions} session${sessions === 1 ? '' : 's'} ended` : ''}\n`);
      return 0;
    },
    err,
  );
}

function noUser(command: string, name: string, err: NodeJS.WritableStream): number {
  err.write(`mctb ${command}: no user ${name} (see \`mctb users list\`)\n`);
  return 1;
}

export interface AuditOptions {
  config?: string;
  since?: string;
  until?: string;
  action?: string;
  limit?: string;
  json?: boolean;
}

/** An audit row as `mctb audit --json` prints it. */
export function auditJson(a: AuditRow): Record<string, unknown> {
  return { id: a.id, at: isoTime(a.at, 'system'), actor: a.actor, action: a.action, subject: a.subject, address: a.address, detail: a.detail };
}

export function auditList(opts: AuditOptions, out = process.stdout, err = process.stderr): Promise<number> {
  return withLedger(
    opts.config,
    async (ledger: Ledger) => {
      const now = Date.now();
      const window: { since?: number; until?: number } = {};
      for (const key of ['since', 'until'] as const) {
        const text = opts[key];
        if (text === undefined) continue;
        const at = parseWhen(text, now);
        if (at === undefined) {
          err.write(`mctb audit: --${key} "${text}" is neither a duration back from now (24h, 7d) nor a date or time (2026-11-22, "2026-11-22 16:30")\n`);
          return EXIT_CONFIG;
        }
        window[key] = at;
      }
      const limit = parseLimit(opts.limit);
      if (limit === undefined) {
        err.write(`mctb audit: --limit "${opts.limit}" is not a whole number from 1 up\n`);
        return EXIT_CONFIG;
      }
      if (opts.action !== undefined && !(AUDIT_ACTIONS as readonly string[]).includes(opts.action)) {
        const meant = closest(opts.action, AUDIT_ACTIONS);
        err.write(`mctb audit: --action "${opts.action}" is not an action${meant ? `: did you mean "${meant}"?` : ''} (actions: ${AUDIT_ACTIONS.join(', ')})\n`);
        return EXIT_CONFIG;
      }
      const rows = await ledger.audit.list({ ...window, action: opts.action, limit });
      for (const a of rows) {
        if (opts.json) {
          out.write(JSON.stringify(auditJson(a)) + '\n');
          continue;
        }
        const parts = [formatTime(a.at, 'system'), a.actor ?? '-', a.action, a.subject ?? '-'];
        if (a.address) parts.push(`from ${a.address}`);
        if (a.detail) parts.push(JSON.stringify(a.detail));
        out.write(parts.join('  ') + '\n');
      }
      if (!opts.json) out.write(`${rows.length} entr${rows.length === 1 ? 'y' : 'ies'}${rows.length === limit ? ` (the newest ${limit}; --limit for more)` : ''}\n`);
      return 0;
    },
    err,
  );
}
