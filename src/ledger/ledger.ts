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
import { dirname, resolve } from 'node:path';
import { Admin } from './admin';
import { Calls } from './calls';
import { Contacts, OptOuts } from './contacts';
import { Messages } from './messages';
import { MIGRATIONS } from './migrations';
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
  log?: { info(message: string, meta?: Record<string, unknown>): unknown };
}

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

  private constructor(readonly path: string, private readonly db: SqliteFile) {
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
    this.admin = new Admin(path, db);
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
  static async open(path: string, opts: OpenOptions = {}): Promise<Ledger> {
    const onDisk = path !== ':memory:';
    if (onDisk) checkDirectory(path);
    const isNew = onDisk && !existsSync(path);
    const db = await SqliteFile.open(path);
    const ledger = new Ledger(path, db);
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
    const mode = await this.db.get<{ journal_mode: string }>('PRAGMA journal_mode');
    const sync = await this.db.get<{ synchronous: number }>('PRAGMA synchronous');
    return { journalMode: mode?.journal_mode ?? '', synchronous: Number(sync?.synchronous) };
  }

  /** `fn` runs after every commit of this connection (anything written: the ledger works). */
  onWrite(fn: () => void): void {
    this.db.onCommit = fn;
  }

  async schemaVersion(): Promise<number> {
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
    await this.db.transaction((s) => s.run('INSERT OR REPLACE INTO health_probe (id, at) VALUES (1, ?)', [now]));
  }
}
