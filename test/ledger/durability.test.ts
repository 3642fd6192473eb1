// Issue 12 §5: every commit of the ledger is durable before it is acted on. In WAL mode that takes
// `synchronous = FULL` (the WAL is fsynced at each commit; NORMAL only at checkpoints, so the last
// commits can vanish with the power). The setting is per connection: it is read on the running
// daemon's own connection, and on one that `mctb` commands open (Ledger.open). The one exception,
// the daemon's record of ended calls, commits relaxed and is made durable within a second (and by
// the claim of any text before it is sent).

import { expect } from 'chai';
import { join } from 'node:path';
import { Ledger } from '../../src/ledger/ledger';
import { business, tempDir, waitFor } from '../support/harness';
import { startPipeline, type Pipeline } from '../support/pipeline';

const FULL = 2;

describe('ledger durability: WAL with synchronous = FULL', () => {
  let p: Pipeline | undefined;
  afterEach(async () => {
    await p?.stop();
    p = undefined;
  });

  it("the running daemon's connection commits with synchronous = FULL in WAL mode", async () => {
    p = await startPipeline({ businesses: [business()] });
    expect(await p.daemon.ledgerHandle.durability()).to.deep.equal({ journalMode: 'wal', synchronous: FULL });
  });

  it('so does every connection Ledger.open makes (mctb optout, contacts import, tasks done)', async () => {
    const { dir, cleanup } = tempDir('mctb-durable-');
    const ledger = await Ledger.open(join(dir, 'mctb.db'));
    try {
      expect(await ledger.durability()).to.deep.equal({ journalMode: 'wal', synchronous: FULL });
    } finally {
      await ledger.close();
      cleanup();
    }
  });

  it('a relaxed batch (ended calls) commits under NORMAL, the connection goes back to FULL, and a durable commit follows within a second', async () => {
    const { dir, cleanup } = tempDir('mctb-durable-');
    const ledger = await Ledger.open(join(dir, 'mctb.db'));
    try {
      const levels: number[] = [];
      const level = async () => Number((await ledger.durability()).synchronous);
      await ledger.batchEach([async () => levels.push(await level())], { relaxed: true });
      expect(levels, 'inside the relaxed batch').to.deep.equal([1]);
      expect(await level(), 'after it').to.equal(FULL);
      expect(ledger.syncPending, 'a durable commit is owed').to.equal(true);
      await waitFor('the durable commit', () => !ledger.syncPending, 3000);
      // Anything else is durable as it always was.
      await ledger.batchEach([async () => levels.push(await level())]);
      expect(levels[1], 'an ordinary batch').to.equal(FULL);
      expect(ledger.syncPending).to.equal(false);
    } finally {
      await ledger.close();
      cleanup();
    }
  });

  it("together: a group of relaxed writes (texts' results) commits relaxed; a group with any other write (a claim) is durable", async () => {
    const { dir, cleanup } = tempDir('mctb-durable-');
    const ledger = await Ledger.open(join(dir, 'mctb.db'));
    try {
      const level = async () => Number((await ledger.durability()).synchronous);
      // The first write handed in runs alone; those handed in meanwhile share the next transaction.
      const results = await Promise.all([ledger.together(level), ledger.together(level, { relaxed: true }), ledger.together(level, { relaxed: true })]);
      expect(results, 'a claim, then two results sharing a transaction').to.deep.equal([FULL, 1, 1]);
      await waitFor('made durable', () => !ledger.syncPending, 3000);
      const mixed = await Promise.all([ledger.together(level), ledger.together(level, { relaxed: true }), ledger.together(level)]);
      expect(mixed, 'a result sharing a transaction with a claim').to.deep.equal([FULL, FULL, FULL]);
    } finally {
      await ledger.close();
      cleanup();
    }
  });
});
