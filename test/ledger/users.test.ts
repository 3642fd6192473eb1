// The console's users, sessions and audit log over a real ledger of each engine (an SQLite file,
// a PostgreSQL schema): names the same in any case, sessions that expire by idleness and by age
// (and are deleted then), a new password or a removed user ending sessions, and failed sign-ins
// counted by name and by address in a window.

import { expect } from 'chai';
import { join } from 'node:path';
import { Ledger } from '../../src/ledger/ledger';
import { SqliteFile } from '../../src/ledger/sqlite';
import { UserExistsError } from '../../src/ledger/users';
import { AUDIT_ACTIONS } from '../../src/records/states';
import { forEachEngine, openLedger } from '../support/engines';
import { tempDir } from '../support/harness';

const MIN = 60_000;
const HOUR = 60 * MIN;
const IDLE = 8 * HOUR;
const LIFETIME = 7 * 24 * HOUR;
const T0 = Date.UTC(2026, 11, 1, 9, 0, 0);

forEachEngine('ledger: users, sessions, audit', (engine) => {
  let ledger: Ledger;

  beforeEach(async () => {
    ledger = await openLedger(engine);
  });
  afterEach(() => ledger.close());

  const addUser = (name: string, role: 'owner' | 'staff' = 'staff', businesses = role === 'staff' ? ['Brightside Dental'] : []) =>
    ledger.users.add({ name, role, businesses, passwordHash: `scrypt$hash-of-${name}` }, T0);
  const rawCount = async (table: string) => (await ledger.database.get<{ n: number }>(`SELECT count(*) AS n FROM ${table}`))!.n;

  describe('users', () => {
    it('add returns the row; get, byId and list read it back, businesses as a list', async () => {
      const bob = await addUser('Bob', 'staff', ['Brightside Dental', 'Northside Vet']);
      expect(bob).to.deep.equal({ id: bob.id, name: 'Bob', role: 'staff', businesses: ['Brightside Dental', 'Northside Vet'], created_at: T0, password_changed_at: T0 });
      expect(await ledger.users.get('Bob')).to.deep.equal(bob);
      expect(await ledger.users.byId(bob.id)).to.deep.equal(bob);
      const ann = await addUser('ann', 'owner');
      expect(ann.businesses).to.deep.equal([]);
      expect((await ledger.users.list()).map((u) => u.name)).to.deep.equal(['ann', 'Bob']);
      expect(await ledger.users.count()).to.equal(2);
      expect(await ledger.users.get('carol')).to.equal(undefined);
      expect(await ledger.users.byId(999)).to.equal(undefined);
    });

    it('names are the same in any case: a taken name is UserExistsError; get finds any spelling', async () => {
      await addUser('Bob');
      let caught: unknown;
      try {
        await addUser('bOB');
      } catch (e) {
        caught = e;
      }
      expect(caught).to.be.instanceOf(UserExistsError);
      expect(await ledger.users.count()).to.equal(1);
      expect((await ledger.users.get('BOB'))?.name).to.equal('Bob');
      expect((await ledger.users.passwordHash('bob'))?.hash).to.equal('scrypt$hash-of-Bob');
    });

    it('passwordHash gives the user and the hash; nothing else does', async () => {
      const bob = await addUser('bob');
      expect(await ledger.users.passwordHash('bob')).to.deep.equal({ user: bob, hash: 'scrypt$hash-of-bob' });
      expect(JSON.stringify(await ledger.users.list())).to.not.include('hash-of');
      expect(await ledger.users.passwordHash('nobody')).to.equal(undefined);
    });

    it('setPassword changes the hash and the time, and ends every session of that user only', async () => {
      const bob = await addUser('bob');
      const ann = await addUser('ann');
      await ledger.sessions.create({ idHash: 'b1', userId: bob.id, csrf: 'c', address: '10.0.0.1' }, T0);
      await ledger.sessions.create({ idHash: 'b2', userId: bob.id, csrf: 'c', address: null }, T0);
      await ledger.sessions.create({ idHash: 'a1', userId: ann.id, csrf: 'c', address: null }, T0);
      expect(await ledger.users.setPassword('BOB', 'scrypt$new', T0 + HOUR)).to.equal(true);
      expect(await ledger.users.passwordHash('bob')).to.deep.include({ hash: 'scrypt$new' });
      expect((await ledger.users.get('bob'))?.password_changed_at).to.equal(T0 + HOUR);
      expect(await ledger.sessions.countFor(bob.id)).to.equal(0);
      expect(await ledger.sessions.get('b1', T0 + HOUR, IDLE, LIFETIME)).to.equal(undefined);
      expect(await ledger.sessions.countFor(ann.id)).to.equal(1);
      expect(await ledger.users.setPassword('nobody', 'x', T0)).to.equal(false);
    });

    it('remove takes the user\'s sessions with it (foreign key cascade)', async () => {
      const bob = await addUser('bob');
      await ledger.sessions.create({ idHash: 'b1', userId: bob.id, csrf: 'c', address: null }, T0);
      expect(await ledger.users.remove('Bob')).to.equal(true);
      expect(await ledger.users.get('bob')).to.equal(undefined);
      expect(await rawCount('sessions')).to.equal(0);
      expect(await ledger.users.remove('bob')).to.equal(false);
    });
  });

  describe('sessions', () => {
    it('get: the live session with its user; touch keeps it alive, never back in time', async () => {
      const bob = await addUser('bob');
      await ledger.sessions.create({ idHash: 's1', userId: bob.id, csrf: 'tok', address: '10.0.0.1' }, T0);
      expect(await ledger.sessions.get('s1', T0 + MIN, IDLE, LIFETIME)).to.deep.equal({ user: bob, csrf: 'tok', createdAt: T0, lastSeenAt: T0 });
      await ledger.sessions.touch('s1', T0 + 7 * HOUR);
      await ledger.sessions.touch('s1', T0 + 6 * HOUR);
      expect((await ledger.sessions.get('s1', T0 + 14 * HOUR, IDLE, LIFETIME))?.lastSeenAt).to.equal(T0 + 7 * HOUR);
      expect(await ledger.sessions.get('unknown', T0, IDLE, LIFETIME)).to.equal(undefined);
      expect(await ledger.sessions.countFor(bob.id)).to.equal(1);
    });

    it('idle longer than idleMs: undefined, and the row is deleted', async () => {
      const bob = await addUser('bob');
      await ledger.sessions.create({ idHash: 's1', userId: bob.id, csrf: 'tok', address: null }, T0);
      expect(await ledger.sessions.get('s1', T0 + IDLE, IDLE, LIFETIME), 'at the limit').to.not.equal(undefined);
      expect(await ledger.sessions.get('s1', T0 + IDLE + 1, IDLE, LIFETIME)).to.equal(undefined);
      expect(await ledger.sessions.countFor(bob.id)).to.equal(0);
      // Gone for good: going back in time does not revive it.
      expect(await ledger.sessions.get('s1', T0 + MIN, IDLE, LIFETIME)).to.equal(undefined);
    });

    it('older than lifetimeMs: undefined even when used a minute ago, and the row is deleted', async () => {
      const bob = await addUser('bob');
      await ledger.sessions.create({ idHash: 's1', userId: bob.id, csrf: 'tok', address: null }, T0);
      for (let t = T0 + HOUR; t <= T0 + LIFETIME; t += HOUR) await ledger.sessions.touch('s1', t);
      expect(await ledger.sessions.get('s1', T0 + LIFETIME, IDLE, LIFETIME)).to.not.equal(undefined);
      await ledger.sessions.touch('s1', T0 + LIFETIME);
      expect(await ledger.sessions.get('s1', T0 + LIFETIME + MIN, IDLE, LIFETIME)).to.equal(undefined);
      expect(await ledger.sessions.countFor(bob.id)).to.equal(0);
    });

    it('destroy ends one session; prune deletes the expired ones of any user and counts them', async () => {
      const bob = await addUser('bob');
      const ann = await addUser('ann');
      await ledger.sessions.create({ idHash: 'old', userId: bob.id, csrf: 'c', address: null }, T0 - LIFETIME - MIN); // too old
      await ledger.sessions.touch('old', T0);
      await ledger.sessions.create({ idHash: 'idle', userId: ann.id, csrf: 'c', address: null }, T0 - IDLE - MIN); // idle too long
      await ledger.sessions.create({ idHash: 'live', userId: ann.id, csrf: 'c', address: null }, T0 - HOUR);
      await ledger.sessions.create({ idHash: 'bye', userId: ann.id, csrf: 'c', address: null }, T0);
      await ledger.sessions.destroy('bye');
      expect(await ledger.sessions.countFor(ann.id, { now: T0, idleMs: IDLE, lifetimeMs: LIFETIME }), 'live only').to.equal(1);
      expect(await ledger.sessions.countFor(ann.id)).to.equal(2);
      expect(await ledger.sessions.prune(T0, IDLE, LIFETIME)).to.equal(2);
      expect(await ledger.sessions.countFor(bob.id)).to.equal(0);
      expect(await ledger.sessions.countFor(ann.id)).to.equal(1);
      expect(await ledger.sessions.get('live', T0, IDLE, LIFETIME)).to.not.equal(undefined);
      expect(await ledger.sessions.prune(T0, IDLE, LIFETIME)).to.equal(0);
    });
  });

  describe('audit', () => {
    it('add and list: newest first, filtered by window and action, limited', async () => {
      await ledger.audit.add({ actor: 'cli', action: 'user_added', subject: 'bob', detail: 'staff (Brightside Dental)' }, T0);
      await ledger.audit.add({ action: 'login_ok', subject: 'bob', address: '10.0.0.1' }, T0 + MIN);
      await ledger.audit.add({ actor: 'bob', action: 'opt_out_removed', subject: '+14155550123', address: '10.0.0.1' }, T0 + 2 * MIN);
      await ledger.audit.add({ actor: 'bob', action: 'logout', subject: 'bob', address: '10.0.0.1' }, T0 + 3 * MIN);
      const all = await ledger.audit.list();
      expect(all.map((a) => a.action)).to.deep.equal(['logout', 'opt_out_removed', 'login_ok', 'user_added']);
      expect(all[3]).to.deep.equal({ id: all[3].id, at: T0, actor: 'cli', action: 'user_added', subject: 'bob', address: null, detail: 'staff (Brightside Dental)' });
      expect(all[2]).to.include({ actor: null, address: '10.0.0.1', detail: null });
      expect((await ledger.audit.list({ since: T0 + MIN, until: T0 + 3 * MIN })).map((a) => a.action)).to.deep.equal(['opt_out_removed', 'login_ok']);
      expect((await ledger.audit.list({ action: 'login_ok' })).map((a) => a.at)).to.deep.equal([T0 + MIN]);
      expect((await ledger.audit.list({ limit: 2 })).map((a) => a.action)).to.deep.equal(['logout', 'opt_out_removed']);
      // Ties on the time: the later entry first.
      await ledger.audit.add({ actor: 'bob', action: 'thread_assigned', subject: '7' }, T0 + 3 * MIN);
      expect((await ledger.audit.list({ limit: 1 }))[0].action).to.equal('thread_assigned');
    });

    it('failedLogins: failed and throttled tries since the window began, by name in any case and by address', async () => {
      const since = T0;
      const fail = (action: string, subject: string, address: string, at: number) => ledger.audit.add({ action, subject, address }, at);
      await fail('login_failed', 'bob', '10.0.0.1', since - 1); // before the window
      await fail('login_failed', 'Bob', '10.0.0.1', since);
      await fail('login_failed', 'BOB', '10.0.0.2', since + MIN);
      await fail('login_throttled', 'bob', '10.0.0.1', since + 2 * MIN);
      await fail('login_ok', 'bob', '10.0.0.1', since + 3 * MIN); // not a failure
      await fail('login_failed', 'ann', '10.0.0.1', since + 4 * MIN);
      await ledger.audit.add({ actor: 'cli', action: 'password_changed', subject: 'bob' }, since + 5 * MIN);
      expect(await ledger.audit.failedLogins('bOb', '10.0.0.1', since)).to.deep.equal({ byUser: 3, byAddress: 3 });
      expect(await ledger.audit.failedLogins('ann', '10.0.0.2', since)).to.deep.equal({ byUser: 1, byAddress: 1 });
      expect(await ledger.audit.failedLogins('carol', '10.0.0.9', since)).to.deep.equal({ byUser: 0, byAddress: 0 });
      expect(await ledger.audit.failedLogins('bob', '10.0.0.1', since + 2 * MIN)).to.deep.equal({ byUser: 1, byAddress: 2 });
    });

    it('AUDIT_ACTIONS lists each action once', () => {
      expect(new Set(AUDIT_ACTIONS).size).to.equal(AUDIT_ACTIONS.length);
      expect(AUDIT_ACTIONS).to.include.members(['login_ok', 'login_failed', 'login_throttled', 'logout', 'user_added', 'user_removed', 'password_changed']);
    });
  });
});

// SQLite only: the query plan is SQLite's (EXPLAIN QUERY PLAN); PostgreSQL chooses its own.
describe('ledger: audit on SQLite', () => {
  const { dir, cleanup } = tempDir('mctb-users-');
  after(cleanup);

  it('failedLogins is answered from the indexes audit_subject and audit_address', async () => {
    const path = join(dir, 'plan.db');
    await (await Ledger.open(path)).close();
    const db = await SqliteFile.open(path);
    try {
      const plan = async (column: string) =>
        (await db.all<{ detail: string }>(`EXPLAIN QUERY PLAN SELECT count(*) FROM audit WHERE action IN ('login_failed', 'login_throttled') AND ${column} = ? AND at >= ?`, ['x', 0])).map((r) => r.detail).join('\n');
      expect(await plan('subject')).to.match(/USING COVERING INDEX audit_subject \(action=\? AND subject=\? AND at>\?\)/);
      expect(await plan('address')).to.match(/USING COVERING INDEX audit_address \(action=\? AND address=\? AND at>\?\)/);
    } finally {
      await db.close();
    }
  });
});
