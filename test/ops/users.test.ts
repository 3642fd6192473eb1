// `mctb users add|list|remove|passwd` and `mctb audit`, run as the real command against a real
// ledger file: passwords from a file or asked on a terminal without echo (never without one),
// businesses checked against the config, sessions ended by passwd and remove, and the password
// and its hash never in any output or in the audit log.

import { expect } from 'chai';
import { spawn, spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { verifyPassword } from '../../src/console/passwords';
import { Ledger } from '../../src/ledger/ledger';
import { MCTB_BIN, mctb, yamlConfig, type CliResult } from '../support/cli';
import { tempDir } from '../support/harness';

const SHOP = 'Brightside Dental';
const OTHER = 'Northside Vet';
const PASSWORD = 'Tr0ub4dor&3-staff';
const NEW_PASSWORD = 'correct horse battery staple';

const jsonLines = (stdout: string) =>
  stdout
    .trim()
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Record<string, unknown>);

describe('mctb users / mctb audit', function () {
  this.timeout(60_000);
  const { dir, cleanup } = tempDir('mctb-users-cli-');
  const ledgerPath = join(dir, 'mctb.db');
  const file = join(dir, 'mctb.yaml');
  const passwordFile = join(dir, 'password');
  const newPasswordFile = join(dir, 'new-password');
  /** Every output of every run, to look for the passwords in. */
  const outputs: string[] = [];
  const run = async (args: string[]): Promise<CliResult> => {
    const r = await mctb([...args, '-c', file]);
    outputs.push(r.stdout, r.stderr);
    return r;
  };
  const withLedger = async <T>(fn: (l: Ledger) => Promise<T>): Promise<T> => {
    const l = await Ledger.open(ledgerPath);
    try {
      return await fn(l);
    } finally {
      await l.close();
    }
  };

  before(() => {
    writeFileSync(file, yamlConfig({ amiPort: 5038, smppPort: 2775, ledger: ledgerPath }).replace('businesses:\n', `businesses:\n  - name: ${OTHER}\n    dids: ["+15550002000"]\n`));
    writeFileSync(passwordFile, `${PASSWORD}\n`);
    writeFileSync(newPasswordFile, `${NEW_PASSWORD}\r\nthe second line is not read\n`);
  });
  after(cleanup);

  it('users add --password-file: an owner, and a staff user of two businesses; audited as cli', async () => {
    const owner = await run(['users', 'add', 'Olive', '--role', 'owner', '--password-file', passwordFile]);
    expect(owner.code, owner.stderr).to.equal(0);
    expect(owner.stdout).to.equal('added Olive: owner (every business)\n');
    const staff = await run(['users', 'add', 'sam', '--role', 'staff', '--business', SHOP, '--business', OTHER, '--password-file', passwordFile]);
    expect(staff.code, staff.stderr).to.equal(0);
    await withLedger(async (l) => {
      const sam = await l.users.passwordHash('SAM');
      expect(sam?.user).to.deep.include({ name: 'sam', role: 'staff', businesses: [SHOP, OTHER] });
      // The file's first line, without its newline.
      expect(await verifyPassword(PASSWORD, sam!.hash)).to.equal(true);
      const added = await l.audit.list({ action: 'user_added' });
      expect(added.map((a) => [a.actor, a.subject])).to.deep.equal([['cli', 'sam'], ['cli', 'Olive']]);
    });
  });

  it('users add without a terminal and without --password-file: exit 2, saying to use --password-file', async () => {
    const r = await run(['users', 'add', 'tina', '--role', 'owner']);
    expect(r.code).to.equal(2);
    expect(r.stderr).to.include('--password-file');
    await withLedger(async (l) => expect(await l.users.get('tina')).to.equal(undefined));
  });

  it('users add: refused with exit 2 for an unknown business (named, with the known ones), staff without one, an owner with one, a short password, a bad name', async () => {
    const unknown = await run(['users', 'add', 'tina', '--role', 'staff', '--business', SHOP, '--business', 'Brightside Dentl', '--password-file', passwordFile]);
    expect(unknown.code).to.equal(2);
    expect(unknown.stderr).to.include('no business "Brightside Dentl"');
    expect(unknown.stderr).to.include(`did you mean "${SHOP}"?`);
    expect(unknown.stderr).to.include(`(businesses: ${OTHER}, ${SHOP})`);
    const none = await run(['users', 'add', 'tina', '--role', 'staff', '--password-file', passwordFile]);
    expect(none.code).to.equal(2);
    expect(none.stderr).to.include('--business');
    const owner = await run(['users', 'add', 'tina', '--role', 'owner', '--business', SHOP, '--password-file', passwordFile]);
    expect(owner.code).to.equal(2);
    expect(owner.stderr).to.include('an owner sees every business');
    const shortFile = join(dir, 'short');
    writeFileSync(shortFile, 'abc123\n');
    const short = await run(['users', 'add', 'tina', '--role', 'owner', '--password-file', shortFile]);
    expect(short.code).to.equal(2);
    expect(short.stderr).to.include('at least 10 characters');
    const badName = await run(['users', 'add', 'ti na', '--role', 'owner', '--password-file', passwordFile]);
    expect(badName.code).to.equal(2);
    expect((await run(['users', 'add', 'tina', '--role', 'boss', '--password-file', passwordFile])).code, 'a bad --role').to.equal(2);
    expect((await run(['users', 'add', 'tina', '--password-file', passwordFile])).code, 'no --role').to.equal(2);
    expect((await run(['users', 'add', 'tina', '--role', 'owner', '--password-file', join(dir, 'absent')])).code, 'no such file').to.equal(2);
    await withLedger(async (l) => expect(await l.users.get('tina')).to.equal(undefined));
  });

  it('users add: a name taken in another case is exit 1', async () => {
    const r = await run(['users', 'add', 'OLIVE', '--role', 'owner', '--password-file', passwordFile]);
    expect(r.code).to.equal(1);
    expect(r.stderr).to.include('already exists');
  });

  it('users list --json: one object per user, by name, with the sessions open', async () => {
    await withLedger(async (l) => {
      const sam = (await l.users.get('sam'))!;
      await l.sessions.create({ idHash: 'sam-1', userId: sam.id, csrf: 'x', address: '10.0.0.7' }, Date.now());
      await l.sessions.create({ idHash: 'sam-2', userId: sam.id, csrf: 'y', address: null }, Date.now());
    });
    const r = await run(['users', 'list', '--json']);
    expect(r.code, r.stderr).to.equal(0);
    const rows = jsonLines(r.stdout);
    expect(rows.map((u) => u.name)).to.deep.equal(['Olive', 'sam']);
    expect(Object.keys(rows[1])).to.deep.equal(['name', 'role', 'businesses', 'created_at', 'password_changed_at', 'sessions']);
    expect(rows[1]).to.deep.include({ role: 'staff', businesses: [SHOP, OTHER], sessions: 2 });
    expect(rows[0]).to.deep.include({ role: 'owner', businesses: [], sessions: 0 });
    expect(rows[0].created_at).to.match(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}[+-]\d\d:\d\d$/);
    const text = await run(['users', 'list']);
    expect(text.stdout).to.match(/^sam {2}staff \(Brightside Dental, Northside Vet\) {2}created \d{4}-\d\d-\d\d \d\d:\d\d:\d\d \S+ {2}2 sessions open$/m);
    expect(text.stdout).to.match(/^2 users$/m);
  });

  it('users passwd --password-file: a new password, every session of that user ended', async () => {
    const r = await run(['users', 'passwd', 'SAM', '--password-file', newPasswordFile]);
    expect(r.code, r.stderr).to.equal(0);
    expect(r.stdout).to.equal('password changed for sam; 2 sessions ended\n');
    await withLedger(async (l) => {
      const sam = (await l.users.passwordHash('sam'))!;
      expect(await verifyPassword(NEW_PASSWORD, sam.hash)).to.equal(true);
      expect(await verifyPassword(PASSWORD, sam.hash)).to.equal(false);
      expect(await l.sessions.countFor(sam.user.id)).to.equal(0);
    });
    const absent = await run(['users', 'passwd', 'nobody', '--password-file', newPasswordFile]);
    expect(absent.code).to.equal(1);
    expect(absent.stderr).to.include('no user nobody');
    expect((await run(['users', 'passwd', 'sam'])).code, 'no terminal').to.equal(2);
  });

  it('users add on a terminal: asks twice without echo; two different answers change nothing', async function () {
    if (spawnSync('script', ['--version']).status !== 0) this.skip();
    const typed = 'typed-on-a-terminal-42';
    const good = await onTerminal(['users', 'add', 'terry', '--role', 'staff', '--business', OTHER, '-c', file], [typed, typed]);
    outputs.push(good.output);
    expect(good.code, good.output).to.equal(0);
    expect(good.output).to.include('New password for terry: ');
    expect(good.output).to.include('Again: ');
    expect(good.output).to.not.include(typed);
    await withLedger(async (l) => expect(await verifyPassword(typed, (await l.users.passwordHash('terry'))!.hash)).to.equal(true));
    const differ = await onTerminal(['users', 'passwd', 'terry', '-c', file], [typed, 'something-else-entirely']);
    outputs.push(differ.output);
    expect(differ.code).to.equal(2);
    expect(differ.output).to.include('the two passwords differ; nothing changed');
    await withLedger(async (l) => expect(await verifyPassword(typed, (await l.users.passwordHash('terry'))!.hash)).to.equal(true));
  });

  it('users remove: the user and their sessions go; exit 1 "no user NAME" when absent', async () => {
    await withLedger(async (l) => {
      const sam = (await l.users.get('sam'))!;
      await l.sessions.create({ idHash: 'sam-3', userId: sam.id, csrf: 'x', address: null }, Date.now());
    });
    const r = await run(['users', 'remove', 'Sam']);
    expect(r.code, r.stderr).to.equal(0);
    expect(r.stdout).to.equal('removed sam; 1 session ended\n');
    await withLedger(async (l) => {
      expect(await l.users.get('sam')).to.equal(undefined);
      expect(await l.sessions.get('sam-3', Date.now(), 3_600_000, 3_600_000)).to.equal(undefined);
    });
    const again = await run(['users', 'remove', 'sam']);
    expect(again.code).to.equal(1);
    expect(again.stderr).to.include('no user sam');
  });

  it('audit: every change, newest first, as text and --json; filtered by action and window', async () => {
    const r = await run(['audit']);
    expect(r.code, r.stderr).to.equal(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines[0]).to.match(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d \S+ {2}cli {2}user_removed {2}sam {2}"staff \(Brightside Dental, Northside Vet\)"$/);
    expect(lines.at(-1)).to.match(/^\d+ entries$/);
    const rows = jsonLines((await run(['audit', '--json'])).stdout);
    // terry only where script(1) could give the terminal test its terminal; his refused passwd wrote nothing.
    const terry = rows.some((a) => a.subject === 'terry') ? ['user_added terry'] : [];
    expect(rows.map((a) => `${a.action} ${a.subject}`)).to.deep.equal(['user_removed sam', ...terry, 'password_changed sam', 'user_added sam', 'user_added Olive']);
    expect(rows[1 + terry.length]).to.include({ actor: 'cli', detail: '2 sessions ended' });
    expect(Object.keys(rows[0])).to.deep.equal(['id', 'at', 'actor', 'action', 'subject', 'address', 'detail']);
    expect(rows[0].at).to.match(/^\d{4}-\d\d-\d\dT.*[+-]\d\d:\d\d$/);
    const added = jsonLines((await run(['audit', '--json', '--action', 'user_added'])).stdout);
    expect(added.every((a) => a.action === 'user_added')).to.equal(true);
    expect(jsonLines((await run(['audit', '--json', '--since', '1h', '--limit', '1'])).stdout)).to.have.length(1);
    expect(jsonLines((await run(['audit', '--json', '--until', '2020-01-01'])).stdout)).to.have.length(0);
    expect(jsonLines((await run(['audit', '--json', '--since', '2020-01-01 00:00'])).stdout)).to.have.length(rows.length);
    expect((await run(['audit', '--since', 'yesterday'])).code).to.equal(2);
    expect((await run(['audit', '--action', 'user_add'])).code).to.equal(2);
    expect((await run(['audit', '--limit', '0'])).code).to.equal(2);
  });

  it('no password or hash in any output or in the audit table', async () => {
    const { hashes, audit } = await withLedger(async (l) => ({
      hashes: await Promise.all((await l.users.list()).map(async (u) => (await l.users.passwordHash(u.name))!.hash)),
      audit: JSON.stringify(await l.audit.list()),
    }));
    expect(hashes.length).to.be.above(0);
    const secrets = [PASSWORD, NEW_PASSWORD, 'typed-on-a-terminal-42', ...hashes, ...hashes.map((h) => h.split('$')[5])];
    const all = outputs.join('\n');
    expect(outputs.length).to.be.above(20);
    for (const s of secrets) {
      expect(all, 'the commands\' output').to.not.include(s);
      expect(audit, 'the audit table').to.not.include(s);
    }
  });
});

/** Runs mctb on a pseudo-terminal (script(1)), typing each answer once its prompt is shown. */
function onTerminal(args: string[], answers: string[]): Promise<{ code: number | null; output: string }> {
  const quote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
  const command = ['exec', process.execPath, MCTB_BIN, ...args].map(quote).join(' ');
  return new Promise((resolve, reject) => {
    const child = spawn('script', ['-qec', command, '/dev/null'], { stdio: ['pipe', 'pipe', 'pipe'] });
    let output = '';
    let prompts = 0;
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`mctb ${args.join(' ')} on a terminal did not finish:\n${output}`));
    }, 30_000);
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      // Each answer only after its prompt: typed earlier, the terminal would still echo it.
      const shown = (output.match(/New password for [^:]+: |Again: /g) ?? []).length;
      while (prompts < shown && prompts < answers.length) child.stdin.write(`${answers[prompts++]}\r`);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
  });
}
