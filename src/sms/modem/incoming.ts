// Texts and status reports coming in through the modem, in PDU mode: from the SIM's storage
// (+CMTI/+CDSI announce an index, AT+CMGR reads it, AT+CMGL=4 lists everything) or inline (+CDS,
// and +CMT from modems that refused our AT+CNMI mode). A stored text is deleted from the SIM
// (AT+CMGD) only after the MessageHandler resolved, so a text the daemon could not store stays on
// the SIM and is read again: on the next poll, and by AT+CMGL=4 at every init. With <service> 0
// of AT+CSMS neither +CMTI nor +CDS needs an AT+CNMA acknowledgement.

import type { Logger } from '../../log';
import { maskNumber } from '../../numbers/phone';
import type { DeliveryReceipt, IncomingSms, MessageHandler, ReceiptHandler } from '../transport';
import { pdusAfter, describe, type AtResult, type Urc } from './at-channel';
import { cmsError } from './cms';
import type { SentTexts } from './message-id';
import { decodePdu, type StatusReportPdu } from './pdu';

const MAX_PENDING_RECEIPTS = 1000;

/** The open connection to the modem, as incoming work uses it. */
export interface ModemSession {
  /** False once the connection is gone (or mctb is stopping): work queued for it is dropped. */
  readonly live: boolean;
  /** A command on this connection; GONE when the connection is. */
  at(cmd: string): Promise<AtResult>;
}

export class IncomingTexts {
  receiptHandler: ReceiptHandler = async () => undefined;
  messageHandler?: MessageHandler;
  /** The SIM's own number (AT+CNUM): what incoming texts were sent to. */
  ownNumber?: string;
  /** Some text on the SIM was not handled (handler threw, read failed): look again on the next poll. */
  leftovers = false;
  private chain: Promise<void> = Promise.resolve();
  private readonly pendingReceipts: DeliveryReceipt[] = [];

  constructor(
    private readonly log: Logger,
    private readonly sent: SentTexts,
  ) {}

  /** Receipts that could not be stored yet, offered again by retryReceipts(). */
  get receiptsWaiting(): boolean {
    return this.pendingReceipts.length > 0;
  }

  /** Incoming work runs one item at a time, in arrival order (parts stay in order). */
  queue(session: ModemSession, work: () => Promise<void>): void {
    this.chain = this.chain
      .then(() => (session.live ? work() : undefined))
      .catch((err) => {
        this.log.error('handling an incoming message failed', { error: (err as Error).message });
      });
  }

  onUrc(session: ModemSession, urc: Urc): void {
    switch (urc.kind) {
      case 'cmti':
      case 'cdsi':
        this.queue(session, () => this.readStored(session, urc.index));
        break;
      case 'cds':
        this.queue(session, () => this.onStatusReport(urc.pdu));
        break;
      case 'cmt':
        this.queue(session, () => this.onInlineText(urc.pdu));
        break;
    }
  }

  private async readStored(session: ModemSession, index: number): Promise<void> {
    const r = await session.at(`AT+CMGR=${index}`);
    if (r.final === 'CMS' && cmsError(r.code ?? '').code === 321) return; // already handled and deleted
    if (r.final !== 'OK') {
      if (r.final !== 'GONE') this.log.warn('could not read a new text from the SIM; will look again', { index, answer: describe(r) });
      this.leftovers = true;
      return;
    }
    const [entry] = pdusAfter(r.lines, /^\+CMGR:/);
    if (!entry) return;
    await this.handleStored(session, index, entry.pdu);
  }

  /** AT+CMGL=4: everything on the SIM (texts that came while we were away or not yet stored). */
  async scanStored(session: ModemSession): Promise<void> {
    const r = await session.at('AT+CMGL=4');
    if (r.final !== 'OK') {
      if (r.final !== 'GONE') this.log.warn('could not list the texts on the SIM', { answer: describe(r) });
      return;
    }
    this.leftovers = false;
    for (const { header, pdu } of pdusAfter(r.lines, /^\+CMGL:\s*(\d+)/)) {
      if (!session.live) return;
      await this.handleStored(session, Number(header[1]), pdu);
    }
  }

  /** Hands one stored PDU on; deletes it from the SIM only once it was taken. */
  private async handleStored(session: ModemSession, index: number, hex: string): Promise<void> {
    let decoded;
    try {
      decoded = decodePdu(hex);
    } catch (err) {
      this.log.warn('unreadable message on the SIM deleted', { index, error: (err as Error).message });
      this.log.debug('the unreadable PDU', { pdu: hex });
      await this.deleteStored(session, index);
      return;
    }
    if (decoded.type === 'submit') return; // a draft or sent copy someone stored: not ours to touch
    if (decoded.type === 'status-report') {
      if (await this.deliverReceipt(decoded)) await this.deleteStored(session, index);
      else this.leftovers = true;
      return;
    }
    if (!this.messageHandler) {
      this.log.info('incoming text left on the SIM: nothing takes texts yet', { from: maskNumber(decoded.from), index });
      return;
    }
    const sms: IncomingSms = { from: decoded.from, to: this.ownNumber ?? '', text: decoded.text, ...(decoded.part ? { part: decoded.part } : {}) };
    try {
      await this.messageHandler(sms);
    } catch (err) {
      this.leftovers = true;
      this.log.error('could not store an incoming text; it stays on the SIM and is read again', { from: maskNumber(sms.from), index, error: (err as Error).message });
      return;
    }
    await this.deleteStored(session, index);
  }

  private async deleteStored(session: ModemSession, index: number): Promise<void> {
    const r = await session.at(`AT+CMGD=${index}`);
    if (r.final !== 'OK') this.log.warn('could not delete a handled text from the SIM; it may be handled again', { index, answer: describe(r) });
  }

  /** +CMT (only when a modem refused our CNMI mode): nothing is stored, so nothing can be re-read. */
  private async onInlineText(hex: string): Promise<void> {
    let decoded;
    try {
      decoded = decodePdu(hex);
    } catch (err) {
      this.log.warn('unreadable +CMT message dropped', { error: (err as Error).message });
      return;
    }
    if (decoded.type === 'status-report') {
      await this.onStatusReport(hex);
      return;
    }
    if (decoded.type !== 'deliver' || !this.messageHandler) return;
    await this.messageHandler({ from: decoded.from, to: this.ownNumber ?? '', text: decoded.text, ...(decoded.part ? { part: decoded.part } : {}) });
  }

  private async onStatusReport(hex: string): Promise<void> {
    let decoded;
    try {
      decoded = decodePdu(hex);
    } catch (err) {
      this.log.warn('unreadable status report dropped', { error: (err as Error).message });
      return;
    }
    if (decoded.type !== 'status-report') {
      this.log.warn('+CDS carried something other than a status report', { type: decoded.type });
      return;
    }
    await this.deliverReceipt(decoded);
  }

  /** Hands a status report on; one that could not be stored is kept in memory and offered again. */
  private async deliverReceipt(sr: StatusReportPdu): Promise<boolean> {
    const receipt: DeliveryReceipt = {
      messageId: this.sent.receiptId(sr),
      state: sr.state,
      error: sr.state === 'delivered' ? null : `ST_${sr.status.toString(16).padStart(2, '0')}_${sr.statusName}`,
    };
    try {
      await this.receiptHandler(receipt);
      return true;
    } catch (err) {
      this.log.error('could not store a delivery receipt; will offer it again', { message_id: receipt.messageId, error: (err as Error).message });
      if (this.pendingReceipts.length < MAX_PENDING_RECEIPTS) this.pendingReceipts.push(receipt);
      return false;
    }
  }

  async retryReceipts(): Promise<void> {
    const batch = this.pendingReceipts.splice(0);
    for (const [i, receipt] of batch.entries()) {
      try {
        await this.receiptHandler(receipt);
      } catch {
        this.pendingReceipts.push(...batch.slice(i));
        return;
      }
    }
  }
}
