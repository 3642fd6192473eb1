// Must-shows 2, 4 and 5: real captures replayed over loopback AMI through the real daemon to a
// loopback SMSC, with the ledger file checked after.

import { expect } from 'chai';
import { loadCapture, rewriteCapture } from '../../src/demo/ami-replay';
import { LoopbackSmsc } from '../../src/demo/loopback-smsc';
import smpp from '../../src/sms/smpp/lib';
import { sleep, waitFor } from '../support/harness';
import { startPipeline, type Pipeline } from '../support/pipeline';

const JANE = '+14155550123';
const TEXT = 'Hi Jane, this is Brightside Dental. Sorry we missed your call! How can we help?';

describe('text-back pipeline (loopback AMI → daemon → loopback SMPP, real ledger)', function () {
  this.timeout(30_000);
  let p: Pipeline | undefined;
  afterEach(async () => {
    await p?.stop();
    p = undefined;
  });

  it('texts the no-answer caller once, with the right destination, source and text, and records it', async () => {
    p = await startPipeline();
    await p.pbx.play(loadCapture('noanswer'));
    const [decision] = await p.decisions(1);
    expect(decision).to.include({ decision: 'text', reason: 'missed', business: 'Brightside Dental', recorded: true });
    const ledger = p.daemon.ledgerHandle;
    const send = await waitFor('delivered send', async () => {
      const s = await ledger.sends.get(decision.sendId!);
      return s?.state === 'delivered' && s;
    });
    expect(p.smsc.submits).to.have.length(1);
    const submit = p.smsc.submits[0];
    expect(submit.destination).to.equal(JANE);
    expect(submit.source).to.equal('+15550001000');
    expect(submit.text).to.equal(TEXT);
    expect(submit.dataCoding).to.equal(0);
    expect(submit.registeredDelivery & 1).to.equal(1);
    const call = await ledger.calls.get(decision.call.callId);
    expect(call).to.include({ direction: 'inbound', business: 'Brightside Dental', did: '+15550001000', number: JANE, caller_name: 'Jane Doe', outcome: 'noanswer', decision: 'text', reason: 'missed' });
    expect(send).to.include({ number: JANE, source_addr: '+15550001000', body: TEXT, state: 'delivered', call_id: decision.call.callId });
    expect(send.submitted_at).to.be.a('number');
    expect(await ledger.sends.messageIdsOf(send.id)).to.deep.equal([submit.messageId]);
  });

  it('does not text answered calls, direct or through a ring group, but records them', async () => {
    p = await startPipeline();
    await p.pbx.play(loadCapture('answered'));
    await p.pbx.play(loadCapture('ringgroup-answered'));
    const decisions = await p.decisions(2);
    await sleep(300);
    expect(p.smsc.submits).to.have.length(0);
    for (const d of decisions) {
      expect(d).to.include({ decision: 'no_text', reason: 'answered' });
      const row = await p.daemon.ledgerHandle.calls.get(d.call.callId);
      expect(row).to.include({ outcome: 'answered', decision: 'no_text', reason: 'answered' });
    }
    expect(await p.daemon.ledgerHandle.sends.countOpen()).to.equal(0);
  });

  it('texts once when the same event stream is replayed twice', async () => {
    p = await startPipeline();
    await p.pbx.play(loadCapture('noanswer'));
    await p.decisions(1);
    await p.pbx.play(loadCapture('noanswer'));
    const decisions = await p.decisions(2);
    expect(decisions.map((d) => d.recorded)).to.deep.equal([true, false]);
    await waitFor('one submit', () => p!.smsc.submits.length === 1);
    await sleep(500);
    expect(p.smsc.submits).to.have.length(1);
    expect(await p.daemon.ledgerHandle.calls.list()).to.have.length(1);
    expect(await p.daemon.ledgerHandle.sends.list()).to.have.length(1);
  });

  it('does not text a caller who opted out', async () => {
    p = await startPipeline();
    await p.daemon.ledgerHandle.optOuts.add(JANE, 'Brightside Dental', 'test', Date.now());
    await p.pbx.play(loadCapture('noanswer'));
    const [d] = await p.decisions(1);
    expect(d).to.include({ decision: 'no_text', reason: 'opted_out' });
    await sleep(400);
    expect(p.smsc.submits).to.have.length(0);
  });

  it('does not text the same caller twice inside dedupe_window', async () => {
    p = await startPipeline();
    await p.pbx.play(loadCapture('noanswer'));
    await p.decisions(1);
    await waitFor('first text', () => p!.smsc.submits.length === 1);
    // The same caller misses us again: a new call (new PBX ids), inside the hour.
    await p.pbx.play(rewriteCapture(loadCapture('noanswer'), 600));
    const decisions = await p.decisions(2);
    expect(decisions[1].call.callId).to.not.equal(decisions[0].call.callId);
    expect(decisions[1]).to.include({ decision: 'no_text', reason: 'deduped', recorded: true });
    await sleep(400);
    expect(p.smsc.submits).to.have.length(1);
  });

  it('two missed calls from the repeat-caller capture: one text', async () => {
    p = await startPipeline();
    await p.pbx.play(loadCapture('repeat-caller'));
    const decisions = await p.decisions(2);
    expect(decisions.map((d) => d.reason)).to.deep.equal(['missed', 'deduped']);
    await waitFor('one text', () => p!.smsc.submits.length === 1);
    await sleep(300);
    expect(p.smsc.submits).to.have.length(1);
  });

  it('never texts a withheld caller, even when the trunk shows the real number', async () => {
    p = await startPipeline({ pbx: { getvar: () => 'prohib_not_screened' } });
    await p.pbx.play(loadCapture('anonymous'));
    await p.pbx.play(loadCapture('anonymous-pai'));
    const decisions = await p.decisions(2);
    expect(decisions.map((d) => d.reason)).to.deep.equal(['withheld', 'withheld']);
    await sleep(300);
    expect(p.smsc.submits).to.have.length(0);
  });

  it('texts each kind of missed call: busy, cancel, unavailable, voicemail, queue abandon, ring group no answer', async () => {
    p = await startPipeline();
    const names = ['busy', 'cancel', 'chanunavail', 'voicemail', 'queue-abandon', 'ringgroup-noanswer'];
    for (const n of names) await p.pbx.play(loadCapture(n));
    const decisions = await p.decisions(names.length);
    expect(decisions.map((d) => d.call.outcome)).to.deep.equal(['busy', 'cancel', 'unavailable', 'voicemail', 'queue_abandon', 'noanswer']);
    expect(decisions.every((d) => d.decision === 'text')).to.equal(true);
    await waitFor('six texts', () => p!.smsc.submits.length === 6);
    expect(p.smsc.submits.map((s) => s.destination).sort()).to.deep.equal(['+12065550188', '+13055550172', '+13125550147', '+15035550191', '+17025550129', '+17185550134']);
  });

  it('cancels a waiting text when the caller calls again and a person answers (called_back)', async () => {
    p = await startPipeline({ businesses: [{ name: 'Brightside Dental', dids: ['+15550001000', '+15550001003'], delay: '3s', message: 'Hi, {{business.name}} here.' }] });
    await p.pbx.play(loadCapture('noanswer'));
    const [missed] = await p.decisions(1);
    expect(missed.decision).to.equal('text');
    // Tom's answered call, replayed as Jane calling back 60 s later.
    await p.pbx.play(rewriteCapture(loadCapture('answered'), 60, { '+16175550110': JANE }));
    await p.decisions(2);
    const send = await waitFor('cancelled send', async () => {
      const s = await p!.daemon.ledgerHandle.sends.get(missed.sendId!);
      return s?.state === 'cancelled' && s;
    });
    expect(send.reason).to.equal('called_back');
    await sleep(3500);
    expect(p.smsc.submits).to.have.length(0);
  });

  it('retries when the gateway answers throttled, then delivers', async () => {
    let throttled = 0;
    p = await startPipeline({
      smsc: {
        receiptDelayMs: 20,
        answer: () => (throttled++ < 1 ? smpp.errors.ESME_RTHROTTLED : 0),
      },
    });
    await p.pbx.play(loadCapture('noanswer'));
    const [d] = await p.decisions(1);
    const send = await waitFor('delivered after throttling', async () => {
      const s = await p!.daemon.ledgerHandle.sends.get(d.sendId!);
      return s?.state === 'delivered' && s;
    }, 15_000);
    expect(throttled).to.equal(2);
    expect(send.attempts).to.equal(2);
    expect(p.smsc.submits).to.have.length(1);
    expect(p.logLines.some((l) => /will retry/.test(l) && /ESME_RTHROTTLED/.test(l))).to.equal(true);
  });

  it('marks a text failed with the SMPP status name when the gateway refuses it for good', async () => {
    p = await startPipeline({ smsc: { answer: () => smpp.errors.ESME_RINVDSTADR } });
    await p.pbx.play(loadCapture('noanswer'));
    const [d] = await p.decisions(1);
    const send = await waitFor('failed send', async () => {
      const s = await p!.daemon.ledgerHandle.sends.get(d.sendId!);
      return s?.state === 'failed' && s;
    });
    expect(send.error).to.equal('ESME_RINVDSTADR');
  });

  it('holds the text while the gateway is down and delivers it when the gateway is back', async () => {
    // Find a free port, leave it closed for now.
    const probe = new LoopbackSmsc();
    const port = await probe.listen();
    await probe.close();
    p = await startPipeline({ smscPort: port, startSmsc: false });
    await p.pbx.play(loadCapture('noanswer'));
    const [d] = await p.decisions(1);
    await sleep(1500);
    expect((await p.daemon.ledgerHandle.sends.get(d.sendId!))?.state).to.equal('scheduled');
    await p.smsc.listen(port);
    const send = await waitFor('delivered after the gateway came back', async () => {
      const s = await p!.daemon.ledgerHandle.sends.get(d.sendId!);
      return s?.state === 'delivered' && s;
    }, 20_000);
    expect(p.smsc.submits).to.have.length(1);
    expect(send.attempts).to.equal(1);
  });

  it('keeps a receipt that arrives for an unknown id, and survives the gateway dropping the session', async () => {
    p = await startPipeline({ smsc: { receiptDelayMs: undefined } });
    await p.pbx.play(loadCapture('noanswer'));
    const [d] = await p.decisions(1);
    await waitFor('submitted', () => p!.smsc.submits.length === 1);
    const submit = p.smsc.submits[0];
    p.smsc.sendReceipt(undefined, { ...submit, messageId: 'not-ours' }, 'DELIVRD');
    p.smsc.sendReceipt(undefined, submit, 'UNDELIV');
    const send = await waitFor('failed by receipt', async () => {
      const s = await p!.daemon.ledgerHandle.sends.get(d.sendId!);
      return s?.state === 'failed' && s;
    });
    expect(send.reason).to.equal('receipt_undeliverable');
    p.smsc.dropSessions();
    await waitFor('rebound', () => p!.smsc.sessionCount === 1, 10_000);
  });

  it('sends a long UCS-2 text as concatenated parts with one UDH reference, delivered when every part is', async () => {
    const message = '{{business.name}}: sorry we missed you 🙂 ' + 'Reply here and we will call you right back. '.repeat(2);
    p = await startPipeline({ businesses: [{ name: 'Brightside Dental', dids: ['+15550001000'], delay: '0s', message }] });
    await p.pbx.play(loadCapture('noanswer'));
    const [d] = await p.decisions(1);
    const send = await waitFor('delivered multipart', async () => {
      const s = await p!.daemon.ledgerHandle.sends.get(d.sendId!);
      return s?.state === 'delivered' && s;
    });
    const parts = p.smsc.submits;
    expect(parts.length).to.equal(2);
    for (const [i, part] of parts.entries()) {
      expect(part.dataCoding).to.equal(8);
      expect(part.esmClass & 0x40).to.equal(0x40);
      expect([...part.payload.subarray(0, 6)]).to.deep.equal([5, 0, 3, parts[0].payload[3], 2, i + 1]);
    }
    expect(parts.map((x) => x.text).join('')).to.equal(send.body);
    expect(await p.daemon.ledgerHandle.sends.messageIdsOf(send.id)).to.deep.equal(parts.map((x) => x.messageId));
  });

  it('never submits faster than sms.smpp.tps', async () => {
    p = await startPipeline({ tps: 4 });
    for (let i = 0; i < 8; i++) await p.pbx.play(rewriteCapture(loadCapture('busy'), i * 100, { '+13125550147': `+1312${String(200 + i)}0147` }));
    await waitFor('eight texts', () => p!.smsc.submits.length === 8, 20_000);
    const at = p.smsc.submits.map((x) => x.at);
    // Upper bounds only (a slow machine only spreads them further): at most tps plus the burst
    // allowance (tps) in any one second, and eight texts at 4/s take at least one second.
    for (const t of at) expect(at.filter((u) => u >= t && u < t + 1000).length).to.be.at.most(8);
    expect(at[7] - at[0]).to.be.at.least(900);
  });

  it('logs one line per call decision with the caller masked to its last 4 digits', async () => {
    p = await startPipeline();
    await p.pbx.play(loadCapture('noanswer'));
    await p.decisions(1);
    const line = await waitFor('decision line', () => p!.logLines.find((l) => l.includes('call decided')));
    expect(line).to.include('caller=+1******0123');
    expect(line).to.include('outcome=noanswer');
    expect(line).to.include('decision=text');
    expect(line).to.include('reason=missed');
    expect(line).to.include('did=+15550001000');
    expect(p.logLines.filter((l) => l.includes('call decided'))).to.have.length(1);
    expect(p.logLines.join('\n')).to.not.include('+14155550123');
  });

  it('honours the dialplan fallback for withheld callers: a NewCallerid to anonymous means no text', async () => {
    p = await startPipeline();
    const capture = loadCapture('noanswer');
    // What Asterisk emits when the inbound context runs
    // ExecIf($["${CALLERID(pres):0:6}" = "prohib"]?Set(CALLERID(num)=anonymous)).
    const newCallerId = [
      'Event: NewCallerid', 'Privilege: call,all', 'Channel: PJSIP/trunk-00000000', 'ChannelState: 4', 'ChannelStateDesc: Ring',
      'CallerIDNum: anonymous', 'CallerIDName: Jane Doe', 'ConnectedLineNum: <unknown>', 'ConnectedLineName: <unknown>', 'Language: en',
      'AccountCode: ', 'Context: from-trunk', 'Exten: 15550001000', 'Priority: 2', 'Uniqueid: 1795345475.0', 'Linkedid: 1795345475.0',
      'CID-CallingPres: 0 (Presentation Allowed, Not Screened)', '', '',
    ].join('\r\n');
    const at = capture.indexOf('Event: DialBegin');
    await p.pbx.play(capture.slice(0, at) + newCallerId + capture.slice(at));
    const [d] = await p.decisions(1);
    expect(d).to.include({ decision: 'no_text', reason: 'withheld' });
    await sleep(300);
    expect(p.smsc.submits).to.have.length(0);
  });
});
