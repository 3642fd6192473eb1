// Reloading the config without a restart (SIGHUP, `systemctl reload mctb`): a valid file is
// applied to the next call, an invalid one is refused with config check's own messages and the
// running config kept, a key that needs a restart is named and keeps its old value. The last test
// sends a real SIGHUP to a real `mctb run`.

import { expect } from 'chai';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { configCheck } from '../../src/cli/config-check';
import { reloadConfig } from '../../src/cli/run';
import { changedPaths, planReload } from '../../src/config/reload';
import { AmiReplayServer, loadCapture, rewriteCapture } from '../../src/demo/ami-replay';
import { LoopbackSmsc } from '../../src/demo/loopback-smsc';
import { startDaemon, yamlConfig } from '../support/cli';
import { business, sleep, tempDir, testConfig, testConfigYaml, waitFor, type BusinessYaml } from '../support/harness';
import { startPipeline, type Pipeline } from '../support/pipeline';

const OLD_TEXT = 'Old words from {{business.name}}.';
const NEW_TEXT = 'New words from {{business.name}}: we will call you back.';

/** The noanswer capture again, as a new call (new ids, a later time) from another caller. */
function anotherCall(shiftSeconds: number, caller: string): string {
  return rewriteCapture(loadCapture('noanswer'), shiftSeconds, { '+14155550123': caller });
}

describe('config reload (SIGHUP)', function () {
  this.timeout(30_000);
  let p: Pipeline | undefined;
  afterEach(async () => {
    await p?.stop();
    p = undefined;
  });

  /** The running pipeline's config file as YAML, with other businesses or top-level sections. */
  function configFile(pipeline: Pipeline, businesses: BusinessYaml[], top: Record<string, unknown> = {}): string {
    const file = join(pipeline.dir, 'mctb.yaml');
    const c = pipeline.config;
    writeFileSync(file, testConfigYaml({ dir: pipeline.dir, amiPort: c.asterisk.ami.port, smppPort: c.sms.smpp!.port, businesses, top }));
    return file;
  }

  it('a valid file is applied: the next missed call gets the new text, the call before kept the old one', async () => {
    p = await startPipeline({ businesses: [business({ message: OLD_TEXT })] });
    await p.pbx.play(loadCapture('noanswer'));
    await p.decisions(1);
    await waitFor('first text', () => p!.smsc.submits.length === 1);
    expect(p.smsc.submits[0].text).to.equal('Old words from Brightside Dental.');

    const file = configFile(p, [business({ message: NEW_TEXT })]);
    expect(reloadConfig(p.daemon, file, p.logger)).to.equal(true);
    const reloaded = p.logLines.find((l) => l.includes('config reloaded'));
    expect(reloaded, p.logLines.join('\n')).to.include('changed="businesses[Brightside Dental].message,');
    expect(p.logLines.filter((l) => / warn /.test(l) && l.includes('restart'))).to.deep.equal([]);

    await p.pbx.play(anotherCall(600, '+14155550199'));
    await p.decisions(2);
    await waitFor('second text', () => p!.smsc.submits.length === 2);
    expect(p.smsc.submits[1]).to.include({ destination: '+14155550199', text: 'New words from Brightside Dental: we will call you back.' });
    // Nothing lost or sent twice: two calls, two texts, each delivered once.
    await sleep(500);
    expect(p.smsc.submits).to.have.length(2);
    const sends = await p.daemon.ledgerHandle.sends.list();
    expect(sends.map((s) => s.state).sort()).to.deep.equal(['delivered', 'delivered']);
  });

  it('a call being followed and a text waiting when the config is reloaded are neither dropped nor doubled', async () => {
    p = await startPipeline({ businesses: [business({ message: OLD_TEXT, delay: '2s' })] });
    await p.pbx.play(loadCapture('noanswer'));
    const [d] = await p.decisions(1);
    expect(d.decision).to.equal('text');
    expect(p.smsc.submits).to.have.length(0); // waiting for its delay
    reloadConfig(p.daemon, configFile(p, [business({ message: NEW_TEXT, delay: '0s' })]), p.logger);
    await waitFor('the waiting text', () => p!.smsc.submits.length === 1, 10_000);
    // Written when the call was decided: the old words.
    expect(p.smsc.submits[0].text).to.equal('Old words from Brightside Dental.');
    await sleep(500);
    expect(p.smsc.submits).to.have.length(1);
  });

  it('an invalid file is refused with the messages config check prints, and the running config still works', async () => {
    p = await startPipeline({ businesses: [business({ message: OLD_TEXT })] });
    const file = configFile(p, [business({ message: NEW_TEXT, delay: 'soon' })]);
    expect(reloadConfig(p.daemon, file, p.logger)).to.equal(false);

    let checkErr = '';
    const code = configCheck(file, { write: () => true } as unknown as NodeJS.WritableStream, { write: (s: string) => ((checkErr += s), true) } as unknown as NodeJS.WritableStream);
    expect(code).to.equal(2);
    const problems = checkErr.split('\n').filter((l) => l.startsWith(`${file}:`));
    expect(problems).to.have.length(1);
    expect(problems[0]).to.match(/:\d+:\d+: businesses\[0\]\.delay: /);
    const log = p.logLines.join('\n');
    for (const line of problems) expect(log).to.include(`config: ${line}`);
    expect(log).to.match(/error mctb: config reload refused: 1 problem in the configuration; the running config is kept/);
    expect(log).not.to.include('config reloaded');

    await p.pbx.play(loadCapture('noanswer'));
    await p.decisions(1);
    await waitFor('text', () => p!.smsc.submits.length === 1);
    expect(p.smsc.submits[0].text).to.equal('Old words from Brightside Dental.');
  });

  it('a changed key that needs a restart is named in a warning and keeps its old value; the rest is applied', async () => {
    p = await startPipeline({ businesses: [business({ message: OLD_TEXT })] });
    const file = join(p.dir, 'mctb.yaml');
    const c = p.config;
    const yaml = testConfigYaml({ dir: p.dir, amiPort: c.asterisk.ami.port + 1, smppPort: c.sms.smpp!.port, businesses: [business({ message: NEW_TEXT })], top: { log: { level: 'info', format: 'json' } } });
    writeFileSync(file, yaml);
    expect(reloadConfig(p.daemon, file, p.logger)).to.equal(true);
    const warnings = p.logLines.filter((l) => / warn /.test(l) && l.includes('only after a restart'));
    expect(warnings.map((l) => /key=(\S+)/.exec(l)?.[1])).to.deep.equal(['asterisk.ami.port', 'log.format']);
    expect(p.daemon.config.asterisk.ami.port).to.equal(c.asterisk.ami.port);
    expect(p.daemon.config.log).to.deep.equal({ level: 'info', format: 'text' });
    // Still connected to the same PBX, and the new text is used.
    await p.pbx.play(loadCapture('noanswer'));
    await p.decisions(1);
    await waitFor('text', () => p!.smsc.submits.length === 1);
    expect(p.smsc.submits[0].text).to.equal('New words from Brightside Dental: we will call you back.');
    // log.level applied: debug lines stop.
    const before = p.logLines.length;
    p.logger.debug('a debug line');
    expect(p.logLines.length).to.equal(before);
  });

  it('a real `mctb run` reloads on SIGHUP and refuses an invalid file, running on', async function () {
    this.timeout(60_000);
    const { dir, cleanup } = tempDir('mctb-reload-');
    const pbx = new AmiReplayServer({ getvar: () => 'allowed' });
    const smsc = new LoopbackSmsc({ receiptDelayMs: 20 });
    const configFile = join(dir, 'mctb.yaml');
    const amiPort = await pbx.listen();
    const smppPort = await smsc.listen();
    const base = { amiPort, smppPort, ledger: join(dir, 'mctb.db') };
    const withMessage = (message: string) => yamlConfig(base).replace('dedupe_window: 1h', `dedupe_window: 1h\n  message: ${JSON.stringify(message)}`);
    writeFileSync(configFile, withMessage(OLD_TEXT));
    let d: ReturnType<typeof startDaemon> | undefined;
    try {
      d = startDaemon(configFile);
      await pbx.waitForLogin(15_000);
      await waitFor('started', () => d!.log().includes('mctb started'), 15_000);

      writeFileSync(configFile, withMessage(NEW_TEXT));
      d.child.kill('SIGHUP');
      await waitFor('reloaded', () => d!.log().includes('config reloaded'), 10_000);
      expect(d.log()).to.include('SIGHUP: reading the config again');
      await pbx.play(loadCapture('noanswer'));
      await waitFor('text', () => smsc.submits.length === 1, 10_000);
      expect(smsc.submits[0].text).to.equal('New words from Brightside Dental: we will call you back.');

      writeFileSync(configFile, withMessage(NEW_TEXT).replace('delay: 0s', 'delay: soon'));
      d.child.kill('SIGHUP');
      await waitFor('refused', () => d!.log().includes('config reload refused'), 10_000);
      expect(d.log()).to.match(new RegExp(`config: ${configFile.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:\\d+:\\d+: defaults\\.delay: `));
      expect(d.child.exitCode).to.equal(null);

      d.child.kill('SIGTERM');
      const stopped = await d.exited;
      expect(stopped.code, d.log()).to.equal(0);
    } finally {
      d?.child.kill('SIGKILL');
      await pbx.close();
      await smsc.close();
      cleanup();
    }
  });
});

describe('planReload (src/config/reload.ts)', () => {
  const dir = '/nonexistent';
  const cfg = (o: { amiPort?: number; top?: Record<string, unknown>; businesses?: BusinessYaml[] } = {}) =>
    testConfig({ dir, amiPort: o.amiPort ?? 5038, smppPort: 2775, businesses: o.businesses, top: o.top });

  it('names the keys that apply now and those that need a restart, keeping the old value of the latter', () => {
    const before = cfg();
    const after = cfg({ amiPort: 5039, top: { http: { listen: '127.0.0.1:9465' }, compliance: { stop_words: ['STOP', 'ARRET'] } }, businesses: [business({ delay: '1m' }), business({ name: 'Second', dids: ['+15550002000'] })] });
    const plan = planReload(before, after);
    expect(plan.needRestart).to.deep.equal(['asterisk.ami.port', 'http.listen']);
    expect(plan.applied).to.deep.equal(['compliance.stop_words', 'businesses[Brightside Dental].delay', 'businesses[Second] (added)']);
    expect(plan.config.asterisk).to.equal(before.asterisk);
    expect(plan.config.http).to.equal(undefined);
    expect(plan.config.businesses).to.equal(after.businesses);
  });

  it('finds nothing to do in the same config', () => {
    expect(planReload(cfg(), cfg())).to.deep.include({ applied: [], needRestart: [] });
  });

  it('changedPaths compares lists as one value and a missing section as an empty one', () => {
    expect(changedPaths({ a: [1, 2], b: { c: 1 } }, { a: [1, 3], b: { c: 1 } })).to.deep.equal([['a']]);
    expect(changedPaths(undefined, { host: 'h', port: 1 })).to.deep.equal([['host'], ['port']]);
  });
});
