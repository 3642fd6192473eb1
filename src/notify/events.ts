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
export function alertsFor(business: BusinessConfig, e: EventData, ctx: { eventId: string; now: number; localTime: string; sourceAddr: string }): Alerts {
  const out: Alerts = { sends: [], notifications: [] };
  if (!business.notify.events.includes(e.type)) return out;
  const text = staffText(business, e, ctx.localTime);
  for (const staff of business.notify.sms) {
    // Never forward a staff member's own text back to them.
    if (e.type !== 'missed_call' && 'number' in e.data && e.data.number === staff) continue;
    out.sends.push({ business: business.name, number: staff, sourceAddr: ctx.sourceAddr, body: text, dueAt: ctx.now, kind: 'staff_alert' });
  }
  if (business.notify.webhook) {
    const body = JSON.stringify({ id: ctx.eventId, type: e.type, created_at: new Date(ctx.now).toISOString(), business: business.name, data: e.data });
    out.notifications.push({ eventId: ctx.eventId, business: business.name, type: e.type, body });
  }
  return out;
}
