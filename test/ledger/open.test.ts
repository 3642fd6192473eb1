// Opening the ledger never creates its directory: a mistyped ledger.path fails loudly, naming the
// path, instead of starting an empty ledger that forgets every opt-out. A ledger made where none
// was is said so, once (on either engine).

import { expect } from 'chai';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { displayUrl, Ledger, LedgerDirectoryError } from '../../src/ledger/ledger';
import { forEachEngine, freshTarget } from '../support/engines';
import { tempDir } from '../support/harness';
import { mctb, startDaemon, yamlConfig } from '../support/cli';
import { startPipeline, type Pipeline } from '../support/pipeline';
import { openLedger as openLedgerForCommand } from '../../src/cli/read-config';
import type { PgDatabase } from '../../src/ledger/postgres';

function recorder(): { lines: string[]; log: { info(message: string): void } } {
  const lines: string[] = [];
  return { lines, log: { info: (message) => lines.push(message) } };
}

forEachEngine('ledger: opening', (engine) => {
  it('a new ledger says so once; an existing one says nothing', async () => {
    const target = await freshTarget(engine);
    const first = recorder();
    await (await Ledger.open(target, { log: first.log })).close();
    expect(first.lines).to.deep.equal([target.driver === 'sqlite' ? `created a new, empty ledger at ${target.path}` : `created the ledger's tables in ${displayUrl(target.url)}`]);
    const again = recorder();
    const l = await Ledger.open(target, { log: again.log });
    await l.close();
    expect(again.lines).to.deep.equal([]);
  });
});

// SQLite only: ledger.path, its directory and the file made in it (a PostgreSQL database is never
// created by mctb, and has no directory); the daemon and `mctb` commands open ledgers by path.
describe('ledger: opening an SQLite file', function () {
  this.timeout(30_000);
  let tmp: ReturnType<typeof tempDir>;
  let p: Pipeline | undefined;
  beforeEach(() => (tmp = tempDir('mctb-open-')));
  afterEach(async () => {
    await p?.stop();
    p = undefined;
    tmp.cleanup();
  });

  it('a missing directory is a clear error naming the path, and nothing is created', async () => {
    const path = join(tmp.dir, 'var', 'lib', 'mctb', 'mctb.db');
    const { lines, log } = recorder();
    const err = await Ledger.open(path, { log }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).to.be.instanceOf(LedgerDirectoryError);
    expect((err as Error).message).to.include(`ledger.path ${path}: the directory ${join(tmp.dir, 'var', 'lib', 'mctb')} does not exist`);
    expect((err as Error).message).to.include('mctb does not create it');
    expect(existsSync(join(tmp.dir, 'var')), 'no directory made').to.equal(false);
    expect(lines).to.deep.equal([]);
  });

  it('a file where the directory should be is one too', async () => {
    writeFileSync(join(tmp.dir, 'state'), '');
    const path = join(tmp.dir, 'state', 'mctb.db');
    const err = await Ledger.open(path).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).to.be.instanceOf(LedgerDirectoryError);
    expect((err as Error).message).to.include(`ledger.path ${path}: ${join(tmp.dir, 'state')} is not a directory`);
  });

  it('the daemon logs it on the ledger namespace when it makes the ledger, and not on the next start', async () => {
    const path = join(tmp.dir, 'mctb.db');
    p = await startPipeline({ top: { ledger: { path } } });
    const made = p.logLines.filter((l) => l.includes('created a new, empty ledger'));
    expect(made).to.have.length(1);
    expect(made[0].endsWith(` info  mctb:ledger: created a new, empty ledger at ${path}`), made[0]).to.equal(true);
    await p.stop();
    p = await startPipeline({ top: { ledger: { path } } });
    expect(p.logLines.filter((l) => l.includes('created a new, empty ledger'))).to.deep.equal([]);
  });

  it('mctb commands and mctb run refuse a ledger.path in a directory that does not exist', async () => {
    const path = join(tmp.dir, 'typo', 'mctb.db');
    const file = join(tmp.dir, 'mctb.yaml');
    writeFileSync(file, yamlConfig({ amiPort: 5038, smppPort: 2775, ledger: path }));
    for (const args of [['optout', 'list'], ['calls'], ['why', '+14155550123']]) {
      const r = await mctb([...args, '-c', file]);
      expect(r.code, `mctb ${args.join(' ')}: ${r.stderr}`).to.equal(2);
      expect(r.stderr).to.include(`ledger.path ${path}: the directory ${join(tmp.dir, 'typo')} does not exist`);
    }
    const csv = join(tmp.dir, 'contacts.csv');
    writeFileSync(csv, 'name,number\nJane Doe,+14155550123\n');
    const imported = await mctb(['contacts', 'import', csv, '-c', file]);
    expect(imported.code, imported.stderr).to.equal(2);
    expect(imported.stderr).to.include('does not exist');

    const daemon = startDaemon(file);
    const exit = await daemon.exited;
    expect(exit.code).to.equal(1);
    expect(daemon.log()).to.include('could not start').and.to.include(`the directory ${join(tmp.dir, 'typo')} does not exist`);
    expect(existsSync(join(tmp.dir, 'typo')), 'no directory made').to.equal(false);

    // A command that makes the ledger says so on stderr.
    writeFileSync(file, yamlConfig({ amiPort: 5038, smppPort: 2775, ledger: join(tmp.dir, 'mctb.db') }));
    const made = await mctb(['optout', 'list', '-c', file]);
    expect(made.code, made.stderr).to.equal(0);
    expect(made.stderr).to.equal(`mctb: created a new, empty ledger at ${join(tmp.dir, 'mctb.db')}\n`);
    expect((await mctb(['optout', 'list', '-c', file])).stderr).to.equal('');
  });
});

// PostgreSQL only: a statement's time limit (SQLite has none: a file does not hang).
describe('ledger: a statement time limit on PostgreSQL', function () {
  this.timeout(30_000);
  const dbOf = (l: Ledger) => (l as unknown as { db: PgDatabase }).db;

  it('the daemon\'s default fails a statement the database leaves unanswered; 0 waits as long as it takes', async () => {
    const target = await freshTarget('postgres');
    const limited = await Ledger.open(target, { statementTimeoutMs: 300 });
    try {
      let failed: Error | undefined;
      await dbOf(limited).get('SELECT pg_sleep(1.5) AS x').catch((e: Error) => (failed = e));
      expect(failed?.message, 'a 1.5 s statement under a 300 ms limit').to.match(/timeout/i);
      expect((await dbOf(limited).get<{ one: number }>('SELECT 1 AS one'))?.one, 'the ledger still answers').to.equal(1);
    } finally {
      await limited.close();
    }
    const unlimited = await Ledger.open(target, { statementTimeoutMs: 0 });
    try {
      expect(await dbOf(unlimited).get('SELECT pg_sleep(1.5) AS x')).to.have.property('x');
    } finally {
      await unlimited.close();
    }
    const byDefault = await Ledger.open(target);
    try {
      expect(dbOf(byDefault).pool.options.query_timeout, 'the daemon\'s').to.equal(30_000);
    } finally {
      await byDefault.close();
    }
  });

  it('commands (mctb report, mctb ledger ...) open it with no limit: a report over ten million calls may take longer than 30 s', async () => {
    const said = new PassThrough();
    const ledger = await openLedgerForCommand(await freshTarget('postgres'), said);
    try {
      expect(ledger).to.not.equal(undefined);
      expect(dbOf(ledger!).pool.options.query_timeout).to.equal(0);
    } finally {
      await ledger?.close();
    }
  });
});
