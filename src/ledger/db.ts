// What every part of the ledger writes through: one face over the two engines, SQLite (one file,
// src/ledger/sqlite.ts) and PostgreSQL (src/ledger/postgres.ts). The parts write SQLite's SQL;
// the PostgreSQL side translates the few words that differ (see toPostgres), so one statement
// serves both and a test runs every part against both.

export type Row = Record<string, unknown>;
export type Params = readonly unknown[] | Record<string, unknown>;

export interface Statements {
  run(sql: string, params?: Params): Promise<{ changes: number; lastID: number }>;
  get<T = Row>(sql: string, params?: Params): Promise<T | undefined>;
  all<T = Row>(sql: string, params?: Params): Promise<T[]>;
  exec(sql: string): Promise<void>;
}

export type Dialect = 'sqlite' | 'postgres';

export interface TransactionOptions {
  /** Nested transactions roll back alone (savepoints), or join the outer one. */
  savepoints?: boolean;
  /** This commit need not be durable on its own (see Ledger.syncSoon). */
  relaxed?: boolean;
}

export interface LedgerDb {
  readonly dialect: Dialect;
  /** Whether the caller runs inside a transaction of this connection (its async context). */
  readonly inTransaction: boolean;
  /** A relaxed commit is not yet followed by a durable one. */
  unsynced: boolean;
  /** The daemon's site (config `site`), written on the calls it records and the texts it creates; null: none set. */
  site: string | null;
  /** Called after each commit. */
  onCommit?: () => void;
  serial<T>(fn: (s: Statements) => Promise<T>): Promise<T>;
  transaction<T>(fn: (s: Statements) => Promise<T>, opts?: TransactionOptions): Promise<T>;
  run(sql: string, params?: Params): Promise<{ changes: number; lastID: number }>;
  get<T = Row>(sql: string, params?: Params): Promise<T | undefined>;
  all<T = Row>(sql: string, params?: Params): Promise<T[]>;
  close(): Promise<void>;
}
