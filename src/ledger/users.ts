// The web console's users, their sessions, and the audit log (ledger v8). A user name is unique
// in any case (users.name is COLLATE NOCASE, which folds ASCII letters only: see foldName).
// Passwords arrive here already hashed (src/console/passwords.ts) and never leave except to be
// verified (passwordHash); sessions are stored by a hash of the cookie's value.

import type { AuditRow, LiveSession, UserRow } from '../records/rows';
import { FAILED_SIGN_IN_ACTIONS, SIGN_IN_ACTIONS } from '../records/states';
import type { LedgerDb } from './db';

/** `mctb users add` with a name already taken (in any case). */
export class UserExistsError extends Error {
  constructor(readonly userName: string) {
    super(`a user named "${userName}" already exists (names are the same in any case)`);
    this.name = 'UserExistsError';
  }
}

/** A name as SQLite's NOCASE compares it: ASCII letters lowered, nothing else. */
export function foldName(name: string): string {
  return name.replace(/[A-Z]/g, (c) => c.toLowerCase());
}

interface UserRecord {
  id: number;
  name: string;
  role: string;
  businesses: string;
  created_at: number;
  password_changed_at: number;
}

function toUser(r: UserRecord): UserRow {
  let businesses: unknown;
  try {
    businesses = JSON.parse(r.businesses);
  } catch {
    businesses = [];
  }
  return {
    id: r.id,
    name: r.name,
    role: r.role === 'owner' ? 'owner' : 'staff',
    businesses: Array.isArray(businesses) ? businesses.filter((b): b is string => typeof b === 'string') : [],
    created_at: r.created_at,
    password_changed_at: r.password_changed_at,
  };
}

const USER_COLUMNS = 'id, name, role, businesses, created_at, password_changed_at';

export class Users {
  constructor(private readonly db: LedgerDb) {}

  /** Adds a user; UserExistsError when the name is taken in any case. */
  async add(u: { name: string; role: 'owner' | 'staff'; businesses: string[]; passwordHash: string }, now: number): Promise<UserRow> {
    try {
      const { lastID } = await this.db.run(
        `INSERT INTO users (name, role, businesses, password_hash, created_at, password_changed_at) VALUES (?,?,?,?,?,?)`,
        [u.name, u.role, JSON.stringify(u.businesses), u.passwordHash, now, now],
      );
      return { id: lastID, name: u.name, role: u.role, businesses: [...u.businesses], created_at: now, password_changed_at: now };
    } catch (err) {
      // SQLite names the column; PostgreSQL gives the unique violation's code (index users_name).
      if (/UNIQUE constraint failed: users\.name/.test((err as Error).message) || (err as { code?: string }).code === '23505') throw new UserExistsError(u.name);
      throw err;
    }
  }

  async get(name: string): Promise<UserRow | undefined> {
    const r = await this.db.get<UserRecord>(`SELECT ${USER_COLUMNS} FROM users WHERE lower(name) = lower(?)`, [name]);
    return r && toUser(r);
  }

  async byId(id: number): Promise<UserRow | undefined> {
    const r = await this.db.get<UserRecord>(`SELECT ${USER_COLUMNS} FROM users WHERE id = ?`, [id]);
    return r && toUser(r);
  }

  /** The user and their password hash, for a sign-in to verify. */
  async passwordHash(name: string): Promise<{ user: UserRow; hash: string } | undefined> {
    const r = await this.db.get<UserRecord & { password_hash: string }>(`SELECT ${USER_COLUMNS}, password_hash FROM users WHERE lower(name) = lower(?)`, [name]);
    return r && { user: toUser(r), hash: r.password_hash };
  }

  /** Every user, by name. */
  async list(): Promise<UserRow[]> {
    return (await this.db.all<UserRecord>(`SELECT ${USER_COLUMNS} FROM users ORDER BY lower(name), id`)).map(toUser);
  }

  /** Removes a user and, by the foreign key's cascade, their sessions. */
  async remove(name: string): Promise<boolean> {
    return (await this.db.run(`DELETE FROM users WHERE lower(name) = lower(?)`, [name])).changes === 1;
  }

  /** Sets a new password hash and ends every session of the user: a changed password signs everyone out. */
  setPassword(name: string, hash: string, now: number): Promise<boolean> {
    return this.db.transaction(async (s) => {
      const user = await s.get<{ id: number }>(`SELECT id FROM users WHERE lower(name) = lower(?)`, [name]);
      if (!user) return false;
      await s.run(`UPDATE users SET password_hash = ?, password_changed_at = ? WHERE id = ?`, [hash, now, user.id]);
      await s.run(`DELETE FROM sessions WHERE user_id = ?`, [user.id]);
      return true;
    });
  }

  async count(): Promise<number> {
    return (await this.db.get<{ n: number }>(`SELECT count(*) AS n FROM users`))?.n ?? 0;
  }
}

/** A session is over once unused for idleMs, or lifetimeMs after it began. */
const expired = (createdAt: number, lastSeenAt: number, now: number, idleMs: number, lifetimeMs: number): boolean =>
  now - lastSeenAt > idleMs || now - createdAt > lifetimeMs;

export class Sessions {
  constructor(private readonly db: LedgerDb) {}

  async create(s: { idHash: string; userId: number; csrf: string; address: string | null }, now: number): Promise<void> {
    await this.db.run(`INSERT INTO sessions (id_hash, user_id, csrf, address, created_at, last_seen_at) VALUES (?,?,?,?,?,?)`, [s.idHash, s.userId, s.csrf, s.address, now, now]);
  }

  /** The live session and its user; undefined when unknown, idle longer than idleMs, or older than lifetimeMs (such a row is deleted). */
  async get(idHash: string, now: number, idleMs: number, lifetimeMs: number): Promise<LiveSession | undefined> {
    const r = await this.db.get<UserRecord & { csrf: string; s_created_at: number; last_seen_at: number }>(
      `SELECT u.id, u.name, u.role, u.businesses, u.created_at, u.password_changed_at, s.csrf, s.created_at AS s_created_at, s.last_seen_at
       FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.id_hash = ?`,
      [idHash],
    );
    if (!r) return undefined;
    if (expired(r.s_created_at, r.last_seen_at, now, idleMs, lifetimeMs)) {
      await this.destroy(idHash);
      return undefined;
    }
    return { user: toUser(r), csrf: r.csrf, createdAt: r.s_created_at, lastSeenAt: r.last_seen_at };
  }

  /** Marks the session used now (never back in time: requests may finish out of order). */
  async touch(idHash: string, now: number): Promise<void> {
    await this.db.run(`UPDATE sessions SET last_seen_at = max(last_seen_at, ?) WHERE id_hash = ?`, [now, idHash]);
  }

  async destroy(idHash: string): Promise<void> {
    await this.db.run(`DELETE FROM sessions WHERE id_hash = ?`, [idHash]);
  }

  /**
   * The user's sessions: every row, or with `live` only those not yet expired (as get() judges
   * them; `mctb users list`, which only reads).
   */
  async countFor(userId: number, live?: { now: number; idleMs: number; lifetimeMs: number }): Promise<number> {
    const row = live
      ? await this.db.get<{ n: number }>(`SELECT count(*) AS n FROM sessions WHERE user_id = ? AND last_seen_at >= ? AND created_at >= ?`, [userId, live.now - live.idleMs, live.now - live.lifetimeMs])
      : await this.db.get<{ n: number }>(`SELECT count(*) AS n FROM sessions WHERE user_id = ?`, [userId]);
    return row?.n ?? 0;
  }

  /** Deletes expired sessions (any user); returns how many. */
  async prune(now: number, idleMs: number, lifetimeMs: number): Promise<number> {
    return (await this.db.run(`DELETE FROM sessions WHERE last_seen_at < ? OR created_at < ?`, [now - idleMs, now - lifetimeMs])).changes;
  }
}

const FAILED_IN = FAILED_SIGN_IN_ACTIONS.map((a) => `'${a}'`).join(', ');

export class Audit {
  constructor(private readonly db: LedgerDb) {}

  /**
   * Records an entry. A sign-in's subject (the name as typed) is stored folded as user names
   * compare (foldName), so failedLogins counts "Bob" and "BOB" as one name through the index.
   */
  async add(e: { actor?: string | null; action: string; subject?: string | null; address?: string | null; detail?: string | null }, now: number): Promise<void> {
    const subject = e.subject != null && (SIGN_IN_ACTIONS as readonly string[]).includes(e.action) ? foldName(e.subject) : (e.subject ?? null);
    await this.db.run(`INSERT INTO audit (at, actor, action, subject, address, detail) VALUES (?,?,?,?,?,?)`, [now, e.actor ?? null, e.action, subject, e.address ?? null, e.detail ?? null]);
  }

  /** Entries newest first: at in [since, until), of one action, at most limit (all when not given). */
  list(opts: { since?: number; until?: number; action?: string; limit?: number } = {}): Promise<AuditRow[]> {
    // Only the conditions given, so that SQLite can walk the audit_at index and stop at the limit.
    const where: string[] = [];
    const params: unknown[] = [];
    const and = (sql: string, value: unknown): void => {
      where.push(sql);
      params.push(value);
    };
    if (opts.since !== undefined) and('at >= ?', opts.since);
    if (opts.until !== undefined) and('at < ?', opts.until);
    if (opts.action !== undefined) and('action = ?', opts.action);
    return this.db.all<AuditRow>(
      `SELECT id, at, actor, action, subject, address, detail FROM audit ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY at DESC, id DESC${opts.limit !== undefined ? ' LIMIT ?' : ''}`,
      opts.limit !== undefined ? [...params, opts.limit] : params,
    );
  }

  /** Failed sign-ins (action 'login_failed' or 'login_throttled') since `since`, for that user name (case-insensitive) and for that address. Uses the indexes audit_subject / audit_address. */
  async failedLogins(name: string, address: string, since: number): Promise<{ byUser: number; byAddress: number }> {
    const byUser = await this.db.get<{ n: number }>(`SELECT count(*) AS n FROM audit WHERE action IN (${FAILED_IN}) AND subject = ? AND at >= ?`, [foldName(name), since]);
    const byAddress = await this.db.get<{ n: number }>(`SELECT count(*) AS n FROM audit WHERE action IN (${FAILED_IN}) AND address = ? AND at >= ?`, [address, since]);
    return { byUser: byUser?.n ?? 0, byAddress: byAddress?.n ?? 0 };
  }
}
