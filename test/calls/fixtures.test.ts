// Must-show 1: every real capture, streamed over a loopback AMI socket to the real AMI client,
// is classified as what happened on the PBX (see src/demo/captures/README.md).

import { expect } from 'chai';
import { AmiReplayServer, loadCapture } from '../../src/demo/ami-replay';
import { AmiSource } from '../../src/asterisk/ami/source';
import { CallTracker } from '../../src/calls/tracker';
import type { EndedCall } from '../../src/calls/types';
import { FIXTURE_DIDS, testLogger, waitFor } from '../support/harness';

interface Expectation {
  outcome: EndedCall['outcome'];
  number?: string;
  withheld?: boolean;
  did: string;
  callerName?: string;
}

const EXPECTED: Record<string, Expectation[]> = {
  noanswer: [{ outcome: 'noanswer', number: '+14155550123', did: '+15550001000', callerName: 'Jane Doe' }],
  busy: [{ outcome: 'busy', number: '+13125550147', did: '+15550001001' }],
  cancel: [{ outcome: 'cancel', number: '+12065550188', did: '+15550001002' }],
  answered: [{ outcome: 'answered', number: '+16175550110', did: '+15550001003' }],
  'ringgroup-answered': [{ outcome: 'answered', number: '+14085550166', did: '+15550001004' }],
  'ringgroup-noanswer': [{ outcome: 'noanswer', number: '+17025550129', did: '+15550001010' }],
  voicemail: [{ outcome: 'voicemail', number: '+13055550172', did: '+15550001005' }],
  'queue-abandon': [{ outcome: 'queue_abandon', number: '+17185550134', did: '+15550001006' }],
  chanunavail: [{ outcome: 'unavailable', number: '+15035550191', did: '+15550001007' }],
  anonymous: [{ outcome: 'noanswer', number: undefined, withheld: true, did: '+15550001000' }],
  // The real number is in every event; only Getvar CALLERID(pres) says it was withheld.
  'anonymous-pai': [{ outcome: 'noanswer', number: '+12125550199', withheld: true, did: '+15550001000' }],
  'repeat-caller': [
    { outcome: 'noanswer', number: '+14155550123', did: '+15550001000' },
    { outcome: 'noanswer', number: '+14155550123', did: '+15550001000' },
  ],
};

/** What the PBX would answer to Getvar CALLERID(pres) on each capture's inbound channel. */
function presentation(name: string): string {
  return name.startsWith('anonymous') ? 'prohib_not_screened' : 'allowed_not_screened';
}

async function classify(name: string): Promise<{ calls: EndedCall[]; getvars: number }> {
  const server = new AmiReplayServer({ username: 'mctb', secret: 's3cret', getvar: () => presentation(name) });
  const port = await server.listen();
  const { logger } = testLogger();
  const source = new AmiSource({ host: '127.0.0.1', port, username: 'mctb', secret: 's3cret', ping_interval_ms: 5000, check_presentation: true }, logger);
  const tracker = new CallTracker({
    inboundContexts: ['from-trunk'],
    isDid: (d) => Object.values(FIXTURE_DIDS).includes(d),
    defaultCountry: 'US',
    // No grace at all in practice: each call must be decided the moment its last channel is gone.
    graceMs: 600_000,
    maxCallMs: 3600_000,
    presentationWaitMs: 5000,
  });
  let getvars = 0;
  source.on('event', (ev, at) => {
    const started = tracker.handle(ev, at);
    if (started) {
      getvars++;
      void source.getPresentation(started.channel).then((value) => tracker.handle({ type: 'presentation', at: Date.now(), linkedid: started.callId, value: value ?? '' }, Date.now()));
    }
  });
  source.start();
  try {
    await server.waitForLogin();
    await server.play(loadCapture(name));
    const calls: EndedCall[] = [];
    const want = EXPECTED[name].length;
    await waitFor(`${want} ended call(s) from ${name}`, () => {
      calls.push(...tracker.due(Date.now()));
      return calls.length >= want;
    });
    expect(tracker.size).to.equal(0);
    return { calls, getvars };
  } finally {
    await source.stop();
    await server.close();
  }
}

describe('classifying the real Asterisk captures (loopback AMI, real client)', () => {
  for (const [name, expected] of Object.entries(EXPECTED)) {
    it(`${name} → ${expected.map((e) => e.outcome + (e.withheld ? ' (withheld)' : '')).join(', ')}`, async () => {
      const { calls, getvars } = await classify(name);
      expect(calls).to.have.length(expected.length);
      expect(getvars).to.equal(expected.length);
      calls.forEach((call, i) => {
        const want = expected[i];
        expect(call.direction).to.equal('inbound');
        expect(call.outcome, 'outcome').to.equal(want.outcome);
        expect(call.did, 'did').to.equal(want.did);
        expect(call.number, 'caller').to.equal(want.number);
        expect(call.withheld, 'withheld').to.equal(want.withheld ?? false);
        if (want.callerName) expect(call.callerName).to.equal(want.callerName);
        expect(call.endedAt).to.be.at.least(call.startedAt);
      });
      if (name === 'repeat-caller') expect(calls[0].callId).to.not.equal(calls[1].callId);
    });
  }
});
