// What a project is expected to have (issue 16): a licence matching package.json, a changelog
// with the current version, `mctb --version`, bash completion built from the command tree, a
// description naming what mctb speaks, install scripts allowed for exactly the packages that
// need them (npm ci then warns about nothing), every secret file's permissions set by the
// installer and tmpfiles, a Docker HEALTHCHECK that reads /healthz, and what the image ships.

import { expect } from 'chai';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildProgram } from '../../src/cli/main';
import { business, tempDir } from '../support/harness';
import { mctb } from '../support/cli';
import { startPipeline } from '../support/pipeline';

const ROOT = join(__dirname, '..', '..', '..');
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
  version: string;
  license: string;
  description: string;
  allowScripts?: Record<string, boolean>;
};

describe('packaging: what a project is expected to have', function () {
  this.timeout(30_000);

  it(".ci/run runs exactly the README's test command, which installs chromium for the browser tests before anything else", () => {
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
    const ci = readFileSync(join(ROOT, '.ci', 'run'), 'utf8');
    const command = 'sh scripts/test-deps.sh && npm ci && npm run lint && npm test';
    expect(readme).to.include('```sh\n' + command + '\n```');
    expect(ci.trim().split('\n').pop()).to.equal(command);
    const deps = readFileSync(join(ROOT, 'scripts', 'test-deps.sh'), 'utf8');
    expect(deps).to.match(/apt-get install[^\n]*\$need/);
    expect(deps).to.include('chromium');
    // npm test alone installs it too.
    expect((JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts.pretest).to.equal('sh scripts/test-deps.sh');
  });

  it('LICENSE is the licence package.json names', () => {
    expect(pkg.license).to.equal('MIT');
    expect(readFileSync(join(ROOT, 'LICENSE'), 'utf8')).to.match(/^MIT License\n/);
  });

  it('CHANGELOG.md has an entry for this version, newest first, in Keep a Changelog form', () => {
    const log = readFileSync(join(ROOT, 'CHANGELOG.md'), 'utf8');
    const versions = [...log.matchAll(/^## \[(\d+\.\d+\.\d+)\] - \d{4}-\d\d-\d\d$/gm)].map((m) => m[1]);
    expect(versions[0], 'the newest entry').to.equal(pkg.version);
    expect(log).to.include('Keep a Changelog');
  });

  it('mctb --version prints the package version', async () => {
    const r = await mctb(['--version']);
    expect(r.code).to.equal(0);
    expect(r.stdout.trim()).to.equal(pkg.version);
  });

  it('the description and the top-level --help name AMI and ARI, SMPP and the modem', async () => {
    const help = (await mctb(['--help'])).stdout;
    for (const text of [pkg.description, help]) for (const word of ['AMI', 'ARI', 'SMPP', 'GSM modem']) expect(text).to.include(word);
  });

  it('mctb completion bash completes every command and its options, from the command tree', () => {
    const script = execFileSync(process.execPath, [join(ROOT, 'bin', 'mctb'), 'completion', 'bash'], { encoding: 'utf8' });
    const { dir, cleanup } = tempDir('mctb-completion-');
    try {
      const file = join(dir, 'mctb.bash');
      writeFileSync(file, script);
      const complete = (line: string): string[] => {
        const r = spawnSync('bash', ['-c', `source ${file}; COMP_WORDS=(${line}); [ "\${LINE: -1}" = " " ] && COMP_WORDS+=(""); COMP_CWORD=$((\${#COMP_WORDS[@]}-1)); _mctb; echo "\${COMPREPLY[*]}"`], {
          encoding: 'utf8',
          env: { ...process.env, LINE: line },
        });
        return r.stdout.trim().split(/\s+/).filter(Boolean);
      };
      const top = buildProgram().commands.map((c) => c.name());
      expect(complete('mctb ')).to.have.members(top);
      expect(complete('mctb co')).to.have.members(top.filter((c) => c.startsWith('co')));
      expect(complete('mctb ledger ')).to.have.members(['backup', 'prune', 'migrate', 'copy']);
      expect(complete('mctb why --')).to.include.members(['--config', '--json']);
      expect(spawnSync(process.execPath, [join(ROOT, 'bin', 'mctb'), 'completion', 'zsh']).status, 'an unknown shell').to.equal(2);
    } finally {
      cleanup();
    }
  });

  it('allowScripts names exactly the packages with install scripts (npm ci warns about none)', () => {
    const lock = JSON.parse(readFileSync(join(ROOT, 'package-lock.json'), 'utf8')) as { packages: Record<string, { hasInstallScript?: boolean }> };
    const needing = Object.entries(lock.packages)
      .filter(([, p]) => p.hasInstallScript)
      .map(([path]) => path.slice(path.lastIndexOf('node_modules/') + 'node_modules/'.length));
    expect(needing.length).to.be.greaterThan(0);
    expect(Object.keys(pkg.allowScripts ?? {})).to.have.members(needing);
    expect(Object.values(pkg.allowScripts ?? {}).every((v) => v === true)).to.equal(true);
  });

  it('tmpfiles and the installer set the permissions of every secret file the example config names', () => {
    const example = readFileSync(join(ROOT, 'config', 'mctb.example.yaml'), 'utf8');
    const named = [...new Set([...example.matchAll(/_file: (\/etc\/mctb\/[\w.]+)/g)].map((m) => m[1]))];
    expect(named).to.include.members(['/etc/mctb/ami.secret', '/etc/mctb/ari.password', '/etc/mctb/smpp.password', '/etc/mctb/sim.pin', '/etc/mctb/webhook.secret']);
    const tmpfiles = readFileSync(join(ROOT, 'systemd', 'mctb.tmpfiles.conf'), 'utf8');
    const install = readFileSync(join(ROOT, 'scripts', 'install.sh'), 'utf8');
    for (const f of named) {
      expect(tmpfiles, f).to.match(new RegExp(`^z ${f.replace(/\./g, '\\.')}\\s+0640 root mctb -$`, 'm'));
      expect(/^SECRET_FILES="([^"]*)"/m.exec(install)?.[1].split(' '), f).to.include(f);
    }
  });

  it('the Docker image has a HEALTHCHECK on /healthz, and its command tells a healthy daemon from an unhealthy one', async () => {
    const dockerfile = readFileSync(join(ROOT, 'docker', 'Dockerfile'), 'utf8');
    const check = /^HEALTHCHECK [^\n]*\\\n\s+CMD (\[.*\])$/m.exec(dockerfile);
    expect(check, 'HEALTHCHECK ... CMD [exec form]').to.not.equal(null);
    const argv = JSON.parse(check![1]) as string[];
    expect(argv[0]).to.equal('node');
    const p = await startPipeline({ businesses: [business()], top: { http: { listen: '127.0.0.1:0' } } });
    try {
      // Not spawnSync: the daemon answering /healthz runs in this very process.
      const run = (url: string) =>
        new Promise<number | null>((resolve) => {
          const child = spawn(process.execPath, argv.slice(1), { env: { ...process.env, MCTB_HEALTH_URL: url }, stdio: 'ignore' });
          child.on('exit', (code) => resolve(code));
        });
      // Healthy once the PBX and the SMS gateway links are up.
      let healthy = 1;
      for (let i = 0; i < 50 && healthy !== 0; i++) {
        healthy = (await run(`http://127.0.0.1:${p.daemon.healthPort}/healthz`)) ?? -1;
        if (healthy !== 0) await new Promise((r) => setTimeout(r, 100));
      }
      expect(healthy, 'healthy').to.equal(0);
      await p.pbx.close(); // the PBX goes away: /healthz answers 503
      let status = 0;
      for (let i = 0; i < 50 && status === 0; i++) {
        await new Promise((r) => setTimeout(r, 100));
        status = (await run(`http://127.0.0.1:${p.daemon.healthPort}/healthz`)) ?? -1;
      }
      expect(status, 'unhealthy').to.equal(1);
      expect(await run('http://127.0.0.1:1/healthz'), 'nothing listening').to.equal(1);
    } finally {
      await p.stop();
    }
  });

  it('the Docker image ships the demo captures, no tests, and the modem simulator only with WITH_PYTHON=1', () => {
    const dockerfile = readFileSync(join(ROOT, 'docker', 'Dockerfile'), 'utf8');
    const copies = dockerfile.split('\n').filter((l) => /^COPY /.test(l));
    expect(copies).to.include('COPY src/demo/captures ./src/demo/captures');
    expect(copies.filter((l) => /\btest\//.test(l)), 'COPY of test/').to.deep.equal([]);
    // tools/ reaches the runtime image from the build stage, where it is emptied without WITH_PYTHON.
    expect(copies).to.include('COPY --from=build /src/tools ./tools');
    expect(dockerfile).to.include('RUN if [ "$WITH_PYTHON" != 1 ]; then rm tools/modem-sim.py; fi');
  });
});

describe('commands whose output is closed early (mctb … | head)', function () {
  this.timeout(30_000);

  // The read end is closed before the command writes a byte: every write fails with EPIPE.
  const closedEarly = (args: string[]) =>
    new Promise<{ code: number | null; stderr: string }>((resolve) => {
      const child = spawn(process.execPath, [join(ROOT, 'bin', 'mctb'), ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
      child.stdout.destroy();
      let stderr = '';
      child.stderr.on('data', (c) => (stderr += c));
      child.on('exit', (code) => resolve({ code, stderr }));
    });

  for (const args of [['config', 'check', '-c', join(ROOT, 'config', 'mctb.example.yaml')], ['--help'], ['completion', 'bash']]) {
    it(`mctb ${args.slice(0, 2).join(' ')}: ends quietly, no "Unhandled 'error' event"`, async () => {
      const r = await closedEarly(args);
      expect(r.stderr).to.not.match(/Unhandled 'error' event|EPIPE/);
      expect(r.code).to.equal(0);
    });
  }
});
