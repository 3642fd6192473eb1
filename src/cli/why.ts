// `mctb why NUMBER`: a number's recent calls, each with its outcome, the decision and the rule
// behind it, from the ledger. A caller ID that is not a phone number (`anonymous`, `restricted`,
// a forgotten number's hash) is looked up as presented, as `mctb calls --number` does.

import { toE164 } from '../numbers/phone';
import type { ContactRow } from '../records/rows';
import { withLedger } from './read-config';
import { callJson } from './lists';
import { formatTime, isoTime, zoneFor } from './time';
import { callNotes, callVerdict } from './verdict';
import { filteredWords, isFiltered } from '../sms/filtered';

/** Calls shown, the newest. */
const RECENT = 20;

/** A contact as `--json` prints it: do_not_text a boolean, times ISO 8601 with the offset. */
export function contactJson(c: ContactRow, zone = 'system'): Record<string, unknown> {
  return {
    number: c.number,
    name: c.name,
    caller_id_name: c.caller_id_name,
    tags: c.tags,
    do_not_text: Boolean(c.do_not_text),
    first_seen_at: isoTime(c.first_seen_at, zone),
    last_call_at: isoTime(c.last_call_at, zone),
  };
}

export async function why(numberArg: string, cliConfig: string | undefined, json: boolean, out = process.stdout, err = process.stderr): Promise<number> {
  return withLedger(cliConfig, async (ledger, config) => {
    const e164 = toE164(numberArg, config.numbers.default_country);
    const raw = numberArg.trim();
    if (!e164 && raw === '') {
      err.write(`mctb why: "${numberArg}" is not a phone number\n`);
      return 2;
    }
    const number = e164 ?? raw;
    const calls = await ledger.calls.find({ anyNumber: number, limit: RECENT });
    const contact = e164 ? await ledger.contacts.get(e164) : undefined;
    const optOuts = e164 ? await Promise.all(config.businesses.map(async (b) => ((await ledger.optOuts.has(e164, b.name)) ? b.name : undefined))) : [];
    if (json) {
      out.write(
        JSON.stringify({
          number,
          phone_number: e164 !== undefined,
          contact: contact ? contactJson(contact) : null,
          opted_out_of: optOuts.filter(Boolean),
          calls: calls.map((c) => ({ ...callJson(c, zoneFor(config, c.business)), ...(isFiltered(c.text_error) ? { text_filtered: filteredWords(c.text_error!) } : {}) })),
        }) + '\n',
      );
      return 0;
    }
    const who = contact?.name ?? contact?.caller_id_name ?? '';
    const what = e164 ? '' : ' (caller ID as presented, not a phone number)';
    out.write(`${number}${who ? ` (${who})` : ''}${what}: ${calls.length} recent call${calls.length === 1 ? '' : 's'}, newest first\n`);
    if (contact?.do_not_text) out.write('  contact is marked do_not_text\n');
    for (const b of optOuts) if (b) out.write(`  opted out of ${b}\n`);
    for (const c of calls) {
      const when = formatTime(c.ended_at, zoneFor(config, c.business));
      out.write(`  ${when}  ${c.business ?? '-'}  ${c.outcome}  → ${callVerdict(c)}${c.detail ? ` — ${c.detail}` : ''}\n`);
      for (const note of callNotes(c)) out.write(`      ${note}\n`);
      if (isFiltered(c.text_error)) out.write(`      ${filteredWords(c.text_error!)}\n`);
    }
    return 0;
  }, err);
}
