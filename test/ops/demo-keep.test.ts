// `mctb demo --keep DIR`: the demo's ledger stays in DIR with a config for it, the commands it
// prints work against it, and a DIR that is missing or already holds a ledger is refused.

import { expect } from 'chai';
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { mctb } from '../support/cli';
import { tempDir } from '../support/harness';

describe('mctb demo --keep DIR', function () {
  this.timeout(60_000);
  let dir: string;
  let cleanup: () => void;
  beforeEach(() => ({ dir, cleanup } = tempDir('mctb-keep-')));
  afterEach(() => cleanup());

  it('keeps the ledger and a config in DIR, prints the commands, and they read it (report, calls, why, sends, tasks)', async () => {
    const keep = join(dir, 'kept');
    mkdirSync(keep);
    const r = await mctb(['demo', '--transport', 'log', '--keep', keep], { env: { MCTB_CONFIG: '/nonexistent.yaml' } });
    expect(r.code, r.stderr).to.equal(0);
    expect(readdirSync(keep).sort()).to.include.members(['mctb.db', 'mctb.yaml']);
    const config = join(keep, 'mctb.yaml');
    expect(r.stdout).to.include(`The ledger is kept: ${join(keep, 'mctb.db')}, with a config for it: ${config}. Explore it:`);
    const printed = [...r.stdout.matchAll(/^ {2}(mctb [^#\n]*?)\s+#/gm)].map((m) => m[1]);
    expect(printed).to.deep.equal([
      `mctb calls -c ${config}`,
      `mctb sends -c ${config}`,
      `mctb why +14155550123 -c ${config}`,
      `mctb report -c ${config}`,
      `mctb tasks -c ${config}`,
    ]);
    // Each printed command runs as printed.
    for (const command of printed) {
      const run = await mctb(command.split(' ').slice(1));
      expect(run.code, `${command}\n${run.stderr}`).to.equal(0);
      expect(run.stdout, command).not.to.equal('');
    }
    const report = await mctb(['report', '--json', '-c', config]);
    expect(report.code, report.stderr).to.equal(0);
    const json = JSON.parse(report.stdout) as { calls: { total: number; answered: number; missed: number }; texted: number };
    expect(json.calls).to.include({ total: 8, answered: 2, missed: 6 });
    expect(json.texted).to.equal(4);
    const why = await mctb(['why', '+14155550123', '-c', config]);
    expect(why.stdout).to.include('2 recent calls');
  });

  it('--json ends with a KEPT line naming the ledger, the config and the commands', async () => {
    const r = await mctb(['demo', '--transport', 'log', '--json', '--keep', dir]);
    expect(r.code, r.stderr).to.equal(0);
    const last = JSON.parse(r.stdout.trim().split('\n').pop()!) as { kind: string; ledger: string; config: string; commands: string[] };
    expect(last).to.include({ kind: 'KEPT', ledger: join(dir, 'mctb.db'), config: join(dir, 'mctb.yaml') });
    expect(last.commands).to.include(`mctb report -c ${join(dir, 'mctb.yaml')}`);
  });

  it('refuses a DIR that does not exist, or one that already holds a ledger, with exit 2 and before starting', async () => {
    const missing = join(dir, 'nope');
    const a = await mctb(['demo', '--keep', missing]);
    expect(a.code).to.equal(2);
    expect(a.stderr).to.include(`mctb demo: --keep: ${missing} does not exist; create it first (mkdir -p ${missing})`);
    expect(a.stdout).to.equal('');

    writeFileSync(join(dir, 'mctb.db'), 'an earlier ledger');
    const b = await mctb(['demo', '--keep', dir]);
    expect(b.code).to.equal(2);
    expect(b.stderr).to.include(`mctb demo: --keep: ${dir} already holds a ledger file (mctb.db); the demo never overwrites one`);
    expect(b.stdout).to.equal('');
  });
});
