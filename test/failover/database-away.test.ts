// The PostgreSQL ledger goes away for 20 s (the cluster is stopped) while calls keep coming: the
// daemon does not crash, /healthz answers non-200 meanwhile, the calls wait in the retry queue
// (nothing lost), and once the database is back every call is recorded and texted.

import { expect } from 'chai';
import { business, sleep, waitFor } from '../support/harness';
import { clusterFromEnv } from '../support/pg-cluster';
import { pgLedger } from '../support/pg-ledger';
import { startPipeline, type Pipeline } from '../support/pipeline';
import { callerNumber, getHealth, missedCall, NO_LIMITS } from '../support/reliability';

describe('failover: the PostgreSQL ledger away for 20 s', function () {
  this.timeout(120_000);
  let p: Pipeline | undefined;
  afterEach(async () => {
    await clusterFromEnv().start().catch(() => undefined);
    await p?.stop();
  });

  it('no crash, /healthz non-200 meanwhile, every call kept and texted once the database is back', async function () {
    const cluster = clusterFromEnv();
    if (!cluster.dir) this.skip(); // a database given from outside cannot be stopped here
    const pg = await pgLedger('away');
    p = await startPipeline({
      businesses: [business({ limits: NO_LIMITS })],
      top: { ledger: { driver: 'postgres', url: pg.url, password: pg.password }, http: { listen: '127.0.0.1:0' } },
    });
    const port = p.daemon.healthPort!;
    const before = Array.from({ length: 3 }, (_, i) => missedCall(i + 1, callerNumber(i + 1)));
    for (const c of before) await p.pbx.play(c.events);
    await waitFor('3 texts', () => p!.smsc.submits.length >= 3, 15_000);
    // Their submission recorded too: a text whose `submitted` is not yet written when the database
    // goes is sent again once it is back, marked interrupted (as after a crash), checked below.
    const ledgerRows = async () => p!.daemon.ledgerHandle.database.all<{ number: string; state: string; interrupted: number }>(`SELECT number, state, interrupted FROM sends WHERE kind = 'text_back'`);
    await waitFor('3 texts recorded as submitted', async () => (await ledgerRows()).filter((r) => r.state === 'submitted' || r.state === 'delivered').length === 3, 15_000, 50);
    await waitFor('healthy and active', async () => {
      const h = await getHealth(port);
      return h.status === 200 && h.body.role === 'active';
    }, 15_000, 100);

    await cluster.stop();
    const stoppedAt = Date.now();
    const during = Array.from({ length: 5 }, (_, i) => missedCall(i + 10, callerNumber(i + 10)));
    const statuses: number[] = [];
    for (const c of during) {
      await p.pbx.play(c.events);
      await sleep(1000);
      statuses.push((await getHealth(port)).status);
    }
    while (Date.now() - stoppedAt < 20_000) {
      statuses.push((await getHealth(port)).status);
      await sleep(1000);
    }
    expect(statuses.length).to.be.at.least(15);
    expect(statuses.every((s) => s !== 200), `/healthz while the database was away: ${statuses.join(' ')}`).to.equal(true);
    expect(p.smsc.submits.length, 'nothing sent while the database was away').to.equal(3);
    const away = await getHealth(port);
    expect(away.body.ledger.up).to.equal(false);
    expect(away.body.retry_queue.calls, 'the calls wait in the retry queue').to.equal(5);

    await cluster.start();
    const texted = await waitFor('8 texts after the database came back', () => p!.smsc.submits.length >= 8 && p!.smsc.submits, 30_000, 100);
    expect(new Set(texted.map((s) => s.destination))).to.deep.equal(new Set([...before, ...during].map((c) => c.number)));
    await waitFor('healthy again', async () => (await getHealth(port)).status === 200, 15_000, 200);
    await sleep(500);
    const rows = await ledgerRows();
    expect(rows.length).to.equal(8);
    for (const r of rows) {
      const n = p.smsc.submits.filter((s) => s.destination === r.number).length;
      expect(n, `${r.number} texted ${n} times, interrupted=${r.interrupted}`).to.be.within(1, 1 + r.interrupted);
    }
  });
});
