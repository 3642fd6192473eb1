// Console passwords: scrypt hashes in the stored form, verified in constant time; a malformed
// stored value is a plain "no", and the dummy hash lets an unknown name cost a real verify.

import { expect } from 'chai';
import { DUMMY_HASH, dummyHash, hashPassword, passwordProblem, verifyPassword } from '../../src/console/passwords';

const FORM = /^scrypt\$32768\$8\$1\$([A-Za-z0-9+/]+={0,2})\$([A-Za-z0-9+/]+={0,2})$/;

describe('console passwords', function () {
  this.timeout(30_000);

  it('a hash verifies its password and no other', async () => {
    const stored = await hashPassword('correct horse battery');
    const m = FORM.exec(stored);
    expect(m, stored).to.not.equal(null);
    expect(Buffer.from(m![1], 'base64')).to.have.length(16);
    expect(Buffer.from(m![2], 'base64')).to.have.length(32);
    expect(stored).to.not.include('correct horse');
    expect(await verifyPassword('correct horse battery', stored)).to.equal(true);
    expect(await verifyPassword('correct horse batterY', stored)).to.equal(false);
    expect(await verifyPassword('', stored)).to.equal(false);
  });

  it('the same password twice gets two salts, two hashes, both verifying', async () => {
    const [a, b] = await Promise.all([hashPassword('same password here'), hashPassword('same password here')]);
    expect(a).to.not.equal(b);
    expect(FORM.exec(a)![1]).to.not.equal(FORM.exec(b)![1]);
    for (const h of [a, b]) expect(await verifyPassword('same password here', h)).to.equal(true);
  });

  it('a password is read NFC-normalized: the same word typed composed or decomposed', async () => {
    const stored = await hashPassword('caf\u00e9-au-lait-123');
    expect(await verifyPassword('cafe\u0301-au-lait-123', stored)).to.equal(true);
  });

  it('a malformed stored value is false, never a throw', async () => {
    const good = await hashPassword('correct horse battery');
    const [, n, r, p, salt, key] = good.split('$');
    const bad = [
      '',
      'x',
      'scrypt',
      `bcrypt$${n}$${r}$${p}$${salt}$${key}`,
      `scrypt$${n}$${r}$${p}$${salt}`,
      `scrypt$${n}$${r}$${p}$${salt}$${key}$extra`,
      `scrypt$30000$${r}$${p}$${salt}$${key}`, // N not a power of 2
      `scrypt$${2 ** 24}$${r}$${p}$${salt}$${key}`, // would need gigabytes
      `scrypt$${n}$0$${p}$${salt}$${key}`,
      `scrypt$${n}$${r}$-1$${salt}$${key}`,
      `scrypt$${n}$${r}$${p}$not*base64$${key}`,
      `scrypt$${n}$${r}$${p}$${salt}$`,
      `scrypt$${n}$${r}$${p}$${salt}$${Buffer.alloc(4).toString('base64')}`,
      `scrypt$1e4$${r}$${p}$${salt}$${key}`,
    ];
    for (const stored of bad) expect(await verifyPassword('correct horse battery', stored), stored).to.equal(false);
    expect(await verifyPassword('correct horse battery', null as unknown as string)).to.equal(false);
    expect(await verifyPassword('correct horse battery', undefined as unknown as string)).to.equal(false);
  });

  it('the dummy hash is well-formed, matches nothing, and costs a real verify', async () => {
    expect(DUMMY_HASH).to.match(FORM);
    expect(await dummyHash()).to.equal(DUMMY_HASH);
    const started = process.hrtime.bigint();
    expect(await verifyPassword('', DUMMY_HASH)).to.equal(false);
    const dummyMs = Number(process.hrtime.bigint() - started) / 1e6;
    const real = await hashPassword('correct horse battery');
    const started2 = process.hrtime.bigint();
    await verifyPassword('wrong password here', real);
    const realMs = Number(process.hrtime.bigint() - started2) / 1e6;
    // Both run scrypt with the same parameters (loose bounds: the machine is shared).
    expect(dummyMs).to.be.above(realMs / 5);
  });

  it('the policy: at least 10 characters, said in plain words', () => {
    expect(passwordProblem('short')).to.equal('a password needs at least 10 characters; this one has 5');
    expect(passwordProblem('123456789')).to.match(/at least 10 characters/);
    expect(passwordProblem('1234567890')).to.equal(undefined);
    // Characters, not UTF-16 units: five emoji are five characters.
    expect(passwordProblem('🙂🙂🙂🙂🙂')).to.match(/has 5$/);
  });
});
