// The ARI event source: every real ARI capture, replayed over a loopback ARI server (HTTP +
// WebSocket) to the real ari-client, gives the same verdicts as the AMI capture of the same call
// through the AMI source, and both are what happened on the PBX (src/demo/captures/README.md).
// Also: reconnecting for good, malformed frames, the subscription query, and the pure translator.

import { expect } from 'chai';
import { AriReplayServer, loadAriCapture, rewriteAriCapture } from '../../src/demo/ari-replay';
import { AriSource } from '../../src/asterisk/ari/source';
import type { LinkState } from '../../src/link/lifecycle';
import { AriCallEvents, parseAriFrame } from '../../src/asterisk/ari/events';
import { AmiReplayServer, loadCapture } from '../../src/demo/ami-replay';
import { AmiSource } from '../../src/asterisk/ami/source';
import { CallTracker } from '../../src/calls/tracker';
import type { CallEvent, EndedCall } from '../../src/calls/types';
import { sleep, testLogger, waitFor } from '../support/harness';

const DIDS = new Set(Array.from({ length: 11 }, (_, i) => `+155500010${String(i).padStart(2, '0')}`));

interface Verdict {
  outcome: EndedCall['outcome'];
  number?: string;
  did?: string;
  withheld: boolean;
}

/** What happened on the PBX in each capture (src/demo/captures/README.md). */
const EXPECTED: Record<string, Verdict[]> = {
  anonymous: [{ outcome: 'noanswer', number: undefined, did: '+15550001000', withheld: true }],
  'anonymous-pai': [{ outcome: 'noanswer', number: '+12125550199', did: '+15550001000', withheld: true }],
  answered: [{ outcome: 'answered', number: '+16175550110', did: '+15550001003', withheld: false }],
  busy: [{ outcome: 'busy', number: '+13125550147', did: '+15550001001', withheld: false }],
  cancel: [{ outcome: 'cancel', number: '+12065550188', did: '+15550001002', withheld: false }],
  chanunavail: [{ outcome: 'unavailable', number: '+15035550191', did: '+15550001007', withheld: false }],
  noanswer: [{ outcome: 'noanswer', number: '+14155550123', did: '+15550001000', withheld: false }],
  'queue-abandon': [{ outcome: 'queue_abandon', number: '+17185550134', did: '+15550001006', withheld: false }],
  'repeat-caller': [
    { outcome: 'noanswer', number: '+14155550123', did: '+15550001000', withheld: false },
    { outcome: 'noanswer', number: '+14155550123', did: '+15550001000', withheld: false },
  ],
  'ringgroup-answered': [{ outcome: 'answered', number: '+14085550166', did: '+15550001004', withheld: false }],
  'ringgroup-noanswer': [{ outcome: 'noanswer', number: '+17025550129', did: '+15550001010', withheld: false }],
  voicemail: [{ outcome: 'voicemail', number: '+13055550172', did: '+15550001005', withheld: false }],
  // Recorded with the MCTB_PRES dialplan line and channelvars = CALLERID(pres) (README there).
  // Injected through a Local channel (Originate of Local/<DID>@from-trunk): the caller is the one
  // presented to from-trunk, not the extension the ;1 half shows once the phone rings.
  'local-originate-noanswer': [{ outcome: 'noanswer', number: '+14155550123', did: '+15550001000', withheld: false }],
  'local-originate-answered': [{ outcome: 'answered', number: '+14155550123', did: '+15550001003', withheld: false }],
  'local-originate-busy': [{ outcome: 'busy', number: '+14155550123', did: '+15550001001', withheld: false }],
  // Withheld behind a trusted P-Asserted-Identity, channels gone within ms: only the stream tells.
  'anonymous-pai-busy': [{ outcome: 'busy', number: '+12125550199', did: '+15550001001', withheld: true }],
  'anonymous-pai-chanunavail': [{ outcome: 'unavailable', number: '+12125550199', did: '+15550001007', withheld: true }],
  'busy-pres': [{ outcome: 'busy', number: '+13125550147', did: '+15550001001', withheld: false }],
  'chanunavail-pres': [{ outcome: 'unavailable', number: '+15035550191', did: '+15550001007', withheld: false }],
  'noanswer-pres': [{ outcome: 'noanswer', number: '+14155550123', did: '+15550001000', withheld: false }],
};

/**
 * Captures recorded with the presentation in the event stream: there the live lookup is made to
 * fail, as it does on a real PBX once a short call's channel is gone, so the stream alone must tell.
 */
const STREAM_PRESENTATION = new Set(['local-originate-noanswer', 'local-originate-answered', 'local-originate-busy', 'anonymous-pai-busy', 'anonymous-pai-chanunavail', 'busy-pres', 'chanunavail-pres', 'noanswer-pres']);

/** What the PBX answers for CALLERID(pres) of each capture's inbound channel (checked by hand, README). */
function presentation(name: string): string | undefined {
  if (STREAM_PRESENTATION.has(name)) return undefined;
  return name.startsWith('anonymous') ? 'prohib_not_screened' : 'allowed_not_screened';
}

function newTracker(): CallTracker {
  return new CallTracker({
    inboundContexts: ['from-trunk'],
    isDid: (d) => DIDS.has(d),
    defaultCountry: 'US',
    graceMs: 0,
    maxCallMs: 3600_000,
    presentationWaitMs: 5000,
  });
}

function verdicts(calls: EndedCall[]): Verdict[] {
  return calls.map((c) => ({ outcome: c.outcome, number: c.number, did: c.did, withheld: c.withheld }));
}

async function collect(tracker: CallTracker, want: number, what: string): Promise<EndedCall[]> {
  const calls: EndedCall[] = [];
  await waitFor(`${want} ended call(s) from ${what}`, () => {
    calls.push(...tracker.due(Date.now()));
    return calls.length >= want;
  });
  return calls;
}

/** Wires a real AriSource to a tracker the way the daemon does, presentation queries included. */
function follow(source: AriSource, tracker: CallTracker): { queried: string[] } {
  const queried: string[] = [];
  source.on('event', (ev, arrival) => {
    const started = tracker.handle(ev, arrival);
    if (started) {
      queried.push(started.uniqueid);
      void source.getPresentation(started.uniqueid).then((value) => tracker.handle({ type: 'presentation', at: Date.now(), linkedid: started.callId, value: value ?? '' }, Date.now()));
    }
  });
  return { queried };
}

const ARI_USER = { username: 'mctb', password: 'mctb-secret' };

async function classifyAri(name: string): Promise<{ calls: EndedCall[]; queried: string[]; server: AriReplayServer }> {
  const server = new AriReplayServer({ ...ARI_USER, getVariable: (_id, variable) => (variable === 'CALLERID(pres)' ? presentation(name) : undefined) });
  await server.listen();
  const { logger } = testLogger();
  const source = new AriSource({ url: server.url, ...ARI_USER, app: 'mctb' }, logger);
  const tracker = newTracker();
  const { queried } = follow(source, tracker);
  source.start();
  try {
    await server.waitForClient();
    await server.play(loadAriCapture(name));
    const calls = await collect(tracker, EXPECTED[name].length, `ari-${name}`);
    expect(tracker.size, 'calls left open').to.equal(0);
    return { calls, queried, server };
  } finally {
    await source.stop();
    await server.close();
  }
}

/** The AMI side exactly as test/calls/fixtures.test.ts drives it. */
async function classifyAmi(name: string): Promise<EndedCall[]> {
  const server = new AmiReplayServer({ username: 'mctb', secret: 's3cret', getvar: () => presentation(name) });
  const port = await server.listen();
  const { logger } = testLogger();
  const source = new AmiSource({ host: '127.0.0.1', port, username: 'mctb', secret: 's3cret', ping_interval_ms: 5000, check_presentation: true }, logger);
  const tracker = newTracker();
  source.on('event', (ev, at) => {
    const started = tracker.handle(ev, at);
    if (started) {
      void source.getPresentation(started.channel).then((value) => tracker.handle({ type: 'presentation', at: Date.now(), linkedid: started.callId, value: value ?? '' }, Date.now()));
    }
  });
  source.start();
  try {
    await server.waitForLogin();
    await server.play(loadCapture(name));
    const calls = await collect(tracker, EXPECTED[name].length, `ami-${name}`);
    expect(tracker.size).to.equal(0);
    return calls;
  } finally {
    await source.stop();
    await server.close();
  }
}

describe('ARI event source', function () {
  this.timeout(30_000);

  describe('every real capture: ARI and AMI agree, and say what happened on the PBX', () => {
    for (const [name, expected] of Object.entries(EXPECTED)) {
      it(`${name} → ${expected.map((e) => e.outcome + (e.withheld ? ' (withheld)' : '')).join(', ')}`, async () => {
        const [ariSide, amiCalls] = await Promise.all([classifyAri(name), classifyAmi(name)]);
        const ariCalls = ariSide.calls;
        expect(verdicts(ariCalls), 'ARI = AMI').to.deep.equal(verdicts(amiCalls));
        expect(verdicts(ariCalls), 'ARI = README').to.deep.equal(expected);
        // Same PBX ids: the derived Linkedid is the AMI one.
        expect(ariCalls.map((c) => c.callId)).to.deep.equal(amiCalls.map((c) => c.callId));
        expect(ariCalls.map((c) => c.direction)).to.deep.equal(expected.map(() => 'inbound'));
        // One presentation query per inbound call, by channel id, over REST (the caller's channel:
        // a Local-injected call's ;2 half, not the ;1 the call is named after).
        expect(ariSide.queried).to.have.length(ariCalls.length);
        if (!name.startsWith('local-')) expect(ariSide.queried).to.deep.equal(ariCalls.map((c) => c.callId));
        const answered = ariSide.server.requests.filter((r) => /\/variable$/.test(r.path) && r.status === 200);
        expect(answered).to.have.length(STREAM_PRESENTATION.has(name) ? 0 : expected.length);
        // The event WebSocket subscribed to every channel, as app mctb.
        expect(ariSide.server.connections).to.have.length(1);
        expect(ariSide.server.connections[0]).to.include({ app: 'mctb', subscribeAll: 'true' });
      });
    }
  });

  it('opens the WebSocket as /ari/events?app=mctb&subscribeAll=true, authenticated', async () => {
    const server = new AriReplayServer(ARI_USER);
    await server.listen();
    const { logger, lines } = testLogger();
    const source = new AriSource({ url: server.url, ...ARI_USER, app: 'mctb' }, logger);
    const states: LinkState[] = [];
    source.on('state', (s) => states.push(s));
    source.start();
    try {
      await server.waitForClient();
      await waitFor('connected', () => source.connected);
      expect(server.connections).to.deep.equal([{ app: 'mctb', subscribeAll: 'true', query: { app: 'mctb', subscribeAll: 'true' } }]);
      // ari-client loaded the API docs (with our credentials) before opening the socket.
      const docs = server.requests.filter((r) => r.path.startsWith('/ari/api-docs/') && r.status === 200).map((r) => r.path);
      expect(docs).to.include.members(['/ari/api-docs/resources.json', '/ari/api-docs/channels.json']);
      expect(states).to.deep.equal(['connecting', 'connected']);
      expect(lines.filter((l) => /ARI connected/.test(l))).to.have.length(1);
      // swagger-client's console notice went to our debug log, not stdout.
      expect(lines.some((l) => /deprecated version of Swagger/.test(l))).to.equal(true);
    } finally {
      await source.stop();
      await server.close();
    }
    expect(states[states.length - 1]).to.equal('stopped');
  });

  it('reconnects after the PBX drops the WebSocket, and keeps retrying while it is down (past ari-client\'s 10 tries), logging the outage once', async () => {
    const server = new AriReplayServer(ARI_USER);
    const port = await server.listen();
    const { logger, lines } = testLogger();
    const source = new AriSource({ url: server.url, ...ARI_USER, app: 'mctb' }, logger, Date.now, { reconnectMinMs: 50, reconnectMaxMs: 100 });
    const states: [LinkState, string][] = [];
    source.on('state', (s, d) => states.push([s, d]));
    const tracker = newTracker();
    follow(source, tracker);
    source.start();
    let restarted: AriReplayServer | undefined;
    try {
      await server.waitForClient();
      // 1. The WebSocket drops, the HTTP server stays: back at once.
      server.dropClients();
      await waitFor('disconnected', () => states.some(([s]) => s === 'disconnected'));
      await waitFor('second WebSocket', () => server.connections.length === 2 && source.connected);
      expect(lines.filter((l) => /ARI connection down/.test(l))).to.have.length(1);

      // 2. The PBX goes away altogether for a while: many attempts, one warning.
      const before = states.length;
      await server.close();
      await waitFor('disconnected again', () => !source.connected);
      await waitFor('more than 10 failed attempts', () => states.slice(before).filter(([s]) => s === 'connecting').length > 10, 15_000);
      restarted = new AriReplayServer({ ...ARI_USER, getVariable: () => 'allowed_not_screened' });
      await restarted.listen(port);
      await restarted.waitForClient(15_000);
      await waitFor('connected to the restarted PBX', () => source.connected);
      expect(lines.filter((l) => /ARI connection down/.test(l)), 'outage warnings').to.have.length(2);
      expect(lines.filter((l) => /ARI connected/.test(l))).to.have.length(3);
      expect(restarted.connections).to.have.length(1);
      expect(restarted.connections[0]).to.include({ app: 'mctb', subscribeAll: 'true' });

      // 3. And the new connection carries calls.
      await restarted.play(loadAriCapture('noanswer'));
      const calls = await collect(tracker, 1, 'noanswer after the restart');
      expect(verdicts(calls)).to.deep.equal(EXPECTED.noanswer.map((v) => ({ ...v })));
    } finally {
      await source.stop();
      await restarted?.close();
      await server.close().catch(() => undefined);
    }
  });

  it('reconnects when the PBX stops answering WebSocket pings (socket open, peer dead)', async () => {
    const server = new AriReplayServer({ ...ARI_USER, ignorePing: true });
    await server.listen();
    const { logger, lines } = testLogger();
    const source = new AriSource({ url: server.url, ...ARI_USER, app: 'mctb' }, logger, Date.now, { pingIntervalMs: 150, reconnectMinMs: 50, reconnectMaxMs: 100 });
    source.start();
    try {
      await waitFor('a second WebSocket after the ping timeout', () => server.connections.length >= 2, 10_000);
      expect(lines.some((l) => /did not answer the WebSocket ping/.test(l))).to.equal(true);
    } finally {
      await source.stop();
      await server.close();
    }
  });

  it('a client whose WebSocket failed to open never comes back on its own (ari-client\'s retries are disarmed)', async () => {
    const server = new AriReplayServer({ ...ARI_USER, refuseEvents: true });
    await server.listen();
    const { logger, lines } = testLogger();
    const source = new AriSource({ url: server.url, ...ARI_USER, app: 'mctb' }, logger, Date.now, { reconnectMinMs: 100, reconnectMaxMs: 100 });
    source.start();
    try {
      await waitFor('a few refused WebSockets', () => server.requests.filter((r) => r.path === '/ari/events' && r.status === 503).length >= 3);
      server.options.refuseEvents = false;
      await waitFor('connected', () => source.connected);
      // ari-client would have retried each refused socket after 100, 200, 400, 800 ms... : none may open.
      await sleep(1700);
      expect(server.connections, 'WebSockets opened').to.have.length(1);
      expect(server.clientCount).to.equal(1);
      expect(source.connected).to.equal(true);
      expect(lines.filter((l) => /could not connect to ARI at .*: event WebSocket/.test(l))).to.have.length(1);
      expect(lines.filter((l) => /ARI connection down/.test(l))).to.have.length(0);
    } finally {
      await source.stop();
      await server.close();
    }
  });

  it('ends open calls when the connection drops: state disconnected, and the half-seen call never completes', async () => {
    const server = new AriReplayServer(ARI_USER);
    await server.listen();
    const { logger } = testLogger();
    const source = new AriSource({ url: server.url, ...ARI_USER, app: 'mctb' }, logger, Date.now, { reconnectMinMs: 50, reconnectMaxMs: 100 });
    const tracker = newTracker();
    follow(source, tracker);
    const abandoned: EndedCall[] = [];
    source.on('state', (s) => {
      if (s === 'disconnected') abandoned.push(...tracker.abandonOpenCalls(Date.now()));
    });
    source.start();
    try {
      await server.waitForClient();
      const lines = loadAriCapture('noanswer');
      const cut = lines.findIndex((l) => l.includes('"ChannelDestroyed"'));
      await server.play(lines.slice(0, cut));
      await waitFor('the call is followed', () => tracker.size === 1);
      server.dropClients();
      await waitFor('abandoned as unknown_end', () => abandoned.length === 1);
      expect(abandoned[0].outcome).to.equal('unknown_end');
      // After the reconnect, the rest of the old call is not glued onto anything.
      await waitFor('reconnected', () => server.connections.length === 2 && source.connected);
      await server.play(lines.slice(cut));
      await sleep(200);
      expect(tracker.size).to.equal(0);
      expect(tracker.due(Date.now())).to.deep.equal([]);
    } finally {
      await source.stop();
      await server.close();
    }
  });

  it('skips malformed frames without crashing or dropping the connection', async () => {
    const server = new AriReplayServer({ ...ARI_USER, getVariable: () => 'allowed_not_screened' });
    await server.listen();
    const { logger, lines } = testLogger();
    // The junk "1.1" channel is not created Ring: held, then its own call after holdMs.
    const source = new AriSource({ url: server.url, ...ARI_USER, app: 'mctb' }, logger, Date.now, { translator: { holdMs: 200 } });
    const tracker = newTracker();
    follow(source, tracker);
    source.start();
    try {
      await server.waitForClient();
      const garbage = [
        'not json',
        '{"type":',
        '[1,2,3]',
        'null',
        '42',
        '{}',
        '{"no":"type"}',
        '{"type":42}',
        '{"type":"NoSuchEvent","timestamp":"x"}',
        '{"type":"ChannelCreated"}',
        '{"type":"ChannelCreated","channel":"PJSIP/x"}',
        '{"type":"ChannelCreated","channel":{"id":5,"name":7}}',
        '{"type":"ChannelCreated","channel":{"id":"1.1","name":null,"state":["Ring"],"caller":"x","dialplan":7},"timestamp":{}}',
        '{"type":"Dial","peer":null,"caller":{"id":"1.1"}}',
        '{"type":"Dial","peer":{"id":"9.9"},"caller":"nope","dialstatus":{}}',
        '{"type":"ChannelVarset","variable":["DIALSTATUS"],"value":{"a":1},"channel":{"id":"1.1"}}',
        '{"type":"ChannelHangupRequest","soft":"yes","cause":"x","channel":{"id":"1.1","dialplan":null}}',
        '{"type":"ChannelEnteredBridge","bridge":"b","channel":{"id":"1.1"}}',
        '{"type":"ChannelDestroyed","cause":"sixteen","channel":{"id":"1.1"}}',
        '{"type":"ChannelDestroyed","channel":{"id":"1.1"}}',
      ];
      await server.play(garbage);
      await server.play(loadAriCapture('noanswer'));
      const calls = await collect(tracker, 2, 'the junk call and the real one');
      const real = calls.find((c) => c.callId !== '1.1');
      expect(real && verdicts([real])).to.deep.equal(EXPECTED.noanswer);
      expect(source.connected).to.equal(true);
      expect(server.connections).to.have.length(1);
      // Logged, but once, not per frame.
      expect(lines.filter((l) => /skipped an ARI frame/.test(l))).to.have.length(1);
    } finally {
      await source.stop();
      await server.close();
    }
  });

  it('logs a refused login clearly, without crashing (swagger-client would throw), and retries with the longest backoff', async () => {
    const server = new AriReplayServer(ARI_USER);
    await server.listen();
    const { logger, lines } = testLogger();
    const source = new AriSource({ url: server.url, username: 'mctb', password: 'wrong', app: 'mctb' }, logger);
    source.start();
    try {
      await waitFor('the refusal', () => lines.some((l) => /ARI login rejected/.test(l)));
      await sleep(300);
      expect(source.connected).to.equal(false);
      expect(server.connections).to.have.length(0);
      expect(lines.filter((l) => /could not connect to ARI at /.test(l))).to.have.length(1);
      expect(lines.filter((l) => /ARI connection down/.test(l))).to.have.length(0);
      expect(lines.some((l) => /wrong/.test(l)), 'password not logged').to.equal(false);
    } finally {
      await source.stop();
      await server.close();
    }
  });

  it('getPresentation: the value over REST by channel id; undefined (no warning) for a gone channel or when not connected', async () => {
    const server = new AriReplayServer({ ...ARI_USER, getVariable: (id, v) => (id === '1795345692.38' && v === 'CALLERID(pres)' ? 'prohib_not_screened' : undefined) });
    await server.listen();
    const { logger, lines } = testLogger();
    const source = new AriSource({ url: server.url, ...ARI_USER, app: 'mctb' }, logger);
    expect(await source.getPresentation('1795345692.38')).to.equal(undefined);
    source.start();
    try {
      await server.waitForClient();
      expect(await source.getPresentation('1795345692.38')).to.equal('prohib_not_screened');
      expect(await source.getPresentation('1795345692.99')).to.equal(undefined);
      expect(lines.some((l) => /refused/.test(l))).to.equal(false);
    } finally {
      await source.stop();
      await server.close();
    }
  });
});

describe('ARI → CallEvent translator (pure)', () => {
  const ts = (ms: number): string => new Date(ms).toISOString().replace('Z', '+0000');
  const chan = (id: string, name: string, state: string, context = 'from-trunk', exten = '15550001000', number = '+14155550123') => ({
    id,
    name,
    state,
    caller: { name: 'X', number },
    connected: { name: '', number: '' },
    dialplan: { context, exten, priority: 1, app_name: '', app_data: '' },
  });

  it('never throws on junk, and returns [] for it', () => {
    const t = new AriCallEvents();
    const junk: unknown[] = [undefined, null, 0, 'x', [], {}, { type: 1 }, { type: 'Dial' }, { type: 'Dial', peer: 1 }, { type: 'ChannelCreated', channel: [] }];
    // Every known type with every field replaced by a wrong type.
    const bad = [null, 7, 'str', [], { id: {} }, true];
    for (const type of ['ChannelCreated', 'Dial', 'ChannelVarset', 'ChannelDialplan', 'ChannelStateChange', 'ChannelCallerId', 'ChannelEnteredBridge', 'ChannelLeftBridge', 'ChannelHangupRequest', 'ChannelDestroyed']) {
      for (const b of bad) {
        junk.push({ type, channel: b, peer: b, caller: b, forwarded: b, bridge: b, timestamp: b, cause: b, soft: b, variable: b, value: b, dialstatus: b });
        junk.push({ type, channel: { id: '1.0', name: b, state: b, caller: b, dialplan: b }, peer: { id: '1.1', name: b }, caller: { id: '1.0' }, bridge: { id: b, bridge_type: b } });
      }
    }
    for (const j of junk) expect(() => t.push(j, 1)).to.not.throw();
    for (const f of ['', 'x', '{', '[]', '{"type":3}', 'null', '"{}"']) expect(parseAriFrame(f)).to.equal(undefined);
    expect(parseAriFrame('{"type":"X"}')).to.deep.equal({ type: 'X' });
    expect(parseAriFrame(Buffer.from('{"type":"X"}') as unknown)).to.equal(undefined);
  });

  it('holds a channel created Down until the Dial that names it, then releases its events under the caller\'s call, in order', () => {
    const t = new AriCallEvents();
    const out: CallEvent[] = [];
    const root = chan('100.1', 'PJSIP/trunk-1', 'Ring');
    const leg = chan('100.2', 'PJSIP/101-2', 'Down', 'internal', 's', '101');
    out.push(...t.push({ type: 'ChannelCreated', timestamp: ts(1000), channel: root }, 1));
    out.push(...t.push({ type: 'ChannelCreated', timestamp: ts(1001), channel: leg }, 2));
    expect(out.map((e) => e.type)).to.deep.equal(['channel_created']);
    out.push(...t.push({ type: 'ChannelStateChange', timestamp: ts(1002), channel: { ...leg, state: 'Ringing' } }, 3));
    expect(t.heldCount).to.equal(1);
    out.push(...t.push({ type: 'Dial', timestamp: ts(1003), dialstatus: '', dialstring: '101', caller: root, peer: leg }, 4));
    expect(t.heldCount).to.equal(0);
    expect(out.map((e) => `${e.type}:${'uniqueid' in e ? e.uniqueid : ''}:${e.linkedid}`)).to.deep.equal([
      'channel_created:100.1:100.1',
      'channel_created:100.2:100.1',
      'channel_state:100.2:100.1',
      'dial_begin:100.1:100.1',
    ]);
    expect(out[0].at).to.equal(1000);
  });

  it('a Down channel nobody dials becomes its own call after holdMs (AMI: an originated channel is its own Linkedid)', () => {
    const t = new AriCallEvents({ holdMs: 500 });
    const orig = chan('200.1', 'PJSIP/101-9', 'Down', 'internal', '15550009999', '101');
    expect(t.push({ type: 'ChannelCreated', timestamp: ts(5000), channel: orig }, 1000)).to.deep.equal([]);
    expect(t.expire(1400)).to.deep.equal([]);
    const released = t.expire(1500);
    expect(released.map((e) => [e.type, e.linkedid])).to.deep.equal([['channel_created', '200.1']]);
    expect(t.push({ type: 'ChannelDestroyed', timestamp: ts(6000), cause: 16, channel: orig }, 1600).map((e) => e.type)).to.deep.equal(['hangup']);
  });

  it('a Local ;2 follows its ;1, and a held channel\'s own dials wait with it', () => {
    const t = new AriCallEvents();
    const root = chan('300.1', 'PJSIP/trunk-3', 'Ring');
    const l1 = chan('300.2', 'Local/101@rg-legs-00000009;1', 'Down', 'rg-legs', '101');
    const l2 = chan('300.3', 'Local/101@rg-legs-00000009;2', 'Ring', 'rg-legs', '101');
    const dev = chan('300.4', 'PJSIP/101-4', 'Down', 'internal', 's', '101');
    const out: CallEvent[] = [];
    out.push(...t.push({ type: 'ChannelCreated', timestamp: ts(1), channel: root }, 1));
    out.push(...t.push({ type: 'ChannelCreated', timestamp: ts(2), channel: l1 }, 1));
    out.push(...t.push({ type: 'ChannelCreated', timestamp: ts(3), channel: l2 }, 1));
    out.push(...t.push({ type: 'ChannelCreated', timestamp: ts(4), channel: dev }, 1));
    // ;2 dials the device before the trunk's Dial names ;1 (not in the captures, but legal).
    out.push(...t.push({ type: 'Dial', timestamp: ts(5), dialstatus: '', caller: l2, peer: dev }, 1));
    expect(out).to.have.length(1);
    out.push(...t.push({ type: 'Dial', timestamp: ts(6), dialstatus: '', caller: root, peer: l1 }, 1));
    expect(out.map((e) => `${e.type}:${'uniqueid' in e ? e.uniqueid : ''}:${e.linkedid}`)).to.deep.equal([
      'channel_created:300.1:300.1',
      'channel_created:300.2:300.1',
      'channel_created:300.3:300.1',
      'channel_created:300.4:300.1',
      'dial_begin:300.3:300.1',
      'dial_begin:300.1:300.1',
    ]);
  });

  it('derives queue_abandon: the caller hangs up (not soft) in Queue before anyone is bridged; not after a bridge, not on soft hangup', () => {
    const run = (bridged: boolean, soft: boolean): string[] => {
      const t = new AriCallEvents();
      const root = chan('400.1', 'PJSIP/trunk-4', 'Up');
      const types: string[] = [];
      types.push(...t.push({ type: 'ChannelCreated', channel: { ...root, state: 'Ring' } }, 1).map((e) => e.type));
      if (bridged) t.push({ type: 'ChannelEnteredBridge', bridge: { id: 'b', bridge_type: 'mixing', bridge_class: 'basic' }, channel: root }, 1);
      const inQueue = { ...root, dialplan: { ...root.dialplan, app_name: 'Queue' } };
      types.push(...t.push({ type: 'ChannelHangupRequest', cause: 16, ...(soft ? { soft: true } : {}), channel: inQueue }, 1).map((e) => e.type));
      return types;
    };
    expect(run(false, false)).to.deep.equal(['channel_created', 'hangup_request', 'queue_abandon']);
    expect(run(true, false)).to.deep.equal(['channel_created', 'hangup_request']);
    expect(run(false, true)).to.deep.equal(['channel_created', 'hangup_request']);
  });

  it('maps bridge types like AMI: holding → holding, parking class → parking, else the class', () => {
    const t = new AriCallEvents();
    const root = chan('500.1', 'PJSIP/trunk-5', 'Ring');
    t.push({ type: 'ChannelCreated', channel: root }, 1);
    const types = [
      { bridge_type: 'holding', bridge_class: 'stasis' },
      { bridge_type: 'holding', bridge_class: 'parking' },
      { bridge_type: 'mixing', bridge_class: 'basic' },
    ].map((b) => {
      const [ev] = t.push({ type: 'ChannelEnteredBridge', bridge: { id: 'x', ...b }, channel: root }, 1);
      return ev.type === 'bridge_enter' ? ev.bridgeType : '';
    });
    expect(types).to.deep.equal(['holding', 'parking', 'basic']);
  });

  it('stays bounded: calls are forgotten after their root is gone, held channels are released, and a hard cap holds', () => {
    const t = new AriCallEvents({ lingerMs: 1000, holdMs: 100, maxChannels: 500 });
    let now = 0;
    for (let i = 0; i < 20_000; i++) {
      now += 10;
      const root = chan(`${1e9 + i}.1`, `PJSIP/trunk-${i}`, 'Ring');
      const leg = chan(`${1e9 + i}.2`, `PJSIP/101-${i}`, 'Down', 'internal', 's', '101');
      t.push({ type: 'ChannelCreated', channel: root }, now);
      t.push({ type: 'ChannelCreated', channel: leg }, now);
      if (i % 2 === 0) t.push({ type: 'Dial', dialstatus: '', caller: root, peer: leg }, now);
      // Half the calls never see their end: only the caps bound them.
      if (i % 4 !== 3) t.push({ type: 'ChannelDestroyed', cause: 16, channel: root }, now);
      expect(t.channelCount).to.be.at.most(500 + 2);
    }
    t.expire(now + 10_000);
    expect(t.heldCount).to.equal(0);
  });

  it('a rewritten capture (ids and times shifted, as the demo replays a call twice) is a second, separate call', () => {
    const t = new AriCallEvents();
    const tracker = newTracker();
    const original = loadAriCapture('noanswer');
    const again = rewriteAriCapture(original, 600, { '+14155550123': '+14155550999' });
    for (const f of [...original, ...again]) for (const ev of t.push(parseAriFrame(f), 1)) tracker.handle(ev, 1);
    tracker.handle({ type: 'presentation', at: 1, linkedid: '1795345475.0', value: '' }, 1);
    tracker.handle({ type: 'presentation', at: 1, linkedid: '1795346075.0', value: '' }, 1);
    const calls = tracker.due(10);
    expect(calls.map((c) => [c.callId, c.outcome, c.number])).to.deep.equal([
      ['1795345475.0', 'noanswer', '+14155550123'],
      ['1795346075.0', 'noanswer', '+14155550999'],
    ]);
    expect(calls[1].startedAt - calls[0].startedAt).to.equal(600_000);
    expect(parseAriFrame('  \n{"type":"X"}')).to.deep.equal({ type: 'X' });
  });

  it('translates all the captures fast (no per-event re-parsing)', () => {
    const frames = Object.keys(EXPECTED).flatMap((n) => loadAriCapture(n));
    const t = new AriCallEvents();
    const started = process.hrtime.bigint();
    let n = 0;
    for (let round = 0; round < 100; round++) for (const f of frames) n += t.push(parseAriFrame(f), round).length;
    const ms = Number(process.hrtime.bigint() - started) / 1e6;
    expect(n).to.be.greaterThan(0);
    // ~75k frames; generous bound for a shared 2-core machine.
    expect(ms, `${frames.length * 100} frames in ${ms.toFixed(0)} ms`).to.be.lessThan(5000);
  });
});
