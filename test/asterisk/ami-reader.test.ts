// The reader's event filter: the events the tracker reads are skipped unparsed otherwise. It must
// never change what the tracker sees: on every real capture, the call events from the filtered
// reader equal those from reading everything.

import { expect } from 'chai';
import { readdirSync } from 'node:fs';
import { CALL_EVENT_FILTER, toCallEvent, type AmiFrame } from '../../src/asterisk/ami/events';
import { AmiFrameReader } from '../../src/asterisk/ami/reader';
import { CAPTURE_DIR, loadCapture } from '../../src/demo/ami-replay';

// The inventory captures are answers to Status/CoreShowChannels, not call event streams.
const CAPTURES = readdirSync(CAPTURE_DIR)
  .filter((f) => /^ami-.*\.txt$/.test(f) && !f.startsWith('ami-inventory-'))
  .map((f) => f.slice(4, -4));

/** Frames and the reader's counts, fed in chunks of `chunk` characters (frames cross chunk ends). */
function read(text: string, filtered: boolean, chunk = 997) {
  const frames: AmiFrame[] = [];
  const reader = new AmiFrameReader((f) => frames.push(f as AmiFrame), undefined, filtered ? CALL_EVENT_FILTER : undefined);
  for (let i = 0; i < text.length; i += chunk) reader.push(text.slice(i, i + chunk));
  return { frames, stats: reader.stats };
}

const callEvents = (frames: AmiFrame[]) => frames.map((f) => toCallEvent(f, 0)).filter((e) => e !== undefined);

describe('AMI reader: the call event filter', () => {
  it('has all the captures to check against', () => {
    expect(CAPTURES.length).to.be.at.least(12);
  });

  for (const name of CAPTURES) {
    it(`${name}: the same call events as reading every frame, most frames skipped unparsed`, () => {
      const text = loadCapture(name);
      const all = read(text, false);
      const some = read(text, true);
      expect(callEvents(some.frames)).to.deep.equal(callEvents(all.frames));
      expect(callEvents(all.frames).length).to.be.greaterThan(0);
      // Every frame is accounted for: read, or skipped by the filter.
      expect(some.stats.frames + some.stats.filtered).to.equal(all.stats.frames);
      expect(some.stats.filtered, 'CEL, DeviceStateChange, untracked VarSet, ... skipped').to.be.greaterThan(all.stats.frames / 3);
      // What is kept is what the tracker reads: each event kept that names a channel becomes a call
      // event (an Originate's DialBegin has no caller channel; MWI at boot names none).
      expect(callEvents(some.frames).length).to.equal(some.frames.filter((f) => f.event !== undefined && f.uniqueid !== undefined).length);
    });
  }

  it('reads responses and events whose Event line is not first; skips unwanted VarSet by its Variable line', () => {
    const text = [
      'Response: Success\r\nActionID: 7\r\nValue: 0\r\n\r\n',
      'Privilege: call,all\r\nEvent: Hangup\r\nUniqueid: 1.1\r\nLinkedid: 1.1\r\nChannel: PJSIP/a-1\r\nCause: 16\r\n\r\n',
      'Event: VarSet\r\nPrivilege: dialplan,all\r\nUniqueid: 1.1\r\nLinkedid: 1.1\r\nVariable: RTPAUDIOQOS\r\nValue: x\r\n\r\n',
      'Event: VarSet\r\nPrivilege: dialplan,all\r\nUniqueid: 1.1\r\nLinkedid: 1.1\r\nVariable: DIALSTATUS\r\nValue: NOANSWER\r\n\r\n',
      'Event: CEL\r\nUniqueid: 1.1\r\nLinkedid: 1.1\r\n\r\n',
      'Event: Newstate\r\nUniqueid: 1.1\r\nLinkedid: 1.1\r\nChannelState: 5\r\n\r\n',
    ].join('');
    for (const chunk of [1, 7, 64, text.length]) {
      const { frames, stats } = read(text, true, chunk);
      expect(frames.map((f) => f.response ?? `${f.event}${f.variable ? ' ' + Object.keys(f.variable as object)[0] : ''}`), `chunks of ${chunk}`).to.deep.equal([
        'Success',
        'Hangup',
        'VarSet DIALSTATUS',
        'Newstate',
      ]);
      expect(stats).to.deep.equal({ frames: 4, malformed: 0, oversized: 0, filtered: 2 });
    }
  });
});
