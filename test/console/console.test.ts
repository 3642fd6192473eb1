// Issue 14 in a real browser (Debian's chromium through playwright-core) against the real daemon,
// the loopback AMI replay of real captures and the loopback SMSC: live inbox and thread, a reply
// from the business's number receipted on screen, hostile text shown as text, opt-outs.

import { expect } from 'chai';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { loadCapture, rewriteCapture } from '../../src/demo/ami-replay';
import { forEachEngine } from '../support/engines';
import { waitFor } from '../support/harness';
import type { Pipeline } from '../support/pipeline';
import { JANE, launchBrowser, post, SHOP, signIn, startConsole, httpSession } from '../support/console';

// The whole suite runs on both ledger engines: the console reads the same on SQLite and PostgreSQL.
forEachEngine('console in a browser', function (engine) {
  this.timeout(90_000);
  let browser: Browser;
  let p: (Pipeline & { base: string }) | undefined;
  let context: BrowserContext | undefined;
  let problems: string[];

  before(async () => {
    browser = await launchBrowser();
  });
  after(async () => {
    await browser?.close();
  });
  afterEach(async () => {
    await context?.close();
    context = undefined;
    await p?.stop();
    p = undefined;
  });

  /** A page that records every dialog (an alert would be script run from data) and console error. */
  async function openPage(viewport = { width: 1100, height: 800 }): Promise<Page> {
    context = await browser.newContext({ viewport });
    const page = await context.newPage();
    problems = [];
    page.on('dialog', (d) => {
      problems.push(`dialog: ${d.message()}`);
      void d.dismiss();
    });
    page.on('console', (m) => m.type() === 'error' && problems.push(`console: ${m.text()}`));
    page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
    return page;
  }

  it('shows a missed call live, a reply live, and sends the answer from the business number until it is delivered', async () => {
    p = await startConsole({ engine,  smsc: { receiptDelayMs: 1500 } });
    const page = await openPage();
    await signIn(page, p.base, 'olivia');
    await page.waitForSelector('body[data-connected="1"]');
    expect(await page.locator('[data-testid=thread]').count()).to.equal(0);

    await p.pbx.play(loadCapture('noanswer'));
    const row = page.locator(`[data-testid=thread][data-number="${JANE}"]`);
    await row.waitFor({ timeout: 10_000 });
    expect(await row.textContent()).to.contain('Jane Doe');
    await waitFor('text-back submitted', () => p!.smsc.submits.some((s) => s.destination === JANE.slice(1) || s.destination === JANE));

    await row.locator('a').click();
    await page.waitForSelector('[data-testid=item-call]');
    expect(await page.locator('[data-testid=item-call]').first().textContent()).to.contain('Unanswered');

    p.smsc.sendText(JANE, SHOP, 'Can you call me back after 3?');
    await page.locator('[data-testid=item-in]', { hasText: 'Can you call me back after 3?' }).waitFor({ timeout: 5000 });
    await waitFor('tab title shows the unread thread', async () => (await page.title()).startsWith('(1) '));

    await page.fill('[data-testid=reply-text]', 'Sure, Dr. Lee will call you at 3:15.');
    await page.locator('[data-testid=count]', { hasText: 'GSM-7' }).waitFor();
    expect(await page.locator('[data-testid=count]').textContent()).to.match(/36 characters · GSM-7 · 1 segment/);
    await page.click('[data-testid=send]');
    const mine = page.locator('[data-testid=item-out]', { hasText: 'Dr. Lee will call you' });
    await mine.waitFor();
    const submit = await waitFor('reply at the SMSC', () => p!.smsc.submits.find((s) => s.text === 'Sure, Dr. Lee will call you at 3:15.'));
    expect(submit.source.replace(/^\+/, '')).to.equal(SHOP.slice(1));
    expect(submit.destination.replace(/^\+/, '')).to.equal(JANE.slice(1));
    await page.locator('[data-testid=item-out][data-state=delivered]', { hasText: 'Dr. Lee will call you' }).waitFor({ timeout: 10_000 });
    expect(await mine.textContent()).to.contain('by olivia');
    const row2 = (await p.daemon.ledgerHandle.sends.list()).find((s) => s.kind === 'console');
    expect(row2).to.include({ state: 'delivered', business: 'Brightside Dental' });
    // Answering marks the thread read.
    await waitFor('tab title without unread', async () => !(await page.title()).startsWith('('));
    expect(problems).to.deep.equal([]);
  });

  it('shows a hostile caller name and message body as text: no dialog, no script, no element', async () => {
    p = await startConsole({ engine });
    const hostileName = '<img src=x onerror=alert(1)>';
    await p.pbx.play(rewriteCapture(loadCapture('noanswer'), 0, { 'Jane Doe': hostileName }));
    await waitFor('text-back', () => p!.smsc.submits.length >= 1);
    p.smsc.sendText(JANE, SHOP, '<script>alert("x")</script> and <b>bold</b>');
    await waitFor('reply stored', async () => (await p!.daemon.ledgerHandle.messages.list(JANE)).length === 1);

    const page = await openPage();
    await signIn(page, p.base, 'olivia');
    const row = page.locator(`[data-testid=thread][data-number="${JANE}"]`);
    await row.waitFor();
    expect(await row.textContent()).to.contain(hostileName);
    await row.locator('a').click();
    await page.locator('[data-testid=item-in]').waitFor();
    expect(await page.locator('[data-testid=item-in] .body').textContent()).to.equal('<script>alert("x")</script> and <b>bold</b>');
    expect(await page.title()).to.contain(hostileName);
    expect(await page.locator('main img').count()).to.equal(0);
    expect(await page.locator('main script, main b').count()).to.equal(0);
    await page.waitForTimeout(300);
    expect(problems).to.deep.equal([]);
  });

  it('disables the reply box for an opted-out contact, and the server refuses a hand-made send', async () => {
    p = await startConsole({ engine });
    await p.pbx.play(loadCapture('noanswer'));
    await waitFor('text-back', () => p!.smsc.submits.length >= 1);
    p.smsc.sendText(JANE, SHOP, 'STOP');
    await waitFor('opted out', () => p!.daemon.ledgerHandle.optOuts.has(JANE, 'Brightside Dental'));
    const thread = await p.daemon.ledgerHandle.threads.find('Brightside Dental', JANE);

    const page = await openPage();
    await signIn(page, p.base, 'sam');
    await page.goto(`${p.base}/threads/${thread!.id}`);
    expect(await page.locator('[data-testid=reply-text]').isDisabled()).to.equal(true);
    expect(await page.locator('[data-testid=send]').isDisabled()).to.equal(true);
    expect(await page.locator('[data-testid=blocked]').textContent()).to.contain('opted out');

    const submitsBefore = p.smsc.submits.length;
    const s = await httpSession(p.base, 'sam');
    const res = await post(p.base, `/threads/${thread!.id}/reply`, { _csrf: s.csrf, text: 'Are you sure?' }, { cookie: s.cookie });
    expect(res.status).to.equal(409);
    expect(await res.text()).to.contain('opted out');
    expect((await p.daemon.ledgerHandle.sends.list()).filter((r) => r.kind === 'console')).to.have.length(0);
    await new Promise((r) => setTimeout(r, 300));
    expect(p.smsc.submits.length).to.equal(submitsBefore);
  });
});
