// A promise face for sqlite3 with one rule: operations run one after another. sqlite3 shares a
// single connection between callers, so a BEGIN from one caller would otherwise swallow another
// caller's statements into its transaction.

import { AsyncLocalStorage } from 'node:async_hooks';
import sqlite3 from 'sqlite3';

import type { LedgerDb, Params, Row, Statements } from './db';

export type { Params, Row, Statements } from './db';

/**
 * Data statements are kept prepared. PRAGMA and VACUUM are not: a PRAGMA that returns a row is
 * left mid-step by run(), and a kept statement "in progress" makes VACUUM refuse to run.
 */
function cacheable(sql: string): boolean {
  return !/^\s*(PRAGMA|VACUUM|ATTACH|DETACH|BEGIN|COMMIT|ROLLBACK|SAVEPOINT|RELEASE)\b/i.test(sql);
}

export class SqliteFile implements LedgerDb {
  readonly dialect = 'sqlite' as const;
  site: string | null = null;
  private tail: Promise<unknown> = Promise.resolve();
  private readonly raw: Statements;

  /**
   * Prepared statements by SQL text. sqlite3's db.run/get/all prepare, run and finalize a new
   * statement on every call (three trips to its worker thread); the ledger runs the same few
   * dozen statements for every call, so each is prepared once. Safe because operations run one
   * at a time (see serial()).
   */
  private readonly statements = new Map<string, sqlite3.Statement>();
  /** Called after each commit: a transaction's, or a statement run on its own (its own commit). */
  onCommit?: () => void;
  /** Set while a transaction's fn runs: its own calls join the transaction instead of queueing behind it. */
  private readonly inside = new AsyncLocalStorage<{ depth: number; savepoints: boolean }>();

  private constructor(private readonly db: sqlite3.Database) {
    const prepared = (sql: string): Promise<sqlite3.Statement> => {
      const cached = this.statements.get(sql);
      if (cached) return Promise.resolve(cached);
      return new Promise((resolve, reject) => {
        const stmt = db.prepare(sql, (err) => {
          if (err) reject(err);
          else {
            this.statements.set(sql, stmt);
            resolve(stmt);
          }
        });
      });
    };
    const all = async <T>(sql: string, params: Params = []): Promise<T[]> => {
      if (!cacheable(sql)) return new Promise<T[]>((resolve, reject) => db.all(sql, params, (err, rows) => (err ? reject(err) : resolve(rows as T[]))));
      const stmt = await prepared(sql);
      // all() steps to the end, so no read transaction is left open on the statement.
      return new Promise<T[]>((resolve, reject) => stmt.all(params, (err, rows) => (err ? reject(err) : resolve(rows as T[]))));
    };
    this.raw = {
      run: async (sql, params = []) => {
        if (!cacheable(sql)) {
          return new Promise((resolve, reject) =>
            db.run(sql, params, function (this: sqlite3.RunResult, err: Error | null) {
              if (err) reject(err);
              else resolve({ changes: this.changes, lastID: this.lastID });
            }),
          );
        }
        const stmt = await prepared(sql);
        return new Promise((resolve, reject) =>
          stmt.run(params, function (this: sqlite3.RunResult, err: Error | null) {
            if (err) reject(err);
            else resolve({ changes: this.changes, lastID: this.lastID });
          }),
        );
      },
      get: async <T>(sql: string, params: Params = []) => (await all<T>(sql, params))[0],
      all,
      exec: (sql) => new Promise((resolve, reject) => db.exec(sql, (err) => (err ? reject(err) : resolve()))),
    };
  }

  static open(path: string, mode = sqlite3.OPEN_READWRITE | sqlite3.OPEN_CREATE): Promise<SqliteFile> {
    return new Promise((resolve, reject) => {
      const db = new sqlite3.Database(path, mode, (err) => (err ? reject(err) : resolve(new SqliteFile(db))));
    });
  }

  /** Whether the caller runs inside a transaction of this connection (its async context). */
  get inTransaction(): boolean {
    return this.inside.getStore() !== undefined;
  }

  /**
   * Runs fn alone on the connection. Called from inside a transaction's fn (the same async
   * context), it runs at once, as part of that transaction: that is how a batch of calls shares
   * one transaction (one commit, one WAL write) while each uses the ordinary methods.
   */
  serial<T>(fn: (s: Statements) => Promise<T>): Promise<T> {
    if (this.inside.getStore()) return fn(this.raw);
    const result = this.tail.then(() => fn(this.raw));
    this.tail = result.catch(() => undefined);
    return result;
  }

  /**
   * Runs fn alone, inside one transaction (IMMEDIATE: takes the write lock up front). Nested in
   * another transaction it is a savepoint: it rolls back alone, and commits with the outer one;
   * unless the outer one was opened with `savepoints: false`, when it simply joins it (a failure
   * then rolls back the whole outer transaction; two statements less per nested call).
   */
  transaction<T>(fn: (s: Statements) => Promise<T>, opts: { savepoints?: boolean; relaxed?: boolean } = {}): Promise<T> {
    const outer = this.inside.getStore();
    if (outer) return outer.savepoints ? this.savepoint(outer, fn) : fn(this.raw);
    return this.serial(async (s) => {
      // Relaxed: this commit alone is not fsynced (synchronous = NORMAL); the next durable one,
      // which fsyncs the whole WAL, makes it durable too (see Ledger.batchEach).
      if (opts.relaxed) await s.exec('PRAGMA synchronous = NORMAL');
      try {
        await s.exec('BEGIN IMMEDIATE');
        try {
          const out = await this.inside.run({ depth: 0, savepoints: opts.savepoints ?? true }, () => fn(s));
          await s.exec('COMMIT');
          if (opts.relaxed) this.unsynced = true;
          else this.unsynced = false;
          this.onCommit?.();
          return out;
        } catch (err) {
          await s.exec('ROLLBACK').catch(() => undefined);
          throw err;
        }
      } finally {
        if (opts.relaxed) await s.exec('PRAGMA synchronous = FULL').catch(() => undefined);
      }
    });
  }

  /** A relaxed commit is not yet followed by a durable one (Ledger keeps this short). */
  unsynced = false;

  private async savepoint<T>(outer: { depth: number; savepoints: boolean }, fn: (s: Statements) => Promise<T>): Promise<T> {
    const name = `sp${++outer.depth}`;
    await this.raw.exec(`SAVEPOINT ${name}`);
    try {
      const out = await fn(this.raw);
      await this.raw.exec(`RELEASE ${name}`);
      return out;
    } catch (err) {
      await this.raw.exec(`ROLLBACK TO ${name}; RELEASE ${name}`).catch(() => undefined);
      throw err;
    }
  }

  async run(sql: string, params?: Params) {
    const inside = this.inTransaction;
    const res = await this.serial((s) => s.run(sql, params));
    if (!inside) this.onCommit?.();
    return res;
  }
  get<T = Row>(sql: string, params?: Params) {
    return this.serial((s) => s.get<T>(sql, params));
  }
  all<T = Row>(sql: string, params?: Params) {
    return this.serial((s) => s.all<T>(sql, params));
  }

  close(): Promise<void> {
    return this.serial(async () => {
      for (const stmt of this.statements.values()) await new Promise<void>((resolve) => stmt.finalize(() => resolve()));
      this.statements.clear();
      await new Promise<void>((resolve, reject) => this.db.close((err) => (err ? reject(err) : resolve())));
    });
  }
}
