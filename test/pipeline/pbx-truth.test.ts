// What a real PBX does that mctb once misread (issue 12), end to end through the real daemon and a
// loopback SMSC, over AMI and over ARI alike, from captures of a real Asterisk 22
// (src/demo/captures/README.md, "Presentation in the stream, Local originates, inventory"):
// - a call injected through a Local channel is texted once, to the caller presented to the
//   inbound context (not the extension its ;1 half shows), and not at all when answered;
// - a withheld caller on a trusted-PAI trunk whose busy/unavailable channel is gone before any
//   lookup could answer is not texted (the MCTB_PRES dialplan line puts it in the stream), while a
//   plain busy or unavailable caller is;
// - calls in progress when mctb connects are listed by the PBX and followed from there.

import { expect } from 'chai';
import { readFileSync, writeFileSync } from 'node:fs';
import YAML from 'yaml';
import { SqliteFile } from '../../src/ledger/sqlite';
import { mctb } from '../support/cli';
import { join } from 'node:path';
import { Daemon, type CallDecided } from '../../src/daemon';
import { AmiReplayServer, CAPTURE_DIR, loadCapture, rewriteCapture, statusBlocks } from '../../src/demo/ami-replay';
import { ARI_CAPTURE_DIR, AriReplayServer, loadAriCapture, rewriteAriCapture } from '../../src/demo/ari-replay';
import { LoopbackSmsc } from '../../src/demo/loopback-smsc';
import { sleep, tempDir, testConfig, testLogger, waitFor } from '../support/harness';

const JANE = '+14155550123';
/** The answered Local capture's caller, renumbered: Jane is texted by the unanswered one. */
const ANSWERED_CALLER = '+14155550177';
const WITHHELD = '+12125550199';
const BUSY_CALLER = '+13125550147';
const UNAVAILABLE_CALLER = '+15035550191';

const PLAYED: { name: string; numbers?: Record<string, string> }[] = [
  { name: 'local-originate-noanswer' },
  { name: 'local-originate-answered', numbers: { '14155550123': ANSWERED_CALLER.slice(1) } },
  { name: 'anonymous-pai-busy' },
  { name: 'anonymous-pai-chanunavail' },
  { name: 'busy-pres' },
  { name: 'chanunavail-pres' },
];

interface Pbx {
  source: 'ami' | 'ari';
  play(name: string, numbers?: Record<string, string>): Promise<void>;
  close(): Promise<void>;
  asterisk: Record<string, unknown>;
  /** Live-lookup answers given (must be none: the real PBX has no channel left to ask). */
  lookupsAnswered(): number;
}

async function amiPbx(): Promise<Pbx> {
  // Getvar answers "No such channel", as Asterisk does once a short call's channel is gone.
  const server = new AmiReplayServer({ getvar: () => undefined });
  const port = await server.listen();
  return {
    source: 'ami',
    asterisk: { ami: { host: '127.0.0.1', port, username: 'mctb', secret: 'mctb-secret', ping_interval: '2s', check_presentation: true }, inbound_contexts: ['from-trunk'], decision_grace: '300ms' },
    play: async (name, numbers = {}) => {
      await server.waitForLogin();
      await server.play(rewriteCapture(loadCapture(name), 0, numbers));
    },
    close: () => server.close(),
    lookupsAnswered: () => 0,
  };
}

async function ariPbx(): Promise<Pbx> {
  const server = new AriReplayServer({ username: 'mctb', password: 'pw', getVariable: () => undefined });
  const port = await server.listen();
  return {
    source: 'ari',
    asterisk: {
      source: 'ari',
      ari: { url: `http://127.0.0.1:${port}`, username: 'mctb', password: 'pw', app: 'mctb' },
      inbound_contexts: ['from-trunk'],
      decision_grace: '300ms',
    },
    play: async (name, numbers = {}) => {
      await server.waitForClient();
      await server.play(rewriteAriCapture(loadAriCapture(name), 0, numbers));
    },
    close: () => server.close(),
    lookupsAnswered: () => server.requests.filter((r) => /\/variable$/.test(r.path) && r.status === 200).length,
  };
}

for (const make of [amiPbx, ariPbx]) {
  describe(`PBX truth end to end over ${make === amiPbx ? 'AMI' : 'ARI'} (real captures, loopback SMSC)`, function () {
    this.timeout(60_000);

    it('Local-injected call texted once to the presented caller, answered one not; withheld busy/unavailable not texted, plain ones texted', async () => {
      const { dir, cleanup } = tempDir();
      const pbx = await make();
      const smsc = new LoopbackSmsc({ receiptDelayMs: 20 });
      const smppPort = await smsc.listen();
      const config = testConfig({ dir, amiPort: 1, smppPort, top: { asterisk: pbx.asterisk } });
      const { logger } = testLogger();
      const daemon = new Daemon(config, logger);
      const decided: CallDecided[] = [];
      daemon.events.on('call.decided', (d) => decided.push(d));
      try {
        await daemon.start();
        for (const p of PLAYED) await pbx.play(p.name, p.numbers);
        await waitFor('six decisions', () => decided.length === PLAYED.length, 15_000);
        await waitFor('three texts', () => smsc.submits.length >= 3);
        await sleep(500); // anything else would have gone out by now

        const by = (n: string) => decided.filter((d) => d.call.number === n);
        expect(by(JANE).map((d) => [d.call.outcome, d.decision, d.call.callerName])).to.deep.equal([['noanswer', 'text', 'Jane Doe']]);
        expect(by(ANSWERED_CALLER).map((d) => [d.call.outcome, d.decision])).to.deep.equal([['answered', 'no_text']]);
        expect(by(WITHHELD).map((d) => [d.call.outcome, d.reason, d.call.presentation])).to.deep.equal([
          ['busy', 'withheld', 'withheld'],
          ['unavailable', 'withheld', 'withheld'],
        ]);
        expect(by(BUSY_CALLER).map((d) => [d.call.outcome, d.decision, d.call.presentation])).to.deep.equal([['busy', 'text', 'allowed']]);
        expect(by(UNAVAILABLE_CALLER).map((d) => [d.call.outcome, d.decision])).to.deep.equal([['unavailable', 'text']]);
        // No internal extension ever became a caller.
        expect(decided.map((d) => d.call.numberRaw)).to.not.include.members(['101', '102', '103']);
        expect(smsc.submits.map((s) => s.destination).sort()).to.deep.equal([BUSY_CALLER, UNAVAILABLE_CALLER, JANE].sort());
        expect(pbx.lookupsAnswered(), 'no live lookup answered: the stream alone told').to.equal(0);
        const row = await daemon.ledgerHandle.calls.get(by(JANE)[0].call.callId);
        expect(row).to.include({ number: JANE, outcome: 'noanswer', decision: 'text', presentation: 'allowed', midway: 0 });
      } finally {
        await daemon.stop(1000);
        await pbx.close();
        await smsc.close();
        cleanup();
      }
    });
  });
}

/** The ringing call of the inventory capture: the Status blocks mctb's own request got (with Variables). */
function ringingCall(): { status: string[]; callId: string } {
  const capture = readFileSync(join(CAPTURE_DIR, 'ami-inventory-ringing-withheld.txt'), 'utf8');
  const status = statusBlocks(capture, 'inv-status-vars');
  const callId = /Linkedid: (\S+)/.exec(status[0])![1];
  return { status, callId };
}

describe('PBX truth: calls already in progress when mctb connects', function () {
  this.timeout(60_000);

  it('AMI Status lists a withheld caller ringing: followed from there, marked midway, its presentation taken from the list', async () => {
    const { dir, cleanup } = tempDir();
    const { status, callId } = ringingCall();
    const server = new AmiReplayServer({ getvar: () => undefined, channels: () => status });
    const port = await server.listen();
    const smsc = new LoopbackSmsc({ receiptDelayMs: 20 });
    const smppPort = await smsc.listen();
    const config = testConfig({ dir, amiPort: port, smppPort });
    const { logger, lines } = testLogger();
    const daemon = new Daemon(config, logger);
    const decided: CallDecided[] = [];
    daemon.events.on('call.decided', (d) => decided.push(d));
    try {
      await daemon.start();
      await server.waitForLogin();
      await waitFor('the call followed', () => daemon.openCalls === 1);
      expect(lines.some((l) => /calls in progress when mctb connected are followed from here/.test(l))).to.equal(true);
      // The rest of the call: the phone leg and the caller hang up (NOANSWER).
      const leg = status[1];
      const legId = /Uniqueid: (\S+)/.exec(leg)![1];
      const legChannel = /Channel: (\S+)/.exec(leg)![1];
      const root = status[0];
      const rootChannel = /Channel: (\S+)/.exec(root)![1];
      await server.play(
        `Event: DialEnd\r\nChannel: ${rootChannel}\r\nUniqueid: ${callId}\r\nLinkedid: ${callId}\r\nDestChannel: ${legChannel}\r\nDestUniqueid: ${legId}\r\nDialStatus: NOANSWER\r\n\r\n` +
          `Event: Hangup\r\nChannel: ${legChannel}\r\nUniqueid: ${legId}\r\nLinkedid: ${callId}\r\nCause: 16\r\n\r\n` +
          `Event: VarSet\r\nChannel: ${rootChannel}\r\nUniqueid: ${callId}\r\nLinkedid: ${callId}\r\nVariable: DIALSTATUS\r\nValue: NOANSWER\r\n\r\n` +
          `Event: Hangup\r\nChannel: ${rootChannel}\r\nUniqueid: ${callId}\r\nLinkedid: ${callId}\r\nCause: 16\r\n\r\n`,
      );
      await waitFor('decided', () => decided.length === 1);
      expect(decided[0].call).to.include({ callId, outcome: 'noanswer', midway: true, withheld: true, presentation: 'withheld' });
      expect(decided[0].reason).to.equal('withheld');
      const row = await daemon.ledgerHandle.calls.get(callId);
      expect(row).to.include({ midway: 1, presentation: 'withheld' });
      expect(smsc.submits).to.have.length(0);
    } finally {
      await daemon.stop(1000);
      await server.close();
      await smsc.close();
      cleanup();
    }
  });

  it('ARI GET /channels lists a caller ringing: followed from there and texted when it ends unanswered', async () => {
    const { dir, cleanup } = tempDir();
    const channels = JSON.parse(readFileSync(join(ARI_CAPTURE_DIR, 'ari-channels-ringing.json'), 'utf8')) as { id: string; name: string; caller: { number: string } }[];
    const server = new AriReplayServer({ username: 'mctb', password: 'pw', getVariable: () => undefined, channels: () => channels });
    const port = await server.listen();
    const smsc = new LoopbackSmsc({ receiptDelayMs: 20 });
    const smppPort = await smsc.listen();
    const config = testConfig({
      dir,
      amiPort: 1,
      smppPort,
      top: { asterisk: { source: 'ari', ari: { url: `http://127.0.0.1:${port}`, username: 'mctb', password: 'pw', app: 'mctb' }, inbound_contexts: ['from-trunk'], decision_grace: '300ms' } },
    });
    const { logger } = testLogger();
    const daemon = new Daemon(config, logger);
    const decided: CallDecided[] = [];
    daemon.events.on('call.decided', (d) => decided.push(d));
    try {
      await daemon.start();
      await server.waitForClient();
      await waitFor('the call followed', () => daemon.openCalls === 1);
      const root = channels.find((c) => c.name.startsWith('PJSIP/trunk'))!;
      const leg = channels.find((c) => c !== root)!;
      const at = new Date().toISOString().replace('Z', '+0000');
      await server.play([
        JSON.stringify({ type: 'ChannelDestroyed', timestamp: at, cause: 16, cause_txt: 'Normal Clearing', channel: { ...leg, state: 'Ringing' } }),
        JSON.stringify({ type: 'Dial', timestamp: at, dialstatus: 'NOANSWER', caller: root, peer: leg }),
        JSON.stringify({ type: 'ChannelVarset', timestamp: at, variable: 'DIALSTATUS', value: 'NOANSWER', channel: root }),
        JSON.stringify({ type: 'ChannelHangupRequest', timestamp: at, soft: true, channel: root }),
        JSON.stringify({ type: 'ChannelDestroyed', timestamp: at, cause: 16, cause_txt: 'Normal Clearing', channel: root }),
      ]);
      await waitFor('decided', () => decided.length === 1);
      expect(decided[0].call).to.include({ callId: root.id, outcome: 'noanswer', midway: true, number: JANE });
      await waitFor('texted', () => smsc.submits.length === 1);
      expect(smsc.submits[0].destination).to.equal(JANE);
    } finally {
      await daemon.stop(1000);
      await server.close();
      await smsc.close();
      cleanup();
    }
  });
});

describe('PBX truth: a presentation the PBX never gave', function () {
  this.timeout(60_000);

  it('recorded as unknown and shown by mctb why; presentation_unknown: text texts it, skip does not; midway calls are shown as such', async () => {
    const { dir, cleanup } = tempDir('mctb-pres-');
    const ledgerPath = join(dir, 'mctb.db');
    // Two businesses on the busy and unavailable captures' DIDs; the old captures carry no
    // MCTB_PRES, and Getvar answers "No such channel" (the channel is gone).
    const businesses = [
      { name: 'Texts Anyway', dids: ['+15550001001'], delay: '0s' },
      { name: 'Careful Clinic', dids: ['+15550001007'], delay: '0s', presentation_unknown: 'skip' },
    ];
    const server = new AmiReplayServer({ getvar: () => undefined });
    const amiPort = await server.listen();
    const smsc = new LoopbackSmsc({ receiptDelayMs: 20 });
    const smppPort = await smsc.listen();
    const config = testConfig({ dir, amiPort, smppPort, businesses, top: { ledger: { path: ledgerPath } } });
    const daemon = new Daemon(config, testLogger().logger);
    const decided: CallDecided[] = [];
    daemon.events.on('call.decided', (d) => decided.push(d));
    try {
      await daemon.start();
      await server.waitForLogin();
      await server.play(loadCapture('busy'));
      await server.play(loadCapture('chanunavail'));
      await waitFor('two decisions', () => decided.length === 2);
      expect(decided.map((d) => [d.business, d.call.presentation, d.decision, d.reason])).to.deep.equal([
        ['Texts Anyway', 'unknown', 'text', 'missed'],
        ['Careful Clinic', 'unknown', 'no_text', 'presentation_unknown'],
      ]);
      await waitFor('one text', () => smsc.submits.length === 1);
      expect(smsc.submits[0].destination).to.equal(BUSY_CALLER);
    } finally {
      await daemon.stop(1000);
      await server.close();
      await smsc.close();
    }
    try {
      const configFile = join(dir, 'mctb.yaml');
      writeFileSync(configFile, YAML.stringify({ asterisk: { ami: { username: 'mctb', secret: 'x' } }, sms: { transport: 'log' }, ledger: { path: ledgerPath }, numbers: { default_country: 'US' }, businesses }));
      const why = await mctb(['why', UNAVAILABLE_CALLER, '-c', configFile]);
      expect(why.code, why.stderr).to.equal(0);
      expect(why.stdout).to.match(/not texted: presentation_unknown/);
      expect(why.stdout).to.include('presentation unknown: the PBX never said whether the caller withheld their number');
      expect(why.stdout).to.not.include('seen from the middle');
      // A call seen from the middle says so.
      const raw = await SqliteFile.open(ledgerPath);
      await raw.serial((st) => st.run(`UPDATE calls SET midway = 1 WHERE number = ?`, [UNAVAILABLE_CALLER]));
      await raw.close();
      const midway = await mctb(['why', UNAVAILABLE_CALLER, '-c', configFile]);
      expect(midway.stdout).to.include('seen from the middle: the call was already in progress when mctb (re)connected to the PBX');
    } finally {
      cleanup();
    }
  });
});
