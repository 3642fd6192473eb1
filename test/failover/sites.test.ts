// Many PBXs, one ledger: two daemons (sites north and south), each with its own PBX, SMSC and
// businesses, share one PostgreSQL. Each texts its own callers once, from its own outbox; a STOP
// received by one is honoured by the other for the business they share; either one's ledger shows
// the other's threads (the console reads them), and a reply typed in one site's console to a
// business only the other serves goes out through the other's gateway.

import { expect } from 'chai';
import { Ledger } from '../../src/ledger/ledger';
import { business, waitFor } from '../support/harness';
import { pgLedger } from '../support/pg-ledger';
import { startPipeline, type Pipeline } from '../support/pipeline';
import { addUser, httpSession, post } from '../support/console';
import { callerNumber, missedCall, NO_LIMITS, tally } from '../support/reliability';

describe('failover: many daemons (sites) on one PostgreSQL ledger', function () {
  this.timeout(60_000);
  let north: Pipeline | undefined;
  let south: Pipeline | undefined;
  let reader: Ledger | undefined;
  afterEach(async () => {
    await north?.stop();
    await south?.stop();
    await reader?.close();
  });

  it('each daemon texts its own callers once; a STOP taken by one is honoured by the other; each sees the other\'s threads', async () => {
    const pg = await pgLedger('sites');
    const ledger = { driver: 'postgres', url: pg.url, password: pg.password, pool: 4 };
    // One business with an office on each PBX (its own DIDs there), and one only south has. The
    // callers share a number block: the caps (counted across both sites) must not get in the way.
    // Gateway message ids are matched ledger-wide: the two SMSCs' ids must differ (README, PostgreSQL).
    north = await startPipeline({ smsc: { messageIdPrefix: 'north-' }, businesses: [business({ name: 'Brightside Dental', dids: ['+15550001000'], limits: NO_LIMITS })], top: { site: 'north', ledger } });
    south = await startPipeline({
      smsc: { messageIdPrefix: 'south-' },
      businesses: [business({ name: 'Brightside Dental', dids: ['+15550001001'], limits: NO_LIMITS }), business({ name: 'Southside Vet', dids: ['+15550001005'], limits: NO_LIMITS })],
      top: { site: 'south', ledger },
    });
    reader = await Ledger.open({ driver: 'postgres', url: pg.full });

    const northCalls = Array.from({ length: 5 }, (_, i) => missedCall(i + 1, callerNumber(i + 1), 'noanswer'));
    const southCalls = [
      ...Array.from({ length: 4 }, (_, i) => missedCall(i + 101, callerNumber(i + 101), 'busy')),
      missedCall(110, callerNumber(110), 'voicemail'),
    ];
    for (let i = 0; i < 5; i++) {
      await north.pbx.play(northCalls[i].events);
      await south.pbx.play(southCalls[i].events);
    }
    await waitFor('both SMSCs took 5 texts', () => north!.smsc.submits.length >= 5 && south!.smsc.submits.length >= 5, 20_000);
    const sends = await waitFor('10 texts submitted', async () => {
      const rows = await reader!.database.all<{ number: string; site: string; business: string; state: string }>(`SELECT number, site, business, state FROM sends WHERE kind = 'text_back' ORDER BY id`);
      return rows.length === 10 && rows.every((r) => r.state === 'submitted' || r.state === 'delivered') && rows;
    }, 20_000, 100);
    const calls = await reader.database.all<{ call_id: string; site: string }>('SELECT call_id, site FROM calls');
    expect(calls.filter((c) => c.site === 'north').map((c) => c.call_id).sort()).to.deep.equal(northCalls.map((c) => c.callId).sort());
    expect(calls.filter((c) => c.site === 'south').map((c) => c.call_id).sort()).to.deep.equal(southCalls.map((c) => c.callId).sort());
    expect(sends.filter((s) => s.site === 'north').map((s) => s.number).sort()).to.deep.equal(northCalls.map((c) => c.number).sort());

    // Each SMSC took exactly its own daemon's callers, once each.
    const sentNorth = tally(north.smsc.submits, (s) => s.destination);
    const sentSouth = tally(south.smsc.submits, (s) => s.destination);
    expect([...sentNorth.keys()].sort()).to.deep.equal(northCalls.map((c) => c.number).sort());
    expect([...sentSouth.keys()].sort()).to.deep.equal(southCalls.map((c) => c.number).sort());
    expect([...sentNorth.values(), ...sentSouth.values()].every((n) => n === 1)).to.equal(true);

    // STOP to the business's number, through north's gateway; the caller then calls south's office.
    const stopper = callerNumber(777);
    north.smsc.sendText(stopper, '+15550001000', 'STOP');
    await waitFor('the opt-out stored', async () => (await reader!.optOuts.has(stopper, 'Brightside Dental')) && true, 10_000, 50);
    const later = missedCall(300, stopper, 'busy');
    await south.pbx.play(later.events);
    const decided = await waitFor('south decided the call', () => south!.decided.find((d) => d.call.callId === later.callId), 10_000);
    expect(decided.decision).to.equal('no_text');
    expect(decided.reason).to.equal('opted_out');
    await new Promise((r) => setTimeout(r, 500));
    expect(south.smsc.submits.filter((s) => s.destination === stopper)).to.deep.equal([]);
    // A caller who opted out of the business that is only south's is not affected by it.
    expect(await reader.optOuts.has(stopper, 'Southside Vet')).to.equal(false);

    // Each says which site it is in its logs and metrics.
    expect(north.logLines.some((l) => /mctb started .*site=north/.test(l))).to.equal(true);
    expect(south.logLines.every((l) => !/site=north/.test(l))).to.equal(true);
    expect(await north.daemon.metrics.registry.metrics()).to.match(/mctb_active\{site="north"\} 1/);
    expect(await south.daemon.metrics.registry.metrics()).to.match(/mctb_calls_total\{[^}]*site="south"[^}]*\} \d/);

    // The console of either daemon reads the other's threads (an owner sees every business).
    const northView = await north.daemon.ledgerHandle.threads.list({ limit: 100 });
    const numbers = new Set(northView.map((t) => t.number));
    for (const c of southCalls) expect(numbers.has(c.number), `north's console shows south's caller ${c.number}`).to.equal(true);
    expect((await south.daemon.ledgerHandle.threads.list({ business: 'Brightside Dental', limit: 100 })).map((t) => t.number)).to.include(northCalls[0].number);
  });
  it("one console for every site: staff of a business only south serves read its threads in north's console, and a reply typed there goes out through south's gateway, from the number south texted them from", async () => {
    const pg = await pgLedger('sites-console');
    const ledger = { driver: 'postgres', url: pg.url, password: pg.password, pool: 4 };
    const VET = '+15550001005';
    north = await startPipeline({ smsc: { messageIdPrefix: 'north-' }, businesses: [business({ name: 'Brightside Dental', dids: ['+15550001000'], limits: NO_LIMITS })], top: { site: 'north', ledger, console: { listen: '127.0.0.1:0' } } });
    south = await startPipeline({ smsc: { messageIdPrefix: 'south-' }, businesses: [business({ name: 'Southside Vet', dids: [VET], source_addr: VET, limits: NO_LIMITS })], top: { site: 'south', ledger } });
    reader = await Ledger.open({ driver: 'postgres', url: pg.full });
    await addUser(reader, 'sue', 'staff', ['Southside Vet']);
    const base = `http://127.0.0.1:${north.daemon.consolePort}`;

    const call = missedCall(400, callerNumber(400), 'voicemail');
    await south.pbx.play(call.events);
    const textBack = await waitFor("south's text-back", () => south!.smsc.submits.find((s) => s.destination === call.number), 10_000);
    const thread = await waitFor('the thread', async () => (await reader!.threads.list({ business: 'Southside Vet', limit: 10 })).find((t) => t.number === call.number), 10_000, 50);

    const sue = await httpSession(base, 'sue');
    const inbox = await (await fetch(`${base}/inbox`, { headers: { cookie: sue.cookie } })).text();
    expect(inbox, "south's thread in north's inbox, for south's staff").to.contain(`/threads/${thread.id}`);
    const page = await (await fetch(`${base}/threads/${thread.id}`, { headers: { cookie: sue.cookie } })).text();
    expect(page).to.match(/through site south/);
    expect(page).to.not.match(/data-testid="blocked"/);

    const res = await post(base, `/threads/${thread.id}/reply`, { _csrf: sue.csrf, text: 'We can see Rex at 3 today.' }, { cookie: sue.cookie });
    expect(res.status).to.equal(303);
    const reply = await waitFor("the reply at south's SMSC", () => south!.smsc.submits.find((s) => s.destination === call.number && s.text === 'We can see Rex at 3 today.'), 10_000);
    expect([textBack.source, reply.source], "from the business's number, as south's text-back").to.deep.equal([VET, VET]);
    expect(north.smsc.submits.filter((s) => s.destination === call.number), "nothing through north's gateway").to.deep.equal([]);
    const row = await reader.database.get<{ site: string; sent_by: string; state: string }>(`SELECT site, sent_by, state FROM sends WHERE kind = 'console' AND number = ?`, [call.number]);
    expect(row).to.include({ site: 'south', sent_by: 'sue' });

    // A contact who only texted south (no site ever texted them): nobody can answer from north.
    const texter = callerNumber(401);
    south.smsc.sendText(texter, VET, 'Are you open on Sunday?');
    const quiet = await waitFor('the texter\'s thread', async () => (await reader!.threads.list({ business: 'Southside Vet', limit: 10 })).find((t) => t.number === texter), 10_000, 50);
    const quietPage = await (await fetch(`${base}/threads/${quiet.id}`, { headers: { cookie: sue.cookie } })).text();
    expect(quietPage).to.match(/data-testid="blocked"[^>]*>This site does not serve this business/);
    const refused = await post(base, `/threads/${quiet.id}/reply`, { _csrf: sue.csrf, text: 'Yes, 10 to 2.' }, { cookie: sue.cookie });
    expect(refused.status).to.equal(409);
    expect(await reader.database.get(`SELECT id FROM sends WHERE number = ? AND kind = 'console'`, [texter])).to.equal(undefined);
  });
});
