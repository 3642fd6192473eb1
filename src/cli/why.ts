// `mctb why NUMBER`: a number's recent calls, each with its outcome, the decision and the rule
// behind it, from the ledger.

import { toE164 } from '../numbers/phone';
import { DateTime } from 'luxon';
import { withLedger } from './read-config';
import { callNotes, callVerdict } from './verdict';

/** Calls shown, the newest. */
const RECENT = 20;

export async function why(numberArg: string, cliConfig: string | undefined, json: boolean, out = process.stdout, err = process.stderr): Promise<number> {
  return withLedger(cliConfig, async (ledger, config) => {
    const number = toE164(numberArg, config.numbers.default_country);
    if (!number) {
      err.write(`mctb why: "${numberArg}" is not a phone number\n`);
      return 2;
    }
    const zoneOf = new Map(config.businesses.map((b) => [b.name, b.timezone]));
    const calls = await ledger.calls.find({ anyNumber: number, limit: RECENT });
    const contact = await ledger.contacts.get(number);
    const optOuts = await Promise.all(config.businesses.map(async (b) => ((await ledger.optOuts.has(number, b.name)) ? b.name : undefined)));
    if (json) {
      out.write(JSON.stringify({ number, contact: contact ?? null, opted_out_of: optOuts.filter(Boolean), calls }) + '\n');
      return 0;
    }
    const who = contact?.name ?? contact?.caller_id_name ?? '';
    out.write(`${number}${who ? ` (${who})` : ''}: ${calls.length} recent call${calls.length === 1 ? '' : 's'}, newest first\n`);
    if (contact?.do_not_text) out.write('  contact is marked do_not_text\n');
    for (const b of optOuts) if (b) out.write(`  opted out of ${b}\n`);
    for (const c of calls) {
      const zone = (c.business && zoneOf.get(c.business)) || 'local';
      const when = DateTime.fromMillis(c.ended_at, { zone }).toFormat('yyyy-LL-dd HH:mm ZZZZ');
      out.write(`  ${when}  ${c.business ?? '-'}  ${c.outcome}  → ${callVerdict(c)}${c.detail ? ` — ${c.detail}` : ''}\n`);
      for (const note of callNotes(c)) out.write(`      ${note}\n`);
    }
    return 0;
  }, err);
}

