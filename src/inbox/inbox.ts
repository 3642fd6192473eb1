// Texts people send us: reassembled, stored against their contact and business, and acted on —
// STOP opts out (confirmed once), START opts back in, HELP gets the help text, anything else is
// a reply forwarded to staff. The transport acknowledges a text only after this has stored it.

import { randomUUID } from 'node:crypto';
import type { BusinessConfig, Config } from '../config/types';
import type { Ledger } from '../ledger/ledger';
import type { InboundEffects, NewSend } from '../records/rows';
import type { MessageAction } from '../records/states';
import type { Logger } from '../log';
import { classifyKeyword } from '../messages/keywords';
import { renderTemplate, sanitizeValue } from '../messages/template';
import { alertsFor } from '../notify/events';
import { maskNumber, toE164 } from '../numbers/phone';
import { templateValues } from '../policy/compose';
import { localTime } from '../policy/hours';
import type { IncomingSms } from '../sms/transport';

export interface InboxEvent {
  business: string;
  number: string;
  text: string;
  keyword: 'stop' | 'start' | 'help' | null;
  /** What it did. */
  action: MessageAction;
  messageId: number;
}

/** Longest text we keep from one message (a concatenated text has at most 255 parts). */
const MAX_BODY = 40_000;

export class Inbox {
  private chain: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly config: Config,
    private readonly ledger: Ledger,
    private readonly log: Logger,
    private readonly clock: () => number,
    private readonly onHandled: (e: InboxEvent) => void = () => undefined,
    private readonly onSendsScheduled: () => void = () => undefined,
  ) {}

  /** One at a time: each text's facts are read and its effects written before the next. */
  handle(sms: IncomingSms): Promise<void> {
    const job = this.chain.then(() => this.process(sms));
    this.chain = job.catch(() => undefined);
    return job;
  }

  private async process(sms: IncomingSms): Promise<void> {
    const now = this.clock();
    const country = this.config.numbers.default_country;
    const from = toE164(sms.from, country) ?? sanitizeValue(sms.from, 32);
    const to = toE164(sms.to, country) ?? sanitizeValue(sms.to, 32);
    let text = sms.text;
    if (sms.part && sms.part.total > 1) {
      const whole = await this.ledger.messages.storePart(from, to, sms.part, text, now);
      if (whole === undefined) return; // stored; the rest is on its way
      text = whole;
    }
    text = text.slice(0, MAX_BODY);
    const business = await this.businessFor(from, to);
    const keyword = classifyKeyword(text, this.config.compliance) ?? null;
    const scope = this.config.compliance.opt_out_scope === 'all' ? '*' : business.name;
    const optedOut = await this.ledger.optOuts.has(from, business.name);
    const source = this.sourceOf(business);
    const contact = await this.ledger.contacts.get(from);
    const values = templateValues(business, { callerName: contact?.caller_id_name ?? '', number: from, endedAt: now }, { contactName: contact?.name ?? undefined, now });
    const reply = (template: string, kind: NewSend['kind']): NewSend => ({ business: business.name, number: from, sourceAddr: source, body: renderTemplate(template, values), dueAt: now, kind });
    const effects: InboundEffects = { message: { business: business.name, number: from, to, body: text, keyword, receivedAt: now }, sends: [], notifications: [] };
    let action: MessageAction;
    const zoneTime = localTime(business.timezone, now);

    if (keyword === 'stop') {
      if (optedOut) {
        action = 'already_opted_out'; // confirmed once, the first time
      } else {
        action = 'opted_out';
        effects.optOut = { scope };
        effects.sends.push(reply(business.opt_out_message, 'opt_out_confirm'));
        this.addAlerts(effects, business, { type: 'opt_out', data: { number: from, scope: scope === '*' ? 'all' : 'business', received_at: new Date(now).toISOString() } }, now, zoneTime);
      }
      effects.cancelScheduled = { scope, reason: 'opted_out' };
    } else if (keyword === 'start' && optedOut) {
      action = 'opted_in';
      effects.optIn = { scope };
      effects.sends.push(reply(business.opt_in_message, 'opt_in_confirm'));
    } else if (keyword === 'help') {
      action = 'help_sent';
      effects.sends.push(reply(business.help, 'help'));
    } else {
      // START/YES from someone not opted out is an ordinary reply ("Yes, Tuesday works").
      action = 'reply';
      effects.message.keyword = null;
      const name = contact?.name ?? contact?.caller_id_name ?? null;
      this.addAlerts(effects, business, { type: 'reply', data: { number: from, name, text, received_at: new Date(now).toISOString() } }, now, zoneTime);
    }
    const messageId = await this.ledger.messages.apply(effects);
    this.log.info('text received', { from: maskNumber(from), business: business.name, keyword: keyword ?? 'none', action, message: messageId });
    if (effects.sends.length > 0) this.onSendsScheduled();
    this.onHandled({ business: business.name, number: from, text, keyword: effects.message.keyword as InboxEvent['keyword'], action, messageId });
  }

  private addAlerts(effects: InboundEffects, business: BusinessConfig, e: Parameters<typeof alertsFor>[1], now: number, zoneTime: string): void {
    const alerts = alertsFor(business, e, { eventId: randomUUID(), now, localTime: zoneTime, sourceAddr: this.sourceOf(business) });
    effects.sends.push(...alerts.sends);
    effects.notifications.push(...alerts.notifications);
  }

  /**
   * The business a text belongs to: the one whose sender number it was sent to; when several
   * share that number (or none matches, e.g. a modem's SIM), the one that last texted this
   * contact; else the first listed.
   */
  private async businessFor(from: string, to: string): Promise<BusinessConfig> {
    const all = this.config.businesses;
    const matching = all.filter((b) => this.sourceOf(b) === to || b.dids.includes(to));
    const pool = matching.length > 0 ? matching : all;
    if (pool.length === 1) return pool[0];
    const last = await this.ledger.sends.lastBusinessTexting(from, pool.map((b) => b.name));
    return pool.find((b) => b.name === last) ?? pool[0];
  }

  private sourceOf(b: BusinessConfig): string {
    return b.source_addr ?? this.config.sms.smpp?.source_addr ?? b.dids[0] ?? '';
  }
}
