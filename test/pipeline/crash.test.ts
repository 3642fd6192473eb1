// Must-show 3: the daemon (the real `mctb run` process) is SIGKILLed after the text was
// scheduled and before it was sent; started again, it sends the text exactly once.

import { expect } from 'chai';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import sqlite3 from 'sqlite3';
import { AmiReplayServer, loadCapture } from '../../src/demo/ami-replay';
import { LoopbackSmsc } from '../../src/demo/loopback-smsc';
import { SqliteFile } from '../../src/ledger/sqlite';
import { sleep, tempDir, waitFor } from '../support/harness';
import { startDaemon, yamlConfig } from '../support/cli';

interface SendRow {
  id: number;
  state: string;
  attempts: number;
  interrupted: number;
  due_at: number;
}

describe('crash safety (real mctb process, SIGKILL)', function () {
  this.timeout(60_000);

  it('a text scheduled before a SIGKILL is sent exactly once after the restart', async () => {
    const { dir, cleanup } = tempDir('mctb-crash-');
    const pbx = new AmiReplayServer({ getvar: () => 'allowed' });
    const smsc = new LoopbackSmsc({ receiptDelayMs: 20 });
    const ledgerPath = join(dir, 'mctb.db');
    const configFile = join(dir, 'mctb.yaml');
    writeFileSync(configFile, yamlConfig({ amiPort: await pbx.listen(), smppPort: await smsc.listen(), ledger: ledgerPath, delay: '3s' }));
    let first: ReturnType<typeof startDaemon> | undefined;
    let second: ReturnType<typeof startDaemon> | undefined;
    let reader: SqliteFile | undefined;
    try {
      first = startDaemon(configFile);
      await pbx.waitForLogin(15_000);
      await pbx.play(loadCapture('noanswer'));
      reader = await waitFor('ledger file', () => SqliteFile.open(ledgerPath, sqlite3.OPEN_READONLY).catch(() => undefined));
      const scheduled = await waitFor('scheduled send', async () => {
        const rows = await reader!.all<SendRow>('SELECT id, state, attempts, interrupted, due_at FROM sends').catch(() => []);
        return rows.length === 1 && rows[0].state === 'scheduled' && rows[0];
      });
      expect(scheduled.due_at).to.be.greaterThan(Date.now());
      first.child.kill('SIGKILL');
      const died = await first.exited;
      expect(died.signal).to.equal('SIGKILL');
      expect(smsc.submits).to.have.length(0);

      second = startDaemon(configFile);
      await waitFor('the text after restart', () => smsc.submits.length >= 1, 20_000);
      const sent = await waitFor('delivered', async () => {
        const row = await reader!.get<SendRow>('SELECT id, state, attempts, interrupted, due_at FROM sends WHERE id = ?', [scheduled.id]);
        return row?.state === 'delivered' && row;
      });
      await sleep(1500);
      expect(smsc.submits).to.have.length(1);
      expect(smsc.submits[0].destination).to.equal('+14155550123');
      expect(sent).to.include({ attempts: 1, interrupted: 0 });
      const calls = await reader.all('SELECT call_id FROM calls');
      expect(calls).to.have.length(1);

      // A clean stop: SIGTERM ends it with exit 0.
      second.child.kill('SIGTERM');
      const stopped = await second.exited;
      expect(stopped.code, second.log()).to.equal(0);
      expect(second.log()).to.include('mctb stopped');
    } finally {
      first?.child.kill('SIGKILL');
      second?.child.kill('SIGKILL');
      await reader?.close();
      await pbx.close();
      await smsc.close();
      cleanup();
    }
  });
});
