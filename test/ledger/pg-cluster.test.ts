// The throwaway PostgreSQL cluster the tests run against (test/support/pg-global.ts starts it for
// the run): it answers on MCTB_TEST_PG_URL, freshSchema() hands out a URL whose connections land
// in a new, empty schema, and stop()/start() take the database away and bring it back.

import { expect } from 'chai';
import { clusterFromEnv, psql } from '../support/pg-cluster';

describe('ledger: the test PostgreSQL cluster', function () {
  this.timeout(60_000);

  it('answers on MCTB_TEST_PG_URL', async () => {
    const url = process.env.MCTB_TEST_PG_URL;
    expect(url, 'MCTB_TEST_PG_URL set by the global setup').to.be.a('string');
    expect(await psql(url!, 'SELECT 1', clusterFromEnv().bin)).to.equal('1');
  });

  it('freshSchema() gives a URL whose connections use a new, empty schema', async () => {
    const c = clusterFromEnv();
    const a = await c.freshSchema('ledger');
    const b = await c.freshSchema('ledger');
    expect(a).to.match(/[?&]options=-c%20search_path%3Dledger_\d+_[0-9a-f]{8}$/);
    expect(b).to.not.equal(a);
    const schemaA = decodeURIComponent(a.split('search_path%3D')[1]);
    expect(await psql(a, 'SELECT current_schema()', c.bin)).to.equal(schemaA);
    expect(await psql(a, "SELECT count(*) FROM pg_tables WHERE schemaname = current_schema()", c.bin)).to.equal('0');
    // A table made over one URL lands in its schema, not in the other's.
    await psql(a, 'CREATE TABLE calls (id int)', c.bin);
    expect(await psql(a, 'SELECT count(*) FROM calls', c.bin)).to.equal('0');
    const err = await psql(b, 'SELECT count(*) FROM calls', c.bin).then(
      () => undefined,
      (e: unknown) => e as Error,
    );
    expect(err?.message).to.match(/relation "calls" does not exist/);
  });

  it('stop() makes queries fail; start() brings the same database back on the same port', async function () {
    if (!process.env.MCTB_TEST_PG_DIR) this.skip(); // a database from outside: nothing to stop here
    const c = clusterFromEnv();
    const url = await c.freshSchema('restart');
    await psql(url, 'CREATE TABLE kept (n int); INSERT INTO kept VALUES (42)', c.bin);
    await c.stop();
    try {
      await c.stop(); // idempotent
      const err = await psql(url, 'SELECT 1', c.bin).then(
        () => undefined,
        (e: unknown) => e as Error,
      );
      expect(err, 'a query while stopped fails').to.be.instanceOf(Error);
      expect(err!.message).to.match(/connection refused|could not connect|Is the server running/i);
      expect(err!.message, 'the password stays out of messages').to.not.include(c.password);
    } finally {
      await c.start();
    }
    expect(await psql(url, 'SELECT n FROM kept', c.bin)).to.equal('42');
  });
});
