// `mctb send-test NUMBER` through the loopback SMSC (bind with credentials, submit, delivery
// receipt) and the dry-run transport; the test text is recorded as a manual send.

import { expect } from 'chai';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ledger } from '../../src/ledger/ledger';
import { LoopbackSmsc } from '../../src/demo/loopback-smsc';
import { ModemSimulator } from '../../src/demo/modem-sim';
import { tempDir } from '../support/harness';
import { mctb, yamlConfig } from '../support/cli';

const JANE = '+14155550123';
const TEXT = 'Hi, this is Brightside Dental. Sorry we missed your call! How can we help?';

describe('mctb send-test', function () {
  this.timeout(60_000);
  let dir: string;
  let cleanup: () => void;
  let smsc: LoopbackSmsc | undefined;
  beforeEach(() => ({ dir, cleanup } = tempDir('mctb-send-test-')));
  afterEach(async () => {
    await smsc?.close();
    smsc = undefined;
    cleanup();
  });

  const config = (smppPort: number, extra = '') => {
    const file = join(dir, 'mctb.yaml');
    writeFileSync(file, yamlConfig({ amiPort: 5038, smppPort, ledger: join(dir, 'mctb.db'), extra }));
    return file;
  };

  it('binds, submits and reports the delivery receipt; the send shows in `mctb sends` as a delivered manual send', async () => {
    smsc = new LoopbackSmsc({ credentials: { system_id: 'mctb', password: 'pw' }, receiptDelayMs: 50 });
    const port = await smsc.listen();
    const file = config(port);
    const r = await mctb(['send-test', '415 555 0123', '-c', file]);
    expect(r.code, r.stdout + r.stderr).to.equal(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines[0]).to.match(new RegExp(`^Brightside Dental, (open|closed) hours now: ${JSON.stringify(TEXT).replace(/[?!.]/g, '\\$&')}$`));
    expect(lines[1]).to.equal(`  GSM-7, 1 segment; from +15550001000 to ${JANE}`);
    expect(lines[2]).to.equal(`binding to 127.0.0.1:${port} as "mctb"…`);
    expect(lines[3]).to.equal('bound');
    expect(lines[4]).to.match(/^submitted \(message id (\S+); send (\d+)\)$/);
    expect(lines[5]).to.equal('delivered');
    expect(smsc.submits).to.have.length(1);
    expect(smsc.submits[0]).to.include({ destination: JANE, source: '+15550001000', text: TEXT });
    expect(lines[4]).to.include(smsc.submits[0].messageId);

    const sends = (await mctb(['sends', '--json', '-c', file])).stdout.trim().split('\n').map((l) => JSON.parse(l));
    expect(sends).to.have.length(1);
    expect(sends[0]).to.include({ kind: 'manual', state: 'delivered', number: JANE, body: TEXT, call_id: null, attempts: 1 });
    expect(sends[0].message_ids).to.deep.equal([smsc.submits[0].messageId]);
    expect(smsc.sessionCount).to.equal(0); // unbound and gone
  });

  it('a receipt saying undeliverable: exit 1, "not delivered"', async () => {
    smsc = new LoopbackSmsc({ receiptDelayMs: 20, receiptStat: 'UNDELIV' });
    const file = config(await smsc.listen());
    const r = await mctb(['send-test', JANE, '-c', file]);
    expect(r.code).to.equal(1);
    expect(r.stdout).to.match(/^submitted \(message id /m);
    expect(r.stdout).to.match(/^not delivered: receipt_undeliverable/m);
  });

  it('the gateway refuses the text: exit 1, recorded as failed', async () => {
    smsc = new LoopbackSmsc({ answer: () => 0x0b /* ESME_RINVDSTADR */ });
    const file = config(await smsc.listen());
    const r = await mctb(['send-test', JANE, '-c', file]);
    expect(r.code).to.equal(1);
    expect(r.stdout).to.match(/^not submitted: ESME_RINVDSTADR \(send \d+ marked failed\)$/m);
    const l = await Ledger.open(join(dir, 'mctb.db'));
    const [s] = await l.sends.list();
    expect(s).to.include({ kind: 'manual', state: 'failed', reason: 'gateway_rejected', error: 'ESME_RINVDSTADR' });
    await l.close();
  });

  it('through a GSM modem (a simulated one on a pseudo-terminal): opens, submits, reports the status report', async () => {
    const sim = new ModemSimulator({ pin: '1234' });
    const device = await sim.start();
    try {
      // The simulated network confirms delivery, as a real SMSC does with a status report.
      sim.on('submit', (s) => void sim.statusReport(s.mr, 0).catch(() => undefined));
      const file = join(dir, 'modem.yaml');
      writeFileSync(file, yamlConfig({ amiPort: 5038, smppPort: 2775, ledger: join(dir, 'mctb.db') }).replace(/sms:\n {2}transport: smpp\n {2}smpp: .*\n/, `sms:\n  transport: modem\n  modem: { device: ${JSON.stringify(device)}, pin: "1234" }\n`));
      const r = await mctb(['send-test', JANE, '-c', file]);
      expect(r.code, r.stdout + r.stderr).to.equal(0);
      const lines = r.stdout.trim().split('\n');
      expect(lines.slice(2, 4)).to.deep.equal([`opening ${device}…`, 'modem ready']);
      expect(lines[4]).to.match(/^submitted \(message id \S+; send \d+\)$/);
      expect(lines[5]).to.equal('delivered');
      expect(sim.submits.map((s) => [s.to, s.text])).to.deep.equal([[JANE, TEXT]]);
    } finally {
      await sim.stop();
    }
  });

  it('with the log transport prints the text and records it; refuses an opted-out number and an unknown business', async () => {
    const file = join(dir, 'log.yaml');
    writeFileSync(file, yamlConfig({ amiPort: 5038, smppPort: 2775, ledger: join(dir, 'mctb.db') }).replace(/sms:\n {2}transport: smpp\n {2}smpp: .*\n/, 'sms:\n  transport: log\n'));
    const r = await mctb(['send-test', JANE, '-c', file]);
    expect(r.code, r.stderr).to.equal(0);
    expect(r.stdout).to.include(JSON.stringify(TEXT));
    expect(r.stdout).to.match(/^dry run \(sms\.transport: log\): not sent, recorded as send \d+ \(message id log-\w+\)$/m);
    const l = await Ledger.open(join(dir, 'mctb.db'));
    expect((await l.sends.list())[0]).to.include({ kind: 'manual', state: 'submitted', body: TEXT });
    await l.optOuts.add(JANE, '*', 'admin', Date.now());
    await l.close();
    const opted = await mctb(['send-test', JANE, '-c', file]);
    expect(opted.code).to.equal(1);
    expect(opted.stderr).to.include('opted out');
    const unknown = await mctb(['send-test', JANE, '--business', 'Nobody', '-c', file]);
    expect(unknown.code).to.equal(2);
  });
});
