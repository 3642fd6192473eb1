// The SMPP transport against the loopback SMSC: dead links, malformed PDUs, and receipts; the
// patches on the smpp package; poison PDUs through the whole daemon.

import { expect } from 'chai';
import { createServer, type AddressInfo, type Socket } from 'node:net';
import { LoopbackSmsc } from '../../src/demo/loopback-smsc';
import smpp, { MAX_PDU_LENGTH, SmppFramingError, type UnreadablePdu } from '../../src/sms/smpp/lib';
import { SmppTransport } from '../../src/sms/smpp/transport';
import type { SmppConfig } from '../../src/config/types';
import { testLogger, waitFor } from '../support/harness';
import { startPipeline, type Pipeline } from '../support/pipeline';

function cfg(port: number, over: Partial<SmppConfig> = {}): SmppConfig {
  return { host: '127.0.0.1', port, system_id: 'mctb', password: 'pw', system_type: '', source_addr: '+15550001000', tls: false, tps: 100, enquire_link_ms: 300, ...over };
}

/** A PDU: command_length, command_id, status, sequence, body. */
function pdu(commandId: number, seq: number, body: Buffer): Buffer {
  const head = Buffer.alloc(16);
  head.writeUInt32BE(16 + body.length, 0);
  head.writeUInt32BE(commandId, 4);
  head.writeUInt32BE(0, 8);
  head.writeUInt32BE(seq, 12);
  return Buffer.concat([head, body]);
}

describe('SMPP transport', function () {
  this.timeout(20_000);
  let smsc: LoopbackSmsc;
  let transport: SmppTransport | undefined;
  afterEach(async () => {
    await transport?.stop(100);
    transport = undefined;
    await smsc.close();
  });

  it('drops and rebinds a link that stops answering enquire_link', async () => {
    smsc = new LoopbackSmsc({ ignoreEnquireLink: true });
    const port = await smsc.listen();
    const { logger, lines } = testLogger();
    let binds = 0;
    smsc.on('bind', () => binds++);
    transport = new SmppTransport(cfg(port), logger);
    transport.start();
    await waitFor('a second bind', () => binds >= 2, 10_000);
    expect(lines.some((l) => /did not answer enquire_link/.test(l))).to.equal(true);
  });

  it('refuses malformed PDUs from the gateway with an answer each, logs them, and keeps the session usable', async () => {
    smsc = new LoopbackSmsc({ receiptDelayMs: undefined });
    const port = await smsc.listen();
    const { logger, lines } = testLogger();
    transport = new SmppTransport(cfg(port, { enquire_link_ms: 30_000 }), logger);
    const receipts: string[] = [];
    transport.onReceipt(async (r) => {
      receipts.push(`${r.messageId}:${r.state}`);
    });
    transport.start();
    await waitFor('bound', () => transport!.ready);
    // deliver_sm whose body stops in the middle of its fields, then an unknown command id.
    smsc.sendRaw(pdu(0x00000005, 77, Buffer.from([0x00, 0x01, 0x01, 0x31])));
    smsc.sendRaw(pdu(0x0000ffff, 78, Buffer.alloc(0)));
    const result = await transport.submit({ to: '+14155550123', from: '+15550001000', text: 'still here', reference: 1 });
    expect(result.kind).to.equal('accepted');
    expect(smsc.submits.map((s) => s.text)).to.deep.equal(['still here']);
    smsc.sendReceipt(undefined, smsc.submits[0], 'DELIVRD');
    await waitFor('receipt', () => receipts.length === 1);
    expect(receipts).to.deep.equal([`${smsc.submits[0].messageId}:delivered`]);
    // Each answered, with its own sequence number, and logged without its content.
    expect(smsc.answers.filter((a) => a.sequence === 77 || a.sequence === 78)).to.deep.equal([
      { command: 'deliver_sm_resp', sequence: 77, status: smpp.errors.ESME_RINVCMDLEN },
      { command: 'generic_nack', sequence: 78, status: smpp.errors.ESME_RINVCMDID },
    ]);
    expect(lines.some((l) => /SMPP PDU refused: unreadable command=deliver_sm sequence=77 reason="source_addr has no terminating NUL"/.test(l))).to.equal(true);
  });

  it('reports a refused bind clearly', async () => {
    smsc = new LoopbackSmsc({ credentials: { system_id: 'mctb', password: 'right' } });
    const port = await smsc.listen();
    const { logger, lines } = testLogger();
    transport = new SmppTransport(cfg(port), logger);
    transport.start();
    await waitFor('refusal', () => lines.some((l) => /SMPP bind refused/.test(l) && /ESME_RBINDFAIL/.test(l)));
    expect(transport.ready).to.equal(false);
    const r = await transport.submit({ to: '+14155550123', from: '+15550001000', text: 'x', reference: 1 });
    expect(r).to.deep.equal({ kind: 'retry', error: 'gateway_down' });
  });
});

// ---- raw PDU bodies (SMPP 3.4 section 4.6.1, deliver_sm) -------------------------------------

const u8 = (n: number) => Buffer.from([n]);
const cstr = (s: string) => Buffer.from(`${s}\0`, 'latin1');
/** A TLV; `length` may lie. */
function tlv(tag: number, value: Buffer, length = value.length): Buffer {
  const head = Buffer.alloc(4);
  head.writeUInt16BE(tag, 0);
  head.writeUInt16BE(length, 2);
  return Buffer.concat([head, value]);
}
/** deliver_sm's mandatory fields, short_message last; `smLength` may lie. */
function deliverBody(o: { from?: string; dataCoding?: number; schedule?: string; sm?: Buffer; smLength?: number } = {}): Buffer {
  const sm = o.sm ?? Buffer.alloc(0);
  return Buffer.concat([
    cstr(''), // service_type
    u8(1), u8(1), cstr(o.from ?? '14155550123'),
    u8(1), u8(1), cstr('15550001000'),
    u8(0), u8(0), u8(0), // esm_class, protocol_id, priority_flag
    cstr(o.schedule ?? ''), cstr(''), // schedule_delivery_time, validity_period
    u8(0), u8(0), u8(o.dataCoding ?? 0), u8(0), // registered_delivery, replace_if_present, data_coding, sm_default_msg_id
    u8(o.smLength ?? sm.length), sm,
  ]);
}
const MESSAGE_PAYLOAD = 0x0424;
const MESSAGE_STATE = 0x0427;

describe('the smpp package patches (src/sms/smpp/lib.ts)', function () {
  this.timeout(10_000);

  // The package's own Session, on a real socket: fails when an upgrade stops reading through the hooks.
  it('its Session reads through them: an unreadable body, a PDU over 16 KB, an impossible command_length', async () => {
    let peer: Socket | undefined;
    const server = createServer((s) => (peer = s));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const session = smpp.connect({ host: '127.0.0.1', port: (server.address() as AddressInfo).port }) as import('node:events').EventEmitter & { destroy(): void };
    const seen: { command: string; sequence: number; extra?: unknown }[] = [];
    session.on('pdu', (p: { command: string; sequence_number: number; message_payload?: Buffer; reason?: string }) =>
      seen.push({ command: p.command, sequence: p.sequence_number, extra: p.command === 'unreadable' ? (p as unknown as UnreadablePdu).named : p.message_payload?.length }),
    );
    const errors: Error[] = [];
    session.on('error', (e: Error) => errors.push(e));
    try {
      await waitFor('connected', () => peer);
      peer!.write(pdu(0x00000005, 11, Buffer.concat([cstr(''), u8(1), u8(1), Buffer.from('1415')])));
      peer!.write(pdu(0x00000005, 12, Buffer.concat([deliverBody(), tlv(MESSAGE_PAYLOAD, Buffer.alloc(30_000, 0x41))])));
      await waitFor('two PDUs', () => seen.length === 2);
      expect(seen).to.deep.equal([
        { command: 'unreadable', sequence: 11, extra: 'deliver_sm' },
        { command: 'deliver_sm', sequence: 12, extra: 30_000 },
      ]);
      const bad = pdu(0x00000005, 13, Buffer.alloc(0));
      bad.writeUInt32BE(8, 0);
      peer!.write(bad);
      const err = await waitFor('a framing error', () => errors[0]);
      expect(err).to.be.instanceOf(SmppFramingError);
      expect(err).to.include({ commandLength: 8, commandId: 5, sequenceNumber: 13 });
      expect(MAX_PDU_LENGTH).to.be.at.least(16 + 4 + 65_535);
    } finally {
      session.destroy();
      peer?.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    }
  });
});

describe('SMPP poison PDUs through the daemon (issue 12 §5)', function () {
  this.timeout(30_000);
  const JANE = '+14155550123';
  const SHOP = '+15550001000';
  let p: Pipeline | undefined;
  afterEach(async () => {
    await p?.stop();
    p = undefined;
  });

  async function bound(): Promise<{ pipe: Pipeline; binds: () => number }> {
    const pipe = (p = await startPipeline());
    await waitFor('bound', async () => (await pipe.daemon.health()).sms.up);
    let binds = 0;
    pipe.smsc.on('bind', () => binds++);
    return { pipe, binds: () => binds };
  }
  const answerTo = (pipe: Pipeline, seq: number) => waitFor(`the answer to ${seq}`, () => pipe.smsc.answers.find((a) => a.sequence === seq), 5000);
  const messages = (pipe: Pipeline, number: string) => pipe.daemon.ledgerHandle.messages.list(number);

  it('an MO with a 20 KB message_payload is stored and answered, the session stays up, and the STOP behind it is taken; 64 KB is kept to 40,000 characters', async () => {
    const { pipe, binds } = await bound();
    const addr = { source_addr_ton: 1, source_addr_npi: 1, source_addr: JANE.slice(1), dest_addr_ton: 1, dest_addr_npi: 1, destination_addr: SHOP.slice(1), esm_class: 0, data_coding: 0 };
    pipe.smsc.deliver({ ...addr, message_payload: Buffer.alloc(20_000, 'a') });
    pipe.smsc.sendText(JANE, SHOP, 'STOP');
    await waitFor('opt-out confirmation', () => pipe.smsc.submits.some((s) => s.destination === JANE && /unsubscribed/.test(s.text)));
    const stored = await messages(pipe, JANE);
    expect(stored.map((m) => [m.body.length, m.keyword])).to.deep.equal([
      [4, 'stop'],
      [20_000, null],
    ]);
    expect(stored[1].body).to.equal('a'.repeat(20_000));

    pipe.smsc.deliver({ ...addr, message_payload: Buffer.alloc(65_535, 'b') });
    await waitFor('the 64 KB one stored', async () => (await messages(pipe, JANE)).length === 3);
    expect((await messages(pipe, JANE))[0].body).to.equal('b'.repeat(40_000));

    // The three MOs and the confirmation's receipt, all taken.
    const resps = pipe.smsc.answers.filter((a) => a.command === 'deliver_sm_resp');
    expect(resps.length).to.be.at.least(3);
    expect(resps.every((a) => a.status === 0)).to.equal(true);
    expect(binds(), 'no reconnect').to.equal(0);
    expect(pipe.smsc.sessionCount).to.equal(1);
  });

  it('each unreadable PDU is answered with its sequence number and a status saying why; the session stays up', async () => {
    const { pipe, binds } = await bound();
    const { errors } = smpp;
    const secret = Buffer.from('PRIVATE BODY');
    const dataSm = Buffer.concat([cstr(''), u8(1), u8(1), cstr('14155550123'), u8(1), u8(1), cstr('15550001000'), u8(0), u8(0), u8(0), tlv(MESSAGE_PAYLOAD, secret)]);
    const cases: { what: string; bytes: Buffer; answer: [string, number] }[] = [
      { what: 'a TLV longer than what is left', bytes: pdu(0x05, 501, Buffer.concat([deliverBody(), tlv(MESSAGE_PAYLOAD, secret, 200)])), answer: ['deliver_sm_resp', errors.ESME_RINVTLVSTREAM] },
      { what: 'a C-string without its NUL', bytes: pdu(0x05, 502, Buffer.concat([cstr(''), u8(1), u8(1), Buffer.from('14155550123')])), answer: ['deliver_sm_resp', errors.ESME_RINVCMDLEN] },
      { what: 'sm_length past the body', bytes: pdu(0x05, 503, deliverBody({ sm: secret, smLength: 140 })), answer: ['deliver_sm_resp', errors.ESME_RINVMSGLEN] },
      { what: 'mandatory fields missing', bytes: pdu(0x05, 504, deliverBody({ sm: secret }).subarray(0, 30)), answer: ['deliver_sm_resp', errors.ESME_RINVCMDLEN] },
      { what: 'a fixed-size TLV cut short at the end', bytes: pdu(0x05, 505, Buffer.concat([deliverBody({ sm: secret }), tlv(MESSAGE_STATE, Buffer.alloc(0))])), answer: ['deliver_sm_resp', errors.ESME_RINVTLVLEN] },
      { what: 'stray octets after the last field', bytes: pdu(0x05, 506, Buffer.concat([deliverBody({ sm: secret }), Buffer.from([0x04, 0x24])])), answer: ['deliver_sm_resp', errors.ESME_RINVTLVSTREAM] },
      { what: 'a time field the smpp package cannot parse', bytes: pdu(0x05, 507, deliverBody({ schedule: 'xxR', sm: secret })), answer: ['deliver_sm_resp', errors.ESME_RSYSERR] },
      { what: 'no body at all', bytes: pdu(0x05, 508, Buffer.alloc(0)), answer: ['deliver_sm_resp', errors.ESME_RINVCMDLEN] },
      { what: 'an unknown command id', bytes: pdu(0x0777, 509, secret), answer: ['generic_nack', errors.ESME_RINVCMDID] },
      { what: 'a request mctb does not take (data_sm)', bytes: pdu(0x0103, 510, dataSm), answer: ['data_sm_resp', errors.ESME_RINVCMDID] },
    ];
    for (const c of cases) pipe.smsc.sendRaw(c.bytes);
    for (const c of cases) {
      const seq = c.bytes.readUInt32BE(12);
      const got = await answerTo(pipe, seq);
      expect(got, c.what).to.deep.equal({ command: c.answer[0], sequence: seq, status: c.answer[1] });
      expect(pipe.logLines.some((l) => / warn /.test(l) && /SMPP PDU refused/.test(l) && l.includes(`sequence=${seq} `)), `${c.what}: logged`).to.equal(true);
    }
    expect(pipe.logLines.filter((l) => l.includes('PRIVATE BODY')), 'no content in the log').to.deep.equal([]);
    expect(await messages(pipe, JANE), 'none stored').to.deep.equal([]);

    // Odd content in a body that reads fine is no reason to lose the text: UCS-2 with a stray octet.
    pipe.smsc.sendRaw(pdu(0x05, 511, deliverBody({ dataCoding: 8, sm: Buffer.concat([Buffer.from('Odd one', 'utf16le').swap16(), u8(0x41)]) })));
    expect(await answerTo(pipe, 511)).to.deep.equal({ command: 'deliver_sm_resp', sequence: 511, status: 0 });

    // Still the same session, reading in step.
    pipe.smsc.sendRaw(pdu(0x15, 512, Buffer.alloc(0)));
    expect(await answerTo(pipe, 512)).to.deep.equal({ command: 'enquire_link_resp', sequence: 512, status: 0 });
    pipe.smsc.sendText(JANE, SHOP, 'Is Tuesday free?');
    await waitFor('the valid MO stored', async () => (await messages(pipe, JANE)).length === 2);
    expect((await messages(pipe, JANE)).map((m) => m.body)).to.deep.equal(['Is Tuesday free?', 'Odd one']);
    expect(binds(), 'no reconnect').to.equal(0);
    expect(pipe.smsc.sessionCount).to.equal(1);
  });

  it('an impossible command_length gets generic_nack ESME_RINVCMDLEN, then a new session (the stream cannot be followed)', async () => {
    const { pipe, binds } = await bound();
    const tooShort = pdu(0x05, 601, deliverBody());
    tooShort.writeUInt32BE(8, 0);
    const tooLong = pdu(0x05, 602, deliverBody());
    tooLong.writeUInt32BE(MAX_PDU_LENGTH + 1, 0);
    for (const [i, bad] of [tooShort, tooLong].entries()) {
      pipe.smsc.sendRaw(bad);
      const seq = bad.readUInt32BE(12);
      expect(await answerTo(pipe, seq)).to.deep.equal({ command: 'generic_nack', sequence: seq, status: smpp.errors.ESME_RINVCMDLEN });
      await waitFor('a new session', () => binds() === i + 1 && pipe.smsc.sessionCount === 1, 15_000);
      await waitFor('bound again', async () => (await pipe.daemon.health()).sms.up);
    }
    expect(pipe.logLines.filter((l) => /command_length impossible/.test(l))).to.have.length(2);
    pipe.smsc.sendText(JANE, SHOP, 'Still there?');
    await waitFor('stored after the reconnect', async () => (await messages(pipe, JANE)).length === 1);
  });
});
