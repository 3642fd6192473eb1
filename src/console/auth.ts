// Who is asking: sign-in with throttling, sessions, and the checks every state-changing request
// passes (a CSRF token bound to the session, and a same-origin check).
//
// A session id is 256 random bits in an HttpOnly, SameSite=Lax cookie; the ledger keeps only its
// SHA-256, so a copy of the ledger holds no live session. Failed sign-ins are counted from the
// audit table (per user name and per address, within console.login_window): the count survives
// restarts and the audit trail is the throttle's own record.

import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { ConsoleConfig } from '../config/types';
import type { Ledger } from '../ledger/ledger';
import type { UserRow } from '../records/rows';
import { dummyHash, verifyPassword } from './passwords';

export const SESSION_COOKIE = 'mctb_session';
/** A session's last-seen time is written at most this often (not on every request). */
const TOUCH_EVERY_MS = 60_000;

export interface Viewer {
  user: UserRow;
  /** The businesses this user may see; undefined: all (owner). */
  businesses?: readonly string[];
  csrf: string;
  idHash: string;
}

export type SignIn = { ok: true; cookie: string; user: UserRow } | { ok: false; reason: 'wrong' | 'throttled' };

export function hashId(id: string): string {
  return createHash('sha256').update(id).digest('hex');
}

export function sameSecret(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

export class Auth {
  constructor(
    private readonly ledger: Ledger,
    private readonly cfg: ConsoleConfig,
    /**
     * The businesses a staff user's list is checked against; undefined on a ledger several sites
     * share, where a user may be given another site's business (its threads are in the ledger).
     */
    private readonly businessNames: () => readonly string[] | undefined,
    private readonly clock: () => number,
  ) {}

  /**
   * Checks a password. Over the attempts allowed in the window (for this name, or from this
   * address) it is refused even when right, so guessing gains nothing from a slow drip.
   */
  async signIn(name: string, password: string, address: string): Promise<SignIn> {
    const now = this.clock();
    const failed = await this.ledger.audit.failedLogins(name, address, now - this.cfg.login_window_ms);
    if (failed.byUser >= this.cfg.login_attempts || failed.byAddress >= this.cfg.login_attempts) {
      await this.ledger.audit.add({ action: 'login_throttled', subject: name, address, detail: `over ${this.cfg.login_attempts} failed attempts` }, now);
      return { ok: false, reason: 'throttled' };
    }
    const found = await this.ledger.users.passwordHash(name);
    // An unknown name costs the same scrypt as a known one: timing does not tell which exist.
    const right = await verifyPassword(password, found?.hash ?? (await dummyHash()));
    if (!found || !right) {
      await this.ledger.audit.add({ action: 'login_failed', subject: name, address, detail: found ? 'wrong password' : 'no such user' }, now);
      return { ok: false, reason: 'wrong' };
    }
    const id = randomBytes(32).toString('base64url');
    await this.ledger.sessions.create({ idHash: hashId(id), userId: found.user.id, csrf: randomBytes(24).toString('base64url'), address }, now);
    await this.ledger.audit.add({ actor: found.user.name, action: 'login_ok', subject: found.user.name, address }, now);
    return { ok: true, cookie: id, user: found.user };
  }

  /** The signed-in user of a request, or undefined. */
  async viewer(req: FastifyRequest): Promise<Viewer | undefined> {
    const id = req.cookies[SESSION_COOKIE];
    if (!id || id.length > 100) return undefined;
    const idHash = hashId(id);
    const now = this.clock();
    const s = await this.ledger.sessions.get(idHash, now, this.cfg.session_idle_ms, this.cfg.session_lifetime_ms);
    if (!s) return undefined;
    if (now - s.lastSeenAt > TOUCH_EVERY_MS) await this.ledger.sessions.touch(idHash, now);
    const known = this.businessNames();
    const businesses = s.user.role === 'owner' ? undefined : s.user.businesses.filter((b) => known === undefined || known.includes(b));
    return { user: s.user, businesses, csrf: s.csrf, idHash };
  }

  async signOut(v: Viewer, address: string): Promise<void> {
    await this.ledger.sessions.destroy(v.idHash);
    await this.ledger.audit.add({ actor: v.user.name, action: 'logout', subject: v.user.name, address }, this.clock());
  }

  setCookie(reply: FastifyReply, req: FastifyRequest, value: string): void {
    reply.setCookie(SESSION_COOKIE, value, { path: '/', httpOnly: true, sameSite: 'lax', secure: isHttps(req, this.cfg), maxAge: Math.floor(this.cfg.session_lifetime_ms / 1000) });
  }

  clearCookie(reply: FastifyReply, req: FastifyRequest): void {
    reply.clearCookie(SESSION_COOKIE, { path: '/', httpOnly: true, sameSite: 'lax', secure: isHttps(req, this.cfg) });
  }

  /**
   * Why a state-changing request is refused, or undefined when it may go on: it must come from
   * this console's own origin (Origin, or Sec-Fetch-Site when a browser sends no Origin) and carry
   * the session's CSRF token (form field `_csrf` or header X-CSRF-Token).
   */
  forgery(req: FastifyRequest, csrf: string | undefined): string | undefined {
    const origin = req.headers.origin;
    if (origin !== undefined) {
      if (origin !== ownOrigin(req, this.cfg)) return 'cross-origin request';
    } else {
      const site = req.headers['sec-fetch-site'];
      if (site !== 'same-origin' && site !== 'none') return 'request without an Origin';
    }
    if (csrf === undefined) return undefined;
    const body = req.body as Record<string, unknown> | undefined;
    const sent = req.headers['x-csrf-token'] ?? (typeof body?._csrf === 'string' ? body._csrf : undefined);
    if (typeof sent !== 'string' || !sameSecret(sent, csrf)) return 'missing or wrong CSRF token';
    return undefined;
  }
}

/** Over TLS here, or (console.trust_proxy) over TLS to the proxy in front. */
export function isHttps(req: FastifyRequest, cfg: ConsoleConfig): boolean {
  return req.protocol === 'https' || (cfg.trust_proxy && req.headers['x-forwarded-proto'] === 'https');
}

function ownOrigin(req: FastifyRequest, cfg: ConsoleConfig): string {
  const forwardedHost = cfg.trust_proxy ? req.headers['x-forwarded-host'] : undefined;
  const host = (typeof forwardedHost === 'string' ? forwardedHost.split(',')[0].trim() : undefined) ?? req.headers.host ?? '';
  return `${isHttps(req, cfg) ? 'https' : 'http'}://${host}`;
}
