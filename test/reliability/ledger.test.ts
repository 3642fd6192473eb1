// Reliability 4, ledger faults: the disk holding the ledger fills up while the daemon runs. No text
// goes out without its ledger record (a text due during the fault waits: its `sending` claim
// cannot be written; a call that cannot be recorded is not texted), /healthz says 503 with
// ledger.up false, and once space is back it says 200, the waiting text goes out and new calls
// are texted.
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
import { callerNumber, canMountPrivateTmpfs, fillDisk, getHealth, ledgerSnapshot, missedCall, reliabilityYaml, startMctb, type MctbProcess } from '../support/reliability';

const DELAYED = 4000;

describe('reliability: ledger faults (disk full)', function () {
  this.timeout(60_000);

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

      // A call during the fault cannot be recorded; the text due during the fault cannot be claimed.
      const c3 = missedCall(3, callerNumber(3003));
      await pbx.play(c3.events);
      await waitFor('the call given up as unrecordable', () => /could not record a call/.test(proc!.log()), 10_000, 100);
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
      const c4 = missedCall(4, callerNumber(3004));
      await pbx.play(c4.events);
      await waitFor('a new call texted', () => smsc.submits.some((s) => s.destination === c4.number), 10_000);
      await sleep(500);

      // Every text at the SMSC has its ledger record, submitted; the call lost to the fault got none.
      expect(smsc.submits.map((s) => s.destination)).to.deep.equal([c1.number, c2.number, c4.number]);
      for (const s of smsc.submits) expect(await sendOf(s.destination), s.destination).to.include({ state: 'submitted', attempts: 1 });
      expect(await sendOf(c3.number)).to.equal(undefined);

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
