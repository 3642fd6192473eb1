// The SMPP transport against the loopback SMSC: dead links, malformed PDUs, and receipts.

import { expect } from 'chai';
import { LoopbackSmsc } from '../../src/demo/loopback-smsc';
import { SmppTransport } from '../../src/sms/smpp-transport';
import type { SmppConfig } from '../../src/config/types';
import { testLogger, waitFor } from '../support/harness';

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

  it('skips a malformed PDU from the gateway, logs it, and keeps the session usable', async () => {
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
    expect(lines.some((l) => /malformed PDU|ignored PDU/.test(l))).to.equal(true);
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
