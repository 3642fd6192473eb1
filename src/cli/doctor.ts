// `mctb doctor`: checks everything mctb needs, one line each, `✓ name: detail` or
// `✗ name: problem — fix: what to do`. The config and the ledger (directory writable, file opens,
// schema up to date) are checked here; the PBX connection and the SMS transport by the probe of
// the configured one (its registry entry in src/adapters.ts: AMI login, ARI over HTTP, SMPP bind,
// the modem answering AT, the dry run). Exit 0 all good, 1 any ✗, 2 config unreadable.

import { randomBytes } from 'node:crypto';
import { existsSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import sqlite3 from 'sqlite3';
import { SOURCES, TRANSPORTS } from '../adapters';
import { formatProblem } from '../config/load';
import type { Config } from '../config/types';
import { LEDGER_PASSWORD_ENV } from '../config/schema';
import { lockKeys } from '../failover/active-lock';
import { displayUrl, Ledger, targetOf } from '../ledger/ledger';
import { MIGRATIONS } from '../ledger/migrations';
import { SqliteFile } from '../ledger/sqlite';
import { errCode, fail, formatCheck, pass, who, type CheckResult } from './check';
import { readConfig, reportConfigError } from './read-config';

// ---------------------------------------------------------------------------------------------
// Ledger
// ---------------------------------------------------------------------------------------------

export function checkLedgerDirectory(path: string): CheckResult {
  const name = 'ledger directory';
  if (path === ':memory:') return pass(name, 'the ledger is in memory (nothing on disk)');
  const dir = dirname(resolve(path));
  // Never created here either (as Ledger.open): a mistyped ledger.path must not become a new,
  // empty ledger that forgets every opt-out.
  let existing = dir;
  while (!existsSync(existing) && dirname(existing) !== existing) existing = dirname(existing);
  try {
    if (!statSync(existing).isDirectory()) {
      return fail(name, `${existing} is a file, not a directory, so ${path} cannot be created`, `point ledger.path at a file inside a directory, e.g. /var/lib/mctb/mctb.db`);
    }
  } catch (e) {
    return fail(name, `cannot look at ${existing}: ${(e as Error).message}`, `point ledger.path at a directory mctb can use, e.g. /var/lib/mctb/mctb.db`);
  }
  if (existing !== dir) {
    return fail(
      name,
      `${dir} does not exist (mctb never creates it: a mistyped ledger.path would start an empty ledger that forgets every opt-out)`,
      `correct ledger.path, or create the directory: \`install -d -o mctb -g mctb -m 0750 ${dir}\``,
    );
  }
  const probe = join(dir, `.mctb-doctor-${process.pid}-${randomBytes(4).toString('hex')}`);
  try {
    writeFileSync(probe, '', { flag: 'wx' });
    unlinkSync(probe);
  } catch (e) {
    const code = errCode(e);
    const user = who();
    if (code === 'EROFS') return fail(name, `${dir} is on a read-only file system`, `put ledger.path on a writable file system, e.g. /var/lib/mctb/mctb.db`);
    return fail(
      name,
      `${dir} is not writable by ${user} (${code || (e as Error).message})`,
      `let ${user} write there (\`chown ${user} ${dir}\`), or set ledger.path to a directory it owns; SQLite creates its -wal and -shm files next to the ledger`,
    );
  }
  return pass(name, `${dir} is writable by ${who()}`);
}

export async function checkLedger(path: string): Promise<CheckResult> {
  const name = 'ledger';
  const latest = MIGRATIONS.length;
  let before: number | undefined;
  if (path !== ':memory:' && existsSync(path)) {
    try {
      const raw = await SqliteFile.open(path, sqlite3.OPEN_READONLY);
      try {
        before = (await raw.get<{ user_version: number }>('PRAGMA user_version'))?.user_version ?? 0;
      } finally {
        await raw.close();
      }
    } catch (e) {
      return ledgerOpenProblem(path, e);
    }
    if (before > latest) {
      return fail(name, `${path} has schema version ${before}, newer than this mctb knows (${latest})`, 'a newer mctb wrote it: upgrade mctb (never run an older mctb on a newer ledger)');
    }
  }
  let ledger: Ledger;
  try {
    ledger = await Ledger.open(path);
  } catch (e) {
    return ledgerOpenProblem(path, e);
  }
  try {
    const version = await ledger.schemaVersion();
    const waiting = await ledger.sends.countOpen();
    if (version !== latest) return fail(name, `${path} is at schema version ${version}, expected ${latest}`, 'run `mctb doctor` again; if it stays, restore the ledger from a backup');
    const migrated = before === undefined ? ' (created now)' : before < latest ? ` (migrated now from ${before})` : '';
    return pass(name, `${path} opens; schema version ${version}, the latest${migrated}; ${waiting} text${waiting === 1 ? '' : 's'} waiting to go out`);
  } finally {
    await ledger.close();
  }
}

/**
 * A PostgreSQL ledger: the database answers, its schema is this mctb's (brought up to date now,
 * as `mctb run` would), and who holds the site's active lock (src/failover/active-lock.ts).
 */
export async function checkPostgresLedger(config: Config): Promise<CheckResult[]> {
  const target = targetOf(config.ledger);
  const shown = target.driver === 'postgres' ? displayUrl(target.url) : '';
  let ledger: Ledger;
  try {
    ledger = await Ledger.open(target);
  } catch (e) {
    const code = (e as { code?: string }).code ?? '';
    const message = (e as Error).message;
    const fix =
      code === 'ECONNREFUSED' || code === 'ENOTFOUND' || code === 'ETIMEDOUT'
        ? 'is PostgreSQL running, and listening at that host and port (listen_addresses, pg_hba.conf)?'
        : code === '28P01' || code === '28000'
          ? `check the role and its password (ledger.password_file or ${LEDGER_PASSWORD_ENV}) and pg_hba.conf`
          : code === '3D000'
            ? 'create the database first (as the postgres user: `createdb -O mctb mctb`); mctb creates its tables, never the database'
            : code === '42501'
              ? "the role may not create tables there: make it the database's owner (ALTER DATABASE ... OWNER TO mctb)"
              : 'see the message; `psql` with the same URL tells more';
    return [fail('ledger', `${shown} does not open: ${message}`, fix)];
  }
  try {
    const out: CheckResult[] = [];
    const latest = MIGRATIONS.length;
    const version = await ledger.schemaVersion();
    if (version > latest) out.push(fail('ledger', `${shown} has schema version ${version}, newer than this mctb knows (${latest})`, 'a newer mctb wrote it: upgrade this mctb like the others sharing the database'));
    else out.push(pass('ledger', `${shown} opens (PostgreSQL); schema version ${version}, the latest; ${await ledger.sends.countOpen()} texts waiting to go out`));
    const schema = (await ledger.database.get<{ s: string }>('SELECT current_schema() AS s'))?.s ?? 'public';
    const [a, b] = lockKeys(config.site, schema);
    const holder = await ledger.database.get<{ app: string | null; addr: string | null }>(
      `SELECT a.application_name AS app, CAST(a.client_addr AS TEXT) AS addr FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
       WHERE l.locktype = 'advisory' AND l.granted AND l.classid = CAST(CAST(? AS BIGINT) AS oid) AND l.objid = CAST(CAST(? AS BIGINT) AS oid) LIMIT 1`,
      [a >>> 0, b >>> 0],
    );
    const seen = await ledger.daemons.list(Date.now() - 30_000);
    const ofSite = seen.filter((d) => d.site === config.site).map((d) => `${d.instance} ${d.role}`);
    const others = [...new Set(seen.filter((d) => d.site !== config.site).map((d) => d.site))];
    const also = `${ofSite.length ? `; daemons of site ${config.site}: ${ofSite.join(', ')}` : ''}${others.length ? `; other sites on this database: ${others.join(', ')}` : ''}`;
    if (holder) out.push(pass('active', `site ${config.site}: a daemon holds the active lock (${holder.app ?? '?'}${holder.addr ? ` from ${holder.addr}` : ''})${also}`));
    else out.push(pass('active', `site ${config.site}: no daemon is active now; the first \`mctb run\` with this config takes the lock${also}`));
    return out;
  } finally {
    await ledger.close();
  }
}

function ledgerOpenProblem(path: string, e: unknown): CheckResult {
  const message = (e as Error).message ?? String(e);
  if (/SQLITE_NOTADB|not a database/i.test(message)) {
    return fail('ledger', `${path} is not an SQLite database (${message})`, 'point ledger.path at the mctb ledger, or restore it from a backup (`mctb ledger backup` makes them)');
  }
  if (/SQLITE_CORRUPT/i.test(message)) return fail('ledger', `${path} is damaged (${message})`, 'restore the ledger from a backup (`mctb ledger backup` makes them)');
  if (/SQLITE_BUSY|locked/i.test(message)) return fail('ledger', `${path} is locked (${message})`, 'another process holds a write lock for long: find it (`fuser` on the file) and stop it');
  return fail('ledger', `${path} does not open: ${message}`, `check that ${who()} can read and write ${path} and its directory`);
}

// ---------------------------------------------------------------------------------------------
// The command
// ---------------------------------------------------------------------------------------------

/** `mctb doctor --json`: one object (README, "Commands"). */
export interface DoctorJson {
  ok: boolean;
  checks: { name: string; ok: boolean; detail: string; fix: string | null }[];
  warnings: string[];
}

export async function doctor(opts: { config?: string; json?: boolean }, out: NodeJS.WritableStream = process.stdout, err: NodeJS.WritableStream = process.stderr): Promise<number> {
  let config: Config;
  let warnings;
  try {
    ({ config, warnings } = readConfig(opts.config));
  } catch (e) {
    return reportConfigError(e, err);
  }
  const checks: CheckResult[] = [];
  const report = (c: CheckResult) => {
    checks.push(c);
    if (!opts.json) out.write(formatCheck(c) + '\n');
  };
  report(pass('config', `${config.file} is valid (${config.businesses.length} business${config.businesses.length === 1 ? '' : 'es'}, events from ${config.asterisk.source}, texts by ${config.sms.transport})${warnings.length ? `, ${warnings.length} warning${warnings.length === 1 ? '' : 's'}${opts.json ? '' : ':'}` : ''}`));
  if (!opts.json) for (const w of warnings) out.write(`    warning: ${formatProblem(w)}\n`);

  if (config.ledger.driver === 'postgres') {
    for (const c of await checkPostgresLedger(config)) report(c);
  } else {
    const dir = checkLedgerDirectory(config.ledger.path);
    report(dir);
    if (dir.ok) report(await checkLedger(config.ledger.path));
    else report(fail('ledger', `${config.ledger.path} not opened`, 'fix the ledger directory (above) first'));
  }

  const source = SOURCES[config.asterisk.source];
  const pbx = source.settings(config);
  if (pbx) for (const c of await source.doctor(pbx)) report(c);
  else report(missing(`asterisk.source is ${source.name}`, source.section));

  const transport = TRANSPORTS[config.sms.transport];
  const sms = transport.settings(config);
  if (sms) for (const c of await transport.doctor(sms)) report(c);
  else report(missing(`sms.transport is ${transport.name}`, transport.section ?? 'sms'));

  const failed = checks.filter((c) => !c.ok).length;
  const total = checks.length;
  if (opts.json) {
    const j: DoctorJson = { ok: failed === 0, checks: checks.map((c) => ({ name: c.name, ok: c.ok, detail: c.detail, fix: c.fix ?? null })), warnings: warnings.map(formatProblem) };
    out.write(JSON.stringify(j) + '\n');
  } else out.write(failed === 0 ? `all ${total} checks passed\n` : `${failed} of ${total} checks failed\n`);
  return failed === 0 ? 0 : 1;
}

/** A section the chosen adapter needs is absent (the config's validation normally says so first). */
function missing(chosen: string, section: string): CheckResult {
  return fail(section, `${chosen} but ${section} is missing`, `add ${section} (config/mctb.example.yaml shows its keys)`);
}
