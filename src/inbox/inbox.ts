// Texts people send us: reassembled, stored against their contact and business, and acted on as
// src/plans/inbound.ts plans (STOP, START, HELP, a reply forwarded to staff, a staff mobile's
// answer relayed to a contact). The transport
// acknowledges a text only after this has stored it.

import { randomUUID } from 'node:crypto';
import { HTTP_CARRIERS } from '../config/schema';
import type { BusinessConfig, Config } from '../config/types';
import type { Ledger } from '../ledger/ledger';
import type { MessageAction } from '../records/states';
import type { Logger } from '../log';
import { sanitizeValue } from '../messages/template';
import { maskNumber, toE164 } from '../numbers/phone';
import { inboundBusinesses, planInbound } from '../plans/inbound';
import { isStaffMobile, readRelayCommand, RELAY_WINDOW_MS, type RelayTarget } from '../plans/relay';
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
    /** The config now (a reload may replace it between texts). */
    private readonly config: () => Config,
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
    const config = this.config();
    const country = config.numbers.default_country;
    const from = toE164(sms.from, country) ?? sanitizeValue(sms.from, 32);
    const to = toE164(sms.to, country) ?? sanitizeValue(sms.to, 32);
    // A carrier may deliver one text twice (a retried webhook; a webhook and a poll): stored once.
    if (sms.carrierId !== undefined && (await this.ledger.messages.seen(sms.carrierId))) {
      this.log.debug('text already stored; acknowledged again', { carrier_id: sms.carrierId });
      return;
    }
    let text = sms.text;
    if (sms.part && sms.part.total > 1) {
      const whole = await this.ledger.messages.storePart(from, to, sms.part, text, now);
      if (whole === undefined) return; // stored; the rest is on its way
      text = whole;
    }
    text = text.slice(0, MAX_BODY);
    const business = await this.businessFor(from, to, config);
    const relayTarget = isStaffMobile(business, from) ? await this.relayTarget(from, to, text, now, config) : undefined;
    const facts = { business, optedOut: await this.ledger.optOuts.has(from, business.name), contact: await this.ledger.contacts.get(from), eventId: randomUUID(), relayTarget };
    const plan = planInbound({ from, to, text, carrierId: sms.carrierId }, facts, config, now);
    const messageId = await this.ledger.messages.apply(plan.effects);
    const relay = plan.relay ? { relay: plan.relay, ...(plan.effects.relayedTo ? { to: maskNumber(plan.effects.relayedTo.number) } : {}) } : {};
    this.log.info('text received', { from: maskNumber(from), business: business.name, keyword: plan.heard ?? 'none', action: plan.action, message: messageId, ...relay });
    if (plan.effects.sends.length > 0) this.onSendsScheduled();
    this.onHandled({ business: business.name, number: from, text, keyword: plan.keyword, action: plan.action, messageId });
  }

  /**
   * The thread a staff mobile's text answers (src/plans/relay.ts): the one its `#<id>` names, else
   * the one the latest alert it got offered, from the businesses this number may belong to that
   * list the mobile. With its contact's name, opt-out and do_not_text.
   */
  private async relayTarget(staff: string, to: string, text: string, now: number, config: Config): Promise<RelayTarget | undefined> {
    const { threadId } = readRelayCommand(text);
    const pool = inboundBusinesses(to, config).filter((b) => isStaffMobile(b, staff)).map((b) => b.name);
    const thread = threadId !== undefined ? await this.ledger.relay.thread(threadId) : await this.ledger.relay.latestOffered(staff, pool, now - RELAY_WINDOW_MS);
    if (!thread) return undefined;
    const contact = await this.ledger.contacts.get(thread.number);
    return {
      threadId: thread.id,
      business: thread.business,
      number: thread.number,
      name: contact?.name || contact?.caller_id_name || null,
      optedOut: await this.ledger.optOuts.has(thread.number, thread.business),
      doNotText: Number(contact?.do_not_text ?? 0) !== 0,
      on: await this.ledger.threads.conversationNumber(thread.business, thread.number),
    };
  }

  /** The business a text belongs to (src/plans/inbound.ts); the one that last texted this contact when several may. */
  private async businessFor(from: string, to: string, config: Config): Promise<BusinessConfig> {
    const pool = inboundBusinesses(to, config);
    // An HTTP carrier says which DID a text came to: one no business lists is kept, and said so.
    if (HTTP_CARRIERS.some((c) => c === config.sms.transport) && !config.businesses.some((b) => b.dids.includes(to) || b.source_addr === to || b.sms_from === to)) {
      this.log.warn('text to a number no business lists; stored for the business it most likely belongs to', { to, business: pool[0]?.name });
    }
    if (pool.length === 1) return pool[0];
    const last = await this.ledger.sends.lastBusinessTexting(from, pool.map((b) => b.name));
    return pool.find((b) => b.name === last) ?? pool[0];
  }
}
