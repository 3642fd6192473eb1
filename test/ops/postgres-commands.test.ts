// The operator commands on a PostgreSQL ledger, run as the real `mctb` command with the password
// in ledger.password_file: migrate, report, calls, sends, why, tasks, optout, users, audit,
// forget, prune, backup (pg_dump), doctor. Each answers as on SQLite, and none prints the password.

import { expect } from 'chai';
import { existsSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ledger } from '../../src/ledger/ledger';
import { MIGRATIONS } from '../../src/ledger/migrations';
import { mctb } from '../support/cli';
import { tempDir } from '../support/harness';
import { fillLedger } from '../support/ledger-fill';
import { pgLedger } from '../support/pg-ledger';

describe('operator commands on a PostgreSQL ledger (real mctb command)', function () {
  this.timeout(120_000);

  it('migrate, report, calls, sends, why, tasks, optout, users, audit, forget, prune, backup and doctor work, and never print the password', async () => {
    const tmp = tempDir('mctb-pgcli-');
    try {
      const pg = await pgLedger('cli');
      const seed = await Ledger.open({ driver: 'postgres', url: pg.full });
      await fillLedger(seed);
      await seed.close();
      writeFileSync(join(tmp.dir, 'ledger.password'), `${pg.password}\n`, { mode: 0o600 });
      const config = join(tmp.dir, 'mctb.yaml');
      writeFileSync(
        config,
        `site: north
asterisk:
  ami: { host: 127.0.0.1, port: 1, username: mctb, secret: "s" }
sms:
  transport: log
ledger: { driver: postgres, url: ${JSON.stringify(pg.url)}, password_file: ledger.password }
numbers: { default_country: US }
businesses:
  - name: Brightside Dental
    dids: ["+15550001000"]
  - name: Oakwood Vet
    dids: ["+15550001001"]
`,
      );
      const outputs: string[] = [];
      const run = async (args: string[], code = 0) => {
        const r = await mctb([...args, '-c', config]);
        outputs.push(r.stdout, r.stderr);
        expect(r.code, `mctb ${args.join(' ')}\n${r.stdout}\n${r.stderr}`).to.equal(code);
        return r.stdout;
      };

      expect(await run(['ledger', 'migrate'])).to.include(`schema version ${MIGRATIONS.length} (postgres)`);
      const report = JSON.parse(await run(['report', '--since', '3650d', '--json'])) as { missed_callers?: number; missedCallers?: number };
      expect(report.missed_callers ?? report.missedCallers).to.equal(45);
      expect((await run(['calls', '--limit', '500', '--json'])).trim().split('\n')).to.have.length(60);
      expect((await run(['sends', '--state', 'delivered', '--json'])).trim().split('\n').length).to.be.greaterThan(10);
      expect(await run(['why', '+13125551001'])).to.include('+13125551001');
      expect((await run(['tasks', '--json'])).trim().split('\n')).to.have.length(45);
      expect(await run(['optout', 'list'])).to.include('+13125551007');
      expect(await run(['users', 'list'])).to.include('Front Desk');
      expect(await run(['audit'])).to.include('user_added');
      expect(await run(['forget', '+13125551001', '--yes'])).to.include('forgot +13125551001');
      await run(['ledger', 'prune', '--older-than', '1d']);
      const backup = join(tmp.dir, 'mctb.dump');
      expect(await run(['ledger', 'backup', backup])).to.include('pg_restore');
      expect(existsSync(backup) && statSync(backup).size > 1000).to.equal(true);
      const doctor = (await mctb(['doctor', '-c', config])).stdout;
      outputs.push(doctor);
      expect(doctor).to.match(/ledger\b.*opens \(PostgreSQL\); schema version/);
      expect(doctor).to.include('site north: no daemon is active now');

      for (const text of outputs) expect(text).not.to.include(pg.password);
      // After prune (everything is older than a day): calls gone but the 15 whose texts still wait
      // (never claimed in the fill), opt-outs kept.
      const after = await Ledger.open({ driver: 'postgres', url: pg.full });
      try {
        expect((await after.database.get<{ n: number }>('SELECT COUNT(*) AS n FROM calls'))?.n).to.equal(15);
        expect((await after.database.get<{ n: number }>(`SELECT COUNT(*) AS n FROM sends WHERE state <> 'scheduled'`))?.n).to.equal(0);
        expect((await after.optOuts.list()).length).to.equal(9);
      } finally {
        await after.close();
      }
    } finally {
      tmp.cleanup();
    }
  });
});
