// The words of a text-back: the business's open- or closed-hours template filled with what we
// know. Values from the PBX are sanitized data, never template syntax.

import type { EndedCall } from '../calls/types';
import type { BusinessConfig } from '../config/types';
import { firstNameFromCallerId, renderTemplate, sanitizeValue } from '../messages/template';
import { hoursToday, localTime, nextOpen } from './hours';

/** Longest caller-ID name we look at; CNAM is 15 characters, SIP display names rarely over 64. */
const MAX_CALLER_NAME = 64;
const MAX_FIRST_NAME = 20;

export interface ComposeContext {
  /** The contact's name from the ledger (imported or set by an admin): beats the caller-ID name. */
  contactName?: string;
  messageKind: 'open' | 'closed';
  /** When the text is composed; hours_today and next_open are as of this instant. */
  now: number;
}

/** An admin-entered name: "Jane Doe" → "Jane", "Doe, Jane" → "Jane". Trusted more than caller ID. */
export function firstNameOfContact(name: string): string {
  const clean = sanitizeValue(name, MAX_CALLER_NAME);
  const given = clean.includes(',') ? clean.slice(clean.indexOf(',') + 1) : clean;
  const first = given.trim().split(/\s+/)[0] ?? '';
  return /^[\p{L}][\p{L}'’.-]*$/u.test(first) && first.length <= MAX_FIRST_NAME ? first : '';
}

export function templateValues(business: BusinessConfig, call: Pick<EndedCall, 'callerName' | 'number' | 'endedAt'>, ctx: Omit<ComposeContext, 'messageKind'>): Record<string, string> {
  const fromLedger = ctx.contactName ? firstNameOfContact(ctx.contactName) : '';
  const values: Record<string, string> = {
    'business.name': business.name,
    'contact.first_name': fromLedger || firstNameFromCallerId(sanitizeValue(call.callerName, MAX_CALLER_NAME)),
    'caller.number': call.number ?? '',
    'business.hours_today': hoursToday(business, ctx.now),
    'business.next_open': nextOpen(business, ctx.now)?.label ?? '',
    'call.time': localTime(business.timezone, call.endedAt),
  };
  for (const [name, value] of Object.entries(business.vars)) values[`vars.${name}`] = value;
  return values;
}

export function composeTextBack(business: BusinessConfig, call: Pick<EndedCall, 'callerName' | 'number' | 'endedAt'>, ctx: ComposeContext): string {
  const template = ctx.messageKind === 'closed' ? business.messages.closed : business.messages.open;
  return renderTemplate(template, templateValues(business, call, ctx));
}
