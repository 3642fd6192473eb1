// A small SMSC on loopback, built on the smpp package's own server: accepts binds, answers
// submit_sm (or throttles/refuses on request), and sends delivery receipts. Used by `mctb demo`
// and the tests; it is a real SMPP peer on a real socket.

import { EventEmitter } from 'node:events';
import type { AddressInfo, Server } from 'node:net';
import smpp, { smppStatusName } from '../sms/smpp/lib';
import { decodeShortMessage } from '../sms/smpp/transport';
import { encodeGsm7, encodeUcs2, isGsm7 } from '../messages/encoding';

interface ServerPdu {
  command: string;
  sequence_number: number;
  system_id?: string;
  password?: string;
  source_addr?: string;
  source_addr_ton?: number;
  destination_addr?: string;
  dest_addr_ton?: number;
  esm_class?: number;
  registered_delivery?: number;
  data_coding?: number;
  short_message?: Buffer;
  response(options?: Record<string, unknown>): ServerPdu;
}
interface ServerSession extends EventEmitter {
  socket: { write(b: Buffer): boolean };
  send(pdu: ServerPdu): boolean;
  deliver_sm(opts: Record<string, unknown>, cb?: (resp: ServerPdu) => void): boolean;
  close(): void;
  destroy(): void;
}

export interface ReceivedSubmit {
  source: string;
  destination: string;
  dataCoding: number;
  esmClass: number;
  registeredDelivery: number;
  payload: Buffer;
  /** Decoded text of this part (UDH removed). */
  text: string;
  messageId: string;
  at: number;
}

export interface SmscAnswer {
  command: string;
  sequence: number;
  status: number;
}

export interface SmscBehaviour {
  /** SMPP status to answer a submit with (0 accepts). Called per submit_sm. */
  answer?: (submit: Omit<ReceivedSubmit, 'messageId'>) => number;
  /** Send a delivery receipt this long after accepting (undefined: none). */
  receiptDelayMs?: number;
  /** stat: value in receipts. */
  receiptStat?: string;
  /** Receipt form: TLVs and text (default), text only (Appendix B), or TLVs only. */
  receiptForm?: 'both' | 'text' | 'tlv';
  /** Send the receipt before the submit_sm_resp (it happens with some gateways). */
  receiptBeforeResp?: boolean;
  /** Accept only these credentials when set. */
  credentials?: { system_id: string; password: string };
  /** Stop answering enquire_link (a link that died silently). */
  ignoreEnquireLink?: boolean;
  /** The message ids' prefix (default m): two gateways that number ids alike, or not. */
  messageIdPrefix?: string;
}

export class LoopbackSmsc extends EventEmitter<{ submit: [ReceivedSubmit]; bind: [string] }> {
  readonly submits: ReceivedSubmit[] = [];
  /** command_status of every deliver_sm_resp the client sent back (0 = stored). */
  readonly deliverResponses: number[] = [];
  /** Every response the client sent to a PDU of ours (deliver_sm_resp, generic_nack, enquire_link_resp...), in order. */
  readonly answers: SmscAnswer[] = [];
  private readonly server: Server;
  private readonly sessions = new Set<ServerSession>();
  private counter = 0;
  private readonly timers = new Set<NodeJS.Timeout>();

  constructor(public behaviour: SmscBehaviour = {}) {
    super();
    this.server = smpp.createServer({}, (s: unknown) => this.onSession(s as ServerSession)) as Server;
  }

  listen(port = 0): Promise<number> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, '127.0.0.1', () => resolve((this.server.address() as AddressInfo).port));
    });
  }

  get sessionCount(): number {
    return this.sessions.size;
  }

  /** Cuts every session (the gateway drops the link). */
  dropSessions(): void {
    for (const s of this.sessions) s.destroy();
    this.sessions.clear();
  }

  async close(): Promise<void> {
    for (const t of this.timers) clearTimeout(t);
    this.dropSessions();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  /** Writes raw bytes to every session (malformed PDUs for tests). */
  sendRaw(bytes: Buffer): void {
    for (const s of this.sessions) s.socket.write(bytes);
  }

  /** Sends a mobile-originated text (or anything deliver_sm) to every bound client. */
  deliver(options: Record<string, unknown>): void {
    for (const s of this.sessions) s.deliver_sm(options);
  }

  private onSession(session: ServerSession): void {
    this.sessions.add(session);
    session.on('close', () => this.sessions.delete(session));
    session.on('error', () => this.sessions.delete(session));
    const bind = (pdu: ServerPdu) => {
      const creds = this.behaviour.credentials;
      if (creds && (pdu.system_id !== creds.system_id || pdu.password !== creds.password)) {
        session.send(pdu.response({ command_status: smpp.errors.ESME_RBINDFAIL }));
        return;
      }
      session.send(pdu.response({ system_id: 'loopback-smsc' }));
      this.emit('bind', String(pdu.system_id));
    };
    session.on('bind_transceiver', bind);
    session.on('bind_transmitter', bind);
    session.on('enquire_link', (pdu: ServerPdu) => {
      if (!this.behaviour.ignoreEnquireLink) session.send(pdu.response());
    });
    session.on('unbind', (pdu: ServerPdu) => {
      session.send(pdu.response());
      session.close();
    });
    session.on('deliver_sm_resp', (pdu: ServerPdu & { command_status?: number }) => this.deliverResponses.push(pdu.command_status ?? 0));
    session.on('pdu', (pdu: ServerPdu & { command_status?: number; isResponse(): boolean }) => {
      if (pdu.isResponse()) this.answers.push({ command: pdu.command, sequence: pdu.sequence_number, status: pdu.command_status ?? 0 });
    });
    session.on('submit_sm', (pdu: ServerPdu) => this.onSubmit(session, pdu));
  }

  private onSubmit(session: ServerSession, pdu: ServerPdu): void {
    const payload = Buffer.isBuffer(pdu.short_message) ? pdu.short_message : Buffer.alloc(0);
    const esmClass = pdu.esm_class ?? 0;
    const submit = {
      source: pdu.source_addr_ton === 1 ? `+${pdu.source_addr}` : String(pdu.source_addr ?? ''),
      destination: pdu.dest_addr_ton === 1 ? `+${pdu.destination_addr}` : String(pdu.destination_addr ?? ''),
      dataCoding: pdu.data_coding ?? 0,
      esmClass,
      registeredDelivery: pdu.registered_delivery ?? 0,
      payload,
      text: decodeShortMessage(payload, pdu.data_coding ?? 0, (esmClass & 0x40) !== 0),
      at: Date.now(),
    };
    const status = this.behaviour.answer?.(submit) ?? 0;
    if (status !== 0) {
      session.send(pdu.response({ command_status: status }));
      return;
    }
    const messageId = `${this.behaviour.messageIdPrefix ?? 'm'}${(++this.counter).toString().padStart(6, '0')}`;
    const received: ReceivedSubmit = { ...submit, messageId };
    this.submits.push(received);
    if (this.behaviour.receiptBeforeResp && received.registeredDelivery & 1) {
      this.sendReceipt(session, received, this.behaviour.receiptStat ?? 'DELIVRD');
      const t = setTimeout(() => {
        this.timers.delete(t);
        session.send(pdu.response({ message_id: messageId }));
        this.emit('submit', received);
      }, 100);
      this.timers.add(t);
      return;
    }
    session.send(pdu.response({ message_id: messageId }));
    this.emit('submit', received);
    const delay = this.behaviour.receiptDelayMs;
    if (delay !== undefined && received.registeredDelivery & 1) {
      const t = setTimeout(() => {
        this.timers.delete(t);
        this.sendReceipt(session, received, this.behaviour.receiptStat ?? 'DELIVRD');
      }, delay);
      this.timers.add(t);
    }
  }

  sendReceipt(session: ServerSession | undefined, submit: ReceivedSubmit, stat: string): void {
    const target = session && this.sessions.has(session) ? session : [...this.sessions][0];
    if (!target) return;
    const states: Record<string, number> = { DELIVRD: 2, EXPIRED: 3, DELETED: 4, UNDELIV: 5, ACCEPTD: 6, UNKNOWN: 7, REJECTD: 8 };
    const text = `id:${submit.messageId} sub:001 dlvrd:${stat === 'DELIVRD' ? '001' : '000'} submit date:2611221200 done date:2611221200 stat:${stat} err:000 text:`;
    const form = this.behaviour.receiptForm ?? 'both';
    target.deliver_sm({
      source_addr: submit.destination.replace(/^\+/, ''),
      destination_addr: submit.source.replace(/^\+/, ''),
      esm_class: 0x04,
      data_coding: 0,
      short_message: form === 'tlv' ? Buffer.alloc(0) : Buffer.from(text, 'latin1'),
      ...(form === 'text' ? {} : { receipted_message_id: submit.messageId, message_state: states[stat] ?? 7 }),
    });
  }

  /**
   * A text from a phone (mobile-originated): GSM-7 or UCS-2 as the text needs (or as forced),
   * whole, or split into concatenated parts with a UDH (`parts: 'udh'`) or sar_* TLVs.
   */
  sendText(from: string, to: string, text: string, opts: { ucs2?: boolean; parts?: 'udh' | 'sar'; reference?: number } = {}): void {
    const ucs2 = opts.ucs2 ?? !isGsm7(text);
    const encode = (t: string) => (ucs2 ? encodeUcs2(t) : encodeGsm7(t));
    const common = { source_addr_ton: 1, source_addr_npi: 1, source_addr: from.replace(/^\+/, ''), dest_addr_ton: 1, dest_addr_npi: 1, destination_addr: to.replace(/^\+/, ''), data_coding: ucs2 ? 8 : 0 };
    if (!opts.parts) {
      this.deliver({ ...common, esm_class: 0, short_message: encode(text) });
      return;
    }
    const chars = [...text];
    const per = Math.ceil(chars.length / 2);
    const pieces = [chars.slice(0, per).join(''), chars.slice(per).join('')];
    const ref = opts.reference ?? 7;
    pieces.forEach((piece, i) => {
      if (opts.parts === 'udh') {
        this.deliver({ ...common, esm_class: 0x40, short_message: Buffer.concat([Buffer.from([5, 0, 3, ref, pieces.length, i + 1]), encode(piece)]) });
      } else {
        this.deliver({ ...common, esm_class: 0, short_message: encode(piece), sar_msg_ref_num: ref, sar_total_segments: pieces.length, sar_segment_seqnum: i + 1 });
      }
    });
  }

  static statusName = smppStatusName;
}
