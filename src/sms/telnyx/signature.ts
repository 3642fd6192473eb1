// Telnyx's webhook signature (API v2): Ed25519 over `${telnyx-timestamp}|${raw body}`, the
// signature base64 in `telnyx-signature-ed25519`, checked with the account's public key (Mission
// Control: Keys & Credentials, base64 of the raw 32-byte key). A timestamp more than 5 minutes
// from now is refused as stale (a replay), as Telnyx's own libraries do.

import { createPrivateKey, createPublicKey, sign, verify, type KeyObject } from 'node:crypto';

export const SIGNATURE_HEADER = 'telnyx-signature-ed25519';
export const TIMESTAMP_HEADER = 'telnyx-timestamp';
/** How far a webhook's timestamp may be from now, in seconds. */
export const TOLERANCE_S = 300;

/** The DER prefix of an Ed25519 SubjectPublicKeyInfo (RFC 8410); the raw 32-byte key follows it. */
const SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');

/** The account's public key from its base64 form; throws with words an admin can act on. */
export function publicKeyFrom(base64: string): KeyObject {
  const raw = Buffer.from(base64.trim(), 'base64');
  if (raw.length !== 32 || raw.toString('base64') !== base64.trim()) {
    throw new Error(`not a Telnyx public key: expected the base64 of 32 bytes (44 characters ending in "="), got ${raw.length} bytes`);
  }
  return createPublicKey({ key: Buffer.concat([SPKI_PREFIX, raw]), format: 'der', type: 'spki' });
}

export type SignatureVerdict = { ok: true } | { ok: false; why: 'missing' | 'stale' | 'forged' };

/** Checks a webhook as Telnyx signs it. `nowS`: the current time in Unix seconds. */
export function checkSignature(key: KeyObject, headers: Readonly<Record<string, string | string[] | undefined>>, body: Buffer, nowS: number): SignatureVerdict {
  const sig = one(headers[SIGNATURE_HEADER]);
  const ts = one(headers[TIMESTAMP_HEADER]);
  if (!sig || !ts) return { ok: false, why: 'missing' };
  if (!/^\d{1,12}$/.test(ts)) return { ok: false, why: 'forged' };
  if (Math.abs(nowS - Number(ts)) > TOLERANCE_S) return { ok: false, why: 'stale' };
  const signature = Buffer.from(sig, 'base64');
  if (signature.length !== 64) return { ok: false, why: 'forged' };
  const signed = Buffer.concat([Buffer.from(`${ts}|`), body]);
  return verify(null, signed, key, signature) ? { ok: true } : { ok: false, why: 'forged' };
}

/** The headers Telnyx sends with `body` (the loopback carrier signs with these). */
export function signedHeaders(privateKey: KeyObject | string, body: string | Buffer, timestampS: number): Record<string, string> {
  const key = typeof privateKey === 'string' ? createPrivateKey(privateKey) : privateKey;
  const signed = Buffer.concat([Buffer.from(`${timestampS}|`), Buffer.isBuffer(body) ? body : Buffer.from(body)]);
  return { [SIGNATURE_HEADER]: sign(null, signed, key).toString('base64'), [TIMESTAMP_HEADER]: String(timestampS) };
}

/** The base64 raw form of an Ed25519 public key, as Mission Control shows it. */
export function rawPublicKey(key: KeyObject): string {
  const der = key.export({ format: 'der', type: 'spki' });
  return der.subarray(der.length - 32).toString('base64');
}

function one(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}
