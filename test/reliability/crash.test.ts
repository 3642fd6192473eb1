// Reliability 1, crash: 500 missed calls stream in while the real `mctb run` process is SIGKILLed
// and started again 5 times, at moments drawn from a seeded PRNG (just after the gateway took a
// text, when texts are most likely on the wire). Every call is texted at least once; a call is
// texted twice only when its text was on the wire at a kill, and then the ledger says so
// (sends.interrupted > 0). The submit_sm seen by the SMSC are counted against the ledger.
//
// Harness design: a real PBX does not replay the calls a dead mctb missed. Here each call is one
// write, and after every restart the harness plays again each call already played whose row is
// not in the ledger (same ids: the ledger ignores a call id it has, so this is idempotent). A
// call counts as handed to mctb once its ledger row exists. After the last restart nothing is
// replayed: every call played to a live daemon must reach the ledger on its own.
//
// Why not "interrupted exactly for the doubles": the ledger moves a send to `sending` before it
// goes on the wire, so a send killed between that write and the wire is interrupted too and goes
// out once. What holds, and is checked: sent ≤ 1 + interrupted for every call, sent ≥ 2 only with
// interrupted > 0, and a double's first copy reached the SMSC before a kill and its second after.

import { expect } from 'chai';
import { once } from 'node:events';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { AmiReplayServer } from '../../src/demo/ami-replay';
import { LoopbackSmsc } from '../../src/demo/loopback-smsc';
import type { SqliteFile } from '../../src/ledger/sqlite';
import { sleep, tempDir, waitFor } from '../support/harness';
import { callerNumber, missedCall, openLedgerReader, reliabilityYaml, seeded, startMctb, tally, type MctbProcess } from '../support/reliability';

const CALLS = 500;
const KILLS = 5;

interface Send {
  id: number;
  call_id: string;
  number: string;
  state: string;
  attempts: number;
  interrupted: number;
}

describe('reliability: crash (real mctb process, SIGKILL at random moments)', function () {
  this.timeout(60_000);

  it(`texts each of ${CALLS} missed calls once across ${KILLS} SIGKILLs; a double only for a text on the wire at a kill, marked interrupted`, async () => {
    const rnd = seeded('crash', 20261122);
    const { dir, cleanup } = tempDir('mctb-rel-crash-');
    const pbx = new AmiReplayServer();
    const smsc = new LoopbackSmsc(); // no receipts: sends end `submitted`
    const ledgerPath = join(dir, 'mctb.db');
    const configFile = join(dir, 'mctb.yaml');
    writeFileSync(configFile, reliabilityYaml({ amiPort: await pbx.listen(), smppPort: await smsc.listen(), ledger: ledgerPath, tps: 500 }));

    const calls = Array.from({ length: CALLS }, (_, i) => missedCall(i + 1, callerNumber(i)));
    // Kill i comes once the SMSC has taken `afterSubmits` texts, `jitterMs` later.
    const targets = new Set<number>();
    while (targets.size < KILLS) targets.add(rnd.int(20, CALLS - 30));
    const kills = [...targets].sort((a, b) => a - b).map((afterSubmits) => ({ afterSubmits, jitterMs: rnd.int(0, 25) }));
    console.log(`      [crash] kills after submits ${kills.map((k) => `${k.afterSubmits}+${k.jitterMs}ms`).join(', ')}`);

    let proc: MctbProcess | undefined;
    let reader: SqliteFile | undefined;
    const killedAt: number[] = [];
    const start = async () => {
      const login = once(pbx, 'login');
      proc = startMctb(configFile);
      await Promise.race([login, proc.exited.then(() => Promise.reject(new Error(`mctb exited\n${proc!.log()}`))), sleep(20_000).then(() => Promise.reject(new Error('no AMI login')))]);
    };
    const recorded = async () => new Set((await reader!.all<{ call_id: string }>('SELECT call_id FROM calls')).map((r) => r.call_id));

    try {
      await start();
      reader = await openLedgerReader(ledgerPath);
      let played = 0;
      let replayed = 0;
      for (const kill of kills) {
        // Stream calls (one write each, a few ms apart) until the SMSC has taken enough texts.
        while (smsc.submits.length < kill.afterSubmits) {
          if (played < CALLS) {
            await pbx.play(calls[played++].events);
            await sleep(3);
          } else {
            await sleep(5);
          }
        }
        await sleep(kill.jitterMs);
        proc!.child.kill('SIGKILL');
        const died = await proc!.exited;
        expect(died.signal).to.equal('SIGKILL');
        killedAt.push(Date.now());
        await waitFor('the PBX to see the client go', () => pbx.clientCount === 0, 5000);
        await start();
        // Calls played but not in the ledger never reached it (or died with it): play them again.
        const have = await recorded();
        const missing = calls.slice(0, played).filter((c) => !have.has(c.callId));
        replayed += missing.length;
        for (const c of missing) await pbx.play(c.events);
      }
      while (played < CALLS) {
        await pbx.play(calls[played++].events);
        await sleep(3);
      }
      console.log(`      [crash] ${replayed} calls played again after restarts`);

      // Every call reaches the ledger, and every text leaves it.
      await waitFor(`all ${CALLS} calls in the ledger`, async () => (await recorded()).size === CALLS, 30_000, 200);
      const sends = await waitFor(
        'every text submitted',
        async () => {
          const rows = await reader!.all<Send>(`SELECT id, call_id, number, state, attempts, interrupted FROM sends WHERE kind = 'text_back' ORDER BY id`);
          return rows.length === CALLS && rows.every((r) => r.state === 'submitted') && rows;
        },
        30_000,
        200,
      );
      await sleep(500); // nothing more arrives
      const decisions = await reader.all<{ n: number; decision: string; reason: string }>('SELECT COUNT(*) AS n, decision, reason FROM calls GROUP BY decision, reason');
      expect(decisions).to.deep.equal([{ n: CALLS, decision: 'text', reason: 'missed' }]);

      const byNumber = new Map(sends.map((s) => [s.number, s]));
      expect(new Set(sends.map((s) => s.call_id)).size, 'one text per call').to.equal(CALLS);
      const sent = tally(smsc.submits, (s) => s.destination);
      const unknown = [...sent.keys()].filter((n) => !byNumber.has(n));
      expect(unknown, 'texts the ledger does not know').to.deep.equal([]);

      let doubles = 0;
      let interruptedOnce = 0;
      for (const c of calls) {
        const row = byNumber.get(c.number)!;
        const n = sent.get(c.number) ?? 0;
        expect(n, `call ${c.callId} (${c.number}) texted`).to.be.at.least(1);
        expect(n, `call ${c.callId} texted ${n} times with interrupted=${row.interrupted}`).to.be.at.most(1 + row.interrupted);
        if (n >= 2) {
          doubles++;
          // The first copy went out before a kill, the second after it.
          const at = smsc.submits.filter((s) => s.destination === c.number).map((s) => s.at);
          expect(killedAt.some((k) => at[0] <= k && k <= at[1]), `a kill between the two copies to ${c.number}`).to.equal(true);
        } else if (row.interrupted > 0) {
          interruptedOnce++;
        }
      }
      console.log(`      [crash] ${smsc.submits.length} submit_sm for ${CALLS} calls: ${doubles} sent twice (each interrupted), ${interruptedOnce} interrupted but sent once (killed before the wire)`);

      // A clean stop after all that.
      proc!.child.kill('SIGTERM');
      expect((await proc!.exited).code, proc!.log().slice(-2000)).to.equal(0);
    } finally {
      proc?.child.kill('SIGKILL');
      await reader?.close();
      await pbx.close();
      await smsc.close();
      cleanup();
    }
  });
});
