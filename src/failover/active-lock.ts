// Active or standby, for daemons that share a PostgreSQL ledger. Daemons with the same `site`
// (two machines, one config) contend for one PostgreSQL advisory lock; the one holding it is
// active (its outbox sends), the others are standby (they follow the PBX and record calls, which
// the ledger stores once, and send nothing).
//
// Why an advisory lock and not a lease row: the lock belongs to a database session, so the server
// frees it the moment that session ends (a daemon killed, its machine's TCP connection reset):
// the standby takes over at its next try, with no lease to wait out and no clocks of two machines
// compared. When the active machine vanishes without a word (power, a cut cable), the server
// notices by TCP keepalives set on the session (KEEPALIVE_*: within 8 s) and frees the lock. The
// active daemon, for its part, gives up its role as soon as it cannot confirm the lock within
// CONFIRM_TIMEOUT_MS, before the server can have freed it for another. Bound: a standby is active
// within FAILOVER_BOUND_MS of the active one's death. Two daemons can still overlap for a moment
// around a cut; the outbox's claim is one conditional UPDATE (src/ledger/sends.ts), so they can
// never claim the same text, and a text on the wire at the cut is requeued marked interrupted.

import { createHash } from 'node:crypto';
import pg from 'pg';
import type { Logger } from '../log';

export type Role = 'active' | 'standby';

/** How often a standby tries for the lock, and the active one confirms it holds it. */
export const TRY_EVERY_MS = 2000;
/** The active daemon gives up its role when a confirmation takes longer than this. */
export const CONFIRM_TIMEOUT_MS = 4000;
/** Server side: a silent peer's session ends after idle + interval × count seconds. */
const KEEPALIVE = { idle: 5, interval: 1, count: 3 };
/** The longest a standby waits for a dead active daemon's lock: keepalives, then one try. */
export const FAILOVER_BOUND_MS = (KEEPALIVE.idle + KEEPALIVE.interval * KEEPALIVE.count) * 1000 + TRY_EVERY_MS + CONFIRM_TIMEOUT_MS;

/**
 * The advisory lock's two 32-bit keys for a site: the same for every daemon with that site on the
 * same ledger (an advisory lock is database-wide: the schema the ledger is in is part of the key).
 */
export function lockKeys(site: string, schema: string): [number, number] {
  const h = createHash('sha256').update(`mctb active ${schema} ${site}`).digest();
  return [h.readInt32BE(0), h.readInt32BE(4)];
}

export interface ActiveLockOptions {
  /** pg client settings for the lock's own session (never a pooled one: the lock is the session's). */
  connection: pg.ClientConfig;
  site: string;
  log: Logger;
  /** Told each change of role (and the first). */
  onRole(role: Role): void;
  /** Told after each try or confirmation, with the role it left (the daemons table, metrics). */
  onBeat?(role: Role): void;
  tryEveryMs?: number;
}

export class ActiveLock {
  private client?: pg.Client;
  private timer?: NodeJS.Timeout;
  private stopped = false;
  private current: Role = 'standby';
  private told = false;
  private busy = false;
  private lastError?: string;
  private keys?: [number, number];

  constructor(private readonly o: ActiveLockOptions) {}

  get role(): Role {
    return this.current;
  }

  start(): void {
    void this.beat();
  }

  /** Gives the lock up (the standby takes over at its next try) and closes the session. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    while (this.busy) await new Promise((r) => setTimeout(r, 20));
    const client = this.client;
    this.client = undefined;
    if (client) {
      await client.query('SELECT pg_advisory_unlock_all()').catch(() => undefined);
      await client.end().catch(() => undefined);
    }
    this.set('standby');
  }

  private set(role: Role): void {
    if (role === this.current && this.told) return;
    this.current = role;
    this.told = true;
    this.o.onRole(role);
  }

  private async beat(): Promise<void> {
    if (this.stopped) return;
    this.busy = true;
    try {
      const client = await this.session();
      this.keys ??= lockKeys(this.o.site, (await client.query<{ s: string }>('SELECT current_schema() AS s')).rows[0].s);
      const [a, b] = this.keys;
      // Held already: pg_try_advisory_lock would stack a second hold; ask pg_locks instead.
      const sql =
        this.current === 'active'
          ? `SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid() AND classid = $1::bigint::oid AND objid = $2::bigint::oid AND granted) AS held`
          : 'SELECT pg_try_advisory_lock($1::int, $2::int) AS held';
      const params = this.current === 'active' ? [a >>> 0, b >>> 0] : [a, b];
      const res = await withTimeout(client.query<{ held: boolean }>(sql, params), CONFIRM_TIMEOUT_MS);
      const held = res.rows[0]?.held === true;
      if (held && this.current !== 'active') this.o.log.info('this daemon is now active: it sends the texts of its site', { site: this.o.site });
      if (!held && this.current === 'active') this.o.log.warn('this daemon lost the active lock; it is standby now', { site: this.o.site });
      if (this.lastError) {
        this.o.log.info('the active/standby lock is reachable again', { site: this.o.site });
        this.lastError = undefined;
      }
      this.set(held ? 'active' : 'standby');
    } catch (err) {
      // Cannot confirm: not active any more, whatever the server thinks (it frees the lock soon).
      const message = (err as Error).message;
      if (message !== this.lastError) this.o.log.warn('cannot reach the database for the active/standby lock; standby until it can', { site: this.o.site, error: message });
      this.lastError = message;
      this.drop();
      this.set('standby');
    } finally {
      this.busy = false;
    }
    this.o.onBeat?.(this.current);
    if (!this.stopped) {
      this.timer = setTimeout(() => void this.beat(), this.o.tryEveryMs ?? TRY_EVERY_MS);
      this.timer.unref();
    }
  }

  private async session(): Promise<pg.Client> {
    if (this.client) return this.client;
    // pg's own types (the ledger's pool reads booleans as 0/1, as SQLite gives them).
    const { types: _types, ...connection } = this.o.connection;
    const client = new pg.Client({ ...connection, keepAlive: true, connectionTimeoutMillis: CONFIRM_TIMEOUT_MS });
    client.on('error', () => this.drop());
    await client.connect();
    this.client = client;
    await client.query(`SET tcp_keepalives_idle = ${KEEPALIVE.idle}; SET tcp_keepalives_interval = ${KEEPALIVE.interval}; SET tcp_keepalives_count = ${KEEPALIVE.count}`);
    return client;
  }

  /** Forgets the session (a broken one holds nothing this daemon may rely on). */
  private drop(): void {
    const client = this.client;
    this.client = undefined;
    client?.end().catch(() => undefined);
  }
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    p.finally(() => clearTimeout(timer)),
    new Promise<T>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
    }),
  ]);
}
