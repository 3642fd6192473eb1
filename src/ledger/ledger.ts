// The ledger: every call, contact, send, delivery receipt and opt-out, in one SQLite file.
// It is the outbox too: a send exists here before it exists anywhere else, so nothing is lost
// across restarts and nothing is sent twice.
//
// One connection (src/ledger/sqlite.ts) serves every part; each part of the ledger is a module
// of its own over it, reached as a property: `ledger.calls.record(...)`, `ledger.sends.claim(...)`.
// What they all share lives here: opening and migrating the file, and the transactions that let
// calls from several parts commit as one (`together`, `batchEach`). The states and row shapes are
// in src/records/, which the parts that use the ledger import without importing it.

import { existsSync, statSync } from 'node:fs';
import { hostname } from 'node:os';
import { dirname, resolve } from 'node:path';
import { Admin } from './admin';
import { Calls } from './calls';
import { Contacts, OptOuts } from './contacts';
import { Messages } from './messages';
import type { LedgerDb } from './db';
import { MIGRATIONS } from './migrations';
import { PG_BASELINE, PG_BASELINE_VERSION, PG_MIGRATIONS } from './pg-schema';
import type { PgDatabase } from './postgres';
import { Notifications } from './notifications';
import { Relay } from './relay';
import { Sends } from './sends';
import { SqliteFile } from './sqlite';
import { Tasks } from './tasks';
import { Threads } from './threads';
import { Audit, Sessions, Users } from './users';

/** A relaxed commit (Ledger.batchEach) is made durable within this. */
const SYNC_WITHIN_MS = 1000;

export interface OpenOptions {
  /** Told, once, when there was no ledger at the path and a new, empty one was made there. */
  log?: { info(message: string, meta?: Record<string, unknown>): unknown; warn?(message: string, meta?: Record<string, unknown>): unknown };
  /** The daemon's site (config `site`): written on the calls it records and the texts it creates. */
  site?: string;
  /**
   * PostgreSQL: a statement unanswered after this many ms fails (default 30 s: the daemon's
   * retry queue then takes over from a database that stopped answering); 0, none (the command
   * line's reports and ledger commands over a big ledger: the user can press Ctrl-C).
   */
  statementTimeoutMs?: number;
}

/** Where the ledger is: an SQLite file, or a PostgreSQL database (ledger.driver). */
export type LedgerTarget = { driver: 'sqlite'; path: string } | { driver: 'postgres'; url: string; password?: string; max?: number };

/** The ledger a config names (its `ledger` section). */
export function targetOf(c: { driver: 'sqlite' | 'postgres'; path: string; url?: string; password?: string; pool?: number }): LedgerTarget {
  if (c.driver === 'postgres') return { driver: 'postgres', url: c.url ?? '', password: c.password, max: c.pool };
  return { driver: 'sqlite', path: c.path };
}

/** A PostgreSQL URL as it may be shown: any password in it replaced. */
export function displayUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return 'postgres://(unparsable URL)';
  }
}

/** Serialises migrations of daemons that start together on one PostgreSQL (pg_advisory_xact_lock). */
const MIGRATE_LOCK = 7_246_101;

/** The ledger's directory is missing (or not a directory): mctb never creates it. */
export class LedgerDirectoryError extends Error {
  constructor(
    readonly path: string,
    readonly directory: string,
    problem: 'missing' | 'not_a_directory',
  ) {
    super(
      `ledger.path ${path}: ${problem === 'missing' ? `the directory ${directory} does not exist` : `${directory} is not a directory`}. ` +
        'mctb does not create it, so that a mistyped path cannot start an empty ledger that forgets every opt-out: ' +
        `correct ledger.path, or create the directory (owned by the user mctb runs as)`,
    );
    this.name = 'LedgerDirectoryError';
  }
}

/**
 * Throws LedgerDirectoryError unless the directory the ledger goes in exists. Other problems
 * (no permission) are left to SQLite to report when it opens the file.
 */
function checkDirectory(path: string): void {
  const directory = dirname(resolve(path));
  let isDirectory: boolean;
  try {
    isDirectory = statSync(directory).isDirectory();
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new LedgerDirectoryError(path, directory, 'missing');
    if (code === 'ENOTDIR') throw new LedgerDirectoryError(path, directory, 'not_a_directory');
    return;
  }
  if (!isDirectory) throw new LedgerDirectoryError(path, directory, 'not_a_directory');
}

export class Ledger {
  /** Calls and their decisions; the facts a decision reads about a caller. */
  readonly calls: Calls;
  /** The outbox: texts to send, their states and delivery receipts. */
  readonly sends: Sends;
  /** Texts received, and the parts of concatenated ones. */
  readonly messages: Messages;
  readonly contacts: Contacts;
  readonly optOuts: OptOuts;
  /** Callback tasks for staff. */
  readonly tasks: Tasks;
  /** Staff notifications for webhooks. */
  readonly notifications: Notifications;
  /** A transport's own state across restarts (a poller's cursor): src/sms/transport.ts TransportDeps. */
  readonly transportState: { get(key: string): Promise<string | undefined>; set(key: string, value: string): Promise<void> };
  /** The daemons writing to this ledger and the role each last reported (mctb doctor). */
  readonly daemons: {
    seen(site: string, role: string, startedAt: number, now: number): Promise<void>;
    list(since: number): Promise<{ site: string; instance: string; role: string; version: string | null; started_at: number; seen_at: number }[]>;
  };
  /** What a staff mobile's reply answers. */
  readonly relay: Relay;
  /** Operator tools: report, forget, backup, prune. */
  readonly admin: Admin;
  /** Conversations for the console: inbox, timelines, notes. */
  readonly threads: Threads;
  /** The web console's users (`mctb users`), their sessions, and the audit log of what they did. */
  readonly users: Users;
  readonly sessions: Sessions;
  readonly audit: Audit;

  /** SQLite: the file's path; PostgreSQL: the URL without its password (for messages). */
  readonly path: string;

  private constructor(
    readonly target: LedgerTarget,
    private readonly db: LedgerDb,
  ) {
    this.path = target.driver === 'sqlite' ? target.path : displayUrl(target.url);
    this.calls = new Calls(db);
    this.sends = new Sends(db);
    this.messages = new Messages(db);
    this.contacts = new Contacts(db);
    this.optOuts = new OptOuts(db);
    this.tasks = new Tasks(db);
    this.notifications = new Notifications(db);
    this.relay = new Relay(db);
    this.transportState = {
      get: async (key) => (await db.get<{ value: string }>(`SELECT value FROM transport_state WHERE key = ?`, [key]))?.value,
      set: async (key, value) => {
        await db.run(`INSERT INTO transport_state (key, value, updated_at) VALUES (?,?,?) ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at`, [key, value, Date.now()]);
      },
    };
    const instance = `${hostname()}:${process.pid}`;
    this.daemons = {
      seen: async (site, role, startedAt, now) => {
        await db.run(
          `INSERT INTO daemons (site, instance, role, version, started_at, seen_at) VALUES (?,?,?,?,?,?)
           ON CONFLICT (site, instance) DO UPDATE SET role = excluded.role, seen_at = excluded.seen_at`,
          [site, instance, role, process.env.npm_package_version ?? null, startedAt, now],
        );
        // A daemon gone for a day is forgotten.
        await db.run(`DELETE FROM daemons WHERE seen_at < ?`, [now - 86_400_000]);
      },
      list: (since) => db.all(`SELECT * FROM daemons WHERE seen_at >= ? ORDER BY site, role, instance`, [since]),
    };
    this.admin = new Admin(target, db);
    this.threads = new Threads(db);
    this.users = new Users(db);
    this.sessions = new Sessions(db);
    this.audit = new Audit(db);
  }

  /**
   * Opens the ledger at `path`, creating the file (never its directory: LedgerDirectoryError) and
   * bringing its schema up to date. A new file is logged as such: an admin who sees it where a
   * ledger should have been knows ledger.path points at the wrong place.
   */
  static async open(where: string | LedgerTarget, opts: OpenOptions = {}): Promise<Ledger> {
    const target: LedgerTarget = typeof where === 'string' ? { driver: 'sqlite', path: where } : where;
    if (target.driver === 'postgres') return Ledger.openPostgres(target, opts);
    const path = target.path;
    const onDisk = path !== ':memory:';
    if (onDisk) checkDirectory(path);
    const isNew = onDisk && !existsSync(path);
    const db = await SqliteFile.open(path);
    db.site = opts.site ?? null;
    const ledger = new Ledger(target, db);
    // synchronous = FULL: in WAL mode SQLite then fsyncs the WAL at every commit, before COMMIT
    // returns, so a commit the daemon has seen cannot vanish with the power (NORMAL syncs only at
    // checkpoints: the last commits could). That is what every promise below rests on, and it is
    // enough: the outbox submits a text only after the commit of its `sending` claim returned, and
    // an incoming text (an opt-out) or a delivery receipt is acknowledged to the gateway only after
    // the commit that stores it returned (see Inbox, SmppTransport.onDeliverSm). The cost is one
    // fsync per transaction; the outbox's texts share one (Ledger.together). The one exception is
    // the daemon's record of ended calls (batchEach `relaxed`), argued there.
    await db.serial(async (s) => {
      await s.exec('PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 5000;');
    });
    await ledger.migrate();
    if (isNew) opts.log?.info(`created a new, empty ledger at ${resolve(path)}`);
    return ledger;
  }

  /**
   * Opens the ledger in a PostgreSQL database, bringing its schema up to date (one daemon at a
   * time: two that start together do not both migrate). The database must exist; mctb creates
   * its tables, never the database or its role.
   */
  private static async openPostgres(target: Extract<LedgerTarget, { driver: 'postgres' }>, opts: OpenOptions): Promise<Ledger> {
    // Loaded only here: a box on SQLite never loads the PostgreSQL driver.
    const { PgDatabase: Pg } = await import('./postgres');
    const db: PgDatabase = await Pg.open({
      url: target.url,
      password: target.password,
      max: target.max,
      queryTimeoutMs: opts.statementTimeoutMs,
      applicationName: `mctb${opts.site ? ` ${opts.site}` : ''}`,
      onError: (err) => opts.log?.warn?.('a ledger connection failed while idle; the next statement opens a new one', { error: err.message }),
    });
    db.site = opts.site ?? null;
    const ledger = new Ledger(target, db);
    try {
      const created = await db.transaction(async (s) => {
        await s.exec(`SELECT pg_advisory_xact_lock(${MIGRATE_LOCK})`);
        await s.exec('CREATE TABLE IF NOT EXISTS mctb_schema (version BIGINT NOT NULL)');
        const row = await s.get<{ version: number }>('SELECT version FROM mctb_schema');
        let version = row?.version ?? 0;
        if (!row) await s.exec('INSERT INTO mctb_schema (version) VALUES (0)');
        const isNew = version === 0;
        if (version < PG_BASELINE_VERSION) {
          await s.exec(PG_BASELINE);
          version = PG_BASELINE_VERSION;
        }
        for (let v = version + 1; v <= MIGRATIONS.length; v++) {
          const sql = PG_MIGRATIONS[v];
          if (sql === undefined) throw new Error(`ledger: no PostgreSQL migration for schema version ${v}`);
          await s.exec(sql);
          version = v;
        }
        await s.run('UPDATE mctb_schema SET version = ?', [version]);
        return isNew;
      });
      if (created) opts.log?.info(`created the ledger's tables in ${ledger.path}`);
    } catch (err) {
      await db.close().catch(() => undefined);
      throw err;
    }
    return ledger;
  }

  /** sqlite or postgres. */
  get driver(): 'sqlite' | 'postgres' {
    return this.db.dialect;
  }

  private async migrate(): Promise<void> {
    const row = await this.db.get<{ user_version: number }>('PRAGMA user_version');
    const current = row?.user_version ?? 0;
    for (const [index, sql] of MIGRATIONS.entries()) {
      const version = index + 1;
      if (version <= current) continue;
      await this.db.transaction(async (s) => {
        await s.exec(sql);
        await s.exec(`PRAGMA user_version = ${version}`);
      });
    }
  }

  /**
   * How this connection writes: `journal_mode` (wal) and `synchronous` (0 OFF, 1 NORMAL, 2 FULL,
   * 3 EXTRA; per connection, so only the connection itself can tell).
   */
  async durability(): Promise<{ journalMode: string; synchronous: number }> {
    if (this.db.dialect === 'postgres') {
      const r = await this.db.get<{ s: string }>(`SELECT current_setting('synchronous_commit') AS s`);
      return { journalMode: 'postgres', synchronous: r?.s === 'off' ? 1 : 2 };
    }
    const mode = await this.db.get<{ journal_mode: string }>('PRAGMA journal_mode');
    const sync = await this.db.get<{ synchronous: number }>('PRAGMA synchronous');
    return { journalMode: mode?.journal_mode ?? '', synchronous: Number(sync?.synchronous) };
  }

  /** `fn` runs after every commit of this connection (anything written: the ledger works). */
  onWrite(fn: () => void): void {
    this.db.onCommit = fn;
  }

  async schemaVersion(): Promise<number> {
    if (this.db.dialect === 'postgres') return (await this.db.get<{ version: number }>('SELECT version FROM mctb_schema'))?.version ?? 0;
    return (await this.db.get<{ user_version: number }>('PRAGMA user_version'))?.user_version ?? 0;
  }

  close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.syncTimer);
    // The last connection's close checkpoints the WAL into the database file, synced.
    return this.db.close();
  }

  /**
   * Runs each fn in one transaction, and settles each alone. Optimistic: first with every fn
   * joining the transaction (no savepoints: two statements less per fn); only when one fails,
   * again with each in a savepoint of its own, so that it alone rolls back and rejects. So fns
   * must be safe to run twice (they are: reads, then writes, nothing outside the ledger). Rejects
   * as a whole when the transaction itself fails (disk full at the commit).
   */
  async batchEach<T>(fns: readonly (() => Promise<T>)[], opts: { relaxed?: boolean } = {}): Promise<PromiseSettledResult<T>[]> {
    const relaxed = opts.relaxed === true;
    try {
      return await this.db.transaction(
        async () => {
          const out: PromiseSettledResult<T>[] = [];
          for (const fn of fns) out.push({ status: 'fulfilled', value: await fn() });
          return out;
        },
        { savepoints: false, relaxed },
      ).finally(() => relaxed && this.syncSoon());
    } catch (err) {
      if (fns.length === 1) return [{ status: 'rejected', reason: err }];
    }
    return this.db.transaction(async () => {
      const out: PromiseSettledResult<T>[] = [];
      for (const fn of fns) {
        try {
          out.push({ status: 'fulfilled', value: await this.db.transaction(() => fn()) });
        } catch (reason) {
          out.push({ status: 'rejected', reason });
        }
      }
      return out;
    });
  }

  /**
   * After a relaxed commit (ended calls, written without an fsync of their own), a durable commit
   * within SYNC_WITHIN_MS. Why relaxed is safe: nothing is acted on from those rows until the
   * outbox claims a text, and that claim's own commit fsyncs the whole WAL, these rows with it;
   * so a text is never sent from a record that could vanish. What a power cut can take is at most
   * the last second of decided calls whose texts were not yet due. It saves an fsync on the way
   * from hangup to submit_sm (npm run bench: README, Performance).
   */
  private syncSoon(): void {
    if (this.syncTimer || !this.db.unsynced) return;
    this.syncTimer = setTimeout(() => {
      this.syncTimer = undefined;
      if (!this.db.unsynced || this.closed) return;
      this.probeWrite(Date.now()).catch(() => this.syncSoon());
    }, SYNC_WITHIN_MS);
    this.syncTimer.unref();
  }

  private syncTimer?: NodeJS.Timeout;
  private closed = false;

  /** Whether a relaxed commit still waits for its durable one (tests). */
  get syncPending(): boolean {
    return this.db.unsynced;
  }

  /**
   * Runs fn in a transaction shared with every other fn handed in meanwhile (batchEach): concurrent
   * small writes (the outbox's texts) then wait once for the connection and commit once, instead
   * of each waiting behind a burst of decisions. Resolves after the commit.
   */
  together<T>(fn: () => Promise<T>, opts: { relaxed?: boolean } = {}): Promise<T> {
    // Already inside a transaction: join it (the shared one would wait behind it forever).
    if (this.db.inTransaction) return this.db.transaction(() => fn());
    return new Promise<T>((resolve, reject) => {
      this.shared.push({ fn, relaxed: opts.relaxed === true, resolve: resolve as (v: unknown) => void, reject });
      if (!this.sharing) void this.flushShared();
    });
  }

  private readonly shared: { fn: () => Promise<unknown>; relaxed: boolean; resolve: (v: unknown) => void; reject: (err: unknown) => void }[] = [];
  private sharing = false;

  /** The database itself, for the parts that speak to one engine (src/ledger/roles.ts, copy). */
  get database(): LedgerDb {
    return this.db;
  }

  private async flushShared(): Promise<void> {
    this.sharing = true;
    while (this.shared.length > 0) {
      const group = this.shared.splice(0);
      try {
        // Durable unless every write in it may be relaxed (one claim among them makes it durable).
        const settled = await this.batchEach(group.map((item) => item.fn), { relaxed: group.every((item) => item.relaxed) });
        settled.forEach((r, i) => (r.status === 'fulfilled' ? group[i].resolve(r.value) : group[i].reject(r.reason)));
      } catch (err) {
        for (const item of group) item.reject(err);
      }
    }
    this.sharing = false;
  }

  /**
   * A real write, for health checks: a read-only file or a full disk fails here before a send
   * would fail to be recorded. A durable transaction of its own: it is also the commit that
   * makes relaxed ones durable (syncSoon).
   */
  async probeWrite(now: number): Promise<void> {
    await this.db.transaction((s) => s.run('INSERT INTO health_probe (id, at) VALUES (1, ?) ON CONFLICT (id) DO UPDATE SET at = excluded.at', [now]));
  }
}
