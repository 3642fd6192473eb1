// The ledger's tests run on both engines: `forEachEngine` repeats a describe block for SQLite (a
// file in a temp folder) and PostgreSQL (a fresh schema in the run's throwaway cluster,
// test/support/pg-global.ts), and `openLedger` opens a new, empty ledger on the engine given.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Ledger, type LedgerTarget, type OpenOptions } from '../../src/ledger/ledger';
import { clusterFromEnv } from './pg-cluster';

export type Engine = 'sqlite' | 'postgres';
export const ENGINES: readonly Engine[] = ['sqlite', 'postgres'];

/** describe(`${title} [engine]`) once per engine. */
export function forEachEngine(title: string, body: (this: Mocha.Suite, engine: Engine) => void): void {
  for (const engine of ENGINES)
    describe(`${title} [${engine}]`, function () {
      body.call(this, engine);
    });
}

const folders: string[] = [];

/** Where a new, empty ledger goes on this engine (a file path, or a URL with a schema of its own). */
export async function freshTarget(engine: Engine): Promise<LedgerTarget> {
  if (engine === 'postgres') return { driver: 'postgres', url: await clusterFromEnv().freshSchema('t') };
  const dir = mkdtempSync(join(tmpdir(), 'mctb-ledger-'));
  folders.push(dir);
  return { driver: 'sqlite', path: join(dir, 'ledger.db') };
}

/** A new, empty ledger on this engine. */
export async function openLedger(engine: Engine, opts: OpenOptions = {}): Promise<Ledger> {
  return Ledger.open(await freshTarget(engine), opts);
}

after(() => {
  for (const dir of folders.splice(0)) rmSync(dir, { recursive: true, force: true });
});
