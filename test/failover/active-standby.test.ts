// Active/standby: two real `mctb run` processes with the same config (site, businesses) on two
// "machines" (each its own PBX connection replaying the same calls), one PostgreSQL ledger and
// one SMSC. 200 missed calls come at 10/s; midway the active daemon is SIGKILLed. The standby
// takes over within the bound (src/failover/active-lock.ts), every caller is texted once (a double
// only for a text on the wire at the kill, marked interrupted), and nothing is left scheduled.

import { expect } from 'chai';
import { once } from 'node:events';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { AmiReplayServer } from '../../src/demo/ami-replay';
import { LoopbackSmsc } from '../../src/demo/loopback-smsc';
import { FAILOVER_BOUND_MS } from '../../src/failover/active-lock';
import { Ledger } from '../../src/ledger/ledger';
import { sleep, tempDir, waitFor } from '../support/harness';
import { pgLedger } from '../support/pg-ledger';
import { callerNumber, getHealth, missedCall, reliabilityYaml, startMctb, tally, type MctbProcess } from '../support/reliability';

const CALLS = 200;
const KILL_AFTER = 100;

describe('failover: active/standby on one PostgreSQL (real mctb processes, SIGKILL)', function () {
  this.timeout(120_000);

  it(`${CALLS} missed calls at 10/s; the active daemon is SIGKILLed midway; the standby takes over within ${FAILOVER_BOUND_MS / 1000} s; each caller texted once`, async () => {
    expect(FAILOVER_BOUND_MS).to.be.at.most(15_000);
    const pg = await pgLedger('failover');
    const { dir, cleanup } = tempDir('mctb-failover-');
    const smsc = new LoopbackSmsc();
    const smppPort = await smsc.listen();
    const pbxA = new AmiReplayServer();
    const pbxB = new AmiReplayServer();
    const env = { MCTB_LEDGER_PASSWORD: pg.password };
    const config = async (name: string, pbx: AmiReplayServer) => {
      const file = join(dir, `${name}.yaml`);
      writeFileSync(file, reliabilityYaml({ amiPort: await pbx.listen(), smppPort, ledger: pg.url, http: true, site: 'north' }));
      return file;
    };
    const fileA = await config('a', pbxA);
    const fileB = await config('b', pbxB);
    let a: MctbProcess | undefined;
    let b: MctbProcess | undefined;
    const reader = await Ledger.open({ driver: 'postgres', url: pg.full });
    try {
      const loginA = once(pbxA, 'login');
      a = startMctb(fileA, { env });
      await loginA;
      const portA = await a.healthPort();
      await waitFor('A active', async () => (await getHealth(portA)).body.role === 'active', 15_000, 100);
      const loginB = once(pbxB, 'login');
      b = startMctb(fileB, { env });
      await loginB;
      const portB = await b.healthPort();
      await sleep(2500);
      expect((await getHealth(portB)).body.role, 'the second daemon of the site waits').to.equal('standby');

      const calls = Array.from({ length: CALLS }, (_, i) => missedCall(i + 1, callerNumber(i)));
      let killedAt = 0;
      let tookOverAt = 0;
      let watching: Promise<void> | undefined;
      for (let i = 0; i < CALLS; i++) {
        if (i === KILL_AFTER) {
          a.child.kill('SIGKILL');
          killedAt = Date.now();
          expect((await a.exited).signal).to.equal('SIGKILL');
          watching = waitFor('B active', async () => (await getHealth(portB)).body.role === 'active', 30_000, 100).then(() => {
            tookOverAt = Date.now();
          });
        }
        if (i < KILL_AFTER) await pbxA.play(calls[i].events);
        await pbxB.play(calls[i].events);
        await sleep(100);
      }
      await watching;
      const takeover = tookOverAt - killedAt;
      console.log(`      [failover] standby active ${takeover} ms after the SIGKILL (bound ${FAILOVER_BOUND_MS} ms)`);
      expect(takeover).to.be.at.most(FAILOVER_BOUND_MS);

      await waitFor(`all ${CALLS} calls in the ledger`, async () => (await reader.database.get<{ n: number }>('SELECT COUNT(*) AS n FROM calls'))?.n === CALLS, 30_000, 200);
      const sends = await waitFor(
        'every text out of the outbox',
        async () => {
          const rows = await reader.database.all<{ number: string; state: string; interrupted: number }>(`SELECT number, state, interrupted FROM sends WHERE kind = 'text_back'`);
          return rows.length === CALLS && rows.every((r) => r.state === 'submitted' || r.state === 'delivered') && rows;
        },
        30_000,
        200,
      );
      expect((await reader.database.get<{ n: number }>(`SELECT COUNT(*) AS n FROM sends WHERE state IN ('scheduled','sending')`))?.n, 'nothing left scheduled').to.equal(0);
      await sleep(500);
      const sent = tally(smsc.submits, (s) => s.destination);
      const byNumber = new Map(sends.map((s) => [s.number, s]));
      let doubles = 0;
      for (const c of calls) {
        const n = sent.get(c.number) ?? 0;
        const row = byNumber.get(c.number)!;
        expect(n, `${c.number} texted`).to.be.at.least(1);
        expect(n, `${c.number} texted ${n} times, interrupted=${row.interrupted}`).to.be.at.most(1 + row.interrupted);
        if (n > 1) doubles++;
      }
      expect([...sent.keys()].filter((k) => !byNumber.has(k)), 'texts the ledger does not know').to.deep.equal([]);
      console.log(`      [failover] ${smsc.submits.length} submit_sm for ${CALLS} calls, ${doubles} sent twice (each marked interrupted)`);
    } finally {
      a?.child.kill('SIGKILL');
      b?.child.kill('SIGTERM');
      await b?.exited;
      await reader.close();
      await pbxA.close();
      await pbxB.close();
      await smsc.close().catch(() => undefined);
      cleanup();
    }
  });
});
