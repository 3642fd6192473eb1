// Reliability 4, ledger faults: the disk holding the ledger fills up while the daemon runs. No text
// goes out without its ledger record (a text due during the fault waits: its `sending` claim
// cannot be written; a call that cannot be recorded waits in memory, in the retry queue, and is
// not texted meanwhile), /healthz says 503 with ledger.up false and the calls waiting, and once
// space is back it says 200, the waiting calls are recorded and texted (those still in time,
// ledger.late_after; the others recorded as `late`), the waiting text goes out and new calls are
// texted.
//
// How the disk fills: these tests run as root, and chmod does not stop root; `PRAGMA
// max_page_count` is per connection (the daemon's own is out of reach); `chattr +i` does fail
// writes here (ext4, root with CAP_LINUX_IMMUTABLE) but makes a read-only file, not a full disk,
// and touches the host's file system; RLIMIT_FSIZE (prlimit on the running pid; Node gets EFBIG,
// not SIGXFSZ) caps every file of the process, not the disk. A real full disk, here and in CI
// (same machine kind):
// the real `mctb run` starts in a user + mount namespace of its own
// (`unshare -rm`), where it mounts a 2 MB tmpfs on the ledger's directory: a small disk only it
// sees. The test reaches that disk through /proc/PID/root/<dir>, fills it with one file until a
// write fails with ENOSPC, and deletes the file to give the space back (it reads the ledger from
// copies: see ledgerSnapshot in test/support/reliability.ts). SQLite then fails every
// commit with SQLITE_FULL: in WAL mode each commit appends whole frames to the -wal file, which
// needs new pages (the WAL is far below its 1000-page checkpoint, so it is never rewound and
// reused in place while the test runs).

import { expect } from 'chai';
import { once } from 'node:events';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { AmiReplayServer } from '../../src/demo/ami-replay';
import { LoopbackSmsc } from '../../src/demo/loopback-smsc';
import { sleep, tempDir, waitFor } from '../support/harness';
import { callerNumber, canMountPrivateTmpfs, fillDisk, getHealth, ledgerSnapshot, missedCall, reliabilityYaml, startMctb, tally, type MctbProcess } from '../support/reliability';

const DELAYED = 4000;

describe('reliability: ledger faults (disk full)', function () {
  this.timeout(90_000);

  it('disk full: no text without its ledger record, /healthz 503 (ledger.up false), then 200 and texting again when space is back', async () => {
    const probe = canMountPrivateTmpfs();
    if (!probe.ok) throw new Error(`this test needs "unshare -rm" and a tmpfs mount in it (unprivileged user namespaces): ${probe.why}`);

    const { dir, cleanup } = tempDir('mctb-rel-disk-');
    const disk = join(dir, 'disk');
    mkdirSync(disk);
    const ledgerPath = join(disk, 'mctb.db');
    const configFile = join(dir, 'mctb.yaml');
    const pbx = new AmiReplayServer();
    const smsc = new LoopbackSmsc();
    // Two businesses: texts at once (noanswer capture's DID), and 4 s after the call (busy capture's DID).
    const businesses = `  - name: Brightside Dental
    dids: ["+15550001000"]
  - name: Late Clinic
    dids: ["+15550001001"]
    delay: ${DELAYED / 1000}s
`;
    writeFileSync(configFile, reliabilityYaml({ amiPort: await pbx.listen(), smppPort: await smsc.listen(), ledger: ledgerPath, http: true, businesses }));
    let proc: MctbProcess | undefined;
    let fill: ReturnType<typeof fillDisk> | undefined;
    try {
      const login = once(pbx, 'login');
      proc = startMctb(configFile, { tmpfs: { dir: disk, sizeKb: 2048 } });
      const port = await proc.healthPort();
      await login;
      await waitFor('healthy', async () => (await getHealth(port)).status === 200, 10_000, 100);
      // Read through /proc/PID/root: a copy each time (SQLite cannot open it there, see ledgerSnapshot).
      const ledgerNow = proc.pathOf(ledgerPath);
      const sendOf = (number: string) =>
        ledgerSnapshot(ledgerNow, (db) => db.get<{ id: number; state: string; attempts: number; due_at: number }>(`SELECT id, state, attempts, due_at FROM sends WHERE number = ?`, [number]));

      // Before the fault: a call texted at once, and one whose text is due in 4 s.
      const c1 = missedCall(1, callerNumber(3001));
      await pbx.play(c1.events);
      await waitFor('the first text', () => smsc.submits.length === 1);
      const c2 = missedCall(2, callerNumber(3002), 'busy');
      await pbx.play(c2.events);
      const scheduled = await waitFor('the delayed text scheduled', async () => {
        const s = await sendOf(c2.number);
        return s?.state === 'scheduled' && s;
      });

      // The disk fills up.
      fill = fillDisk(proc.pathOf(disk));
      const filledAt = Date.now();
      const sick = await waitFor('unhealthy', async () => {
        const h = await getHealth(port);
        return h.status === 503 && h.body;
      }, 10_000, 100);
      expect(sick.ledger.up).to.equal(false);
      expect(sick.ledger.error).to.match(/SQLITE_FULL|disk is full/);
      expect(sick.pbx.up && sick.sms.up, 'only the ledger is down').to.equal(true);

      // A call during the fault cannot be recorded: it waits in memory, and so does the same caller's
      // second call behind it. The text due during the fault cannot be claimed.
      const c3 = missedCall(3, callerNumber(3003));
      await pbx.play(c3.events);
      await waitFor('the call kept for a retry', () => /the ledger cannot be written: ended calls wait in memory/.test(proc!.log()), 10_000, 100);
      const c3again = missedCall(5, c3.number);
      await pbx.play(c3again.events);
      await waitFor('both calls waiting', async () => (await getHealth(port)).body.retry_queue.calls === 2, 10_000, 100);
      expect((await getHealth(port)).body.retry_queue).to.deep.equal({ calls: 2, dropped: 0 });
      const waitUntil = scheduled.due_at + 2000;
      while (Date.now() < waitUntil) {
        expect((await getHealth(port)).status, 'still unhealthy').to.equal(503);
        await sleep(250);
      }
      expect(smsc.submits.map((s) => s.destination), 'nothing sent while the ledger cannot write').to.deep.equal([c1.number]);
      expect(await sendOf(c2.number), 'the due text is still waiting, never claimed').to.include({ state: 'scheduled', attempts: 0 });
      expect(await ledgerSnapshot(ledgerNow, (db) => db.get('SELECT 1 FROM calls WHERE call_id = ?', [c3.callId])), 'the call during the fault').to.equal(undefined);

      // Trying the due text again does not spin: one attempt per outbox poll (250 ms), not a hot loop.
      const faultSeconds = (Date.now() - filledAt) / 1000;
      const attempts = proc.log().split('\n').filter((l) => /outbox could not process a send/.test(l)).length;
      expect(attempts, `${attempts} failed attempts in ${faultSeconds.toFixed(1)} s`).to.be.at.most(Math.ceil(6 * faultSeconds) + 4);

      // Space is back.
      console.log(`      [ledger] filled ${fill.bytes} bytes for ${faultSeconds.toFixed(1)} s (${attempts} failed attempts at the due text); freeing them`);
      fill.free();
      fill = undefined;
      await waitFor('healthy again', async () => (await getHealth(port)).status === 200, 10_000, 100);
      await waitFor('the waiting text sent', () => smsc.submits.some((s) => s.destination === c2.number), 10_000);
      await waitFor('the call that waited in memory recorded and texted', () => smsc.submits.some((s) => s.destination === c3.number), 10_000);
      expect((await getHealth(port)).body.retry_queue).to.deep.equal({ calls: 0, dropped: 0 });
      const c4 = missedCall(4, callerNumber(3004));
      await pbx.play(c4.events);
      await waitFor('a new call texted', () => smsc.submits.some((s) => s.destination === c4.number), 10_000);
      await sleep(500);

      // Every text at the SMSC has its ledger record, submitted; the call that waited out the fault was texted once.
      expect(smsc.submits[0].destination).to.equal(c1.number);
      expect(smsc.submits.map((s) => s.destination).sort()).to.deep.equal([c1.number, c2.number, c3.number, c4.number].sort());
      expect(smsc.submits.at(-1)!.destination).to.equal(c4.number);
      for (const s of smsc.submits) expect(await sendOf(s.destination), s.destination).to.include({ state: 'submitted', attempts: 1 });
      expect(await ledgerSnapshot(ledgerNow, (db) => db.get('SELECT decision, reason FROM calls WHERE call_id = ?', [c3.callId]))).to.deep.equal({ decision: 'text', reason: 'missed' });
      // Recorded in order after the fault, the caller's second call is deduped against the first.
      expect(await ledgerSnapshot(ledgerNow, (db) => db.get('SELECT decision, reason FROM calls WHERE call_id = ?', [c3again.callId]))).to.deep.equal({ decision: 'no_text', reason: 'deduped' });

      proc.child.kill('SIGTERM');
      expect((await proc.exited).code, proc.log().slice(-3000)).to.equal(0);
    } finally {
      fill?.free();
      proc?.child.kill('SIGKILL');
      await pbx.close();
      await smsc.close();
      cleanup();
    }
  });

  it('stopped while calls wait for the ledger: one last try, then the loss is logged at error level with the count', async () => {
    const probe = canMountPrivateTmpfs();
    if (!probe.ok) throw new Error(`this test needs "unshare -rm" and a tmpfs mount in it (unprivileged user namespaces): ${probe.why}`);
    const { dir, cleanup } = tempDir('mctb-rel-unwritten-stop-');
    const disk = join(dir, 'disk');
    mkdirSync(disk);
    const configFile = join(dir, 'mctb.yaml');
    const pbx = new AmiReplayServer();
    const smsc = new LoopbackSmsc();
    writeFileSync(configFile, reliabilityYaml({ amiPort: await pbx.listen(), smppPort: await smsc.listen(), ledger: join(disk, 'mctb.db'), http: true }));
    let proc: MctbProcess | undefined;
    let fill: ReturnType<typeof fillDisk> | undefined;
    try {
      const login = once(pbx, 'login');
      proc = startMctb(configFile, { tmpfs: { dir: disk, sizeKb: 2048 } });
      const port = await proc.healthPort();
      await login;
      await waitFor('healthy', async () => (await getHealth(port)).status === 200, 10_000, 100);
      fill = fillDisk(proc.pathOf(disk));
      await pbx.play([missedCall(1, callerNumber(5001)), missedCall(2, callerNumber(5002))].map((c) => c.events).join(''));
      await waitFor('two calls waiting', async () => (await getHealth(port)).body.retry_queue.calls === 2, 10_000, 100);
      proc.child.kill('SIGTERM');
      expect((await proc.exited).code, proc.log().slice(-3000)).to.equal(0);
      const line = proc.log().split('\n').find((l) => /stopping with ended calls the ledger could not record/.test(l));
      expect(line, proc.log().slice(-3000)).to.match(/ error mctb:ledger: /).and.match(/calls=2\b/);
      expect(smsc.submits).to.deep.equal([]);
    } finally {
      fill?.free();
      proc?.child.kill('SIGKILL');
      await pbx.close();
      await smsc.close();
      cleanup();
    }
  });

  // Issue 12 §4. 20 calls end while the disk is full for 10 s: 10 in its first second, 10 in its
  // last. ledger.late_after 5 s; business A texts at once, business B 9 s after the call. When
  // space is back every call is recorded; texted once are those whose text is then at most 5 s
  // past due: A's late ones (9+ s past due) are recorded as `late`, B's early ones (due 9 s after
  // their call, ~1 s before the disk frees) and all the last second's calls are texted.
  it('disk full for 10 s while 20 calls end: all recorded once it frees, the calls still in time texted once, the others recorded late', async () => {
    const probe = canMountPrivateTmpfs();
    if (!probe.ok) throw new Error(`this test needs "unshare -rm" and a tmpfs mount in it (unprivileged user namespaces): ${probe.why}`);
    const LATE_AFTER_MS = 5000;
    const DELAY_B_MS = 9000;
    const FAULT_MS = 10_000;

    const { dir, cleanup } = tempDir('mctb-rel-unwritten-');
    const disk = join(dir, 'disk');
    mkdirSync(disk);
    const ledgerPath = join(disk, 'mctb.db');
    const configFile = join(dir, 'mctb.yaml');
    const pbx = new AmiReplayServer();
    const smsc = new LoopbackSmsc();
    const businesses = `  - name: A
    dids: ["+15550001000"]
  - name: B
    dids: ["+15550001001"]
    delay: ${DELAY_B_MS / 1000}s
`;
    writeFileSync(configFile, reliabilityYaml({ amiPort: await pbx.listen(), smppPort: await smsc.listen(), ledger: ledgerPath, http: true, businesses, lateAfter: `${LATE_AFTER_MS / 1000}s` }));
    let proc: MctbProcess | undefined;
    let fill: ReturnType<typeof fillDisk> | undefined;
    try {
      const login = once(pbx, 'login');
      proc = startMctb(configFile, { tmpfs: { dir: disk, sizeKb: 2048 } });
      const port = await proc.healthPort();
      await login;
      await waitFor('healthy', async () => (await getHealth(port)).status === 200, 10_000, 100);
      const ledgerNow = proc.pathOf(ledgerPath);
      const metric = async (name: string) => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(await (await fetch(`http://127.0.0.1:${port}/metrics`)).text())?.[1]);

      // Calls 1-10 to A (noanswer capture: texts at once) and B (busy capture: 9 s later), in turns; 11-20 likewise.
      const calls = Array.from({ length: 20 }, (_, i) => {
        const toB = i % 2 === 1;
        return { ...missedCall(i + 1, callerNumber(4001 + i), toB ? 'busy' : 'noanswer'), business: toB ? 'B' : 'A', early: i < 10 };
      });

      fill = fillDisk(proc.pathOf(disk));
      const filledAt = Date.now();
      await waitFor('unhealthy', async () => (await getHealth(port)).status === 503, 5000, 100);
      await pbx.play(calls.slice(0, 10).map((c) => c.events).join(''));
      const early = await waitFor('the first 10 calls waiting in memory', async () => {
        const h = await getHealth(port);
        return h.body.retry_queue.calls === 10 && h.body;
      }, 10_000, 100);
      expect(early).to.deep.include({ ok: false, retry_queue: { calls: 10, dropped: 0 } });
      expect(early.ledger.up).to.equal(false);
      expect(await metric('mctb_calls_unwritten')).to.equal(10);

      await sleep(filledAt + FAULT_MS - 1500 - Date.now());
      await pbx.play(calls.slice(10).map((c) => c.events).join(''));
      await waitFor('all 20 calls waiting in memory', async () => (await getHealth(port)).body.retry_queue.calls === 20, 5000, 100);
      expect(smsc.submits, 'nothing texted while the ledger cannot record').to.deep.equal([]);
      await sleep(filledAt + FAULT_MS - Date.now());

      // Space is back: how long until every call is in the ledger? (/healthz is asked every 100 ms,
      // as a monitor would: its write probe succeeding sends the waiting calls at once.)
      fill.free();
      fill = undefined;
      const freedAt = Date.now();
      const countCalls = () => ledgerSnapshot(ledgerNow, (db) => db.get<{ n: number }>('SELECT COUNT(*) AS n FROM calls')).then((r) => r?.n ?? 0);
      let healthy = false;
      await waitFor('all 20 calls recorded', async () => {
        if (!healthy) healthy = (await getHealth(port)).status === 200;
        return (await countCalls()) === 20;
      }, 15_000, 50);
      const drainMs = Date.now() - freedAt;
      await waitFor('healthy again, nothing waiting', async () => {
        const h = await getHealth(port);
        return h.status === 200 && h.body.retry_queue.calls === 0;
      }, 5000, 100);
      expect(await metric('mctb_calls_unwritten')).to.equal(0);

      // The texts: B's last calls are due 9 s after they ended.
      const rows = await ledgerSnapshot(ledgerNow, (db) =>
        db.all<{ call_id: string; number: string; business: string; decision: string; reason: string; ended_at: number; recorded_at: number }>(
          'SELECT call_id, number, business, decision, reason, ended_at, recorded_at FROM calls ORDER BY recorded_at, rowid',
        ),
      );
      const expectTexted = calls.filter((c) => !(c.early && c.business === 'A'));
      await waitFor(`${expectTexted.length} texts`, () => smsc.submits.length >= expectTexted.length, DELAY_B_MS + 5000, 100);
      await sleep(1500); // a double text would have gone out by now
      console.log(
        `      [ledger] 20 calls waited out a ${FAULT_MS / 1000} s full disk; all recorded ${drainMs} ms after space came back; ` +
          `${rows.filter((r) => r.reason === 'late').length} late, ${smsc.submits.length} texted`,
      );

      // All 20 recorded once, in the order they ended; late exactly where the text would be > 5 s past due.
      expect(rows.map((r) => r.call_id)).to.deep.equal(calls.map((c) => c.callId));
      for (const c of calls) {
        const row = rows.find((r) => r.call_id === c.callId)!;
        const pastDue = row.recorded_at - (row.ended_at + (c.business === 'B' ? DELAY_B_MS : 0));
        const want = c.early && c.business === 'A' ? { decision: 'no_text', reason: 'late' } : { decision: 'text', reason: 'missed' };
        expect(row, `${c.callId} (${c.business}, ${c.early ? 'early' : 'late'} in the fault, ${pastDue} ms past due)`).to.include({ number: c.number, business: c.business, ...want });
        expect(pastDue > LATE_AFTER_MS, `${c.callId}: late iff more than late_after past due`).to.equal(want.reason === 'late');
      }

      // Texted once each, those in time only; every submit has its send row (and its call's row).
      const sent = tally(smsc.submits, (s) => s.destination);
      expect([...sent.keys()].sort()).to.deep.equal(expectTexted.map((c) => c.number).sort());
      expect([...sent.values()].every((n) => n === 1), 'nobody texted twice').to.equal(true);
      const sendRows = await ledgerSnapshot(ledgerNow, (db) =>
        db.all<{ message_id: string; number: string; state: string; call_id: string; kind: string }>(
          'SELECT p.message_id, s.number, s.state, s.call_id, s.kind FROM send_parts p JOIN sends s ON s.id = p.send_id',
        ),
      );
      for (const submit of smsc.submits) {
        const row = sendRows.find((r) => r.message_id === submit.messageId);
        expect(row, `submit ${submit.messageId} to ${submit.destination} has its send row`).to.include({ number: submit.destination, kind: 'text_back' });
        expect(rows.some((r) => r.call_id === row!.call_id), 'and its call row').to.equal(true);
      }
      // The late calls have no send at all.
      const lateIds = calls.filter((c) => c.early && c.business === 'A').map((c) => c.callId);
      const lateSends = await ledgerSnapshot(ledgerNow, (db) => db.all(`SELECT id FROM sends WHERE call_id IN (${lateIds.map(() => '?').join(',')})`, lateIds));
      expect(lateSends).to.deep.equal([]);
      expect(proc.log()).to.match(/the ledger works again: every waiting call is recorded/);

      proc.child.kill('SIGTERM');
      expect((await proc.exited).code, proc.log().slice(-3000)).to.equal(0);
    } finally {
      fill?.free();
      proc?.child.kill('SIGKILL');
      await pbx.close();
      await smsc.close();
      cleanup();
    }
  });
});
