// `mctb demo`: the real daemon between a loopback PBX replaying calls captured from a real
// Asterisk 22 and a loopback SMS gateway, with a temporary ledger. Prints what happened to each
// call, in order: call → outcome → decision → SMS submitted → delivery receipt. With `--keep DIR`
// the ledger stays in DIR, with a config for it, and the commands to explore it are printed.

import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { TRANSPORTS } from '../adapters';
import { parseConfig } from '../config/load';
import type { Config, TransportKind } from '../config/types';
import { Daemon, type CallDecided } from '../daemon';
import { createLogger } from '../log';
import { countSegments } from '../messages/encoding';
import type { DemoPeer } from '../sms/transport';
import { AmiReplayServer, loadCapture, rewriteCapture } from './ami-replay';
import { hashPassword } from '../console/passwords';

export interface DemoOptions {
  /** The transport texts go through, to its stand-in (its registry entry's `demo`). */
  transport: TransportKind;
  json: boolean;
  /** Keep the ledger in this directory (it must exist and hold no ledger), with a config for it. */
  keep?: string;
  out?: NodeJS.WritableStream;
  err?: NodeJS.WritableStream;
  /**
   * Keep running after the replay with the web console on 127.0.0.1:`port` (0: any free port), a
   * one-time owner login, and a caller answering one text-back; until `until` settles (the CLI:
   * Ctrl-C or SIGTERM).
   */
  console?: { port: number; until: Promise<unknown> };
}

/** The reply the demo's first texted caller sends (with --console: a live thread to answer). */
export const DEMO_REPLY = 'Yes please! Can someone call me back after 3?';


/** The files `--keep DIR` writes: the ledger, and a config that points the commands at it. */
export const KEPT_LEDGER = 'mctb.db';
export const KEPT_CONFIG = 'mctb.yaml';

/** The calls replayed, in order; each is a real capture (src/demo/captures/README.md). */
const SCRIPT: { capture: string; what: string; shift?: number }[] = [
  { capture: 'noanswer', what: 'rings 8 s, nobody answers' },
  { capture: 'answered', what: 'Bob answers and talks' },
  { capture: 'busy', what: 'the extension is busy' },
  { capture: 'ringgroup-answered', what: 'ring group, Bob answers' },
  { capture: 'voicemail', what: 'no answer, caller leaves a voicemail' },
  { capture: 'anonymous', what: 'caller withheld their number' },
  { capture: 'queue-abandon', what: 'caller gives up waiting in the queue' },
  { capture: 'noanswer', what: 'Jane calls again ten minutes later', shift: 600 },
];

const OUTCOME_WORDS: Record<string, string> = {
  answered: 'answered by a person',
  noanswer: 'missed: nobody answered',
  busy: 'missed: busy',
  cancel: 'missed: caller hung up while it rang',
  unavailable: 'missed: phone unavailable',
  voicemail: 'missed: went to voicemail',
  queue_abandon: 'missed: caller left the queue',
  unknown_end: 'end not seen',
};

const REASON_WORDS: Record<string, string> = {
  missed: 'text the caller',
  answered: 'no text: a person answered',
  withheld: 'no text: number withheld',
  deduped: 'no text: already texted within the dedupe window',
  opted_out: 'no text: caller opted out',
  no_business: 'no text: not a business number',
  invalid_number: 'no text: not a phone number',
  unknown_end: 'no text: end not seen',
  outbound: 'no text: outbound call',
  called_back: 'no text: caller was called back',
};

const DELAY_MS = 1500;

/** The front desk's mobile in the demo: staff alerts (a reply, an opt-out) go to it. */
export const DEMO_STAFF = '+13125550100';
/** After the text-backs, two callers answer: a question (alerted to staff), and STOP. */
const ANSWERS: { who: 'first' | 'second'; text: string }[] = [
  { who: 'first', text: DEMO_REPLY },
  { who: 'second', text: 'STOP' },
];

const KIND_WORDS: Record<string, string> = {
  staff_alert: 'staff alert',
  opt_out_confirm: 'opt-out confirmation',
  opt_in_confirm: 'opt-in confirmation',
  help: 'help reply',
  console: 'reply from the console',
  follow_up: 'follow-up',
};

const ACTION_WORDS: Record<string, string> = {
  reply: 'a reply: stored, the front desk alerted',
  opted_out: 'opted out: never texted again, confirmed once',
  already_opted_out: 'already opted out',
  opted_in: 'opted back in',
  help_sent: 'help sent',
};

/** The demo's configuration, read by the real loader: only what differs from the defaults. */
export function demoConfig(dir: string, amiPort: number, transport: TransportKind, peer: DemoPeer, consolePort?: number): Config {
  return parseConfig(demoYaml(dir, amiPort, transport, peer, undefined, consolePort), '<demo>', {});
}

/** demoConfig's text; `timezone` fixes the businesses' zone (a kept config, read later). */
export function demoYaml(dir: string, amiPort: number, transport: TransportKind, peer: { config?: string }, timezone?: string, consolePort?: number): string {
  return `
asterisk:
  ami: { host: 127.0.0.1, port: ${amiPort}, username: mctb, secret: demo }
  inbound_contexts: [from-trunk]
  decision_grace: 500ms
sms:
  transport: ${transport}
${peer.config ? `  ${peer.config}\n` : ''}ledger: { path: ${JSON.stringify(join(dir, 'mctb.db'))} }
defaults:
  delay: ${DELAY_MS}ms
${timezone ? `  timezone: ${timezone}\n` : ''}businesses:
  - name: Brightside Dental
    dids: ["+15550001000", "+15550001001", "+15550001003", "+15550001004", "+15550001005"]
    notify: { sms: ["${DEMO_STAFF}"], events: [reply, opt_out] }
  - name: Northside Plumbing
    dids: ["+15550001006"]
log: { level: warn }
${consolePort !== undefined ? `console: { listen: "127.0.0.1:${consolePort}" }\n` : ''}`;
}

/** Why `--keep DIR` cannot be used, or undefined when it can (checked before anything starts). */
export function keepProblem(dir: string): string | undefined {
  if (!existsSync(dir)) return `${dir} does not exist; create it first (mkdir -p ${shellWord(dir)})`;
  if (!statSync(dir).isDirectory()) return `${dir} is not a directory`;
  for (const name of [KEPT_LEDGER, `${KEPT_LEDGER}-wal`, KEPT_CONFIG]) {
    if (existsSync(join(dir, name))) {
      const what = name === KEPT_CONFIG ? 'a config file' : 'a ledger file';
      return `${dir} already holds ${what} (${name}); the demo never overwrites one: give an empty directory, or remove it`;
    }
  }
  return undefined;
}

/** A path or argument as it can be pasted into a shell. */
function shellWord(s: string): string {
  return /^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

export async function runDemo(opts: DemoOptions): Promise<number> {
  const out = opts.out ?? process.stdout;
  if (opts.keep !== undefined) {
    const problem = keepProblem(opts.keep);
    if (problem) {
      (opts.err ?? process.stderr).write(`mctb demo: --keep: ${problem}\n`);
      return 2;
    }
  }
  const dir = opts.keep !== undefined ? resolve(opts.keep) : mkdtempSync(join(tmpdir(), 'mctb-demo-'));
  const pbx = new AmiReplayServer({ getvar: (channel) => (channel.includes('anonymous') ? 'prohib' : 'allowed_not_screened') });
  let peer: DemoPeer | undefined;
  const t0 = Date.now();
  const stamp = () => `+${((Date.now() - t0) / 1000).toFixed(1).padStart(4)}s`;
  const print = (kind: string, text: string, data: Record<string, unknown> = {}) => {
    if (opts.json) out.write(JSON.stringify({ t_ms: Date.now() - t0, kind, text, ...data }) + '\n');
    else out.write(`${stamp()}  ${kind.padEnd(8)} ${text}\n`);
  };
  let daemon: Daemon | undefined;
  try {
    const amiPort = await pbx.listen();
    const entry = TRANSPORTS[opts.transport];
    if (!entry.demo) throw new Error(`the ${entry.name} transport has no stand-in for the demo`);
    const stand = await entry.demo();
    peer = stand;
    const config = demoConfig(dir, amiPort, opts.transport, stand, opts.console?.port);
    if (!opts.json) {
      out.write(`mctb demo: what mctb does with your PBX's calls. ${SCRIPT.length} calls recorded on a real Asterisk 22 ring two businesses;\n`);
      out.write('mctb decides whether a person answered each one, texts the callers nobody answered, and then two of them\n');
      out.write('text back: a question (the front desk gets an alert) and STOP (opted out, confirmed once). Nothing leaves this\n');
      out.write(`machine: the PBX (AMI on 127.0.0.1:${amiPort}) and the SMS gateway are local stand-ins; texts go ${stand.via}.\n`);
      out.write(`Ledger: ${config.ledger.path}\n\n`);
    }
    daemon = new Daemon(config, createLogger({ level: 'warn', format: 'text' }));
    const d = daemon;
    const decided: CallDecided[] = [];
    let submitted = 0;
    let receipts = 0;
    d.events.on('call.decided', (c) => {
      decided.push(c);
      const who = `${c.call.callerName || 'unknown'} <${c.call.withheld ? 'withheld' : (c.call.number ?? c.call.numberRaw)}>`;
      print('CALL', `${who} → ${c.business ?? 'no business'} (${c.call.did ?? c.call.didRaw})`, { call_id: c.call.callId });
      print('OUTCOME', OUTCOME_WORDS[c.call.outcome] ?? c.call.outcome, { outcome: c.call.outcome });
      const inS = c.dueAt !== undefined ? ` in ${(Math.max(0, c.dueAt - Date.now()) / 1000).toFixed(1)}s` : '';
      print('DECISION', (REASON_WORDS[c.reason] ?? c.reason) + (c.decision === 'text' ? inS : ''), { decision: c.decision, reason: c.reason });
    });
    const textBacks = new Set<number>();
    d.events.on('send.submitted', (row, ids) => {
      if (row.kind !== 'text_back') {
        stand.submitted?.(ids);
        const what = row.kind === 'staff_alert' ? 'ALERT' : 'SMS';
        print(what, `${KIND_WORDS[row.kind] ?? row.kind} to ${row.number}: ${JSON.stringify(row.body)}`, { send_id: row.id, kind: row.kind, message_ids: ids });
        return;
      }
      textBacks.add(row.id);
      submitted++;
      stand.submitted?.(ids);
      const seg = countSegments(row.body);
      print('SMS', `submitted to ${row.number} (${seg.encoding}, ${seg.segments} segment${seg.segments === 1 ? '' : 's'}, id ${ids.join(',')}): ${JSON.stringify(row.body)}`, { send_id: row.id, message_ids: ids });
    });
    d.events.on('send.finished', (row, state, reason) => print('SMS', `${state} (${reason}) for ${row.number}`, { send_id: row.id, state, reason }));
    d.events.on('sms.received', (m) => print('REPLY', `${m.number} texts ${JSON.stringify(m.text)}: ${ACTION_WORDS[m.action] ?? m.action}`, { number: m.number, action: m.action }));
    d.events.on('receipt.received', (r, m) => {
      if (m.sendId === undefined || !textBacks.has(m.sendId)) return;
      receipts++;
      print('RECEIPT', `${r.state} (id ${r.messageId})`, { message_id: r.messageId, state: r.state, send_id: m.sendId });
    });

    await d.start();
    await pbx.waitForLogin();
    for (const [i, step] of SCRIPT.entries()) {
      const events = loadCapture(step.capture);
      await pbx.play(step.shift ? rewriteCapture(events, step.shift) : events);
      if (i < SCRIPT.length - 1) await sleep(250);
    }
    // Every call decided, every text out, every receipt in (bounded).
    const until = Date.now() + 20_000;
    while (Date.now() < until) {
      const texts = decided.filter((c) => c.decision === 'text').length;
      const done = decided.length >= SCRIPT.length && submitted >= texts && (!stand.receipts || receipts >= texts);
      if (done) break;
      await sleep(100);
    }
    if (stand.reply) await twoWay(d, stand, decided);
    else print('NOTE', 'this transport receives no texts: no replies in this demo');
    for (const t of await d.ledgerHandle.tasks.listOpen()) {
      print('TASK', `call back ${t.name ? `${t.name} ` : ''}${t.number} for ${t.business}: ${t.calls} missed call${t.calls === 1 ? '' : 's'}${t.last_message ? `, last text ${JSON.stringify(t.last_message)}` : ''}`, { task: t.id, number: t.number });
    }
    const texted = decided.filter((c) => c.decision === 'text').length;
    if (opts.json) print('SUMMARY', 'done', { calls: decided.length, texted, submitted, receipts });
    else out.write(`\n${decided.length} calls: ${texted} texted, ${decided.length - texted} not texted; ${submitted} SMS submitted, ${receipts} delivery receipts (text-backs).\n`);
    const ok = decided.length === SCRIPT.length && submitted === texted && texted > 0;
    if (opts.console) await keepConsoleOpen(d, stand, decided, opts.console.until, print, out, opts.json);
    if (opts.keep !== undefined) {
      await d.stop(2000); // the ledger closed before anyone else reads it
      const caller = decided.find((c) => c.decision === 'text')?.call.number ?? '+14155550123';
      keptReport(dir, amiPort, config.businesses[0].timezone, caller, opts.json, print, out);
    }
    return ok ? 0 : 1;
  } finally {
    await daemon?.stop(2000);
    await pbx.close();
    await peer?.stop();
    if (opts.keep === undefined) rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * `--keep`: writes a config for the kept ledger (the demo's businesses and zone; transport log, so
 * nothing is sent from it) and prints the commands that read the ledger through it.
 */
function keptReport(
  dir: string,
  amiPort: number,
  timezone: string,
  caller: string,
  json: boolean,
  print: (kind: string, text: string, data?: Record<string, unknown>) => void,
  out: NodeJS.WritableStream,
): void {
  const configFile = join(dir, KEPT_CONFIG);
  const header =
    '# Written by `mctb demo --keep`: the demo\'s businesses and its ledger, for exploring it with\n' +
    '# mctb calls, sends, why, report and tasks (-c this file). Not a config to run: the PBX and\n' +
    '# gateway it names were the demo\'s own, gone now.\n';
  writeFileSync(configFile, header + demoYaml(dir, amiPort, 'log', {}, timezone).replace(/^\n/, ''), { flag: 'wx' });
  const c = `-c ${shellWord(configFile)}`;
  const commands = [
    { command: `mctb calls ${c}`, what: 'every call, newest first, with its decision and text' },
    { command: `mctb sends ${c}`, what: 'every text and its state' },
    { command: `mctb why ${caller} ${c}`, what: 'one caller\'s calls and the rule behind each decision' },
    { command: `mctb report ${c}`, what: 'the counts: calls by outcome, texted or not, delivered, time to text' },
    { command: `mctb tasks ${c}`, what: 'open callback tasks' },
  ];
  if (json) {
    print('KEPT', `ledger kept in ${dir}`, { ledger: join(dir, KEPT_LEDGER), config: configFile, commands: commands.map((x) => x.command) });
    return;
  }
  out.write(`\nThe ledger is kept: ${join(dir, KEPT_LEDGER)}, with a config for it: ${configFile}. Explore it:\n`);
  const width = Math.max(...commands.map((x) => x.command.length));
  for (const x of commands) out.write(`  ${x.command.padEnd(width)}   # ${x.what}\n`);
}

/**
 * `--console`: a one-time owner login for the console the daemon serves, a caller answering the
 * first text-back (a live thread to answer: the answer goes to the loopback gateway and is
 * receipted), then running until `until` settles.
 */
async function keepConsoleOpen(
  d: Daemon,
  stand: DemoPeer,
  decided: CallDecided[],
  until: Promise<unknown>,
  print: (kind: string, text: string, data?: Record<string, unknown>) => void,
  out: NodeJS.WritableStream,
  json: boolean,
): Promise<void> {
  const password = randomBytes(12).toString('base64url');
  await d.ledgerHandle.users.add({ name: 'demo', role: 'owner', businesses: [], passwordHash: await hashPassword(password) }, Date.now());
  const url = `http://127.0.0.1:${d.consolePort}/`;
  const first = decided.find((c) => c.decision === 'text');
  if (json) print('CONSOLE', `console on ${url}`, { url, user: 'demo', password });
  else {
    out.write(`\nThe console: ${url}   user: demo   password: ${password}\n`);
    out.write('(a one-time login: this demo\'s ledger, and the user with it, are gone when it stops; Ctrl-C stops it)\n\n');
  }
  if (first?.call.number && stand.reply) print('CONSOLE', `${first.call.callerName || first.call.number}'s reply waits in the console: answer it there`, { number: first.call.number });
  await until;
}

/**
 * Two callers answer their text-back: the first with a question (the front desk's mobile gets an
 * alert), the second with STOP (opted out, confirmed once, staff told). Each is a real MO through
 * the transport's stand-in; waits until its effects went out.
 */
async function twoWay(d: Daemon, stand: DemoPeer, decided: CallDecided[]): Promise<void> {
  const callers = [...new Map(decided.filter((c) => c.decision === 'text' && c.call.number && c.call.did).map((c) => [c.call.number, c])).values()];
  for (const [i, answer] of ANSWERS.entries()) {
    const c = callers[answer.who === 'first' ? 0 : 1] ?? callers[i];
    if (!c?.call.number || !c.call.did || !stand.reply) continue;
    const before = (await d.ledgerHandle.sends.list()).length;
    await stand.reply(c.call.number, c.call.did, answer.text);
    const until = Date.now() + 8000;
    // Stored, and what it caused (an alert, a confirmation) submitted.
    while (Date.now() < until) {
      const sends = await d.ledgerHandle.sends.list();
      const stored = (await d.ledgerHandle.messages.list(c.call.number)).length > 0;
      if (stored && sends.length > before && sends.every((s) => s.state !== 'scheduled' && s.state !== 'sending')) break;
      await sleep(100);
    }
    await sleep(300);
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
