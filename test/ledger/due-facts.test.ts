// Ledger.dueFacts: what the outbox reads about a text as it leaves, in one statement. Each fact
// is checked on its own against rows that make it true, and rows that look alike but must not
// (another business, a keyword, before the call, the text itself), on a real ledger of each
// engine (an SQLite file, a PostgreSQL schema).

import { expect } from 'chai';
import type { Ledger } from '../../src/ledger/ledger';
import type { CallRecord, SendRow } from '../../src/records/rows';
import { forEachEngine, openLedger } from '../support/engines';

const SHOP = 'Brightside Dental';
const OTHER = 'Northside Vet';
const CALLER = '+14155550123';
const T0 = Date.UTC(2026, 10, 22, 15, 0, 0);
const MIN = 60_000;

function call(id: string, over: Partial<CallRecord> = {}): CallRecord {
  return {
    callId: id,
    direction: 'inbound',
    business: SHOP,
    did: '+15550001000',
    number: CALLER,
    numberRaw: CALLER,
    callerName: '',
    outcome: 'noanswer',
    decision: 'text',
    reason: 'missed',
    startedAt: T0 - 30_000,
    endedAt: T0,
    recordedAt: T0,
    ...over,
  };
}

forEachEngine('Ledger.dueFacts', (engine) => {
  let l: Ledger;
  let textBack: SendRow;
  let followUp: SendRow;
  beforeEach(async () => {
    l = await openLedger(engine);
    const send = { business: SHOP, number: CALLER, sourceAddr: '+15550001000' };
    await l.calls.record(call('missed-1'), [
      { ...send, body: 'Sorry we missed you', dueAt: T0 + MIN, kind: 'text_back' },
      { ...send, body: 'Still need us?', dueAt: T0 + 60 * MIN, kind: 'follow_up' },
    ]);
    const sends = await l.sends.find({ number: CALLER, limit: 10 });
    textBack = sends.find((s) => s.kind === 'text_back')!;
    followUp = sends.find((s) => s.kind === 'follow_up')!;
  });
  afterEach(() => l.close());

  it('nothing known: every fact false, and the call it answers', async () => {
    expect(await l.sends.dueFacts(textBack)).to.deep.equal({
      callEndedAt: T0,
      optedOut: false,
      doNotText: false,
      lastTextAt: undefined,
      answeredSince: false,
      repliedSince: false,
      firstTextSent: false,
    });
  });

  it('opted out (for this business or all), do-not-text', async () => {
    await l.optOuts.add(CALLER, OTHER, 'sms', T0);
    expect((await l.sends.dueFacts(textBack)).optedOut, 'another business').to.equal(false);
    await l.optOuts.add(CALLER, '*', 'sms', T0);
    expect((await l.sends.dueFacts(textBack)).optedOut).to.equal(true);
    await l.contacts.upsert({ number: CALLER, name: 'Jane', tags: [], doNotText: true }, T0);
    expect((await l.sends.dueFacts(textBack)).doNotText).to.equal(true);
  });

  it('last text: another text to this caller for this business, not the text itself', async () => {
    expect(await l.sends.claim(textBack.id, T0 + MIN)).to.equal(true);
    await l.sends.markSubmitted(textBack.id, ['m1'], T0 + MIN);
    expect((await l.sends.dueFacts(textBack)).lastTextAt, 'the text itself').to.equal(undefined);
    const other = await l.calls.record(call('missed-0', { endedAt: T0 - 10 * MIN }), [{ business: SHOP, number: CALLER, sourceAddr: '+1', body: 'x', dueAt: T0, kind: 'text_back' }]);
    await l.sends.claim(other.sendId!, T0 - 5 * MIN);
    await l.sends.markSubmitted(other.sendId!, ['m0'], T0 - 5 * MIN);
    expect((await l.sends.dueFacts(textBack)).lastTextAt).to.equal(T0 - 5 * MIN);
  });

  it('answered since the missed call: inbound to this business or any outbound, not before it', async () => {
    await l.calls.record(call('answered-before', { outcome: 'answered', startedAt: T0 - 5 * MIN, endedAt: T0 - 4 * MIN }));
    await l.calls.record(call('answered-other-business', { outcome: 'answered', business: OTHER, startedAt: T0 + MIN, endedAt: T0 + 2 * MIN }));
    expect((await l.sends.dueFacts(textBack)).answeredSince).to.equal(false);
    await l.calls.record(call('staff-called-back', { direction: 'outbound', business: undefined, outcome: 'answered', startedAt: T0 + 3 * MIN, endedAt: T0 + 4 * MIN }));
    expect((await l.sends.dueFacts(textBack)).answeredSince).to.equal(true);
  });

  it('follow-up: replied since the call (not a keyword), and whether the first text went out', async () => {
    const inbound = (body: string, keyword: string | null, at: number) =>
      l.messages.apply({ message: { business: SHOP, number: CALLER, to: '+15550001000', body, keyword, receivedAt: at }, sends: [], notifications: [] });
    await inbound('earlier question', null, T0 - MIN);
    await inbound('HELP', 'HELP', T0 + MIN);
    let facts = await l.sends.dueFacts(followUp);
    expect([facts.repliedSince, facts.firstTextSent]).to.deep.equal([false, false]);
    await inbound('Yes please call me', null, T0 + 2 * MIN);
    await l.sends.claim(textBack.id, T0 + MIN);
    await l.sends.markSubmitted(textBack.id, ['m1'], T0 + MIN);
    facts = await l.sends.dueFacts(followUp);
    expect([facts.repliedSince, facts.firstTextSent]).to.deep.equal([true, true]);
    // Facts for other kinds only where they apply: a text-back does not read replies.
    expect((await l.sends.dueFacts(textBack)).repliedSince).to.equal(false);
  });
});
