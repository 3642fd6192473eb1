// Console passwords: scrypt (memory-hard, so a stolen ledger costs an attacker memory as well as
// time per guess), stored as `scrypt$N$r$p$<salt b64>$<key b64>` in users.password_hash. The
// parameters travel with each hash, so stronger ones later still verify the old hashes.

import { randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from 'node:crypto';

const N = 2 ** 15;
const R = 8;
const P = 1;
const SALT_BYTES = 16;
const KEY_BYTES = 32;
const MIN_LENGTH = 10;

/**
 * scrypt needs 128·N·r·p bytes; Node refuses more than 32 MiB by default, which N=2^15, r=8 just
 * reaches. Twice the need leaves room for OpenSSL's own bookkeeping.
 */
const maxmem = (n: number, r: number, p: number): number => 2 * 128 * n * r * p;

/**
 * What verify accepts from a stored hash. A hash is ours, but a tampered or corrupt row must
 * not make a sign-in allocate gigabytes.
 */
const LIMITS = { logN: [10, 20], r: [1, 32], p: [1, 16], key: [16, 64], salt: [8, 64] } as const;

function derive(password: string, salt: Buffer, keyBytes: number, opts: ScryptOptions): Promise<Buffer> {
  return new Promise((resolve, reject) => scrypt(password.normalize('NFC'), salt, keyBytes, opts, (err, key) => (err ? reject(err) : resolve(key))));
}

const format = (n: number, r: number, p: number, salt: Buffer, key: Buffer): string => `scrypt$${n}$${r}$${p}$${salt.toString('base64')}$${key.toString('base64')}`;

/** A new hash of `password` (NFC-normalized first: the same password typed on any device). */
export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(SALT_BYTES);
  const key = await derive(password, salt, KEY_BYTES, { N, r: R, p: P, maxmem: maxmem(N, R, P) });
  return format(N, R, P, salt, key);
}

interface Parsed {
  n: number;
  r: number;
  p: number;
  salt: Buffer;
  key: Buffer;
}

const inRange = (v: number, [lo, hi]: readonly [number, number]): boolean => Number.isInteger(v) && v >= lo && v <= hi;
const B64 = /^[A-Za-z0-9+/]+={0,2}$/;

function parse(stored: string): Parsed | undefined {
  const parts = stored.split('$');
  if (parts.length !== 6 || parts[0] !== 'scrypt') return undefined;
  const [n, r, p] = parts.slice(1, 4).map((s) => (/^\d{1,8}$/.test(s) ? Number(s) : NaN));
  if (!inRange(Math.log2(n), LIMITS.logN) || !inRange(r, LIMITS.r) || !inRange(p, LIMITS.p)) return undefined;
  if (!B64.test(parts[4]) || !B64.test(parts[5])) return undefined;
  const salt = Buffer.from(parts[4], 'base64');
  const key = Buffer.from(parts[5], 'base64');
  if (!inRange(salt.length, LIMITS.salt) || !inRange(key.length, LIMITS.key)) return undefined;
  return { n, r, p, salt, key };
}

/** Whether `password` is the one `stored` was made from. False, never a throw, for a malformed `stored`. */
export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const h = typeof stored === 'string' ? parse(stored) : undefined;
  if (!h || typeof password !== 'string') return false;
  try {
    const key = await derive(password, h.salt, h.key.length, { N: h.n, r: h.r, p: h.p, maxmem: maxmem(h.n, h.r, h.p) });
    return timingSafeEqual(key, h.key);
  } catch {
    return false;
  }
}

/**
 * A well-formed hash that no password matches (a random key under a random salt: finding a
 * password for it is inverting scrypt). Verifying against it costs what a real verify costs, so
 * a sign-in with an unknown user name takes as long as one with a wrong password and does not
 * tell which names exist. Made at load without running scrypt, so commands do not pay for it.
 */
export const DUMMY_HASH: string = format(N, R, P, randomBytes(SALT_BYTES), randomBytes(KEY_BYTES));

/** DUMMY_HASH, for callers that prefer to await it. */
export function dummyHash(): Promise<string> {
  return Promise.resolve(DUMMY_HASH);
}

/** Why `pw` is refused as a new password, in plain words; undefined when it is acceptable. */
export function passwordProblem(pw: string): string | undefined {
  const length = [...pw.normalize('NFC')].length;
  if (length < MIN_LENGTH) return `a password needs at least ${MIN_LENGTH} characters; this one has ${length}`;
  return undefined;
}
