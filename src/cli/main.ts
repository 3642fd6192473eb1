// The `mctb` command line.

import { Command, CommanderError, Option } from 'commander';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { configCheck } from './config-check';
import { TRANSPORTS } from '../adapters';
import type { TransportKind } from '../config/types';
import { runDemo } from '../demo/demo';
import { runDaemon } from './run';
import { contactsImport, contactsList } from './contacts';
import { why } from './why';
import { optoutCommand } from './optout';
import { tasksDone, tasksList } from './tasks';
import { doctor } from './doctor';
import { report } from './report';
import { callsList, sendsList } from './lists';
import { sendTest } from './send-test';
import { LEDGER_PASSWORD_ENV } from '../config/schema';
import { forget, ledgerBackup, ledgerCopy, ledgerMigrate, ledgerPrune } from './ledger-admin';
import { ROLES, auditList, usersAdd, usersList, usersPasswd, usersRemove, type Role } from './users';
import { AUDIT_ACTIONS } from '../records/states';

const pkg = JSON.parse(readFileSync(join(__dirname, '..', '..', '..', 'package.json'), 'utf8')) as { version: string };

/** One rule for every command (README, "Commands"). */
export const EXIT_CODES_HELP = 'Exit codes: 0 ok, 1 runtime failure or a check failed, 2 usage or configuration error (a missing argument, an unknown option, a bad value, no or an invalid config).';

/** The exit code for an error commander threw: 0 for --help and --version, else 2 (usage, e.g. no command given). */
export function usageExitCode(err: CommanderError): number {
  return err.exitCode === 0 ? 0 : 2;
}

const CONFIG_HELP = 'config file (default: $MCTB_CONFIG, else /etc/mctb/mctb.yaml)';

export function buildProgram(): Command {
  const program = new Command('mctb')
    .description('Missed call text back for Asterisk and FreePBX: follows inbound calls over AMI or ARI and texts callers nobody answered, over SMPP or a GSM modem.')
    .version(pkg.version, '-V, --version', 'print the version')
    .showHelpAfterError()
    // Usage errors (a missing argument, an unknown option or command, a bad choice) are thrown, so
    // main() exits 2 for them as for any other usage or configuration error. Inherited by every
    // command added below.
    .exitOverride()
    .addHelpText(
      'after',
      `\n${EXIT_CODES_HELP}\nStart with \`mctb demo\` (no config needed), then \`mctb config check -c FILE\`.`,
    );

  program
    .command('run')
    .description('run the daemon in the foreground (SIGTERM stops it gracefully; SIGHUP, i.e. systemctl reload, reads the config again)')
    .option('-c, --config <file>', CONFIG_HELP)
    .action(async (opts: { config?: string }) => {
      process.exitCode = await runDaemon(opts.config);
    });

  const config = program.command('config').description('work with the configuration file');
  config
    .command('check')
    .description('validate the config; show each business\'s text with its encoding (GSM-7/UCS-2) and segment count. Exit 0 valid, 2 invalid')
    .option('-c, --config <file>', CONFIG_HELP)
    .option('--json', 'one JSON object: ok, file, checks (name, ok, detail, fix), businesses and their texts')
    .action((opts: { config?: string; json?: boolean }) => {
      process.exitCode = configCheck(opts.config, process.stdout, process.stderr, opts.json ?? false);
    });

  const contacts = program.command('contacts').description('known callers: names for the text, tags, do_not_text');
  contacts
    .command('import')
    .description('import contacts from a CSV with a header row: name,number[,tags][,do_not_text]. Exit 0 all imported, 1 some rows rejected (FILE:LINE: reason), 2 unreadable')
    .argument('<file>', 'CSV file')
    .option('-c, --config <file>', CONFIG_HELP)
    .action(async (file: string, opts: { config?: string }) => {
      process.exitCode = await contactsImport(file, opts.config);
    });
  contacts
    .command('list')
    .description('list named contacts and do_not_text numbers')
    .option('-c, --config <file>', CONFIG_HELP)
    .option('--json', 'one JSON object per line')
    .action(async (opts: { config?: string; json?: boolean }) => {
      process.exitCode = await contactsList(opts.config, opts.json ?? false);
    });

  const optout = program.command('optout').description('the opt-out list: numbers never texted again until they reply START');
  for (const action of ['list', 'add', 'remove'] as const) {
    const cmd = optout.command(action);
    if (action === 'list') cmd.description('list opted-out numbers').option('--json', 'one JSON object per line');
    else
      cmd
        .description(action === 'add' ? 'opt a number out (cancels its waiting texts)' : 'remove an opt-out')
        .argument('<number>', 'phone number')
        .option('--business <name>', 'only for this business (default: all businesses)');
    cmd.option('-c, --config <file>', CONFIG_HELP).action(async (...args: unknown[]) => {
      const number = action === 'list' ? undefined : (args[0] as string);
      const opts = (action === 'list' ? args[0] : args[1]) as { config?: string; business?: string; json?: boolean };
      process.exitCode = await optoutCommand(action, number, opts);
    });
  }

  const tasks = program
    .command('tasks')
    .description('open callback tasks, oldest first, with the contact\'s last message; a task closes itself when the caller reaches a person')
    .option('-c, --config <file>', CONFIG_HELP)
    .option('--json', 'one JSON object per line')
    .action(async (opts: { config?: string; json?: boolean }) => {
      process.exitCode = await tasksList(opts);
    });
  tasks
    .command('done')
    .description('close a task by its id')
    .argument('<id>', 'task id (first column of `mctb tasks`)')
    .option('-c, --config <file>', CONFIG_HELP)
    .action(async (id: string, opts: { config?: string }) => {
      // `-c` after `done` is taken by `tasks` itself (commander gives a parent's options precedence).
      process.exitCode = await tasksDone(id, { config: opts.config ?? (tasks.opts() as { config?: string }).config });
    });

  program
    .command('why')
    .description("explain a number's recent calls: outcome, decision and the rule behind it")
    .argument('<number>', 'phone number (E.164 or national)')
    .option('-c, --config <file>', CONFIG_HELP)
    .option('--json', 'print as JSON')
    .action(async (number: string, opts: { config?: string; json?: boolean }) => {
      process.exitCode = await why(number, opts.config, opts.json ?? false);
    });

  // ---- operator tools ----
  program
    .command('doctor')
    .description('check the config, the ledger, the PBX connection (AMI or ARI) and the SMS gateway; one line per check with the fix for each ✗. Exit 0 all passed, 1 a check failed, 2 invalid config')
    .option('-c, --config <file>', CONFIG_HELP)
    .option('--json', 'one JSON object: ok, checks (name, ok, detail, fix), warnings')
    .action(async (opts: { config?: string; json?: boolean }) => {
      process.exitCode = await doctor(opts);
    });

  program
    .command('report')
    .description('what mctb did in a window: calls by outcome, texted or not (and why), delivered/failed, replies and reply rate, opt-outs, median time from hangup to text')
    .option('--since <duration>', 'the window, back from now (e.g. 24h, 7d, 30d)', '7d')
    .option('--business <name>', 'only this business')
    .option('--json', 'one JSON object')
    .option('-c, --config <file>', CONFIG_HELP)
    .action(async (opts: { config?: string; since?: string; business?: string; json?: boolean }) => {
      process.exitCode = await report(opts);
    });

  program
    .command('calls')
    .description('recent calls, newest first: outcome, decision, and the text-back\'s state')
    .option('--number <number>', 'only this caller (or dialled number)')
    .option('--business <name>', 'only this business')
    .option('--limit <n>', 'at most this many', '50')
    .option('--json', 'one JSON object per line')
    .option('-c, --config <file>', CONFIG_HELP)
    .action(async (opts: { config?: string; number?: string; business?: string; limit?: string; json?: boolean }) => {
      process.exitCode = await callsList(opts);
    });

  program
    .command('sends')
    .description('recent texts, newest first: kind, state, reason, body')
    .option('--number <number>', 'only texts to this number')
    .option('--business <name>', 'only this business')
    .option('--state <state>', 'only this state: scheduled, sending, submitted, delivered, failed, cancelled, skipped')
    .option('--limit <n>', 'at most this many', '50')
    .option('--json', 'one JSON object per line')
    .option('-c, --config <file>', CONFIG_HELP)
    .action(async (opts: { config?: string; number?: string; business?: string; state?: string; limit?: string; json?: boolean }) => {
      process.exitCode = await sendsList(opts);
    });

  program
    .command('send-test')
    .description("send a business's text-back to NUMBER now (open or closed text by the current hours) and follow it: bind, submit, delivery receipt. Recorded as a manual send. Exit 0 submitted (and delivered when a receipt came), 1 otherwise")
    .argument('<number>', 'phone number to text')
    .option('--business <name>', 'which business (default: the first in the config)')
    .option('-c, --config <file>', CONFIG_HELP)
    .action(async (number: string, opts: { config?: string; business?: string }) => {
      process.exitCode = await sendTest(number, opts);
    });

  program
    .command('forget')
    .description("erase a number's personal data: contact, messages, tasks, staff notifications; its calls and texts keep a hash instead of the number. Its opt-out is kept. Needs --yes")
    .argument('<number>', 'phone number')
    .option('--yes', 'really erase')
    .option('--json', 'print the counts as JSON')
    .option('-c, --config <file>', CONFIG_HELP)
    .action(async (number: string, opts: { config?: string; yes?: boolean; json?: boolean }) => {
      process.exitCode = await forget(number, opts);
    });

  const ledgerCmd = program.command('ledger').description('ledger housekeeping: backups, retention, schema, moving to PostgreSQL');
  ledgerCmd
    .command('backup')
    .description('write a consistent copy of the ledger to FILE while the daemon runs (SQLite: VACUUM INTO; PostgreSQL: pg_dump --format=custom, restore with pg_restore). Never overwrites: exit 2 when FILE exists')
    .argument('<file>', 'the backup file to create')
    .option('-c, --config <file>', CONFIG_HELP)
    .action(async (file: string, opts: { config?: string }) => {
      process.exitCode = await ledgerBackup(file, opts);
    });
  ledgerCmd
    .command('prune')
    .description('delete calls, texts, receipts, messages, closed tasks and finished notifications older than a duration, in batches (a line per batch). Opt-outs and contacts are kept')
    .requiredOption('--older-than <duration>', 'e.g. 400d (at least 1d)')
    .option('--batch-size <n>', 'rows per batch (each its own transaction)', '5000')
    .option('--json', 'progress and result as JSON lines')
    .option('-c, --config <file>', CONFIG_HELP)
    .action(async (opts: { config?: string; olderThan?: string; batchSize?: string; json?: boolean }) => {
      process.exitCode = await ledgerPrune(opts);
    });

  ledgerCmd
    .command('migrate')
    .description("bring the ledger's schema up to date now (mctb run does it at start) and print its version")
    .option('-c, --config <file>', CONFIG_HELP)
    .action(async (opts: { config?: string }) => {
      process.exitCode = await ledgerMigrate(opts);
    });
  ledgerCmd
    .command('copy')
    .description(`copy an SQLite ledger into PostgreSQL, opt-outs first; safe to run again (adds only what is missing); prints and compares the row counts. The password: --password-file, or ${LEDGER_PASSWORD_ENV}`)
    .requiredOption('--from <sqlite:PATH>', 'the SQLite ledger, e.g. sqlite:/var/lib/mctb/mctb.db')
    .requiredOption('--to <postgres:URL>', 'the PostgreSQL database, e.g. postgres:postgres://mctb@db.example.com/mctb')
    .option('--password-file <file>', "the database role's password, on the file's first line")
    .action(async (opts: { from: string; to: string; passwordFile?: string }) => {
      process.exitCode = await ledgerCopy(opts);
    });

  // ---- the web console's users ----
  const users = program.command('users').description('web console users: an owner sees every business, staff the businesses they are given');
  const PASSWORD_FILE_HELP = 'read the password from the first line of this file (else it is asked twice on the terminal, not echoed)';
  users
    .command('add')
    .description('add a user. The password needs at least 10 characters; it is stored as a scrypt hash. Exit 2 for an unknown business or a refused password')
    .argument('<name>', 'user name: letters a-z, digits, . _ @ - (the same in any case)')
    .addOption(new Option('--role <role>', 'owner: every business; staff: the --business ones').choices(ROLES).makeOptionMandatory())
    .option('--business <name>', 'a business of the config this staff user works for (repeat for more); not with --role owner', (v: string, all: string[] | undefined) => [...(all ?? []), v])
    .option('--password-file <file>', PASSWORD_FILE_HELP)
    .option('-c, --config <file>', CONFIG_HELP)
    .action(async (name: string, opts: { config?: string; role: Role; business?: string[]; passwordFile?: string }) => {
      process.exitCode = await usersAdd(name, opts);
    });
  users
    .command('list')
    .description('list users: name, role, businesses, created, sessions open')
    .option('--json', 'one JSON object per line: name, role, businesses, created_at, password_changed_at, sessions')
    .option('-c, --config <file>', CONFIG_HELP)
    .action(async (opts: { config?: string; json?: boolean }) => {
      process.exitCode = await usersList(opts);
    });
  users
    .command('remove')
    .description('remove a user and end their sessions. Exit 1 when there is no such user')
    .argument('<name>', 'user name')
    .option('-c, --config <file>', CONFIG_HELP)
    .action(async (name: string, opts: { config?: string }) => {
      process.exitCode = await usersRemove(name, opts);
    });
  users
    .command('passwd')
    .description("set a user's password; every session of that user ends. Exit 1 when there is no such user")
    .argument('<name>', 'user name')
    .option('--password-file <file>', PASSWORD_FILE_HELP)
    .option('-c, --config <file>', CONFIG_HELP)
    .action(async (name: string, opts: { config?: string; passwordFile?: string }) => {
      process.exitCode = await usersPasswd(name, opts);
    });

  program
    .command('audit')
    .description('the audit log, newest first: sign-ins (and failed ones), sign-outs, users added, removed and their passwords changed, and what console users changed')
    .option('--since <when>', 'from this moment: a duration back from now (24h, 7d) or a date/time (2026-11-22, "2026-11-22 16:30")')
    .option('--until <when>', 'before this moment, written as for --since')
    .option('--action <action>', `only this action: ${AUDIT_ACTIONS.join(', ')}`)
    .option('--limit <n>', 'at most this many', '50')
    .option('--json', 'one JSON object per line: id, at, actor, action, subject, address, detail')
    .option('-c, --config <file>', CONFIG_HELP)
    .action(async (opts: { config?: string; since?: string; until?: string; action?: string; limit?: string; json?: boolean }) => {
      process.exitCode = await auditList(opts);
    });

  program
    .command('demo')
    .description('replay real captured Asterisk calls through the real pipeline to a loopback SMS gateway and print the timeline (needs no config)')
    .addOption(new Option('--transport <kind>', 'smpp: loopback SMPP gateway; modem: a simulated GSM modem on a pseudo-terminal (needs python3); log: dry run; voipms: a loopback VoIP.ms API').choices(Object.values(TRANSPORTS).filter((t) => t.demo !== undefined).map((t) => t.name)).default('smpp'))
    .option('--json', 'print the timeline as JSON lines')
    .option('--keep <dir>', 'keep the ledger in DIR (an existing directory without one), with a config for it (DIR/mctb.yaml), and print the commands to explore it')
    .option('--console', 'then keep running with the web console on 127.0.0.1 (a one-time login is printed) and a caller replying to a text-back; Ctrl-C stops')
    .option('--port <n>', 'the console\'s port with --console (0: any free port)', '8080')
    .action(async (opts: { transport: TransportKind; json?: boolean; keep?: string; console?: boolean; port: string }) => {
      const port = Number(opts.port);
      if (!Number.isInteger(port) || port < 0 || port > 65535) {
        process.stderr.write(`mctb demo: --port "${opts.port}" is not a port number (0-65535)\n`);
        process.exitCode = 2;
        return;
      }
      // Only with --console is Ctrl-C the way to stop (the plain demo ends by itself).
      const until = () =>
        new Promise<void>((resolve) => {
          process.once('SIGINT', () => resolve());
          process.once('SIGTERM', () => resolve());
        });
      process.exitCode = await runDemo({ transport: opts.transport, json: opts.json ?? false, keep: opts.keep, console: opts.console ? { port, until: until() } : undefined });
    });

  program
    .command('completion')
    .description('print a shell completion script: `source <(mctb completion bash)`, or save it as /etc/bash_completion.d/mctb')
    .argument('<shell>', 'bash')
    .action((shell: string) => {
      if (shell !== 'bash') {
        process.stderr.write(`mctb completion: only bash is supported, not "${shell}"\n`);
        process.exitCode = 2;
        return;
      }
      process.stdout.write(bashCompletion(program));
    });

  return program;
}

/** A bash completion script from the command tree itself, so it never misses a command or option. */
export function bashCompletion(program: Command): string {
  const cases: string[] = [];
  const walk = (cmd: Command, path: string[]): void => {
    const words = [...cmd.commands.map((c) => c.name()), ...cmd.options.map((o) => o.long ?? o.short ?? '').filter(Boolean), '--help'];
    cases.push(`    "${path.join(' ')}") words="${words.join(' ')}" ;;`);
    for (const sub of cmd.commands) walk(sub, [...path, sub.name()]);
  };
  walk(program, []);
  return `# bash completion for mctb (mctb completion bash)
_mctb_words() {
  case "$1" in
${cases.join('\n')}
    *) words="" ;;
  esac
}
_mctb() {
  local cur=\${COMP_WORDS[COMP_CWORD]} path="" i w words=""
  _mctb_words ""
  for ((i = 1; i < COMP_CWORD; i++)); do
    w=\${COMP_WORDS[i]}
    case "$w" in -*) continue ;; esac
    case " $words " in *" $w "*) path="\${path:+$path }$w"; _mctb_words "$path" ;; esac
  done
  # Options only once the word starts with "-".
  case "$cur" in -*) ;; *) words=$(printf '%s\\n' $words | grep -v '^-' | tr '\\n' ' ') ;; esac
  COMPREPLY=($(compgen -W "$words" -- "$cur"))
  [ \${#COMPREPLY[@]} -eq 0 ] && compopt -o default 2>/dev/null
  return 0
}
complete -F _mctb mctb
`;
}

/**
 * `mctb … | head`: once the reader has gone, a write fails with EPIPE. The command's output is no
 * longer wanted, so it ends quietly (exit 0, as cat and grep do under SIGPIPE's default action
 * with `set -o pipefail` off), never with "Unhandled 'error' event".
 */
function endQuietlyOnClosedOutput(): void {
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'EPIPE' || err.code === 'ERR_STREAM_DESTROYED') process.exit(process.exitCode ?? 0);
      throw err;
    });
  }
}

export function main(argv: string[] = process.argv): void {
  endQuietlyOnClosedOutput();
  buildProgram()
    .parseAsync(argv)
    .then(() => {
      // The daemon and demo leave nothing running once they return; make sure of it.
      if (process.exitCode !== undefined) setTimeout(() => process.exit(), 50).unref();
    })
    .catch((err: Error) => {
      // commander has already printed its message (and the help) for a usage error.
      if (err instanceof CommanderError) process.exit(usageExitCode(err));
      process.stderr.write(`mctb: ${err.message}\n`);
      process.exit(1);
    });
}

if (require.main === module) main();
