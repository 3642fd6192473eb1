// `mctb calls` and `mctb sends`: the ledger's recent rows, newest first, filtered by number,
// business (and state, for sends). Numbers are printed in full: these are admin tools.

import type { Config } from '../config/types';
import type { CallListRow, SendRow } from '../records/rows';
import { SEND_STATES, type SendState } from '../records/states';
import { toE164 } from '../numbers/phone';
import { withLedger } from './read-config';
import { callVerdict } from './verdict';
import { formatTime, isoTime, zoneFor } from './time';

export interface ListOptions {
  config?: string;
  number?: string;
  business?: string;
  limit?: string;
  json?: boolean;
}

const MAX_LIMIT = 100_000;

/** `--limit`: a whole number from 1 up; undefined when it is not one. */
export function parseLimit(text: string | undefined, fallback = 50): number | undefined {
  if (text === undefined) return fallback;
  const n = Number(text);
  return Number.isInteger(n) && n >= 1 && n <= MAX_LIMIT ? n : undefined;
}

/** A number as typed by an admin: E.164 when it reads as a phone number, else as given (a hash, "anonymous"). */
function numberFilter(arg: string | undefined, config: Config): { e164?: string; raw?: string } {
  if (arg === undefined) return {};
  const e164 = toE164(arg, config.numbers.default_country);
  return e164 ? { e164 } : { raw: arg.trim() };
}

/** A call as `--json` prints it (and `mctb why --json`): times ISO 8601 in `zone`, with the offset. */
export function callJson(c: CallListRow, zone: string): Record<string, unknown> {
  const iso = (ms: number | null) => isoTime(ms, zone);
  return {
    call_id: c.call_id,
    direction: c.direction,
    business: c.business,
    did: c.did,
    number: c.number,
    number_raw: c.number_raw,
    caller_name: c.caller_name,
    outcome: c.outcome,
    decision: c.decision,
    reason: c.reason,
    detail: c.detail,
    started_at: iso(c.started_at),
    ended_at: iso(c.ended_at),
    text_id: c.text_id,
    text_state: c.text_state,
    text_reason: c.text_reason,
    text_submitted_at: iso(c.text_submitted_at ?? null),
  };
}

export function sendJson(s: SendRow & { message_ids: string | null }, zone: string): Record<string, unknown> {
  const iso = (ms: number | null) => isoTime(ms, zone);
  return {
    id: s.id,
    call_id: s.call_id,
    business: s.business,
    number: s.number,
    source_addr: s.source_addr,
    kind: s.kind,
    state: s.state,
    reason: s.reason,
    error: s.error,
    attempts: s.attempts,
    interrupted: s.interrupted,
    body: s.body,
    created_at: iso(s.created_at),
    due_at: iso(s.due_at),
    submitted_at: iso(s.submitted_at),
    finished_at: iso(s.finished_at),
    message_ids: s.message_ids ? s.message_ids.split(',') : [],
  };
}

export function callsList(opts: ListOptions, out = process.stdout, err = process.stderr): Promise<number> {
  return withLedger(
    opts.config,
    async (ledger, config) => {
      const limit = parseLimit(opts.limit);
      if (limit === undefined) {
        err.write(`mctb calls: --limit "${opts.limit}" is not a whole number from 1 to ${MAX_LIMIT}\n`);
        return 2;
      }
      const n = numberFilter(opts.number, config);
      const rows = await ledger.calls.find({ number: n.e164, anyNumber: n.raw, dialled: true, business: opts.business, limit });
      for (const c of rows) {
        if (opts.json) {
          out.write(JSON.stringify(callJson(c, zoneFor(config, c.business))) + '\n');
          continue;
        }
        const when = formatTime(c.ended_at, zoneFor(config, c.business));
        const who = `${c.number ?? (c.number_raw || 'withheld')}${c.caller_name ? ` "${c.caller_name}"` : ''}`;
        const direction = c.direction === 'outbound' ? 'outbound ' : '';
        out.write(`${when}  ${c.business ?? '-'}  ${direction}${who}  ${c.outcome}  → ${callVerdict(c, { sendId: true })}  [call ${c.call_id}]\n`);
      }
      if (!opts.json) out.write(`${rows.length} call${rows.length === 1 ? '' : 's'}${rows.length === limit ? ` (the newest ${limit}; --limit for more)` : ''}\n`);
      return 0;
    },
    err,
  );
}

export function sendsList(opts: ListOptions & { state?: string }, out = process.stdout, err = process.stderr): Promise<number> {
  return withLedger(
    opts.config,
    async (ledger, config) => {
      const limit = parseLimit(opts.limit);
      if (limit === undefined) {
        err.write(`mctb sends: --limit "${opts.limit}" is not a whole number from 1 to ${MAX_LIMIT}\n`);
        return 2;
      }
      if (opts.state !== undefined && !(SEND_STATES as readonly string[]).includes(opts.state)) {
        err.write(`mctb sends: --state "${opts.state}" is not a state (states: ${SEND_STATES.join(', ')})\n`);
        return 2;
      }
      const n = numberFilter(opts.number, config);
      const rows = await ledger.sends.find({ number: n.e164 ?? n.raw, business: opts.business, state: opts.state as SendState | undefined, limit });
      for (const s of rows) {
        if (opts.json) {
          out.write(JSON.stringify(sendJson(s, zoneFor(config, s.business))) + '\n');
          continue;
        }
        const when = formatTime(s.created_at, zoneFor(config, s.business));
        const why = [s.reason, s.error && s.error !== s.reason ? s.error : null].filter(Boolean).join(', ');
        const body = s.body.length > 60 ? s.body.slice(0, 60) + '…' : s.body;
        const flags = s.interrupted ? `  (interrupted ${s.interrupted}×: may have gone out twice)` : '';
        out.write(`${s.id}  ${when}  ${s.business}  ${s.number}  ${s.kind}  ${s.state}${why ? ` (${why})` : ''}  ${JSON.stringify(body)}${flags}\n`);
      }
      if (!opts.json) out.write(`${rows.length} send${rows.length === 1 ? '' : 's'}${rows.length === limit ? ` (the newest ${limit}; --limit for more)` : ''}\n`);
      return 0;
    },
    err,
  );
}
