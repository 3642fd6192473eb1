// `mctb doctor` against real loopback peers: the AMI replay server (checking the secret), a
// minimal AMI that refuses Getvar as Asterisk does, the loopback SMSC (checking credentials), ARI
// over HTTP, a stopped gateway, and a ledger in a place that cannot be written.

import { expect } from 'chai';
import { chmodSync, existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { AmiReplayServer } from '../../src/demo/ami-replay';
import { AriReplayServer } from '../../src/demo/ari-replay';
import { LoopbackSmsc } from '../../src/demo/loopback-smsc';
import { ModemSimulator } from '../../src/demo/modem-sim';
import { tempDir } from '../support/harness';
import { mctb, yamlConfig } from '../support/cli';

const CREDS = { system_id: 'mctb', password: 'pw' };

function checkLines(stdout: string): string[] {
  return stdout.split('\n').filter((l) => l.startsWith('✓') || l.startsWith('✗'));
}

function line(stdout: string, name: string): string {
  const found = checkLines(stdout).find((l) => l.slice(2).startsWith(`${name}:`));
  expect(found, `no "${name}" line in:\n${stdout}`).to.be.a('string');
  return found!;
}

/** An AMI that logs anyone in and refuses Getvar the way Asterisk does for a user without write = call. */
async function amiWithoutWriteCall(): Promise<{ port: number; close: () => Promise<void> }> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.write('Asterisk Call Manager/11.0.0\r\n');
    let buf = '';
    s.on('data', (c) => {
      buf += c.toString();
      let end;
      while ((end = buf.indexOf('\r\n\r\n')) >= 0) {
        const frame = buf.slice(0, end);
        buf = buf.slice(end + 4);
        const action = /Action: (\w+)/i.exec(frame)?.[1].toLowerCase();
        const id = /ActionID: (.*)/i.exec(frame)?.[1] ?? '';
        if (action === 'login') s.write(`Response: Success\r\nActionID: ${id}\r\nMessage: Authentication accepted\r\n\r\nEvent: FullyBooted\r\nPrivilege: system,all\r\nStatus: Fully Booted\r\n\r\n`);
        else if (action === 'ping') s.write(`Response: Success\r\nActionID: ${id}\r\nPing: Pong\r\n\r\n`);
        else if (action === 'getvar') s.write(`Response: Error\r\nActionID: ${id}\r\nMessage: Permission denied\r\n\r\n`);
        else if (action === 'logoff') s.end(`Response: Goodbye\r\nActionID: ${id}\r\n\r\n`);
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: (server.address() as AddressInfo).port,
    close: () => {
      for (const s of sockets) s.destroy();
      return new Promise<void>((r) => server.close(() => r()));
    },
  };
}

describe('mctb doctor', function () {
  this.timeout(60_000);
  let dir: string;
  let cleanup: () => void;
  const closers: (() => Promise<unknown>)[] = [];
  beforeEach(() => ({ dir, cleanup } = tempDir('mctb-doctor-')));
  afterEach(async () => {
    for (const c of closers.splice(0)) await c().catch(() => undefined);
    cleanup();
  });

  const write = (text: string): string => {
    const file = join(dir, `mctb-${Math.random().toString(36).slice(2)}.yaml`);
    writeFileSync(file, text);
    return file;
  };

  async function ami(secret = 's3cret'): Promise<{ server: AmiReplayServer; port: number }> {
    const server = new AmiReplayServer({ username: 'mctb', secret, getvar: () => 'allowed_not_screened' });
    const port = await server.listen();
    closers.push(() => server.close());
    return { server, port };
  }
  async function smsc(): Promise<{ smsc: LoopbackSmsc; port: number }> {
    const s = new LoopbackSmsc({ credentials: CREDS });
    const port = await s.listen();
    closers.push(() => s.close());
    return { smsc: s, port };
  }

  it('all ✓ against a loopback AMI with the right secret and a loopback SMSC; logs off and unbinds', async () => {
    const a = await ami();
    const g = await smsc();
    const binds: string[] = [];
    g.smsc.on('bind', (id) => binds.push(id));
    // A ledger.path whose directory does not exist: ✗, and the directory is not made.
    const mistyped = write(yamlConfig({ amiPort: a.port, smppPort: g.port, ledger: join(dir, 'var', 'mctb.db') }));
    const wrong = await mctb(['doctor', '-c', mistyped]);
    expect(wrong.code).to.equal(1);
    expect(line(wrong.stdout, 'ledger directory')).to.match(/^✗ ledger directory: .*var does not exist \(mctb never creates it.* — fix: correct ledger\.path, or create the directory/);
    expect(existsSync(join(dir, 'var')), 'doctor made no directory').to.equal(false);
    mkdirSync(join(dir, 'var'));
    a.server.actions.length = 0; // what the run below asks of the PBX and the gateway, alone
    binds.length = 0;
    const file = write(yamlConfig({ amiPort: a.port, smppPort: g.port, ledger: join(dir, 'var', 'mctb.db') }));
    const r = await mctb(['doctor', '-c', file]);
    expect(r.code, r.stdout + r.stderr).to.equal(0);
    const lines = checkLines(r.stdout);
    expect(lines.every((l) => l.startsWith('✓ ')), r.stdout).to.equal(true);
    for (const name of ['config', 'ledger directory', 'ledger', 'AMI connect', 'AMI login', 'AMI ping', 'AMI Getvar', 'SMPP connect', 'SMPP bind']) line(r.stdout, name);
    expect(lines).to.have.length(9);
    expect(line(r.stdout, 'config')).to.include('2 warnings'); // the inline secret and password
    expect(r.stdout).to.include('warning: ');
    expect(line(r.stdout, 'ledger')).to.match(/schema version \d+, the latest \(created now\)/);
    expect(line(r.stdout, 'AMI connect')).to.include('Asterisk Call Manager/11.0.0');
    expect(r.stdout).to.match(/all 9 checks passed\n$/);
    const actions = a.server.actions.map((x) => x.action.toLowerCase());
    expect(actions).to.deep.equal(['login', 'ping', 'getvar', 'logoff']);
    expect(a.server.actions[0]).to.include({ username: 'mctb', events: 'off' });
    expect(a.server.actions[2]).to.include({ variable: 'CALLERID(pres)' });
    expect(binds).to.deep.equal(['mctb']);
    // A second run finds the ledger there, already at the latest version.
    const again = await mctb(['doctor', '-c', file]);
    expect(again.code).to.equal(0);
    expect(line(again.stdout, 'ledger')).to.match(/the latest; 0 texts waiting/);
  });

  it('a refused connection is said so, with its code: "connection refused (ECONNREFUSED)", for the PBX and the gateway; exit 1', async () => {
    // Two ports nothing listens on any more.
    const closed = async () => {
      const server = net.createServer().listen(0, '127.0.0.1');
      await new Promise((r) => server.once('listening', r));
      const { port } = server.address() as AddressInfo;
      await new Promise((r) => server.close(r));
      return port;
    };
    const amiPort = await closed();
    const smppPort = await closed();
    const r = await mctb(['doctor', '-c', write(yamlConfig({ amiPort, smppPort, ledger: join(dir, 'refused.db') }))]);
    expect(r.code, r.stdout + r.stderr).to.equal(1);
    expect(line(r.stdout, 'AMI connect')).to.match(new RegExp(`^✗ AMI connect: 127\\.0\\.0\\.1:${amiPort}: connection refused \\(ECONNREFUSED\\) — fix: is Asterisk running\\?`));
    expect(line(r.stdout, 'SMPP connect')).to.match(new RegExp(`^✗ SMPP connect: 127\\.0\\.0\\.1:${smppPort}: connection refused \\(ECONNREFUSED\\) — fix: `));
    const json = JSON.parse((await mctb(['doctor', '--json', '-c', write(yamlConfig({ amiPort, smppPort, ledger: join(dir, 'refused.db') }))])).stdout) as { checks: { name: string; detail: string }[] };
    expect(json.checks.find((c) => c.name === 'AMI connect')!.detail).to.equal(`127.0.0.1:${amiPort}: connection refused (ECONNREFUSED)`);
  });

  it('✗ for a wrong AMI secret, a stopped SMSC and a ledger directory that cannot be written, each with its fix; exit 1', async () => {
    const a = await ami('another-secret');
    const stopped = new LoopbackSmsc();
    const closedPort = await stopped.listen();
    await stopped.close(); // nothing listens there any more: connection refused

    // chmod 0555 stops ordinary users; root (CI runs tests as root here) writes anyway. Check
    // what this process can do and, when root bypasses the mode, make the ledger's directory
    // impossible another way: its "parent directory" is a regular file.
    const locked = join(dir, 'locked');
    mkdirSync(locked);
    chmodSync(locked, 0o555);
    let rootBypass = false;
    try {
      writeFileSync(join(locked, 'probe'), '');
      rmSync(join(locked, 'probe'));
      rootBypass = true;
    } catch {
      /* the mode works: an ordinary user */
    }
    let ledgerPath = join(locked, 'mctb.db');
    if (rootBypass) {
      writeFileSync(join(dir, 'not-a-dir'), 'a file');
      ledgerPath = join(dir, 'not-a-dir', 'mctb.db');
    }
    const file = write(yamlConfig({ amiPort: a.port, smppPort: closedPort, ledger: ledgerPath }));
    const r = await mctb(['doctor', '-c', file]);
    chmodSync(locked, 0o755);
    expect(r.code, r.stdout + r.stderr).to.equal(1);

    const login = line(r.stdout, 'AMI login');
    expect(login).to.match(/^✗ AMI login: user "mctb" refused: Authentication failed — fix: .*manager\.conf/);
    expect(line(r.stdout, 'AMI connect')).to.match(/^✓/);
    expect(r.stdout).to.not.include('AMI ping'); // nothing more is tried without a login

    expect(line(r.stdout, 'SMPP connect')).to.match(new RegExp(`^✗ SMPP connect: 127\\.0\\.0\\.1:${closedPort}: connection refused \\(ECONNREFUSED\\) — fix: .*sms\\.smpp\\.host and port`));

    const ledgerDir = line(r.stdout, 'ledger directory');
    if (rootBypass) expect(ledgerDir).to.match(/^✗ ledger directory: .*not-a-dir is a file, not a directory.* — fix: point ledger\.path at a file inside a directory/);
    else expect(ledgerDir).to.match(/^✗ ledger directory: .*locked is not writable by .* — fix: /);
    expect(line(r.stdout, 'ledger')).to.match(/^✗ ledger: .* not opened — fix: /);
    expect(line(r.stdout, 'config')).to.match(/^✓/);
    for (const l of checkLines(r.stdout).filter((x) => x.startsWith('✗'))) expect(l, l).to.match(/ — fix: \S/);
    expect(r.stdout, r.stdout).to.match(/4 of 6 checks failed\n$/);
  });

  it('✗ when the AMI user may not run Getvar (write = call missing), with the manager.conf fix', async () => {
    const pbx = await amiWithoutWriteCall();
    closers.push(pbx.close);
    const g = await smsc();
    const file = write(yamlConfig({ amiPort: pbx.port, smppPort: g.port, ledger: join(dir, 'mctb.db') }));
    const r = await mctb(['doctor', '-c', file]);
    expect(r.code).to.equal(1);
    expect(line(r.stdout, 'AMI login')).to.match(/^✓/);
    expect(line(r.stdout, 'AMI ping')).to.match(/^✓/); // the event between the answers is skipped
    expect(line(r.stdout, 'AMI Getvar')).to.match(/^✗ AMI Getvar: Permission denied.* — fix: add `write = call` \(or reporting\) to the \[mctb\] user in manager\.conf \(needed to read CALLERID\(pres\)\)/);
    // With check_presentation off, Getvar is not needed: not a failure.
    const off = write(yamlConfig({ amiPort: pbx.port, smppPort: g.port, ledger: join(dir, 'mctb.db') }).replace('ping_interval: 2s }', 'ping_interval: 2s, check_presentation: false }'));
    const r2 = await mctb(['doctor', '-c', off]);
    expect(r2.code, r2.stdout).to.equal(0);
    expect(line(r2.stdout, 'AMI Getvar')).to.match(/^✓ AMI Getvar: not permitted, and not needed/);
  });

  it('✗ SMPP bind with wrong credentials names the status and the keys to check', async () => {
    const a = await ami();
    const g = await smsc();
    const file = write(yamlConfig({ amiPort: a.port, smppPort: g.port, ledger: join(dir, 'mctb.db') }).replace('password: "pw"', 'password: "wrong"'));
    const r = await mctb(['doctor', '-c', file]);
    expect(r.code).to.equal(1);
    expect(line(r.stdout, 'SMPP connect')).to.match(/^✓/);
    expect(line(r.stdout, 'SMPP bind')).to.match(/^✗ SMPP bind: bind_transceiver as "mctb" refused: ESME_RBINDFAIL — fix: check sms\.smpp\.system_id and password/);
  });

  it('ARI: 401 for a wrong password, refused connection, 200 with the version; log transport', async () => {
    const ari = new AriReplayServer({ username: 'mctb', password: 'right' });
    await ari.listen();
    closers.push(() => ari.close());
    const info = http.createServer((req, res) => {
      const ok = req.url === '/ari/asterisk/info' && req.headers.authorization === 'Basic ' + Buffer.from('mctb:right').toString('base64');
      res.writeHead(ok ? 200 : 401, { 'Content-Type': 'application/json' }).end(ok ? JSON.stringify({ system: { version: '22.10.1', entity_id: 'x' } }) : '{}');
    });
    await new Promise<void>((r) => info.listen(0, '127.0.0.1', r));
    closers.push(() => new Promise<void>((r) => info.close(() => r())));
    const infoUrl = `http://127.0.0.1:${(info.address() as AddressInfo).port}`;
    const refused = new AriReplayServer();
    await refused.listen();
    const refusedUrl = refused.url;
    await refused.close();

    const ariConfig = (url: string, password: string, sms = 'sms:\n  transport: log') =>
      write(`asterisk:
  source: ari
  ari: { url: "${url}", username: mctb, password: "${password}", app: mctb }
${sms}
ledger: { path: ${JSON.stringify(join(dir, 'ari.db'))} }
numbers: { default_country: US }
businesses:
  - name: Brightside Dental
    dids: ["+15550001000"]
`);
    const wrong = await mctb(['doctor', '-c', ariConfig(ari.url, 'wrong')]);
    expect(wrong.code).to.equal(1);
    expect(line(wrong.stdout, 'ARI')).to.match(/^✗ ARI: .*\/ari\/asterisk\/info: user "mctb" refused \(HTTP 401\) — fix: asterisk\.ari\.username and password must match a user in ari\.conf/);
    expect(line(wrong.stdout, 'SMS')).to.equal('✓ SMS: sms.transport is log: dry run: texts are logged, not sent');

    const down = await mctb(['doctor', '-c', ariConfig(refusedUrl, 'right')]);
    expect(line(down.stdout, 'ARI')).to.match(/^✗ ARI: .*: connection refused \(ECONNREFUSED\) — fix: is Asterisk running with its HTTP server on: http\.conf/);

    const good = await mctb(['doctor', '-c', ariConfig(infoUrl, 'right')]);
    expect(good.code, good.stdout).to.equal(0);
    expect(line(good.stdout, 'ARI')).to.match(/^✓ ARI: .* answered for user "mctb" \(Asterisk 22\.10\.1\)/);
  });

  it('GSM modem: ✓ when the device answers AT with OK (the simulated modem on a pty); ✗ with a fix when it answers nothing, only echoes, is no serial port, or is missing', async () => {
    const modemConfig = (device: string) =>
      write(`asterisk:
  source: ari
  ari: { url: "http://127.0.0.1:9", username: mctb, password: "x", app: mctb }
sms:
  transport: modem
  modem: { device: ${JSON.stringify(device)} }
ledger: { path: ${JSON.stringify(join(dir, 'modem.db'))} }
numbers: { default_country: US }
businesses:
  - name: Brightside Dental
    dids: ["+15550001000"]
`);
    const sim = new ModemSimulator({ pin: '1234' });
    const device = await sim.start();
    closers.push(() => sim.stop());
    const ok = await mctb(['doctor', '-c', modemConfig(device)]);
    expect(line(ok.stdout, 'GSM modem')).to.equal(`✓ GSM modem: ${device} answered AT with OK`);
    expect(sim.commands()).to.include('AT');

    // A port where nothing answers (another port of a USB modem): "AT" is sent again every second.
    const mute = new ModemSimulator({ mute: true });
    const muteDevice = await mute.start();
    closers.push(() => mute.stop());
    const started = Date.now();
    const silent = await mctb(['doctor', '-c', modemConfig(muteDevice)]);
    expect(silent.code).to.equal(1);
    expect(Date.now() - started).to.be.at.least(5000);
    expect(line(silent.stdout, 'GSM modem')).to.match(/^✗ GSM modem: .*ttyUSB2 answers nothing to AT within 5 s — fix: is it the modem's AT port\? a USB modem shows several ports/);
    expect(mute.history.filter((e) => e.event === 'ignored').length).to.be.at.least(2);

    // A modem that only echoes: something is there, but it never says OK.
    await sim.command({ hang: true });
    const echo = await mctb(['doctor', '-c', modemConfig(device)]);
    expect(line(echo.stdout, 'GSM modem')).to.match(/^✗ GSM modem: .* answered "AT( AT)*" to AT, never OK — fix: set sms\.modem\.device to the modem's AT port/);
    expect(line(echo.stdout, 'GSM modem')).to.include('the modem is stuck: power it off and on');

    const notSerial = await mctb(['doctor', '-c', modemConfig('/dev/null')]);
    expect(line(notSerial.stdout, 'GSM modem')).to.match(/^✗ GSM modem: \/dev\/null does not open as a serial port \(.+\) — fix: set sms\.modem\.device to the modem's AT port/);

    const noModem = await mctb(['doctor', '-c', modemConfig(join(dir, 'ttyUSB9'))]);
    expect(noModem.code).to.equal(1);
    expect(line(noModem.stdout, 'GSM modem')).to.match(/^✗ GSM modem: .*ttyUSB9 does not exist — fix: is the modem plugged in/);
  });

  it('a peer that accepts the connection and says nothing: each step gives up after 5 s with a fix', async () => {
    const sockets = new Set<net.Socket>();
    const silent = net.createServer((s) => {
      sockets.add(s);
      s.on('error', () => undefined);
    });
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    closers.push(() => {
      for (const s of sockets) s.destroy();
      return new Promise<void>((r) => silent.close(() => r()));
    });
    const port = (silent.address() as AddressInfo).port;
    const file = write(yamlConfig({ amiPort: port, smppPort: port, ledger: join(dir, 'mctb.db') }));
    const started = Date.now();
    const r = await mctb(['doctor', '-c', file], { timeoutMs: 30_000 });
    expect(r.code).to.equal(1);
    expect(Date.now() - started).to.be.within(9_000, 20_000);
    expect(line(r.stdout, 'AMI connect')).to.match(/^✗ AMI connect: .* accepted the connection but sent no AMI banner \(no answer within 5 s\) — fix: check asterisk\.ami\.port/);
    expect(line(r.stdout, 'SMPP connect')).to.match(/^✓/);
    expect(line(r.stdout, 'SMPP bind')).to.match(/^✗ SMPP bind: no answer to bind_transceiver \(no answer within 5 s\) — fix: /);
  });

  it('an invalid config: problems on stderr, exit 2, no checks run', async () => {
    const r = await mctb(['doctor', '-c', write('asterisk: {}\nledger: 5\n')]);
    expect(r.code).to.equal(2);
    expect(checkLines(r.stdout)).to.have.length(0);
    expect(r.stderr).to.match(/problems? in the configuration/);
  });
});
