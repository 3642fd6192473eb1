// The systemd unit passes scripts/check-unit.sh: `systemd-analyze verify` prints nothing and the
// `systemd-analyze security --offline=true` exposure is at most 1.5, with and without the modem
// drop-in. And the script does fail when it should (a bad key, a score above the limit).

import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const root = join(__dirname, '..', '..', '..');
const script = join(root, 'scripts', 'check-unit.sh');
const unit = join(root, 'systemd', 'mctb.service');

function hasSystemdAnalyze(): boolean {
  return spawnSync('sh', ['-c', 'command -v systemd-analyze'], { encoding: 'utf8' }).status === 0;
}

function run(args: string[]): { code: number | null; out: string } {
  const r = spawnSync('sh', [script, ...args], { encoding: 'utf8', timeout: 60_000 });
  return { code: r.status, out: `${r.stdout}${r.stderr}` };
}

describe('packaging: systemd unit hardening (scripts/check-unit.sh)', function () {
  this.timeout(120_000);

  before(function () {
    if (!hasSystemdAnalyze()) {
      console.log('    skipped: systemd-analyze is not installed (Debian: apt-get install systemd)');
      this.skip();
    }
  });

  it('verify is clean and the exposure is <= 1.5, for the unit and the unit + modem drop-in', () => {
    const r = run([]);
    expect(r.code, r.out).to.equal(0);
    expect(r.out.match(/^ok: verify is clean$/gm), r.out).to.have.length(2);
    const scores = [...r.out.matchAll(/^exposure (\S+): ([0-9.]+) \(max 1\.5\) ok$/gm)].map((m) => [m[1], Number(m[2])] as const);
    expect(scores.map(([label]) => label)).to.deep.equal(['mctb.service', 'mctb.service+mctb-modem.conf']);
    for (const [label, score] of scores) expect(score, label).to.be.at.most(1.5);
    expect(r.out).to.match(/check-unit: ok\s*$/);
  });

  it('fails when the score is above the limit, or when verify complains', () => {
    const tight = run(['--max', '0.5']);
    expect(tight.code, tight.out).to.equal(1);
    expect(tight.out).to.match(/FAIL: exposure mctb\.service: [0-9.]+ is above 0\.5/);

    const dir = mkdtempSync(join(tmpdir(), 'mctb-unit-'));
    try {
      const bad = join(dir, 'mctb.service');
      writeFileSync(bad, readFileSync(unit, 'utf8').replace('NoNewPrivileges=yes', 'NoNewPrivileges=yes\nProtectSystm=strict'));
      const r = run([bad, '']);
      expect(r.code, r.out).to.equal(1);
      expect(r.out).to.include("Unknown key 'ProtectSystm'");
      expect(r.out).to.include('FAIL: systemd-analyze verify complained');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
