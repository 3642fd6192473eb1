// The ledger on PostgreSQL (ledger.driver: postgres), through a pool of `pg` connections. The
// parts of the ledger write SQLite's SQL; toPostgres translates the few words that differ, once
// per statement, so one statement serves both engines and one test suite runs against both.
//
// Transactions of this process run one after another, as on SQLite (the parts were written for
// that: no two of ours interleave or deadlock each other); reads outside a transaction use the
// pool side by side. Other daemons' transactions do interleave with ours: every write that could
// race one (an outbox claim, a call recorded by both of a pair) is one conditional statement, so
// READ COMMITTED is the isolation each needs; a deadlock or serialization failure is retried.

import { AsyncLocalStorage } from 'node:async_hooks';
import pg from 'pg';
import type { LedgerDb, Params, Row, Statements, TransactionOptions } from './db';

/** Tables with a generated `id`: an INSERT into one returns it (lastID, as SQLite's rowid). */
const ID_TABLES = new Set(['sends', 'receipts', 'messages', 'tasks', 'notifications', 'users', 'audit', 'threads', 'notes']);

/** Retried whole: another transaction won a race (deadlock_detected, serialization_failure). */
const RETRYABLE = new Set(['40P01', '40001']);

/** What SQLite's SQL says that PostgreSQL says otherwise: applied to text outside quotes. */
function rewrite(sql: string): string {
  let out = sql
    // A mixed-case name (an alias: `AS businessHour`) keeps its case, as on SQLite; unquoted,
    // PostgreSQL would fold it (businesshour) and the row's key would not be the one read.
    .replace(/\b([a-z_][a-z0-9_]*[A-Z][A-Za-z0-9_]*)\b/g, '"$1"')
    .replace(/\s+INDEXED BY\s+\w+/gi, '')
    .replace(/\bSELECT value FROM json_each\(([^()]+)\)/g, 'SELECT json_array_elements_text(CAST($1 AS json)) AS value')
    .replace(/\bjson_each\(([^()]+)\)/g, 'json_array_elements(CAST($1 AS json))')
    .replace(/\bgroup_concat\(([^(),]+(?:\([^()]*\))?[^(),]*)(?:,\s*(\u0001\d+\u0002))?\)/gi, (_m, a: string, sep?: string) => `string_agg(CAST(${a} AS TEXT), ${sep ?? "','"})`)
    .replace(/\bmax\(([^(),]+),([^(),]+)\)/gi, 'GREATEST($1,$2)')
    .replace(/\binstr\(/gi, 'strpos(')
    .replace(/\browid\b/gi, 'ctid')
    .replace(/\bNOT LIKE\b/g, 'NOT ILIKE')
    .replace(/(?<!NOT )\bLIKE\b/g, 'ILIKE')
    .replace(/\bIS\s+(?!NULL\b|NOT\b|DISTINCT\b|TRUE\b|FALSE\b)/gi, 'IS NOT DISTINCT FROM ');
  let ignore = false;
  out = out.replace(/\bINSERT OR IGNORE INTO\b/i, () => {
    ignore = true;
    return 'INSERT INTO';
  });
  if (ignore) out = `${out.trimEnd()} ON CONFLICT DO NOTHING`;
  const into = /^\s*INSERT INTO\s+(\w+)/i.exec(out);
  if (into && ID_TABLES.has(into[1]) && !/\bRETURNING\b/i.test(out)) out = `${out.trimEnd()} RETURNING id`;
  return out;
}

interface Translated {
  text: string;
  /** Named parameters ($name) in the order of their numbers; empty for positional (?) ones. */
  names: string[];
  name: string;
}

/**
 * SQLite's SQL to PostgreSQL's: `?` and `$name` become `$1`..., each cast to the type of the value
 * given for it (PostgreSQL cannot always infer one: `$1 + 1` would be int4), and rewrite() does
 * the rest. `types` is one letter per value: i integer, f float, t text, n null (left to infer).
 */
export function toPostgres(sql: string, types: string): { text: string; names: string[] } {
  const names: string[] = [];
  const literals: string[] = [];
  let n = 0;
  let masked = '';
  const cast = (k: number) => {
    const t = types[k - 1];
    return t === 'i' ? `$${k}::bigint` : t === 'f' ? `$${k}::float8` : t === 't' ? `$${k}::text` : `$${k}`;
  };
  for (let i = 0; i < sql.length; i++) {
    const c = sql[i];
    if (c === "'" || c === '"') {
      // Quoted text is kept out of the rewriting: \u0001 index \u0002 stands in for it meanwhile.
      let j = i + 1;
      while (j < sql.length && !(sql[j] === c && sql[j + 1] !== c)) j += sql[j] === c ? 2 : 1;
      masked += `\u0001${literals.push(sql.slice(i, j + 1)) - 1}\u0002`;
      i = j;
    } else if (c === '?') {
      masked += cast(++n);
    } else if (c === '$' && /[A-Za-z_]/.test(sql[i + 1] ?? '')) {
      const m = /^\$[A-Za-z_]\w*/.exec(sql.slice(i))![0];
      let k = names.indexOf(m);
      if (k < 0) k = names.push(m) - 1;
      masked += cast(k + 1);
      i += m.length - 1;
    } else masked += c;
  }
  const text = rewrite(masked).replace(/\u0001(\d+)\u0002/g, (_m, k: string) => literals[Number(k)]);
  return { text, names };
}

function typeOf(v: unknown): string {
  if (v === null || v === undefined) return 'n';
  if (typeof v === 'number') return Number.isInteger(v) ? 'i' : 'f';
  if (typeof v === 'boolean' || typeof v === 'bigint') return 'i';
  return 't';
}

function value(v: unknown): unknown {
  if (v === undefined) return null;
  if (typeof v === 'boolean') return v ? 1 : 0;
  return v;
}

/** Rows as SQLite gives them: bigint and numeric as numbers, booleans as 1 and 0. */
const TYPES = {
  getTypeParser(oid: number, format?: string): (v: string) => unknown {
    if (oid === 20 || oid === 1700 || oid === 701 || oid === 700) return Number;
    if (oid === 16) return (v: string) => (v === 't' ? 1 : 0);
    return pg.types.getTypeParser(oid, format as 'text') as (v: string) => unknown;
  },
} as unknown as pg.CustomTypesConfig;

export interface PgOptions {
  url: string;
  /** The password, when not in the URL (from password_file or the environment). */
  password?: string;
  /** Connections at most (default 10). */
  max?: number;
  /** Told of connection errors on idle connections, which would otherwise be thrown. */
  onError?: (err: Error) => void;
  /** A name for pg_stat_activity (the site). */
  applicationName?: string;
  /** A statement unanswered after this many ms fails (default 30 s); 0, never. */
  queryTimeoutMs?: number;
}

/** pg.Pool options for a ledger connection (also the active/standby lock's own connection). */
export function poolConfig(o: PgOptions): pg.PoolConfig {
  // pg lets the connection string's fields override the other settings, a password it lacks too:
  // the password is put in the URL, which never leaves this process.
  let connectionString = o.url;
  if (o.password !== undefined) {
    const u = new URL(o.url);
    u.password = encodeURIComponent(o.password);
    connectionString = u.toString();
  }
  return {
    connectionString,
    max: o.max ?? 10,
    connectionTimeoutMillis: 5000,
    idleTimeoutMillis: 30_000,
    // A database that stops answering (not one that closed the connection: that fails at once)
    // fails a statement after this, and the daemon's retry queue takes over.
    query_timeout: o.queryTimeoutMs ?? 30_000,
    keepAlive: true,
    application_name: o.applicationName ?? 'mctb',
    types: TYPES,
  };
}

/** Settings for one connection of its own (the active/standby lock's session). */
export function clientConfig(o: PgOptions): pg.ClientConfig {
  const { max: _max, idleTimeoutMillis: _idle, ...one } = poolConfig(o);
  return one;
}

export class PgDatabase implements LedgerDb {
  readonly dialect = 'postgres' as const;
  unsynced = false;
  site: string | null = null;
  onCommit?: () => void;
  private readonly inside = new AsyncLocalStorage<{ s: Statements; depth: number; savepoints: boolean }>();
  private tail: Promise<unknown> = Promise.resolve();
  private readonly translated = new Map<string, Translated>();

  private constructor(readonly pool: pg.Pool) {}

  static async open(o: PgOptions): Promise<PgDatabase> {
    const pool = new pg.Pool(poolConfig(o));
    // An idle connection the server closed (restart, failover) is only told, never thrown: the
    // next statement takes a new one.
    pool.on('error', (err) => o.onError?.(err));
    const db = new PgDatabase(pool);
    // Fails here, at start, with the server's own reason when it cannot be reached.
    await db.get('SELECT 1 AS one');
    return db;
  }

  get inTransaction(): boolean {
    return this.inside.getStore() !== undefined;
  }

  private statements(client: pg.PoolClient | pg.Pool): Statements {
    const query = async (sql: string, params: Params = []): Promise<pg.QueryResult> => {
      const named = !Array.isArray(params);
      let values: unknown[];
      let t: Translated;
      if (named) {
        // Names in the order the statement numbers them: translate once with the names' types.
        const obj = params as Record<string, unknown>;
        const probe = this.translate(sql, '');
        values = probe.names.map((k) => obj[k] ?? obj[k.slice(1)]);
        t = this.translate(sql, values.map(typeOf).join(''));
      } else {
        values = params as unknown[];
        t = this.translate(sql, values.map(typeOf).join(''));
      }
      return client.query({ name: t.name, text: t.text, values: values.map(value) });
    };
    return {
      run: async (sql, params) => {
        const res = await query(sql, params);
        const id = (res.rows[0] as { id?: unknown } | undefined)?.id;
        return { changes: res.rowCount ?? 0, lastID: typeof id === 'number' ? id : 0 };
      },
      get: async <T>(sql: string, params?: Params) => (await query(sql, params)).rows[0] as T | undefined,
      all: async <T>(sql: string, params?: Params) => (await query(sql, params)).rows as T[],
      exec: async (sql) => {
        await client.query(sql);
      },
    };
  }

  private translate(sql: string, types: string): Translated {
    const key = `${types}\u0000${sql}`;
    let t = this.translated.get(key);
    if (!t) {
      t = { ...toPostgres(sql, types), name: `mctb${this.translated.size + 1}` };
      this.translated.set(key, t);
    }
    return t;
  }

  serial<T>(fn: (s: Statements) => Promise<T>): Promise<T> {
    const tx = this.inside.getStore();
    if (tx) return fn(tx.s);
    return this.withClient((client) => fn(this.statements(client)));
  }

  private async withClient<T>(fn: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    const client = await this.pool.connect();
    let broken: Error | undefined;
    // A connection that fails while checked out says so as an 'error' event, which would be
    // thrown without a listener; its statement fails too, and the connection is dropped below.
    const onError = (err: Error) => (broken = err);
    client.on('error', onError);
    try {
      return await fn(client);
    } catch (err) {
      // A connection-level failure (no SQLSTATE) leaves the connection unusable: drop it.
      if (!(err as { code?: string }).code || /^(08|57P)/.test((err as { code: string }).code)) broken = err as Error;
      throw err;
    } finally {
      client.removeListener('error', onError);
      client.release(broken);
    }
  }

  transaction<T>(fn: (s: Statements) => Promise<T>, opts: TransactionOptions = {}): Promise<T> {
    const outer = this.inside.getStore();
    if (outer) return outer.savepoints ? this.savepoint(outer, fn) : fn(outer.s);
    const result = this.tail.then(() => this.attempt(fn, opts, 3));
    this.tail = result.catch(() => undefined);
    return result;
  }

  private async attempt<T>(fn: (s: Statements) => Promise<T>, opts: TransactionOptions, tries: number): Promise<T> {
    try {
      return await this.withClient(async (client) => {
        const s = this.statements(client);
        await client.query('BEGIN');
        try {
          // Relaxed: this commit does not wait for its WAL flush; the next durable commit flushes
          // the WAL up to itself, this one with it (Ledger.syncSoon), as SQLite's NORMAL does.
          if (opts.relaxed) await client.query('SET LOCAL synchronous_commit = off');
          const out = await this.inside.run({ s, depth: 0, savepoints: opts.savepoints ?? true }, () => fn(s));
          await client.query('COMMIT');
          this.unsynced = opts.relaxed === true;
          this.onCommit?.();
          return out;
        } catch (err) {
          await client.query('ROLLBACK').catch(() => undefined);
          throw err;
        }
      });
    } catch (err) {
      if (tries > 1 && RETRYABLE.has((err as { code?: string }).code ?? '')) return this.attempt(fn, opts, tries - 1);
      throw err;
    }
  }

  private async savepoint<T>(outer: { s: Statements; depth: number }, fn: (s: Statements) => Promise<T>): Promise<T> {
    const name = `sp${++outer.depth}`;
    await outer.s.exec(`SAVEPOINT ${name}`);
    try {
      const out = await fn(outer.s);
      await outer.s.exec(`RELEASE SAVEPOINT ${name}`);
      return out;
    } catch (err) {
      await outer.s.exec(`ROLLBACK TO SAVEPOINT ${name}; RELEASE SAVEPOINT ${name}`).catch(() => undefined);
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

  async close(): Promise<void> {
    await this.tail;
    await this.pool.end();
  }
}
