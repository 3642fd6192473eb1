// Must-show 7: malformed AMI frames and a hostile caller ID are survived: logged or ignored,
// no crash, no injection into the text, the log or the ledger.

import { expect } from 'chai';
import { loadCapture } from '../../src/demo/ami-replay';
import { sleep, waitFor } from '../support/harness';
import { startPipeline, type Pipeline } from '../support/pipeline';

const HOSTILE_NAME = `{{business.name}} "Robert'); DROP TABLE calls;--" \u0007\u001b[2J\u202e\t<script>` + 'A'.repeat(10_000);

const MALFORMED_FRAMES = [
  'garbage without a colon\r\n\r\n',
  'Event: Newchannel\r\nUniqueid: 1795345000.1\r\n\r\n', // no Linkedid
  'Event: Hangup\r\nUniqueid: 1795345000.2\r\nLinkedid: 1795345000.2\r\nCause: not-a-number\r\n\r\n', // a call never seen
  'Event: Newchannel\r\n__proto__: polluted\r\nconstructor: x\r\ntoString: y\r\nhasOwnProperty: z\r\nUniqueid: 1795345000.3\r\nLinkedid: 1795345000.3\r\nContext: from-trunk\r\nExten: 15550009999\r\n\r\n',
  'Event: VarSet\r\nEvent: Hangup\r\nVariable: =\r\nVariable: A=B=C\r\nValue:\r\nUniqueid: 1795345000.3\r\nLinkedid: 1795345000.3\r\n\r\n',
  '\u0000\u0001\u00ff\u00fe binary junk \u0000\r\n\r\n',
  'Event: Newstate\r\nChannelState: 6\r\nUniqueid: 1795345000.4\r\nLinkedid: 1795345000.4\r\n\n', // \r\n\n frame end (asterisk #761)
  `Event: UserEvent\r\nUserEvent: ${'x'.repeat(100_000)}\r\n\r\n`,
  'Response: Success\r\nMessage: unsolicited, no ActionID\r\n\r\n',
  ': no key\r\nEvent:\r\n\r\n',
];

describe('hostile input from the PBX', function () {
  this.timeout(20_000);
  let p: Pipeline | undefined;
  afterEach(async () => {
    await p?.stop();
    p = undefined;
  });

  it('survives malformed AMI frames and a hostile caller ID: one clean text, literal ledger row, safe log lines', async () => {
    p = await startPipeline();
    await p.pbx.play(MALFORMED_FRAMES.join(''));
    const capture = loadCapture('noanswer').split('CallerIDName: Jane Doe').join(`CallerIDName: ${HOSTILE_NAME}`);
    expect(capture).to.include(HOSTILE_NAME);
    await p.pbx.play(capture);
    const decisions = await p.decisions(1);
    const d = decisions.find((x) => x.call.number === '+14155550123')!;
    expect(d).to.include({ decision: 'text', reason: 'missed' });
    await waitFor('the text', () => p!.smsc.submits.length === 1);
    // The name is not a person's name: no first name, and nothing of it reaches the text.
    expect(p.smsc.submits[0].text).to.equal('Hi, this is Brightside Dental. Sorry we missed your call! How can we help?');
    // Stored literally (bound parameters), and the ledger is intact.
    const row = await p.daemon.ledgerHandle.calls.get(d.call.callId);
    expect(row?.caller_name).to.equal(HOSTILE_NAME);
    expect(await p.daemon.ledgerHandle.calls.list()).to.have.length.greaterThan(0);
    // No log line carries a raw control character or a line break from the PBX.
    for (const line of p.logLines) {
      expect(line, line.slice(0, 120)).to.not.match(/[\u0000-\u0008\u000a-\u001f\u007f]/);
    }
    // The daemon is still following calls after all that.
    await p.pbx.play(loadCapture('busy'));
    const [, busy] = await p.decisions(2);
    expect(busy.call.outcome).to.equal('busy');
    await waitFor('the second text', () => p!.smsc.submits.length === 2);
    // Only the junk frame that looked like a new call is still followed (until max_call_length).
    await sleep(100);
    expect(p.daemon.openCalls).to.equal(1);
  });

  it('keeps working when the PBX drops the connection mid-call: reconnects, and the cut call ends as unknown_end without a text', async () => {
    p = await startPipeline();
    const capture = loadCapture('noanswer');
    // Stop half way: before the caller's Hangup.
    await p.pbx.play(capture.slice(0, capture.indexOf('Event: Hangup')));
    await waitFor('call being followed', () => p!.daemon.openCalls === 1);
    p.pbx.dropClients();
    const [cut] = await p.decisions(1);
    expect(cut.call.outcome).to.equal('unknown_end');
    expect(cut.decision).to.equal('no_text');
    await p.pbx.waitForLogin(10_000);
    await p.pbx.play(loadCapture('busy'));
    const all = await p.decisions(2);
    expect(all[1].call.outcome).to.equal('busy');
    await waitFor('one text, to the busy caller only', () => p!.smsc.submits.length === 1);
    expect(p.smsc.submits[0].destination).to.equal('+13125550147');
    expect(p.logLines.filter((l) => /AMI connection down/.test(l))).to.have.length(1);
  });
});
