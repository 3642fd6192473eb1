// A staff member answers a contact from their mobile: they reply to a staff alert (or start with
// the `#<thread>` an alert gave) and mctb relays the text to the contact from the business's
// number, then tells them in one short text that it went or why not. Pure: the thread the text
// is for, as the ledger has it, comes in (read by src/inbox/inbox.ts); the texts go out.

import type { BusinessConfig, Config } from '../config/types';
import { classifyKeyword } from '../messages/keywords';
import type { NewSend } from '../records/rows';
import { sourceOf } from './call';

/** A reply with no `#<thread>` answers the latest alert the mobile got within this. */
export const RELAY_WINDOW_MS = 24 * 3600_000;

/** Whether this number is one of the business's staff mobiles (notify.sms). */
export function isStaffMobile(business: BusinessConfig, number: string): boolean {
  return business.notify.sms.includes(number);
}

/** "#12 See you at 3" → thread 12, "See you at 3"; a text with no leading `#<digits>` is all text. */
export function readRelayCommand(text: string): { threadId?: number; text: string } {
  const m = /^\s*#(\d{1,15})(?![\d\p{L}])[\s:,.-]*/u.exec(text);
  if (!m) return { text: text.trim() };
  return { threadId: Number(m[1]), text: text.slice(m[0].length).trim() };
}

/** The thread a staff text is for: the one it names, else the latest alert's (the ledger's facts). */
export interface RelayTarget {
  threadId: number;
  business: string;
  /** The contact. */
  number: string;
  name: string | null;
  optedOut: boolean;
  doNotText: boolean;
  /** The business number the conversation is on (the last DID called or texted), for sms_from: dialled. */
  on?: string;
}

/** How a relay ended: `sent`, or why nothing went to the contact. */
export type RelayOutcome = 'sent' | 'keyword' | 'unknown_thread' | 'no_alert' | 'empty' | 'do_not_text' | 'opted_out';

export interface RelayPlan {
  outcome: RelayOutcome;
  /** The text to the contact (when sent), then the one to the staff member. */
  sends: NewSend[];
  /** The thread answered (when sent). */
  relayedTo?: { business: string; number: string };
}

const EXAMPLE = '"#12 See you at 3"';

/**
 * What a staff mobile's text (not a STOP/START/HELP: those mean what they say, see planInbound)
 * does. `business` is the one it was sent to: the answer to the staff member comes from its
 * number. `target` is undefined when the named thread does not exist, or, with no `#`, when no
 * alert offered one within RELAY_WINDOW_MS.
 */
export function planRelay(staff: string, text: string, business: BusinessConfig, target: RelayTarget | undefined, config: Config, now: number, to?: string): RelayPlan {
  const cmd = readRelayCommand(text);
  const tell = (outcome: RelayOutcome, body: string, relayed?: NewSend): RelayPlan => {
    const confirm: NewSend = { business: business.name, number: staff, sourceAddr: sourceOf(business, config, to), body, dueAt: now, kind: 'relay_confirm' };
    return { outcome, sends: relayed ? [relayed, confirm] : [confirm], relayedTo: relayed ? { business: relayed.business, number: relayed.number } : undefined };
  };
  // A thread of a business that does not list this mobile is refused like one that does not exist.
  const owner = target && config.businesses.find((b) => b.name === target.business && isStaffMobile(b, staff));
  if (cmd.threadId !== undefined && (!target || !owner)) {
    return tell('unknown_thread', `Not sent: you have no thread #${cmd.threadId}. Start with the # an alert gave, e.g. ${EXAMPLE}.`);
  }
  if (!target || !owner) return tell('no_alert', `Not sent: no alert to answer in the last 24 h. Start with the # an alert gave, e.g. ${EXAMPLE}.`);
  const who = target.name || target.number;
  if (cmd.text === '') return tell('empty', `Not sent: nothing to send to ${who}. Write it after #${target.threadId}.`);
  // The contact would read a bare STOP/START/HELP as mctb's keyword, not as staff's words.
  if (classifyKeyword(cmd.text, config.compliance)) return tell('keyword', `Not sent: "${cmd.text.slice(0, 40)}" reads as a keyword (STOP, START, HELP). Reword it.`);
  if (isStaffMobile(owner, target.number)) return tell('unknown_thread', `Not sent: #${target.threadId} is a staff mobile's thread.`);
  if (target.doNotText) return tell('do_not_text', `Not sent: ${who} is marked do not text.`);
  if (target.optedOut) return tell('opted_out', `Not sent: ${who} opted out of ${owner.name} texts.`);
  const relayed: NewSend = { business: owner.name, number: target.number, sourceAddr: sourceOf(owner, config, target.on), body: cmd.text, dueAt: now, kind: 'relay', sentBy: staff };
  return tell('sent', `Sent to ${who}.`, relayed);
}
