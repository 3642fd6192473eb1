// Ledger housekeeping: `mctb forget NUMBER --yes` (erase a person's data, keep their opt-out),
// `mctb ledger backup FILE` (online, consistent copy) and `mctb ledger prune --older-than 400d`
// (retention).

import { createHash } from 'node:crypto';
import { existsSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { DateTime } from 'luxon';
import { formatDuration, parseDuration } from '../config/load';
import type { PruneResult } from '../ledger/admin';
import { toE164 } from '../numbers/phone';
import { readFileSync } from 'node:fs';
import { copyLedger } from '../ledger/copy';
import { Ledger, displayUrl, type LedgerTarget } from '../ledger/ledger';
import { LEDGER_PASSWORD_ENV } from '../config/schema';
import { withLedger } from './read-config';
import { isoTime } from './time';

/** What a forgotten number becomes in calls and sends: one-way, the same for the same number. */
export function numberHash(number: string): string {
  return 'sha256:' + createHash('sha256').update(number).digest('hex').slice(0, 16);
}

export function forget(numberArg: string, opts: { config?: string; yes?: boolean; json?: boolean }, out = process.stdout, err = process.stderr): Promise<number> {
  return withLedger(
    opts.config,
    async (ledger, config) => {
      const number = toE164(numberArg, config.numbers.default_country);
      if (!number) {
        err.write(`mctb forget: "${numberArg}" is not a phone number\n`);
        return 2;
      }
      if (!opts.yes) {
        err.write(
          `mctb forget: this erases ${number}'s contact, messages, callback tasks and staff notifications, and replaces the number in its calls and texts by a hash. It cannot be undone. Run again with --yes.\n`,
        );
        return 2;
      }
      const hash = numberHash(number);
      const r = await ledger.admin.forget(number, hash, Date.now());
      if (opts.json) {
        out.write(JSON.stringify({ number, hash, erased: { contacts: r.contacts, threads: r.threads, messages: r.messages, inbound_parts: r.inboundParts, tasks: r.tasks, notifications: r.notifications }, anonymised: { calls: r.calls, sends: r.sends, staff_alerts: r.staffAlertsBlanked }, cancelled: r.cancelled, opt_out_added: r.optOutAdded > 0, opt_outs_kept: r.optOutsKept }) + '\n');
        return 0;
      }
      const touched = r.contacts + r.threads + r.messages + r.inboundParts + r.tasks + r.notifications + r.calls + r.sends + r.staffAlertsBlanked;
      if (touched === 0 && r.optOutsKept === 0) {
        out.write(`nothing about ${number} in the ledger\n`);
        return 0;
      }
      out.write(`forgot ${number}; its calls and texts now show ${hash}\n`);
      out.write(`  erased: ${r.contacts} contact, ${r.messages} message${r.messages === 1 ? '' : 's'}, ${r.inboundParts} message part${r.inboundParts === 1 ? '' : 's'}, ${r.tasks} callback task${r.tasks === 1 ? '' : 's'}, ${r.notifications} staff notification${r.notifications === 1 ? '' : 's'}, ${r.threads} console thread${r.threads === 1 ? '' : 's'} with their notes\n`);
      out.write(`  anonymised: ${r.calls} call${r.calls === 1 ? '' : 's'} and ${r.sends} text${r.sends === 1 ? '' : 's'} (number hashed, caller name, raw number and text bodies blanked); ${r.staffAlertsBlanked} staff text${r.staffAlertsBlanked === 1 ? '' : 's'} quoting it blanked\n`);
      if (r.cancelled) out.write(`  cancelled: ${r.cancelled} text${r.cancelled === 1 ? '' : 's'} not yet sent\n`);
      if (r.optOutAdded) out.write(`  do_not_text kept as an opt-out from all businesses\n`);
      if (r.optOutsKept > 0) out.write(`  kept: ${r.optOutsKept} opt-out${r.optOutsKept === 1 ? '' : 's'} (the number stays on the opt-out list so it is never texted again)\n`);
      else out.write(`  not opted out: a new missed call from ${number} is texted as from anyone (\`mctb optout add ${number}\` stops that)\n`);
      if (r.notifications) out.write(`  note: webhook receivers were sent events about this number; erase it there too\n`);
      return 0;
    },
    err,
  );
}

export function ledgerBackup(fileArg: string, opts: { config?: string }, out = process.stdout, err = process.stderr): Promise<number> {
  const dest = resolve(fileArg);
  if (existsSync(dest)) {
    err.write(`mctb ledger backup: ${dest} exists; a backup never overwrites a file: choose a new name\n`);
    return Promise.resolve(2);
  }
  return withLedger(
    opts.config,
    async (ledger) => {
      if (ledger.driver === 'sqlite' && resolve(ledger.path) === dest) {
        err.write(`mctb ledger backup: ${dest} is the ledger itself\n`);
        return 2;
      }
      const started = Date.now();
      try {
        await ledger.admin.backupTo(dest);
      } catch (e) {
        err.write(`mctb ledger backup: could not write ${dest}: ${(e as Error).message}\n`);
        return 1;
      }
      const size = statSync(dest).size;
      const how = ledger.driver === 'postgres' ? ' (pg_dump custom format: restore with pg_restore)' : '';
      out.write(`backed up ${ledger.path} to ${dest}${how}: ${formatSize(size)} in ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
      return 0;
    },
    err,
  );
}

export function formatSize(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KiB`;
  if (bytes < 1024 ** 3) return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
  return `${(bytes / 1024 ** 3).toFixed(2)} GiB`;
}

/** Shorter than this, a prune would eat into what the daemon still reads (dedupe, follow-ups). */
const MIN_RETENTION_MS = 86_400_000;

const TABLE_LABELS: Record<keyof PruneResult, string> = {
  calls: 'calls',
  sends: 'texts',
  send_parts: 'text parts',
  receipts: 'receipts',
  messages: 'messages',
  tasks: 'closed tasks',
  notifications: 'notifications',
  inbound_parts: 'message parts',
  threads: 'quiet console threads',
};

export function ledgerPrune(opts: { config?: string; olderThan?: string; batchSize?: string; json?: boolean }, out = process.stdout, err = process.stderr): Promise<number> {
  return withLedger(
    opts.config,
    async (ledger) => {
      const age = opts.olderThan === undefined ? undefined : parseDuration(opts.olderThan);
      if (age === undefined) {
        err.write(`mctb ledger prune: --older-than "${opts.olderThan ?? ''}" is not a duration (e.g. 400d)\n`);
        return 2;
      }
      if (age < MIN_RETENTION_MS) {
        err.write(`mctb ledger prune: --older-than ${opts.olderThan} is under 1d; the daemon still reads recent rows (dedupe, follow-ups)\n`);
        return 2;
      }
      const batchSize = opts.batchSize === undefined ? 5000 : Number(opts.batchSize);
      if (!Number.isInteger(batchSize) || batchSize < 1) {
        err.write(`mctb ledger prune: --batch-size "${opts.batchSize}" is not a whole number from 1\n`);
        return 2;
      }
      const now = Date.now();
      const cutoff = DateTime.fromMillis(now - age).toFormat('yyyy-LL-dd HH:mm');
      if (!opts.json) out.write(`pruning rows older than ${formatDuration(age)} (before ${cutoff}), ${batchSize} at a time; opt-outs and contacts are kept\n`);
      const result = await ledger.admin.prune(age, now, {
        batchSize,
        onBatch: (table, deleted, total) => {
          if (opts.json) out.write(JSON.stringify({ table, deleted, total }) + '\n');
          else out.write(`  ${TABLE_LABELS[table as keyof PruneResult] ?? table}: deleted ${deleted} (${total} so far)\n`);
        },
      });
      if (opts.json) {
        out.write(JSON.stringify({ done: true, older_than: formatDuration(age), cutoff: isoTime(now - age, 'system'), deleted: result }) + '\n');
        return 0;
      }
      const parts = (Object.keys(TABLE_LABELS) as (keyof PruneResult)[]).map((k) => `${result[k]} ${TABLE_LABELS[k]}`);
      out.write(`done: deleted ${parts.join(', ')}\n`);
      out.write(`(the file keeps its size and reuses the space; \`mctb ledger backup FILE\` writes a compacted copy)\n`);
      return 0;
    },
    err,
  );
}

/** `sqlite:PATH` or `postgres:URL` (a bare postgres:// URL too), for `mctb ledger copy`. */
export function parseLedgerArg(arg: string, password?: string): LedgerTarget | string {
  if (arg.startsWith('sqlite:')) return arg.length > 7 ? { driver: 'sqlite', path: arg.slice(7) } : 'sqlite: needs a path (sqlite:/var/lib/mctb/mctb.db)';
  const url = arg.startsWith('postgres:postgres') ? arg.slice('postgres:'.length) : arg;
  if (/^postgres(ql)?:\/\//.test(url)) {
    try {
      new URL(url);
    } catch {
      return `${displayUrl(url)} is not a URL`;
    }
    return { driver: 'postgres', url, password };
  }
  return `"${arg.replace(/[^\x20-\x7e]/g, '?').slice(0, 80)}" is neither sqlite:PATH nor postgres:URL`;
}

/**
 * `mctb ledger copy --from sqlite:PATH --to postgres:URL`: opt-outs first, then everything; safe to
 * run again (it adds only what is missing), and the row counts of both are printed and compared.
 */
export async function ledgerCopy(opts: { from: string; to: string; passwordFile?: string }, out: NodeJS.WritableStream = process.stdout, err: NodeJS.WritableStream = process.stderr): Promise<number> {
  let password = process.env[LEDGER_PASSWORD_ENV];
  if (opts.passwordFile) {
    try {
      password = readFileSync(opts.passwordFile, 'utf8').split(/\r?\n/)[0];
    } catch (e) {
      err.write(`mctb ledger copy: cannot read --password-file ${opts.passwordFile}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}\n`);
      return 2;
    }
  }
  const from = parseLedgerArg(opts.from);
  const to = parseLedgerArg(opts.to, password);
  for (const [flag, t] of [['--from', from], ['--to', to]] as const) {
    if (typeof t === 'string') {
      err.write(`mctb ledger copy: ${flag} ${t}\n`);
      return 2;
    }
  }
  if (typeof from === 'string' || typeof to === 'string') return 2;
  if (from.driver !== 'sqlite' || to.driver !== 'postgres') {
    err.write('mctb ledger copy: copies an SQLite ledger into PostgreSQL: --from sqlite:PATH --to postgres:URL\n');
    return 2;
  }
  if (!existsSync(from.path)) {
    err.write(`mctb ledger copy: --from ${from.path} does not exist\n`);
    return 2;
  }
  let src: Ledger | undefined;
  let dst: Ledger | undefined;
  try {
    src = await Ledger.open(from);
    dst = await Ledger.open(to, { statementTimeoutMs: 0 });
    out.write(`copying ${src.path} into ${dst.path}\n`);
    out.write(`${'table'.padEnd(16)}${'sqlite'.padStart(10)}${'postgres'.padStart(10)}${'added'.padStart(10)}\n`);
    const tables = await copyLedger(src, dst, (t) => out.write(`${t.table.padEnd(16)}${String(t.from).padStart(10)}${String(t.to).padStart(10)}${String(t.added).padStart(10)}\n`));
    const short = tables.filter((t) => t.to < t.from);
    if (short.length > 0) {
      err.write(`mctb ledger copy: fewer rows in PostgreSQL than in SQLite for ${short.map((t) => t.table).join(', ')}: run it again, and see the log of the database\n`);
      return 1;
    }
    const added = tables.reduce((n, t) => n + t.added, 0);
    out.write(added === 0 ? 'nothing to add: PostgreSQL already holds every row\n' : `done: ${added} rows added; every table holds at least as many rows as the SQLite ledger\n`);
    return 0;
  } catch (e) {
    err.write(`mctb ledger copy: ${(e as Error).message}\n`);
    return 1;
  } finally {
    await src?.close().catch(() => undefined);
    await dst?.close().catch(() => undefined);
  }
}

/** `mctb ledger migrate`: brings the configured ledger's schema up to date (as `mctb run` would) and says its version. */
export function ledgerMigrate(opts: { config?: string }, out: NodeJS.WritableStream = process.stdout, err: NodeJS.WritableStream = process.stderr): Promise<number> {
  return withLedger(
    opts.config,
    async (ledger) => {
      out.write(`${ledger.path}: ledger schema version ${await ledger.schemaVersion()} (${ledger.driver}), up to date\n`);
      return 0;
    },
    err,
  );
}
