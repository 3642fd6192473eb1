// Staff alerts: what is posted to the webhook and texted to staff mobiles for a missed call, a
// reply and an opt-out. Pure: the ids and the time come in.

import type { BusinessConfig } from '../config/types';
import type { NewNotification, NewSend } from '../records/rows';

export interface MissedCallData {
  call_id: string;
  number: string | null;
  caller_name: string;
  did: string | null;
  outcome: string;
  texted: boolean;
  reason: string;
  at: string;
}

export interface ReplyData {
  number: string;
  name: string | null;
  text: string;
  received_at: string;
}

export interface OptOutData {
  number: string;
  scope: 'business' | 'all';
  received_at: string;
}

export type EventData = { type: 'missed_call'; data: MissedCallData } | { type: 'reply'; data: ReplyData } | { type: 'opt_out'; data: OptOutData };

export interface Alerts {
  sends: NewSend[];
  notifications: NewNotification[];
}

const MAX_FORWARDED = 300;

/** Where a staff alert's text names the thread to answer; the ledger writes `#<id>` there (insertSend). */
export const THREAD_MARK = '#{thread}';

/** The end of a staff alert that can be answered: "Reply to answer Jane (#12)." */
function replyOffer(who: string): string {
  return `Reply to answer ${who} (${THREAD_MARK}).`;
}

/**
 * The thread a staff alert offered to answer, read back from the text the staff member got: the
 * offer ends the alert (after any forwarded text), so only its last words count.
 */
export function offeredThread(body: string): number | undefined {
  const m = /\(#(\d+)\)\.$/.exec(body);
  return m ? Number(m[1]) : undefined;
}

/** The contact a staff alert may be answered about (src/plans/relay.ts): their number and name. */
export interface Answerable {
  number: string;
  name: string | null;
}

/** The staff text for an event: short, with the number in full (staff call it back). */
export function staffText(business: BusinessConfig, e: EventData, localTime: string): string {
  switch (e.type) {
    case 'missed_call': {
      const who = [e.data.caller_name, e.data.number ?? 'withheld number'].filter(Boolean).join(' ');
      return `${business.name}: missed call from ${who} at ${localTime} (${e.data.outcome}); ${e.data.texted ? 'texted back' : `not texted: ${e.data.reason}`}.`;
    }
    case 'reply': {
      const text = e.data.text.length > MAX_FORWARDED ? `${e.data.text.slice(0, MAX_FORWARDED)}…` : e.data.text;
      return `${business.name}: reply from ${e.data.name ? `${e.data.name} ` : ''}${e.data.number}: ${text}`;
    }
    case 'opt_out':
      return `${business.name}: ${e.data.number} opted out of texts${e.data.scope === 'all' ? ' (all businesses)' : ''}.`;
  }
}

/**
 * The staff texts and webhook posts for one event, per the business's `notify`. The webhook body
 * is fixed here, so every retry posts the same bytes under the same event id.
 */
export function alertsFor(business: BusinessConfig, e: EventData, ctx: { eventId: string; now: number; localTime: string; sourceAddr: string; answer?: Answerable }): Alerts {
  const out: Alerts = { sends: [], notifications: [] };
  if (!business.notify.events.includes(e.type)) return out;
  const text = staffText(business, e, ctx.localTime);
  // A staff member answers an alert by replying to it (src/plans/relay.ts); never about a staff mobile.
  const answer = ctx.answer && !business.notify.sms.includes(ctx.answer.number) ? ctx.answer : undefined;
  const body = answer ? `${text} ${replyOffer(answer.name || answer.number)}` : text;
  for (const staff of business.notify.sms) {
    // Never forward a staff member's own text back to them.
    if (e.type !== 'missed_call' && 'number' in e.data && e.data.number === staff) continue;
    out.sends.push({ business: business.name, number: staff, sourceAddr: ctx.sourceAddr, body, dueAt: ctx.now, kind: 'staff_alert', ...(answer ? { replyThread: answer.number } : {}) });
  }
  if (business.notify.webhook) {
    const body = JSON.stringify({ id: ctx.eventId, type: e.type, created_at: new Date(ctx.now).toISOString(), business: business.name, data: e.data });
    out.notifications.push({ eventId: ctx.eventId, business: business.name, type: e.type, body });
  }
  return out;
}
