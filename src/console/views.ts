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

/**
 * "14:05" today, "Tue 14:05" this week, "Nov 3, 14:05" before, in the business's zone.
 *
 * A page shows hundreds of times against one `now`: today's and this year's bounds in each zone
 * are worked out once per `now` (luxon's hasSame and diff cost 100–200 µs a call, which made a
 * busy thread's 600 items take 75 ms).
 */
export function when(ms: number, zone: string, now: number): string {
  const d = todayIn(zone, now);
  const t = DateTime.fromMillis(ms, { zone });
  if (ms >= d.dayStart && ms <= d.dayEnd) return t.toFormat('HH:mm');
  // Less than 6 days before now, in calendar days (luxon's `today.diff(t, 'days').days < 6`, which
  // costs 100 µs); a zone's offset changes by hours, never a day, so a week ago never is.
  if (ms < now && now - ms < 7 * 86_400_000 && t.plus({ days: 6 }).toMillis() > now) return t.toFormat('ccc HH:mm');
  return t.toFormat(ms >= d.yearStart && ms <= d.yearEnd ? 'LLL d, HH:mm' : 'LLL d yyyy, HH:mm');
}

interface Today {
  dayStart: number;
  dayEnd: number;
  yearStart: number;
  yearEnd: number;
}

let todays = new Map<string, Today>();
let todaysAt = NaN;

/** Today and this year in a zone, as of `now` (kept for the last `now` asked). */
function todayIn(zone: string, now: number): Today {
  if (now !== todaysAt) {
    todays = new Map();
    todaysAt = now;
  }
  let d = todays.get(zone);
  if (!d) {
    const today = DateTime.fromMillis(now, { zone });
    d = { dayStart: today.startOf('day').toMillis(), dayEnd: today.endOf('day').toMillis(), yearStart: today.startOf('year').toMillis(), yearEnd: today.endOf('year').toMillis() };
    todays.set(zone, d);
  }
  return d;
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
