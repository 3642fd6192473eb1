// Issue 14: contacts, opt-outs and users in the console, over HTTP: what staff may do for their
// businesses, what only an owner may do, and the audit trail of each change.

import { expect } from 'chai';
import { loadCapture } from '../../src/demo/ami-replay';
import { waitFor } from '../support/harness';
import type { Pipeline } from '../support/pipeline';
import { BUSINESSES, httpSession, JANE, MIKE, PASSWORD, post, startConsole } from '../support/console';

describe('console: contacts, opt-outs, users', function () {
  this.timeout(60_000);
  let p: (Pipeline & { base: string }) | undefined;
  before(async () => {
    p = await startConsole();
    await p.pbx.play(loadCapture('noanswer')); // Jane → Brightside Dental
    await p.pbx.play(loadCapture('busy')); // Mike → Harbor Vets
    await waitFor('threads', async () => (await p!.daemon.ledgerHandle.threads.find('Brightside Dental', JANE)) && (await p!.daemon.ledgerHandle.threads.find('Harbor Vets', MIKE)));
  });
  after(async () => p?.stop());

  it('lets staff edit contacts of their businesses only, and audits it', async () => {
    const sam = await httpSession(p!.base, 'sam');
    const ok = await post(p!.base, '/contacts/edit', { _csrf: sam.csrf, number: JANE, name: 'Jane <Doe>', tags: 'vip, cleaning', do_not_text: '1' }, { cookie: sam.cookie });
    expect(ok.status).to.equal(303);
    const jane = await p!.daemon.ledgerHandle.contacts.get(JANE);
    expect(jane).to.include({ name: 'Jane <Doe>', tags: 'vip,cleaning', do_not_text: 1 });
    const page = await (await fetch(`${p!.base}/contacts?q=jane`, { headers: { cookie: sam.cookie } })).text();
    expect(page).to.contain('Jane &lt;Doe&gt;');
    expect(page).to.not.contain('Mike Miller');
    const refused = await post(p!.base, '/contacts/edit', { _csrf: sam.csrf, number: MIKE, name: 'x' }, { cookie: sam.cookie });
    expect(refused.status).to.equal(404);
    const audit = await p!.daemon.ledgerHandle.audit.list({ action: 'contact_changed' });
    expect(audit.map((a) => [a.actor, a.subject])).to.deep.equal([['sam', JANE]]);
    // Importing is the owner's.
    expect((await post(p!.base, '/contacts/import', { _csrf: sam.csrf, csv: 'name,number\nA,+14155550111\n' }, { cookie: sam.cookie })).status).to.equal(404);
    const olivia = await httpSession(p!.base, 'olivia');
    expect((await post(p!.base, '/contacts/import', { _csrf: olivia.csrf, csv: 'name,number\nAnn Lee,+14155550111\n' }, { cookie: olivia.cookie })).status).to.equal(303);
    expect(await p!.daemon.ledgerHandle.contacts.get('+14155550111')).to.include({ name: 'Ann Lee' });
  });

  it('lets staff add an opt-out for their business; only an owner removes one; both audited with the source', async () => {
    const sam = await httpSession(p!.base, 'sam');
    expect((await post(p!.base, '/opt-outs/add', { _csrf: sam.csrf, number: '(415) 555-0199', business: 'Harbor Vets' }, { cookie: sam.cookie })).status).to.equal(404);
    expect((await post(p!.base, '/opt-outs/add', { _csrf: sam.csrf, number: '(415) 555-0199', business: 'Brightside Dental' }, { cookie: sam.cookie })).status).to.equal(303);
    const list = await p!.daemon.ledgerHandle.optOuts.list();
    expect(list.find((o) => o.number === '+14155550199')).to.include({ business: 'Brightside Dental', source: 'console' });
    const page = await (await fetch(`${p!.base}/opt-outs`, { headers: { cookie: sam.cookie } })).text();
    expect(page).to.contain('+1 415 555 0199');
    expect(page).to.contain('console');
    expect(page).to.not.contain('/opt-outs/remove');
    expect((await post(p!.base, '/opt-outs/remove', { _csrf: sam.csrf, number: '+14155550199', business: 'Brightside Dental' }, { cookie: sam.cookie })).status).to.equal(404);
    expect(await p!.daemon.ledgerHandle.optOuts.has('+14155550199', 'Brightside Dental')).to.equal(true);
    const olivia = await httpSession(p!.base, 'olivia');
    expect((await post(p!.base, '/opt-outs/remove', { _csrf: olivia.csrf, number: '+14155550199', business: 'Brightside Dental' }, { cookie: olivia.cookie })).status).to.equal(303);
    expect(await p!.daemon.ledgerHandle.optOuts.has('+14155550199', 'Brightside Dental')).to.equal(false);
    const audit = await p!.daemon.ledgerHandle.audit.list({});
    expect(audit.filter((a) => a.action === 'opt_out_added').map((a) => a.actor)).to.deep.equal(['sam']);
    expect(audit.filter((a) => a.action === 'opt_out_removed').map((a) => a.actor)).to.deep.equal(['olivia']);
  });

  it('lets only an owner manage users; a new staff user sees only their business', async () => {
    const sam = await httpSession(p!.base, 'sam');
    expect((await fetch(`${p!.base}/users`, { headers: { cookie: sam.cookie } })).status).to.equal(404);
    expect((await post(p!.base, '/users/add', { _csrf: sam.csrf, name: 'eve', role: 'owner', password: PASSWORD }, { cookie: sam.cookie })).status).to.equal(404);
    const olivia = await httpSession(p!.base, 'olivia');
    const weak = await post(p!.base, '/users/add', { _csrf: olivia.csrf, name: 'tom', role: 'staff', business: 'Harbor Vets', password: 'short' }, { cookie: olivia.cookie });
    expect(weak.status).to.equal(400);
    const ok = await post(p!.base, '/users/add', { _csrf: olivia.csrf, name: 'tom', role: 'staff', business: 'Harbor Vets', password: PASSWORD }, { cookie: olivia.cookie });
    expect(ok.status).to.equal(303);
    const tom = await httpSession(p!.base, 'tom');
    const inbox = await (await fetch(`${p!.base}/inbox`, { headers: { cookie: tom.cookie } })).text();
    expect(inbox).to.contain('Mike Miller');
    expect(inbox).to.not.contain('Jane');
    expect((await post(p!.base, '/users/remove', { _csrf: olivia.csrf, name: 'tom' }, { cookie: olivia.cookie })).status).to.equal(303);
    // Removing a user ends their sessions.
    expect((await fetch(`${p!.base}/inbox`, { redirect: 'manual', headers: { cookie: tom.cookie } })).status).to.equal(303);
    const audit = await p!.daemon.ledgerHandle.audit.list({});
    expect(audit.filter((a) => a.action === 'user_added' || a.action === 'user_removed').map((a) => [a.action, a.actor, a.subject])).to.deep.equal([
      ['user_removed', 'olivia', 'tom'],
      ['user_added', 'olivia', 'tom'],
    ]);
    expect(JSON.stringify(audit)).to.not.contain(PASSWORD);
  });
});

describe("console: a thread's actions", function () {
  this.timeout(60_000);
  let p: (Pipeline & { base: string }) | undefined;
  afterEach(async () => p?.stop());

  it('"I\'ll call them" cancels the waiting text-back and assigns the thread; "Done" closes the task and the unread mark; filters find it', async () => {
    p = await startConsole({ businesses: [{ ...BUSINESSES[0], delay: '10m' }, BUSINESSES[1]] });
    await p.pbx.play(loadCapture('noanswer'));
    const t = await waitFor('thread', () => p!.daemon.ledgerHandle.threads.find('Brightside Dental', JANE));
    await waitFor('text-back scheduled', async () => (await p!.daemon.ledgerHandle.sends.list()).find((s) => s.kind === 'text_back' && s.state === 'scheduled'));
    p.smsc.sendText(JANE, '+15550001000', 'hello?');
    await waitFor('unread', async () => (await p!.daemon.ledgerHandle.threads.get(t.id))?.unread === 1);
    const sam = await httpSession(p.base, 'sam');
    const list = async (q: string) => (await fetch(`${p!.base}/inbox/list?${q}`, { headers: { cookie: sam.cookie } })).text();
    expect(await list('unread=1')).to.contain(`/threads/${t.id}`);
    expect(await list('task=1')).to.contain(`/threads/${t.id}`);
    expect(await list('mine=1')).to.not.contain(`/threads/${t.id}`);
    expect(await list('q=555-0123')).to.contain(`/threads/${t.id}`);
    expect(await list('q=jane')).to.contain(`/threads/${t.id}`);
    expect(await list('q=nobody')).to.not.contain(`/threads/${t.id}`);
    // Opening the thread changes nothing.
    expect((await fetch(`${p.base}/threads/${t.id}`, { headers: { cookie: sam.cookie } })).status).to.equal(200);
    expect((await p.daemon.ledgerHandle.threads.get(t.id))?.unread).to.equal(1);

    expect((await post(p.base, `/threads/${t.id}/call-them`, { _csrf: sam.csrf }, { cookie: sam.cookie })).status).to.equal(303);
    const textBack = (await p.daemon.ledgerHandle.sends.list()).find((s) => s.kind === 'text_back');
    expect(textBack).to.include({ state: 'cancelled', reason: 'staff_calling' });
    expect(await list('mine=1')).to.contain(`/threads/${t.id}`);

    expect((await post(p.base, `/threads/${t.id}/done`, { _csrf: sam.csrf }, { cookie: sam.cookie })).status).to.equal(303);
    const after = await p.daemon.ledgerHandle.threads.get(t.id);
    expect(after).to.include({ unread: 0, open_task: 0 });
    expect(await list('unread=1')).to.not.contain(`/threads/${t.id}`);
    expect(await list('task=1')).to.not.contain(`/threads/${t.id}`);
    expect(p.smsc.submits.filter((s) => s.destination.endsWith('4155550123'))).to.have.length(0);
  });
});
