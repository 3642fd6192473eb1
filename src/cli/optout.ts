// `mctb optout list|add|remove NUMBER`: the opt-out list an admin can see and correct.

import { toE164 } from '../numbers/phone';
import { withLedger } from './read-config';
import { formatTime, isoTime, zoneFor } from './time';

export function optoutCommand(action: 'list' | 'add' | 'remove', numberArg: string | undefined, opts: { config?: string; business?: string; json?: boolean }, out = process.stdout, err = process.stderr): Promise<number> {
  return withLedger(
    opts.config,
    async (ledger, config) => {
      if (action === 'list') {
        const rows = await ledger.optOuts.list();
        if (opts.json) for (const r of rows) out.write(JSON.stringify({ number: r.number, business: r.business === '*' ? 'all' : r.business, source: r.source, created_at: isoTime(r.created_at, zoneFor(config, r.business)) }) + '\n');
        else {
          for (const r of rows) out.write(`${r.number.padEnd(16)} ${(r.business === '*' ? 'all businesses' : r.business).padEnd(24)} ${r.source.padEnd(6)} ${formatTime(r.created_at, zoneFor(config, r.business))}\n`);
          out.write(`${rows.length} opt-out${rows.length === 1 ? '' : 's'}\n`);
        }
        return 0;
      }
      const number = numberArg ? toE164(numberArg, config.numbers.default_country) : undefined;
      if (!number) {
        err.write(`mctb optout ${action}: "${numberArg ?? ''}" is not a phone number\n`);
        return 2;
      }
      const business = opts.business ?? '*';
      if (business !== '*' && !config.businesses.some((b) => b.name === business)) {
        err.write(`mctb optout ${action}: no business named "${business}" (businesses: ${config.businesses.map((b) => b.name).join(', ')})\n`);
        return 2;
      }
      const scope = business === '*' ? 'all businesses' : business;
      if (action === 'add') {
        await ledger.optOuts.add(number, business, 'admin', Date.now());
        await ledger.sends.cancelScheduled(number, business === '*' ? undefined : business, 'opted_out', Date.now());
        out.write(`${number} opted out of ${scope}\n`);
      } else {
        const n = await ledger.optOuts.remove(number, business);
        out.write(n ? `${number} opted back in to ${scope}\n` : `${number} was not opted out of ${scope}\n`);
      }
      return 0;
    },
    err,
  );
}
