// Issue 14: who may do what, over plain HTTP (what a browser would never send is the point):
// every route needs a session, every state-changing one a CSRF token and the console's own
// origin, staff see only their businesses (pages, posts and live events), sign-ins are
// throttled and audited, and the headers forbid framing and inline script.

import { expect } from 'chai';
import { loadCapture } from '../../src/demo/ami-replay';
import { waitFor } from '../support/harness';
import type { Pipeline } from '../support/pipeline';
import { httpSession, JANE, MIKE, PASSWORD, post, startConsole } from '../support/console';

/** Reads server-sent events from /events into `events` until `stop()`. */
function listen(base: string, cookie: string, headers: Record<string, string> = {}) {
  const events: { event: string; id: string; data: string }[] = [];
  const ac = new AbortController();
  let status = 0;
  const done = (async () => {
    const res = await fetch(`${base}/events`, { headers: { cookie, ...headers }, signal: ac.signal });
    status = res.status;
    if (!res.body) return;
    const decoder = new TextDecoder();
    let buf = '';
    for await (const chunk of res.body) {
      buf += decoder.decode(chunk as Uint8Array, { stream: true });
      let at;
      while ((at = buf.indexOf('\n\n')) >= 0) {
        const block = buf.slice(0, at);
        buf = buf.slice(at + 2);
        const f = Object.fromEntries(block.split('\n').filter((l) => /^(event|id|data):/.test(l)).map((l) => [l.slice(0, l.indexOf(':')), l.slice(l.indexOf(':') + 2)]));
        if (f.event) events.push({ event: f.event, id: f.id ?? '', data: f.data ?? '' });
      }
    }
  })().catch(() => undefined);
  return { events, status: () => status, stop: async () => (ac.abort(), await done) };
}

describe('console security', function () {
  this.timeout(60_000);
  let p: (Pipeline & { base: string }) | undefined;
  afterEach(async () => {
    await p?.stop();
    p = undefined;
  });

  it('refuses every route, form post and the event stream without a session', async () => {
    p = await startConsole();
    const routes = p.daemon.consoleRoutes.filter((r) => !r.public);
    expect(routes.length).to.be.greaterThan(15);
    for (const r of routes) {
      const url = `${p.base}${r.url.replace(/:\w+/g, '1')}`;
      const res = await fetch(url, { method: r.method, redirect: 'manual', headers: { origin: p.base, 'content-type': 'application/x-www-form-urlencoded' }, body: r.method === 'GET' ? undefined : 'text=hi' });
      const refused = res.status === 401 || (res.status === 303 && res.headers.get('location') === '/login');
      expect(refused, `${r.method} ${r.url} answered ${res.status} without a session`).to.equal(true);
    }
    // A forged cookie is no session either.
    const forged = await fetch(`${p.base}/inbox`, { redirect: 'manual', headers: { cookie: 'mctb_session=' + 'A'.repeat(43) } });
    expect(forged.status).to.equal(303);
    const sse = await fetch(`${p.base}/events`, {});
    expect(sse.status).to.equal(401);
  });

  it('refuses a form post without the CSRF token, with a wrong one, or from another origin', async () => {
    p = await startConsole();
    await p.pbx.play(loadCapture('noanswer'));
    const thread = await waitFor('thread', () => p!.daemon.ledgerHandle.threads.find('Brightside Dental', JANE));
    const s = await httpSession(p.base, 'olivia');
    const path = `/threads/${thread.id}/notes`;
    const cases: [string, Record<string, string>, Record<string, string>][] = [
      ['no token', { text: 'x' }, { cookie: s.cookie }],
      ['a wrong token', { text: 'x', _csrf: s.csrf.slice(0, -2) + 'xx' }, { cookie: s.cookie }],
      ['another origin', { text: 'x', _csrf: s.csrf }, { cookie: s.cookie, origin: 'http://evil.example' }],
      ['no origin at all', { text: 'x', _csrf: s.csrf }, { cookie: s.cookie, origin: '' }],
    ];
    for (const [why, fields, headers] of cases) {
      const h = { ...headers };
      const res = await fetch(`${p.base}${path}`, {
        method: 'POST',
        redirect: 'manual',
        headers: { 'content-type': 'application/x-www-form-urlencoded', ...(h.origin === '' ? {} : { origin: h.origin ?? p.base }), cookie: h.cookie },
        body: new URLSearchParams(fields).toString(),
      });
      expect(res.status, why).to.equal(403);
    }
    const ok = await post(p.base, path, { text: 'Called, left a message', _csrf: s.csrf }, { cookie: s.cookie });
    expect(ok.status).to.equal(303);
    const timeline = await p.daemon.ledgerHandle.threads.timeline(thread);
    expect(timeline.filter((i) => i.type === 'note')).to.have.length(1);
    // Another session's token is not this one's.
    const other = await httpSession(p.base, 'sam');
    const crossed = await post(p.base, path, { text: 'x', _csrf: other.csrf }, { cookie: s.cookie });
    expect(crossed.status).to.equal(403);
  });

  it("gives staff of one business 404 for another business's thread by URL and post, and none of its live events", async () => {
    p = await startConsole();
    const vera = await httpSession(p.base, 'vera'); // Harbor Vets only
    const sam = await httpSession(p.base, 'sam'); // Brightside Dental only
    const veraLive = listen(p.base, vera.cookie);
    const samLive = listen(p.base, sam.cookie);
    await waitFor('streams open', () => veraLive.events.length > 0 && samLive.events.length > 0);

    await p.pbx.play(loadCapture('noanswer')); // Brightside Dental
    const dental = await waitFor('dental thread', () => p!.daemon.ledgerHandle.threads.find('Brightside Dental', JANE));
    await p.pbx.play(loadCapture('busy')); // Harbor Vets
    const vets = await waitFor('vets thread', () => p!.daemon.ledgerHandle.threads.find('Harbor Vets', MIKE));
    await waitFor('sam sees his call', () => samLive.events.some((e) => e.event === 'change' && JSON.parse(e.data).thread === dental.id));
    await waitFor('vera sees hers', () => veraLive.events.some((e) => e.event === 'change' && JSON.parse(e.data).thread === vets.id));
    await new Promise((r) => setTimeout(r, 500));
    expect(samLive.events.filter((e) => e.event === 'change').map((e) => JSON.parse(e.data).business)).to.not.include('Harbor Vets');
    expect(veraLive.events.filter((e) => e.event === 'change').map((e) => JSON.parse(e.data).business)).to.not.include('Brightside Dental');
    await samLive.stop();
    await veraLive.stop();

    for (const path of [`/threads/${vets.id}`, `/threads/${vets.id}/timeline`]) {
      const res = await fetch(`${p.base}${path}`, { headers: { cookie: sam.cookie } });
      expect(res.status, path).to.equal(404);
      expect(await res.text()).to.not.contain('Harbor Vets');
    }
    for (const action of ['reply', 'notes', 'done', 'call-them', 'assign']) {
      const res = await post(p.base, `/threads/${vets.id}/${action}`, { _csrf: sam.csrf, text: 'hello' }, { cookie: sam.cookie });
      expect(res.status, action).to.equal(404);
    }
    expect((await p.daemon.ledgerHandle.sends.list()).filter((s) => s.kind === 'console')).to.have.length(0);
    const inbox = await (await fetch(`${p.base}/inbox`, { headers: { cookie: sam.cookie } })).text();
    expect(inbox).to.contain(`/threads/${dental.id}`);
    expect(inbox).to.not.contain(`/threads/${vets.id}"`);
    // The owner sees both.
    const olivia = await httpSession(p.base, 'olivia');
    expect((await fetch(`${p.base}/threads/${vets.id}`, { headers: { cookie: olivia.cookie } })).status).to.equal(200);
  });

  it('resumes the event stream from Last-Event-ID without losing what happened meanwhile', async () => {
    p = await startConsole();
    const s = await httpSession(p.base, 'olivia');
    const first = listen(p.base, s.cookie);
    await waitFor('hello', () => first.events.find((e) => e.event === 'hello'));
    const lastId = first.events[first.events.length - 1].id;
    await first.stop();
    await p.pbx.play(loadCapture('noanswer'));
    const thread = await waitFor('thread', () => p!.daemon.ledgerHandle.threads.find('Brightside Dental', JANE));
    await waitFor('text-back', () => p!.smsc.submits.length >= 1);
    const again = listen(p.base, s.cookie, { 'last-event-id': lastId });
    await waitFor('missed change replayed', () => again.events.some((e) => e.event === 'change' && JSON.parse(e.data).thread === thread.id && JSON.parse(e.data).what === 'call'));
    expect(again.events.some((e) => e.event === 'hello' || e.event === 'reset')).to.equal(false);
    await again.stop();
    // An id from another run (a restart) resets the page instead of trusting a gap.
    const stale = listen(p.base, s.cookie, { 'last-event-id': 'deadbeef-3' });
    await waitFor('reset', () => stale.events.some((e) => e.event === 'reset'));
    await stale.stop();
  });

  it('throttles sign-ins: the attempt after the allowed wrong ones is refused even with the right password, and the audit table has them', async () => {
    p = await startConsole({ console: { login_attempts: 3 } });
    const attempt = (password: string, name = 'sam') => post(p!.base, '/login', { name, password });
    for (let i = 0; i < 3; i++) expect((await attempt(`wrong-${i}`)).status).to.equal(401);
    const refused = await attempt(PASSWORD);
    expect(refused.status).to.equal(429);
    expect(refused.headers.get('set-cookie')).to.equal(null);
    expect(await refused.text()).to.contain('Too many failed attempts');
    const audit = await p.daemon.ledgerHandle.audit.list({});
    expect(audit.filter((a) => a.action === 'login_failed' && a.subject === 'sam')).to.have.length(3);
    expect(audit.filter((a) => a.action === 'login_throttled' && a.subject === 'sam')).to.have.length(1);
    expect(audit.filter((a) => a.action === 'login_ok')).to.have.length(0);
    // Nothing in the audit table or the log holds a password.
    const all = JSON.stringify(audit) + p.logLines.join('\n');
    for (const pw of ['wrong-0', 'wrong-1', 'wrong-2', PASSWORD]) expect(all).to.not.contain(pw);
    // Another user from another address is not held up.
    expect((await attempt(PASSWORD, 'olivia')).status).to.equal(429); // same address: throttled too
  });

  it('sends the security headers, a session cookie that scripts cannot read, and ends sessions on sign-out', async () => {
    p = await startConsole();
    const res = await post(p.base, '/login', { name: 'olivia', password: PASSWORD });
    const cookie = res.headers.get('set-cookie') ?? '';
    expect(cookie).to.match(/HttpOnly/i);
    expect(cookie).to.match(/SameSite=Lax/i);
    const id = /mctb_session=([^;]+)/.exec(cookie)![1];
    expect(Buffer.from(id, 'base64url').length).to.be.at.least(16);
    const page = await fetch(`${p.base}/login`);
    const csp = page.headers.get('content-security-policy') ?? '';
    expect(csp).to.contain("frame-ancestors 'none'");
    expect(csp).to.match(/script-src 'self'(;|$)/);
    expect(csp).to.not.contain('unsafe-inline');
    expect(page.headers.get('x-content-type-options')).to.equal('nosniff');
    // The ledger holds the session's hash, not the id.
    const ledgerText = JSON.stringify(await p.daemon.ledgerHandle.audit.list({}));
    expect(ledgerText).to.not.contain(id);
    const s = { cookie: `mctb_session=${id}` };
    const inbox = await (await fetch(`${p.base}/inbox`, { headers: s })).text();
    const csrf = /name="_csrf" value="([^"]+)"/.exec(inbox)![1];
    expect((await post(p.base, '/logout', { _csrf: csrf }, s)).status).to.equal(303);
    expect((await fetch(`${p.base}/inbox`, { redirect: 'manual', headers: s })).status).to.equal(303);
  });
});
