// scripts/install.sh into a temporary DESTDIR (with --no-build: the suite runs after
// `npm run build`): the tree it makes, the installed `mctb` running from it, the example config
// passing `config check`, an existing config never overwritten, PREFIX followed by the unit.

import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { serviceNodeFlags } from '../../bench/mctb';

const root = join(__dirname, '..', '..', '..');
const script = join(root, 'scripts', 'install.sh');
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string };
// The node running this test; given explicitly so the expected ExecStart is known.
const node = process.execPath;
// The unit's node flags (a small, steady footprint) survive the rewrite of its paths.
const flags = serviceNodeFlags(join(root, 'systemd', 'mctb.service')).join(' ');

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function install(destdir: string, args: string[] = [], env: Record<string, string> = {}): Run {
  const r = spawnSync('sh', [script, '--no-build', ...args], {
    encoding: 'utf8',
    timeout: 100_000,
    env: { ...process.env, DESTDIR: destdir, NODE: node, PREFIX: '', BINDIR: '', ...env },
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

function exec(file: string, args: string[]): Run {
  const r = spawnSync(file, args, { encoding: 'utf8', timeout: 60_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

const mode = (path: string) => statSync(path).mode & 0o777;

describe('packaging: scripts/install.sh', function () {
  this.timeout(120_000);
  const base = mkdtempSync(join(tmpdir(), 'mctb-install-'));
  after(() => rmSync(base, { recursive: true, force: true }));

  before(function () {
    if (!existsSync(join(root, 'dist', 'src', 'cli', 'main.js'))) throw new Error('dist/ is missing: run `npm run build` first');
  });

  describe('default PREFIX (/opt/mctb)', () => {
    const dest = join(base, 'default');
    const app = join(dest, 'opt', 'mctb');
    let first: Run;
    before(() => {
      first = install(dest);
    });

    it('installs, prints the next steps', () => {
      expect(first.code, first.stderr + first.stdout).to.equal(0);
      for (const step of ['mctb config check -c /etc/mctb/mctb.yaml', 'mctb doctor', 'systemctl enable --now mctb']) {
        expect(first.stdout).to.include(step);
      }
      expect(first.stdout).to.include(`wrote ${dest}/etc/mctb/mctb.yaml from the example`);
    });

    it('puts the unit, sysusers and tmpfiles in place, ExecStart pointing at PREFIX', () => {
      const unit = readFileSync(join(dest, 'etc', 'systemd', 'system', 'mctb.service'), 'utf8');
      expect(unit).to.include(`\nExecStart=${node} ${flags} /opt/mctb/bin/mctb run -c /etc/mctb/mctb.yaml\n`);
      expect(mode(join(dest, 'etc', 'systemd', 'system', 'mctb.service'))).to.equal(0o644);
      expect(readFileSync(join(dest, 'etc', 'sysusers.d', 'mctb.conf'), 'utf8')).to.equal(readFileSync(join(root, 'systemd', 'mctb.sysusers.conf'), 'utf8'));
      expect(readFileSync(join(dest, 'etc', 'tmpfiles.d', 'mctb.conf'), 'utf8')).to.equal(readFileSync(join(root, 'systemd', 'mctb.tmpfiles.conf'), 'utf8'));
      // The modem drop-in only with --modem.
      expect(existsSync(join(dest, 'etc', 'systemd', 'system', 'mctb.service.d'))).to.equal(false);
    });

    it('writes the config from the example (0640) and the ledger directory (0750)', () => {
      const config = join(dest, 'etc', 'mctb', 'mctb.yaml');
      expect(readFileSync(config, 'utf8')).to.equal(readFileSync(join(root, 'config', 'mctb.example.yaml'), 'utf8'));
      expect(mode(config)).to.equal(0o640);
      expect(mode(join(dest, 'var', 'lib', 'mctb'))).to.equal(0o750);
    });

    it('copies the application: dist/src only, production node_modules, the demo captures and modem simulator, no tests', () => {
      expect(existsSync(join(app, 'dist', 'src', 'cli', 'main.js'))).to.equal(true);
      expect(existsSync(join(app, 'dist', 'test'))).to.equal(false);
      expect(existsSync(join(app, 'test'))).to.equal(false);
      expect(readdirSync(join(app, 'src', 'demo', 'captures', 'ami')).length).to.be.greaterThan(0);
      expect(readdirSync(join(app, 'src', 'demo', 'captures', 'ari')).length).to.be.greaterThan(0);
      expect(existsSync(join(app, 'src', 'demo', 'captures', 'README.md'))).to.equal(true);
      expect(readdirSync(join(app, 'src', 'demo')).sort()).to.deep.equal(['captures']);
      // The console's templates, script and style, read at run time.
      expect(existsSync(join(app, 'src', 'console', 'views', 'layout.eta'))).to.equal(true);
      expect(existsSync(join(app, 'src', 'console', 'assets', 'console.js'))).to.equal(true);
      expect(existsSync(join(app, 'tools', 'modem-sim.py'))).to.equal(true);
      // The installed demo finds them.
      const demo = join(app, 'dist', 'src', 'demo');
      const found = exec(node, ['-e', `process.stdout.write(require(${JSON.stringify(join(demo, 'capture-dir'))}).captureDir('ari') + '\\n' + require(${JSON.stringify(join(demo, 'modem-sim'))}).modemSimScript())`]);
      expect(found.code, found.stderr).to.equal(0);
      expect(found.stdout).to.equal(`${join(app, 'src', 'demo', 'captures', 'ari')}\n${join(app, 'tools', 'modem-sim.py')}`);
      expect(existsSync(join(app, 'config', 'mctb.example.yaml'))).to.equal(true);
      expect(existsSync(join(app, 'dialplan', 'manager_mctb.conf'))).to.equal(true);
      expect(existsSync(join(app, 'systemd', 'mctb.service'))).to.equal(true);
      for (const dep of ['sqlite3', 'serialport', 'commander', 'yaml']) expect(existsSync(join(app, 'node_modules', dep)), dep).to.equal(true);
      for (const dev of ['typescript', 'mocha', 'chai']) expect(existsSync(join(app, 'node_modules', dev)), dev).to.equal(false);
      // The native modules load from the installed tree.
      const r = exec(node, ['-e', `require(${JSON.stringify(join(app, 'node_modules', 'sqlite3'))}); require(${JSON.stringify(join(app, 'node_modules', 'serialport'))})`]);
      expect(r.code, r.stderr).to.equal(0);
    });

    it('the installed mctb prints the version, and the example config passes `config check`', () => {
      const v = exec(join(app, 'bin', 'mctb'), ['--version']);
      expect(v.code, v.stderr).to.equal(0);
      expect(v.stdout.trim()).to.equal(pkg.version);
      const c = exec(join(app, 'bin', 'mctb'), ['config', 'check', '-c', join(dest, 'etc', 'mctb', 'mctb.yaml')]);
      expect(c.code, c.stderr + c.stdout).to.equal(0);
    });

    it('writes the mctb command for BINDIR (/usr/local/bin), running PREFIX with the same node', () => {
      const wrapper = join(dest, 'usr', 'local', 'bin', 'mctb');
      expect(lstatSync(wrapper).isFile()).to.equal(true);
      expect(mode(wrapper)).to.equal(0o755);
      const text = readFileSync(wrapper, 'utf8');
      expect(text).to.include(`exec ${node} /opt/mctb/bin/mctb "$@"`);
      expect(spawnSync('sh', ['-n', wrapper]).status).to.equal(0);
    });

    it('runs again: upgrades the application, never overwrites an existing config', () => {
      const config = join(dest, 'etc', 'mctb', 'mctb.yaml');
      const custom = '# my own config\nasterisk: {}\n';
      writeFileSync(config, custom);
      writeFileSync(join(app, 'dist', 'src', 'stale-file.js'), '');
      const again = install(dest);
      expect(again.code, again.stderr + again.stdout).to.equal(0);
      expect(again.stdout).to.include(`kept the existing ${config}`);
      expect(readFileSync(config, 'utf8')).to.equal(custom);
      expect(existsSync(join(app, 'dist', 'src', 'stale-file.js'))).to.equal(false);
      expect(exec(join(app, 'bin', 'mctb'), ['--version']).stdout.trim()).to.equal(pkg.version);
    });
  });

  describe('custom PREFIX and --modem', () => {
    const dest = join(base, 'custom');
    let r: Run;
    before(() => {
      r = install(dest, ['--modem'], { PREFIX: '/srv/mctb', BINDIR: '/usr/bin' });
    });

    it('ExecStart, the command and the files follow PREFIX; the modem drop-in is installed', () => {
      expect(r.code, r.stderr + r.stdout).to.equal(0);
      const unit = readFileSync(join(dest, 'etc', 'systemd', 'system', 'mctb.service'), 'utf8');
      expect(unit).to.include(`\nExecStart=${node} ${flags} /srv/mctb/bin/mctb run -c /etc/mctb/mctb.yaml\n`);
      expect(unit).not.to.match(/^ExecStart=.*\/opt\/mctb/m);
      expect(readFileSync(join(dest, 'usr', 'bin', 'mctb'), 'utf8')).to.include(`exec ${node} /srv/mctb/bin/mctb "$@"`);
      expect(readFileSync(join(dest, 'etc', 'systemd', 'system', 'mctb.service.d', 'modem.conf'), 'utf8')).to.equal(
        readFileSync(join(root, 'systemd', 'mctb-modem.conf'), 'utf8'),
      );
      expect(exec(join(dest, 'srv', 'mctb', 'bin', 'mctb'), ['--version']).stdout.trim()).to.equal(pkg.version);
      expect(existsSync(join(dest, 'opt'))).to.equal(false);
    });

    it('the installed unit and drop-in pass scripts/check-unit.sh (when systemd-analyze is here)', function () {
      if (spawnSync('sh', ['-c', 'command -v systemd-analyze']).status !== 0) this.skip();
      const unitDir = join(dest, 'etc', 'systemd', 'system');
      const c = spawnSync('sh', [join(root, 'scripts', 'check-unit.sh'), join(unitDir, 'mctb.service'), join(unitDir, 'mctb.service.d', 'modem.conf')], {
        encoding: 'utf8',
        timeout: 60_000,
      });
      expect(c.status, c.stdout + c.stderr).to.equal(0);
    });
  });

  it('refuses a PREFIX it did not make that is not empty, and a system directory', () => {
    const dest = join(base, 'refuse');
    mkdirSync(join(dest, 'srv', 'app'), { recursive: true });
    writeFileSync(join(dest, 'srv', 'app', 'theirs'), '');
    const r = install(dest, [], { PREFIX: '/srv/app' });
    expect(r.code).to.equal(1);
    expect(r.stderr).to.include('was not made by this script');
    expect(existsSync(join(dest, 'srv', 'app', 'theirs'))).to.equal(true);
    const usr = install(dest, [], { PREFIX: '/usr' });
    expect(usr.code).to.equal(1);
    expect(usr.stderr).to.include('PREFIX must be a directory of its own');
  });
});

describe('packaging: the node flags the service runs with', () => {
  it('this node accepts them, and the Docker image runs node with the same ones', () => {
    expect(flags, 'the unit sets flags').to.match(/^--/);
    // A flag node does not know stops the service before it logs a line: check them here.
    const r = spawnSync(node, [...flags.split(' '), '-e', 'process.stdout.write("ok")'], { encoding: 'utf8' });
    expect(r.status, r.stderr).to.equal(0);
    expect(r.stdout).to.equal('ok');
    expect(r.stderr).to.equal('');
    const entrypoint = /^ENTRYPOINT (\[.*\])$/m.exec(readFileSync(join(root, 'docker', 'Dockerfile'), 'utf8'));
    expect(entrypoint, 'Dockerfile ENTRYPOINT').to.not.equal(null);
    expect(JSON.parse(entrypoint![1])).to.deep.equal(['node', ...flags.split(' '), '/opt/mctb/bin/mctb']);
  });
});
