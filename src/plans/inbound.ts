// What a text someone sends us causes, as plain data: STOP opts out (confirmed once) and cancels
// waiting texts, START opts back in, HELP gets the help text, anything else is a reply forwarded
// to staff (and, being a message, cancels a follow-up when it is due), or, from a staff mobile,
// an answer relayed to a contact (src/plans/relay.ts). Pure: the whole text, the ledger's facts,
// the config and the time come in (read and applied by src/inbox/inbox.ts).

import type { BusinessConfig, Config } from '../config/types';
import { classifyKeyword, type Keyword } from '../messages/keywords';
import { renderTemplate } from '../messages/template';
import { alertsFor, type Answerable, type EventData } from '../notify/events';
import { templateValues } from '../policy/compose';
import { localTime } from '../policy/hours';
import type { InboundEffects, NewSend } from '../records/rows';
import type { MessageAction } from '../records/states';
import { sourceOf } from './call';
import { isStaffMobile, planRelay, type RelayOutcome, type RelayTarget } from './relay';

/** An incoming text, whole (every part in), its numbers already read as E.164 where they can be. */
export interface InboundSms {
  from: string;
  to: string;
  text: string;
  /** The carrier's id of the text (HTTP carriers), stored so a second delivery is recognised. */
  carrierId?: string;
}

export interface InboundFacts {
  /** The business it belongs to (inboundBusinesses, and the ledger when several may). */
  business: BusinessConfig;
  /** The sender opted out of this business's texts (or of all). */
  optedOut: boolean;
  contact?: { name: string | null; caller_id_name: string | null; do_not_text?: number };
  /** Id of the webhook event this text may post. */
  eventId: string;
  /** From a staff mobile of the business: the thread it answers, when there is one (planRelay). */
  relayTarget?: RelayTarget;
}

export interface InboundPlan {
  /** What the ledger writes, in one transaction (Messages.apply). */
  effects: InboundEffects;
  action: MessageAction;
  /** The keyword it is taken as (null for a reply, even a START from someone not opted out). */
  keyword: Keyword | null;
  /** The keyword the words match, whatever it did. */
  heard: Keyword | null;
  /** From a staff mobile, not a keyword: how the relay ended. */
  relay?: RelayOutcome;
}

/**
 * The businesses a text to `to` may belong to: those whose sender number (or a DID) it is; when
 * none matches (e.g. a modem's SIM), every business. When more than one, the one that last texted
 * the sender wins (a ledger fact), else the first listed.
 */
export function inboundBusinesses(to: string, config: Config): readonly BusinessConfig[] {
  const matching = config.businesses.filter((b) => sourceOf(b, config) === to || b.dids.includes(to));
  return matching.length > 0 ? matching : config.businesses;
}

export function planInbound(sms: InboundSms, facts: InboundFacts, config: Config, now: number): InboundPlan {
  const { business, optedOut, contact } = facts;
  const from = sms.from;
  const keyword = classifyKeyword(sms.text, config.compliance) ?? null;
  const scope = config.compliance.opt_out_scope === 'all' ? '*' : business.name;
  const source = sourceOf(business, config, sms.to);
  const values = templateValues(business, { callerName: contact?.caller_id_name ?? '', number: from, endedAt: now }, { contactName: contact?.name ?? undefined, now });
  const reply = (template: string, kind: NewSend['kind']): NewSend => ({ business: business.name, number: from, sourceAddr: source, body: renderTemplate(template, values), dueAt: now, kind });
  const effects: InboundEffects = { message: { business: business.name, number: from, to: sms.to, body: sms.text, keyword, receivedAt: now, ...(sms.carrierId !== undefined ? { carrierId: sms.carrierId } : {}) }, sends: [], notifications: [] };
  const alert = (e: EventData, answer?: Answerable) => {
    const alerts = alertsFor(business, e, { eventId: facts.eventId, now, localTime: localTime(business.timezone, now), sourceAddr: source, answer });
    effects.sends.push(...alerts.sends);
    effects.notifications.push(...alerts.notifications);
  };
  let action: MessageAction;
  if (keyword === 'stop') {
    if (optedOut) {
      action = 'already_opted_out'; // confirmed once, the first time
    } else {
      action = 'opted_out';
      effects.optOut = { scope };
      effects.sends.push(reply(business.opt_out_message, 'opt_out_confirm'));
      alert({ type: 'opt_out', data: { number: from, scope: scope === '*' ? 'all' : 'business', received_at: new Date(now).toISOString() } });
    }
    effects.cancelScheduled = { scope, reason: 'opted_out' };
  } else if (keyword === 'start' && optedOut) {
    action = 'opted_in';
    effects.optIn = { scope };
    effects.sends.push(reply(business.opt_in_message, 'opt_in_confirm'));
  } else if (keyword === 'help') {
    action = 'help_sent';
    effects.sends.push(reply(business.help, 'help'));
  } else if (isStaffMobile(business, from)) {
    // Staff answering a contact, not a contact replying: relayed (or refused), never forwarded.
    effects.message.keyword = null;
    const relay = planRelay(from, sms.text, business, facts.relayTarget, config, now, sms.to);
    effects.sends.push(...relay.sends);
    effects.relayedTo = relay.relayedTo;
    action = relay.outcome === 'sent' ? 'relayed' : 'relay_refused';
    return { effects, action, keyword: null, heard: keyword, relay: relay.outcome };
  } else {
    // START/YES from someone not opted out is an ordinary reply ("Yes, Tuesday works").
    action = 'reply';
    effects.message.keyword = null;
    const name = contact?.name || contact?.caller_id_name || null;
    // Staff are offered to answer unless the contact cannot be texted.
    const answer = optedOut || contact?.do_not_text ? undefined : { number: from, name };
    alert({ type: 'reply', data: { number: from, name: contact?.name ?? contact?.caller_id_name ?? null, text: sms.text, received_at: new Date(now).toISOString() } }, answer);
  }
  return { effects, action, keyword: effects.message.keyword as Keyword | null, heard: keyword };
}
