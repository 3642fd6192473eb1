// `mctb tasks` (open callback tasks, oldest first) and `mctb tasks done ID`.

import { withLedger } from './read-config';
import { formatTime, isoTime, zoneFor } from './time';

export function tasksList(opts: { config?: string; json?: boolean }, out = process.stdout, err = process.stderr): Promise<number> {
  return withLedger(
    opts.config,
    async (ledger, config) => {
      const rows = await ledger.tasks.listOpen();
      for (const t of rows) {
        const zone = zoneFor(config, t.business);
        if (opts.json) {
          out.write(JSON.stringify({ id: t.id, business: t.business, number: t.number, name: t.name, calls: t.calls, opened_at: isoTime(t.opened_at, zone), last_call_at: isoTime(t.last_call_at, zone), last_message: t.last_message }) + '\n');
        } else {
          const when = formatTime(t.opened_at, zone);
          const last = t.last_message ? `  last message: ${JSON.stringify(t.last_message.length > 80 ? t.last_message.slice(0, 80) + '…' : t.last_message)}` : '';
          out.write(`${t.id}  ${when}  ${t.business}  call back ${t.number}${t.name ? ` (${t.name})` : ''}${t.calls > 1 ? `, ${t.calls} missed calls` : ''}${last}\n`);
        }
      }
      if (!opts.json) out.write(`${rows.length} open task${rows.length === 1 ? '' : 's'}\n`);
      return 0;
    },
    err,
  );
}

export function tasksDone(idArg: string, opts: { config?: string }, out = process.stdout, err = process.stderr): Promise<number> {
  return withLedger(
    opts.config,
    async (ledger) => {
      const id = Number(idArg);
      if (!Number.isInteger(id) || id <= 0) {
        err.write(`mctb tasks done: "${idArg}" is not a task id (see \`mctb tasks\`)\n`);
        return 2;
      }
      if (await ledger.tasks.close(id, 'done', Date.now())) {
        out.write(`task ${id} done\n`);
        return 0;
      }
      const t = await ledger.tasks.get(id);
      err.write(t ? `task ${id} was already closed (${t.closed_reason})\n` : `no task ${id}\n`);
      return 1;
    },
    err,
  );
}
