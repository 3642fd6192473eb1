// Running the real `mctb` command as a child process.

import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';

export const MCTB_BIN = join(__dirname, '..', '..', '..', 'bin', 'mctb');

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export function mctb(args: string[], opts: { env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [MCTB_BIN, ...args], { env: { ...process.env, ...opts.env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c) => (stdout += c));
    child.stderr.on('data', (c) => (stderr += c));
    const t = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`mctb ${args.join(' ')} did not finish in time\n${stdout}\n${stderr}`));
    }, opts.timeoutMs ?? 30_000);
    child.on('close', (code, signal) => {
      clearTimeout(t);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

/** Starts `mctb run` and hands back the process; stderr is collected into `log`. */
export function startDaemon(configFile: string): { child: ChildProcess; log: () => string; exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }> } {
  const child = spawn(process.execPath, [MCTB_BIN, 'run', '-c', configFile], { stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  child.stdout!.on('data', (c) => (log += c));
  child.stderr!.on('data', (c) => (log += c));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  return { child, log: () => log, exited };
}

export function yamlConfig(o: { amiPort: number; smppPort: number; ledger: string; delay?: string; extra?: string }): string {
  return `asterisk:
  ami: { host: 127.0.0.1, port: ${o.amiPort}, username: mctb, secret: "s3cret", ping_interval: 2s }
  inbound_contexts: [from-trunk]
  decision_grace: 300ms
sms:
  transport: smpp
  smpp: { host: 127.0.0.1, port: ${o.smppPort}, system_id: mctb, password: "pw", source_addr: "+15550001000", tps: 20 }
ledger: { path: ${JSON.stringify(o.ledger)} }
numbers: { default_country: US }
defaults:
  delay: ${o.delay ?? '0s'}
  dedupe_window: 1h
businesses:
  - name: Brightside Dental
    dids: ["+15550001000", "+15550001001", "+15550001003"]
log: { level: debug, format: text }
${o.extra ?? ''}`;
}
