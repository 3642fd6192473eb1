// The console under test: the real daemon with `console:` on loopback between the AMI replay and
// the loopback SMSC, users made through the ledger as `mctb users add` makes them, Debian's
// chromium driven by playwright-core, and plain HTTP helpers for what a browser would not send.

import { chromium, type Browser, type Page } from 'playwright-core';
import { hashPassword } from '../../src/console/passwords';
import type { Ledger } from '../../src/ledger/ledger';
import { startPipeline, type Pipeline } from './pipeline';
import type { SmscBehaviour } from '../../src/demo/loopback-smsc';

export const JANE = '+14155550123';
export const SHOP = '+15550001000';
export const VETS = '+15550001001';
/** The caller of the busy capture (it rings Harbor Vets). */
export const MIKE = '+13125550147';
export const PASSWORD = 'correct horse battery';

/** Two businesses on one box: the noanswer capture rings Brightside Dental, the busy one Harbor Vets. */
export const BUSINESSES = [
  { name: 'Brightside Dental', dids: [SHOP], delay: '0s', dedupe_window: '0s' },
  { name: 'Harbor Vets', dids: [VETS], delay: '0s', dedupe_window: '0s', source_addr: VETS },
];

export async function startConsole(opts: { console?: Record<string, unknown>; smsc?: SmscBehaviour; clock?: () => number; businesses?: Record<string, unknown>[]; engine?: 'sqlite' | 'postgres' } = {}): Promise<Pipeline & { base: string }> {
  const p = await startPipeline({ businesses: opts.businesses ?? BUSINESSES, top: { console: { listen: '127.0.0.1:0', ...opts.console } }, smsc: opts.smsc, clock: opts.clock, engine: opts.engine });
  await addUser(p.daemon.ledgerHandle, 'olivia', 'owner', []);
  await addUser(p.daemon.ledgerHandle, 'sam', 'staff', ['Brightside Dental']);
  await addUser(p.daemon.ledgerHandle, 'vera', 'staff', ['Harbor Vets']);
  return Object.assign(p, { base: `http://127.0.0.1:${p.daemon.consolePort}` });
}

export async function addUser(ledger: Ledger, name: string, role: 'owner' | 'staff', businesses: string[], password = PASSWORD): Promise<void> {
  await ledger.users.add({ name, role, businesses, passwordHash: await hashPassword(password) }, Date.now());
}

/** Debian's chromium (`.ci/run` installs it: scripts/test-deps.sh). CI runs as root: no sandbox. */
export function launchBrowser(): Promise<Browser> {
  return chromium.launch({ executablePath: process.env.MCTB_CHROMIUM ?? '/usr/bin/chromium', headless: true, args: ['--no-sandbox', '--disable-dev-shm-usage', '--disable-gpu'] });
}

/** Signs in through the login form. */
export async function signIn(page: Page, base: string, name: string, password = PASSWORD): Promise<void> {
  await page.goto(`${base}/login`);
  await page.fill('#name', name);
  await page.fill('#password', password);
  await Promise.all([page.waitForURL(`${base}/inbox`), page.click('button[type=submit]')]);
}

/** A session over plain HTTP: its cookie and CSRF token. */
export async function httpSession(base: string, name: string, password = PASSWORD): Promise<{ cookie: string; csrf: string }> {
  const res = await fetch(`${base}/login`, {
    method: 'POST',
    redirect: 'manual',
    headers: { 'content-type': 'application/x-www-form-urlencoded', origin: base },
    body: new URLSearchParams({ name, password }).toString(),
  });
  const set = res.headers.get('set-cookie') ?? '';
  const cookie = /mctb_session=[^;]+/.exec(set)?.[0];
  if (res.status !== 303 || !cookie) throw new Error(`sign-in as ${name} failed: HTTP ${res.status}`);
  const page = await (await fetch(`${base}/inbox`, { headers: { cookie } })).text();
  const csrf = /name="_csrf" value="([^"]+)"/.exec(page)?.[1];
  if (!csrf) throw new Error('no CSRF token on the inbox page');
  return { cookie, csrf };
}

/** A form post as a same-origin page would send it (override what a test needs to forge). */
export function post(base: string, path: string, fields: Record<string, string>, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(`${base}${path}`, {
    method: 'POST',
    redirect: 'manual',
    headers: { 'content-type': 'application/x-www-form-urlencoded', origin: base, ...headers },
    body: new URLSearchParams(fields).toString(),
  });
}
