// A promise face for sqlite3 with one rule: operations run one after another. sqlite3 shares a
// single connection between callers, so a BEGIN from one caller would otherwise swallow another
// caller's statements into its transaction.

import sqlite3 from 'sqlite3';

export type Row = Record<string, unknown>;
export type Params = readonly unknown[] | Record<string, unknown>;

export interface Statements {
  run(sql: string, params?: Params): Promise<{ changes: number; lastID: number }>;
  get<T = Row>(sql: string, params?: Params): Promise<T | undefined>;
  all<T = Row>(sql: string, params?: Params): Promise<T[]>;
  exec(sql: string): Promise<void>;
}

export class SqliteFile {
  private tail: Promise<unknown> = Promise.resolve();
  private readonly raw: Statements;

  private constructor(private readonly db: sqlite3.Database) {
    this.raw = {
      run: (sql, params = []) =>
        new Promise((resolve, reject) =>
          db.run(sql, params, function (this: sqlite3.RunResult, err: Error | null) {
            if (err) reject(err);
            else resolve({ changes: this.changes, lastID: this.lastID });
          }),
        ),
      get: <T>(sql: string, params: Params = []) =>
        new Promise<T | undefined>((resolve, reject) => db.get(sql, params, (err, row) => (err ? reject(err) : resolve(row as T | undefined)))),
      all: <T>(sql: string, params: Params = []) =>
        new Promise<T[]>((resolve, reject) => db.all(sql, params, (err, rows) => (err ? reject(err) : resolve(rows as T[])))),
      exec: (sql) => new Promise((resolve, reject) => db.exec(sql, (err) => (err ? reject(err) : resolve()))),
    };
  }

  static open(path: string, mode = sqlite3.OPEN_READWRITE | sqlite3.OPEN_CREATE): Promise<SqliteFile> {
    return new Promise((resolve, reject) => {
      const db = new sqlite3.Database(path, mode, (err) => (err ? reject(err) : resolve(new SqliteFile(db))));
    });
  }

  /** Runs fn alone on the connection. */
  serial<T>(fn: (s: Statements) => Promise<T>): Promise<T> {
    const result = this.tail.then(() => fn(this.raw));
    this.tail = result.catch(() => undefined);
    return result;
  }

  /** Runs fn alone, inside one transaction (IMMEDIATE: takes the write lock up front). */
  transaction<T>(fn: (s: Statements) => Promise<T>): Promise<T> {
    return this.serial(async (s) => {
      await s.exec('BEGIN IMMEDIATE');
      try {
        const out = await fn(s);
        await s.exec('COMMIT');
        return out;
      } catch (err) {
        await s.exec('ROLLBACK').catch(() => undefined);
        throw err;
      }
    });
  }

  run(sql: string, params?: Params) {
    return this.serial((s) => s.run(sql, params));
  }
  get<T = Row>(sql: string, params?: Params) {
    return this.serial((s) => s.get<T>(sql, params));
  }
  all<T = Row>(sql: string, params?: Params) {
    return this.serial((s) => s.all<T>(sql, params));
  }

  close(): Promise<void> {
    return this.serial(() => new Promise<void>((resolve, reject) => this.db.close((err) => (err ? reject(err) : resolve()))));
  }
}
