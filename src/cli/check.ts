// What a `mctb doctor` check says: `✓ name: detail` or `✗ name: problem — fix: what to do`. The
// generic checks live in doctor.ts; each PBX source and SMS transport has its probe beside it
// (src/asterisk/<name>/doctor.ts, src/sms/<name>/doctor.ts) and names it in its registry entry.

import { userInfo } from 'node:os';
import { SOCKET_ERROR_WORDS, socketErrorWords } from '../link/lifecycle';

/** Every network step gives up after this. */
export const DOCTOR_TIMEOUT_MS = 5000;

export interface CheckResult {
  ok: boolean;
  name: string;
  detail: string;
  fix?: string;
}

export const pass = (name: string, detail: string): CheckResult => ({ ok: true, name, detail });
export const fail = (name: string, detail: string, fix: string): CheckResult => ({ ok: false, name, detail, fix });

export function formatCheck(c: CheckResult): string {
  return c.ok ? `✓ ${c.name}: ${c.detail}` : `✗ ${c.name}: ${c.detail} — fix: ${c.fix}`;
}

/** The user mctb runs as, for fixes that say who needs a permission. */
export function who(): string {
  try {
    return userInfo().username;
  } catch {
    return `uid ${process.getuid?.() ?? '?'}`;
  }
}

export function errCode(e: unknown): string {
  const err = e as NodeJS.ErrnoException & { cause?: NodeJS.ErrnoException };
  return err?.code ?? err?.cause?.code ?? '';
}

export class TimeoutError extends Error {
  constructor(what: string) {
    super(`no ${what} in time`);
    this.name = 'TimeoutError';
  }
}

/**
 * A network failure in the words of a check line: "connection refused (ECONNREFUSED)" (the words
 * of `mctb send-test` and the logs, with the code), or "no answer within 5 s".
 */
export function netProblem(e: unknown, timeoutMs: number): string {
  const code = errCode(e);
  if (e instanceof TimeoutError || code === 'ETIMEDOUT' || (e as Error)?.name === 'TimeoutError') return `no answer within ${timeoutMs / 1000} s`;
  if (SOCKET_ERROR_WORDS[code]) return socketErrorWords(code);
  return (e as Error)?.message ?? String(e);
}
