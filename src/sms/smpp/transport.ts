// SMPP 3.4 transceiver session to the SMS gateway: bind, keep alive, reconnect, rate limit,
// submit (GSM-7 or UCS-2, concatenated with UDH when long) and read delivery receipts.
//
// Library traps handled here (smpp 0.5.1): its own GSM encoding sends data_coding 1, so we
// encode and set data_coding ourselves; it has no rate limiter (#167) and no event when a link
// dies silently (#57), so enquire_link has a response timeout; a closed session is never reused
// (#90, #248): each connection is a new Session. Unreadable and oversized PDUs: lib.ts.

import { EventEmitter } from 'node:events';
import smpp, { commandName, framingRefusal, refusalOf, SmppFramingError, smppStatusName, type UnreadablePdu } from './lib';
import type { SmppConfig } from '../../config/types';
import type { Logger } from '../../log';
import { maskNumber } from '../../numbers/phone';
import { decodeGsm7, decodeLatin1, decodeUcs2, parseConcatUdh, segmentText } from '../../messages/encoding';
import { parseReceipt } from './receipt';
import { TokenBucket } from '../rate';
import { Link, socketErrorWords, type Attempt, type LinkEvents } from '../../link/lifecycle';
import type { MessageHandler, OutgoingSms, ReceiptHandler, SmsTransport, SubmitResult } from '../transport';
import { settledWithin } from '../../settle';

/* The smpp package ships no types; this is the part we use. */
interface Pdu {
  command: string;
  command_status: number;
  sequence_number: number;
  esm_class?: number;
  message_id?: string;
  short_message?: Buffer;
  receipted_message_id?: string;
  message_state?: number;
  network_error_code?: Buffer | { error_code?: number };
  source_addr?: string;
  source_addr_ton?: number;
  destination_addr?: string;
  dest_addr_ton?: number;
  data_coding?: number;
  message_payload?: Buffer | string | { message?: Buffer | string };
  sar_msg_ref_num?: number;
  sar_total_segments?: number;
  sar_segment_seqnum?: number;
  isResponse(): boolean;
  toBuffer(): Buffer;
  response(options?: Record<string, unknown>): Pdu;
}
interface Session extends EventEmitter {
  socket: { destroy(): void; writable: boolean };
  send(pdu: { toBuffer(): Buffer }, cb?: (resp: Pdu) => void): boolean;
  bind_transceiver(opts: Record<string, unknown>, cb: (resp: Pdu) => void): boolean;
  submit_sm(opts: Record<string, unknown>, cb: (resp: Pdu) => void): boolean;
  enquire_link(opts: Record<string, unknown>, cb: (resp: Pdu) => void): boolean;
  unbind(opts: Record<string, unknown>, cb: (resp: Pdu) => void): boolean;
  destroy(): void;
}
const connectSession = (opts: Record<string, unknown>) => smpp.connect(opts) as Session;

/** Gateway says "not now": try the same message again later. */
const TRANSIENT = new Set(['ESME_RTHROTTLED', 'ESME_RMSGQFUL', 'ESME_RSYSERR', 'ESME_RX_T_APPN']);

const RESPONSE_TIMEOUT_MS = 15_000;
const ESM_UDHI = 0x40;
const ESM_RECEIPT_TYPES = new Set([0x04, 0x20]);
/** deliver_sm_resp status asking the SMSC to redeliver later (ledger not writable just now). */
const ESME_RX_T_APPN = 0x64;
/** Requests SMPP gives no response. */
const NO_RESPONSE = new Set(['alert_notification', 'outbind']);

export class SmppTransport implements SmsTransport {
  readonly name = 'smpp';
  readonly events = new EventEmitter<LinkEvents>();
  private session?: Session;
  private readonly link: Link;
  private readonly bucket: TokenBucket;
  private receiptHandler: ReceiptHandler = async () => undefined;
  private messageHandler?: MessageHandler;
  private readonly inFlight = new Set<Promise<unknown>>();
  /** Submits waiting for their submit_sm_resp, told when the session is lost. */
  private readonly awaitingResp = new Set<() => void>();

  constructor(
    private readonly cfg: SmppConfig,
    private readonly log: Logger,
  ) {
    this.bucket = new TokenBucket(cfg.tps, Math.max(1, Math.ceil(cfg.tps)));
    const gateway = `${cfg.host}:${cfg.port}`;
    this.link = new Link(
      log,
      {
        messages: { up: 'SMPP bound', down: 'SMPP gateway unavailable; texts wait in the ledger and go out when it is back' },
        fields: { gateway },
        where: gateway,
        onState: (state, detail) => this.events.emit('state', state, detail),
      },
      { open: (attempt) => this.open(attempt), close: () => this.close() },
    );
  }

  /** Bound: a submit now goes to the gateway. */
  get ready(): boolean {
    return this.link.isUp;
  }

  onReceipt(handler: ReceiptHandler): void {
    this.receiptHandler = handler;
  }

  onMessage(handler: MessageHandler): void {
    this.messageHandler = handler;
  }

  start(): void {
    this.link.start();
  }

  /** Waits (bounded) for submits on the wire, then unbinds. */
  async stop(waitMs = 5000): Promise<void> {
    await this.link.stop(async () => {
      await settledWithin(this.inFlight, waitMs);
      const session = this.session;
      if (session && this.ready) {
        await new Promise<void>((resolve) => {
          const t = setTimeout(resolve, 1000);
          session.unbind({}, () => {
            clearTimeout(t);
            resolve();
          });
        });
      }
    });
  }

  async submit(sms: OutgoingSms): Promise<SubmitResult> {
    if (!this.ready || !this.session) return { kind: 'retry', error: 'gateway_down' };
    let segmented;
    try {
      segmented = segmentText(sms.text, sms.reference);
    } catch (err) {
      return { kind: 'failed', error: `text_too_long: ${(err as Error).message}` };
    }
    const messageIds: string[] = [];
    for (const part of segmented.parts) {
      await this.bucket.take();
      const result = await this.track(this.submitPart(sms, part, segmented.dataCoding, segmented.udh));
      if (result.kind !== 'accepted') {
        // A multipart text cut short is retried whole: the phone discards the lone parts.
        return result;
      }
      messageIds.push(...result.messageIds);
    }
    return { kind: 'accepted', messageIds };
  }

  private track<T>(p: Promise<T>): Promise<T> {
    this.inFlight.add(p);
    p.finally(() => this.inFlight.delete(p)).catch(() => undefined);
    return p;
  }

  private submitPart(sms: OutgoingSms, payload: Buffer, dataCoding: number, udh: boolean): Promise<SubmitResult> {
    const session = this.session;
    if (!session || !this.ready) return Promise.resolve({ kind: 'retry', error: 'gateway_down' });
    const src = addressOf(sms.from);
    const dst = addressOf(sms.to);
    return new Promise((resolve) => {
      const settle = (r: SubmitResult) => {
        clearTimeout(timer);
        this.awaitingResp.delete(onLost);
        resolve(r);
      };
      // The session died with this submit on the wire: the gateway may or may not have it. It is
      // retried (a missed text is worse than a rare double), and the outbox keeps the row.
      const onLost = () => settle({ kind: 'retry', error: 'connection_lost', uncertain: true });
      this.awaitingResp.add(onLost);
      const timer = setTimeout(() => {
        this.log.warn('no submit_sm_resp in time; dropping the session', { to: maskNumber(sms.to) });
        settle({ kind: 'retry', error: 'response_timeout', uncertain: true });
        this.link.lost('submit_sm_resp timeout');
      }, RESPONSE_TIMEOUT_MS);
      const sent = session.submit_sm(
        {
          source_addr_ton: src.ton,
          source_addr_npi: src.npi,
          source_addr: src.addr,
          dest_addr_ton: dst.ton,
          dest_addr_npi: dst.npi,
          destination_addr: dst.addr,
          esm_class: udh ? ESM_UDHI : 0,
          registered_delivery: 1,
          data_coding: dataCoding,
          short_message: payload,
        },
        (resp) => {
          if (resp.command_status === 0) {
            settle({ kind: 'accepted', messageIds: [String(resp.message_id ?? '')] });
            return;
          }
          const name = smppStatusName(resp.command_status);
          settle(TRANSIENT.has(name) ? { kind: 'retry', error: name } : { kind: 'failed', error: name });
        },
      );
      if (!sent) settle({ kind: 'retry', error: 'gateway_down' });
    });
  }

  private open(attempt: Attempt): void {
    const session = connectSession({ host: this.cfg.host, port: this.cfg.port, tls: this.cfg.tls });
    this.session = session;
    const current = () => attempt.live;

    session.on('connect', () => {
      if (!current()) return;
      session.bind_transceiver(
        { system_id: this.cfg.system_id, password: this.cfg.password, system_type: this.cfg.system_type, interface_version: 0x34 },
        (resp) => {
          if (!current()) return;
          if (resp.command_status !== 0) {
            const name = smppStatusName(resp.command_status);
            this.log.error('SMPP bind refused: check sms.smpp.system_id and password', { status: name });
            this.link.refused();
            this.link.lost(`bind refused: ${name}`);
            return;
          }
          this.link.up();
          this.link.keepAlive({
            intervalMs: this.cfg.enquire_link_ms,
            probe: (answered) => session.enquire_link({}, answered),
            timedOut: { message: 'gateway did not answer enquire_link; reconnecting', why: 'enquire_link timeout' },
          });
        },
      );
    });
    /** Why the socket failed, when it did (a refused connection is said so, not "closed"). */
    let socketError: string | undefined;
    session.on('secureConnect', () => session.emit('connect'));
    session.on('error', (err: Error) => {
      if (!current()) return;
      if (err instanceof SmppFramingError) {
        // Where the next PDU starts is lost with the length: nothing after this can be read, so
        // the one case where a PDU closes the session. The nack tells the gateway why.
        this.log.warn('SMPP PDU refused: command_length impossible, the stream cannot be followed; reconnecting', {
          command: commandName(err.commandId),
          sequence: err.sequenceNumber ?? 'unknown',
          reason: err.message,
          answer: 'generic_nack ESME_RINVCMDLEN',
        });
        session.send(framingRefusal(err));
        this.link.lost('corrupt stream');
        return;
      }
      if (err && typeof err === 'object' && 'code' in err) {
        this.log.debug('SMPP socket error', { error: err.message });
        socketError = socketErrorWords(String((err as NodeJS.ErrnoException).code));
        return; // 'close' follows
      }
      // Nothing else is expected from the reader (lib.ts turns unreadable PDUs into events);
      // it stops reading after an error, so a fresh session is the way on.
      this.log.warn('SMPP session failed; reconnecting', { error: String(err?.message ?? err) });
      this.link.lost('session error');
    });
    session.on('close', () => {
      if (current()) this.link.lost(socketError ?? 'connection closed');
    });
    session.on('pdu', (pdu: Pdu | UnreadablePdu) => {
      if (!current()) return;
      // A throw here would escape the package's reader into the socket's event loop.
      try {
        this.onPdu(session, pdu);
      } catch (err) {
        this.log.error('could not answer a PDU from the gateway', { command: pdu.command, sequence: pdu.sequence_number, error: (err as Error).message });
      }
    });
  }

  /** Every request from the gateway is answered: taken, or refused with a status saying why. */
  private onPdu(session: Session, pdu: Pdu | UnreadablePdu): void {
    switch (pdu.command) {
      case 'unreadable': {
        const bad = pdu as UnreadablePdu;
        const answer = refusalOf(bad);
        this.log.warn(answer ? 'SMPP PDU refused: unreadable' : 'unreadable SMPP response ignored', {
          command: bad.named,
          sequence: bad.sequence_number,
          reason: bad.reason,
          ...(answer ? { answer: `${answer.command} ${smppStatusName(bad.status)}` } : {}),
        });
        if (answer) session.send(answer);
        return;
      }
      case 'deliver_sm':
        void this.onDeliverSm(session, pdu as Pdu);
        return;
      case 'enquire_link':
        session.send((pdu as Pdu).response());
        return;
      case 'unbind':
        session.send((pdu as Pdu).response());
        this.link.lost('gateway unbound');
        return;
      default: {
        const p = pdu as Pdu;
        if (p.isResponse() || NO_RESPONSE.has(p.command)) return; // responses go to their request's callback
        // A request mctb does not take (data_sm, query_sm, ...): refused rather than left waiting.
        this.log.warn('SMPP PDU refused: not taken by mctb', { command: p.command, sequence: p.sequence_number, answer: `${p.command}_resp ESME_RINVCMDID` });
        session.send(p.response({ command_status: smpp.errors.ESME_RINVCMDID }));
      }
    }
  }

  private async onDeliverSm(session: Session, pdu: Pdu): Promise<void> {
    const esmType = (pdu.esm_class ?? 0) & 0x3c;
    const udhi = ((pdu.esm_class ?? 0) & ESM_UDHI) !== 0;
    let status = 0;
    try {
      // A long text may come whole in message_payload instead of short_message, up to 64 KB. It
      // is taken, not refused (ESME_RINVMSGLEN): it is what a person sent, and a refused MO is
      // lost or redelivered for ever; the inbox keeps at most its first 40,000 characters.
      const payload = Buffer.isBuffer(pdu.short_message) && pdu.short_message.length > 0 ? pdu.short_message : toBuffer(pdu.message_payload);
      const text = decodeShortMessage(payload, pdu.data_coding ?? 0, udhi);
      if (ESM_RECEIPT_TYPES.has(esmType) || pdu.receipted_message_id) {
        const receipt = parseReceipt({
          receiptedMessageId: pdu.receipted_message_id,
          messageState: pdu.message_state,
          text,
          networkErrorCode: networkError(pdu.network_error_code),
        });
        if (receipt) await this.receiptHandler(receipt);
        else this.log.warn('delivery receipt without a message id ignored', { text });
      } else if (this.messageHandler) {
        await this.messageHandler({
          from: addressText(pdu.source_addr, pdu.source_addr_ton),
          to: addressText(pdu.destination_addr, pdu.dest_addr_ton),
          text,
          part: partOf(pdu, payload, udhi),
        });
      } else {
        this.log.info('incoming text received', { from: maskNumber(normalizeAddr(pdu.source_addr ?? '')) });
      }
    } catch (err) {
      // Not stored: ask the SMSC to deliver it again rather than lose it.
      this.log.error('could not store an incoming PDU; the gateway will redeliver it', { error: (err as Error).message });
      status = ESME_RX_T_APPN;
    }
    session.send(pdu.response({ command_status: status }));
  }

  /** The lifecycle's teardown of one session (its generation has moved on). */
  private close(): void {
    for (const onLost of [...this.awaitingResp]) onLost();
    this.session?.destroy();
    this.session = undefined;
  }
}

/** E.164 → international TON/NPI without '+'; anything with letters → alphanumeric sender. */
function addressOf(value: string): { ton: number; npi: number; addr: string } {
  if (/^\+\d+$/.test(value)) return { ton: 1, npi: 1, addr: value.slice(1) };
  if (/^\d+$/.test(value)) return { ton: 0, npi: 1, addr: value };
  return { ton: 5, npi: 0, addr: value };
}

function normalizeAddr(addr: string): string {
  return /^\d+$/.test(addr) ? `+${addr}` : addr;
}

/** An international (TON 1) number gets its '+'; others are kept as the gateway wrote them. */
function addressText(addr: string | undefined, ton: number | undefined): string {
  const a = addr ?? '';
  return ton === 1 && /^\d+$/.test(a) ? `+${a}` : a;
}

function toBuffer(v: Pdu['message_payload']): Buffer | undefined {
  if (v === undefined || v === null) return undefined;
  if (Buffer.isBuffer(v)) return v;
  if (typeof v === 'string') return Buffer.from(v, 'latin1');
  const m = v.message;
  return Buffer.isBuffer(m) ? m : typeof m === 'string' ? Buffer.from(m, 'latin1') : undefined;
}

/** Which part of a concatenated text this is: from the UDH, or from the sar_* TLVs. */
function partOf(pdu: Pdu, payload: Buffer | undefined, udhi: boolean): { ref: number; total: number; seq: number } | undefined {
  if (udhi && payload) {
    const c = parseConcatUdh(payload);
    if (c && c.total > 1) return { ref: c.ref, total: c.total, seq: c.seq };
  }
  if (pdu.sar_total_segments && pdu.sar_total_segments > 1 && pdu.sar_segment_seqnum) {
    return { ref: pdu.sar_msg_ref_num ?? 0, total: pdu.sar_total_segments, seq: pdu.sar_segment_seqnum };
  }
  return undefined;
}

/** short_message bytes → text by data_coding (0 GSM-7, 3 Latin-1, 8 UCS-2; others read as Latin-1). */
export function decodeShortMessage(sm: Buffer | undefined, dataCoding: number, udhi: boolean): string {
  if (!Buffer.isBuffer(sm) || sm.length === 0) return '';
  const body = udhi && sm.length > sm[0] ? sm.subarray(sm[0] + 1) : sm;
  switch (dataCoding & 0x0f) {
    case 0:
      return decodeGsm7(body);
    case 8:
      return decodeUcs2(body);
    default:
      return decodeLatin1(body);
  }
}

function networkError(v: Pdu['network_error_code']): string | undefined {
  if (!v) return undefined;
  if (Buffer.isBuffer(v)) return v.length >= 3 && v.readUInt16BE(1) !== 0 ? String(v.readUInt16BE(1)) : undefined;
  return v.error_code ? String(v.error_code) : undefined;
}
