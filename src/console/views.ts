// Templates (eta, escaping every `<%= %>` by default: a caller name or a text is always shown as
// text) and the small wording helpers the pages share: times in the business's zone, numbers as
// people write them, what a call outcome or a text's state means.

import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { FastifyReply } from 'fastify';
import { Eta } from 'eta';
import { parsePhoneNumberFromString } from 'libphonenumber-js/max';
import { DateTime } from 'luxon';

/** Beside this file when run from the sources, or in the source tree next to dist/ when compiled. */
function consoleDir(sub: 'views' | 'assets'): string {
  const candidates = [join(__dirname, sub), join(__dirname, '..', '..', '..', 'src', 'console', sub)];
  return candidates.find((p) => existsSync(p)) ?? candidates[candidates.length - 1];
}

/** A static file the console serves: its own script and style, and htmx from its npm package. */
export function assetFile(name: 'console.css' | 'console.js' | 'htmx.min.js'): string {
  if (name === 'htmx.min.js') return join(dirname(require.resolve('htmx.org/package.json')), 'dist', 'htmx.min.js');
  return join(consoleDir('assets'), name);
}

export class Views {
  private readonly eta = new Eta({ views: consoleDir('views'), cache: true, autoEscape: true, autoTrim: false });

  /** A whole page (in the layout). */
  page(reply: FastifyReply, view: string, data: Record<string, unknown>): FastifyReply {
    return reply.type('text/html; charset=utf-8').send(this.eta.render(view, data));
  }

  /** A fragment htmx swaps in. */
  fragment(reply: FastifyReply, view: string, data: Record<string, unknown>): FastifyReply {
    return reply.type('text/html; charset=utf-8').send(this.eta.render(view, data));
  }
}

/** "+1 415 555 0123", or the number as stored when it is not a phone number. */
export function showNumber(e164: string): string {
  return parsePhoneNumberFromString(e164)?.formatInternational() ?? e164;
}

/** "14:05" today, "Tue 14:05" this week, "Nov 3, 14:05" before, in the business's zone. */
export function when(ms: number, zone: string, now: number): string {
  const t = DateTime.fromMillis(ms, { zone });
  const today = DateTime.fromMillis(now, { zone });
  if (t.hasSame(today, 'day')) return t.toFormat('HH:mm');
  if (today.diff(t, 'days').days < 6 && t < today) return t.toFormat('ccc HH:mm');
  return t.toFormat(t.hasSame(today, 'year') ? 'LLL d, HH:mm' : 'LLL d yyyy, HH:mm');
}

export function isoIn(ms: number, zone: string): string {
  return DateTime.fromMillis(ms, { zone }).toISO() ?? '';
}

export const OUTCOME_LABELS: Record<string, string> = {
  answered: 'Answered',
  noanswer: 'Unanswered',
  busy: 'Busy',
  cancel: 'Caller hung up while ringing',
  unavailable: 'Unreachable',
  voicemail: 'Went to voicemail',
  queue_abandon: 'Left the queue',
  unknown_end: 'End not seen',
};

export const KIND_LABELS: Record<string, string> = {
  text_back: 'Text-back',
  follow_up: 'Follow-up',
  console: 'Reply',
  relay: 'Relayed from a staff mobile',
  opt_out_confirm: 'Opt-out confirmation',
  opt_in_confirm: 'Opt-in confirmation',
  help: 'Help reply',
  manual: 'Test text',
};

export const STATE_LABELS: Record<string, string> = {
  scheduled: 'scheduled',
  sending: 'sending',
  submitted: 'sent',
  delivered: 'delivered',
  failed: 'failed',
  cancelled: 'cancelled',
  skipped: 'not sent',
};
