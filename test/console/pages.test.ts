// Issue 14: the dashboard's figures against `mctb report --json` over the same ledger, the pages
// at phone width (390×844) without horizontal scrolling, and the README's screenshots (docs/),
// made here so they show what the code does today.

import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import YAML from 'yaml';
import type { Browser, Page } from 'playwright-core';
import { loadCapture, rewriteCapture } from '../../src/demo/ami-replay';
import { waitFor } from '../support/harness';
import type { Pipeline } from '../support/pipeline';
import { BUSINESSES, JANE, launchBrowser, SHOP, signIn, startConsole } from '../support/console';

const run = promisify(execFile);
const ROOT = join(__dirname, '..', '..', '..');
const DOCS = join(ROOT, 'docs');

describe('console pages', function () {
  this.timeout(120_000);
  let browser: Browser;
  let p: (Pipeline & { base: string }) | undefined;

  before(async () => {
    browser = await launchBrowser();
    p = await startConsole({ smsc: { receiptDelayMs: 50 } });
    // A morning's calls: Jane missed and replies; Mike busy, then calls again and is answered (recovered).
    await p.pbx.play(loadCapture('noanswer'));
    await p.pbx.play(rewriteCapture(loadCapture('busy'), 30, { '15550001001': SHOP.slice(1) }));
    await p.pbx.play(rewriteCapture(loadCapture('answered'), 90, { '15550001003': SHOP.slice(1), '+16175550110': '+13125550147', 'Tom Nguyen': 'Mike Miller' }));
    await p.pbx.play(loadCapture('busy')); // Harbor Vets
    await waitFor('calls decided', () => p!.decided.length >= 4, 20_000);
    // Mike's text-back is cancelled: he was answered before it went (decided in one batch).
    await waitFor('texts delivered', async () => (await p!.daemon.ledgerHandle.sends.list()).filter((s) => s.state === 'delivered').length >= 2, 20_000);
    p.smsc.sendText(JANE, SHOP, 'Hi! Yes please, can someone call me about a cleaning on Friday?');
    await waitFor('reply stored', async () => (await p!.daemon.ledgerHandle.messages.list(JANE)).length === 1);
  });
  after(async () => {
    await browser?.close();
    await p?.stop();
  });

  async function page(viewport: { width: number; height: number }): Promise<Page> {
    const ctx = await browser.newContext({ viewport, deviceScaleFactor: 1 });
    const pg = await ctx.newPage();
    await signIn(pg, p!.base, 'olivia');
    return pg;
  }

  async function noHorizontalScroll(pg: Page): Promise<void> {
    const { scroll, client } = await pg.evaluate<{ scroll: number; client: number }>('({ scroll: document.documentElement.scrollWidth, client: document.documentElement.clientWidth })');
    expect(scroll, `${pg.url()} scrolls sideways`).to.be.at.most(client);
  }

  it("shows the same figures as `mctb report --json` for the same window and business", async () => {
    const configFile = join(p!.dir, 'mctb.yaml');
    writeFileSync(configFile, YAML.stringify({ ...configOf(p!), businesses: BUSINESSES }));
    const pg = await page({ width: 1100, height: 900 });
    for (const business of ['Brightside Dental', undefined]) {
      await pg.goto(`${p!.base}/dashboard?days=7${business ? `&business=${encodeURIComponent(business)}` : ''}`);
      const shown = await pg.$$eval('[data-key]', (els) => Object.fromEntries(els.map((e) => [e.getAttribute('data-key'), e.getAttribute('data-value') ?? e.textContent])));
      const { stdout } = await run(process.execPath, [join(ROOT, 'dist', 'src', 'cli', 'main.js'), 'report', '-c', configFile, '--since', '7d', '--json', ...(business ? ['--business', business] : [])]);
      const j = JSON.parse(stdout) as { recovered: number; missed_callers: number; texted: number; contacts_replied: number; reply_rate: number | null; median_seconds_to_text: number | null; calls: { missed: number }; texts: { delivered: number } };
      const want: Record<string, string> = {
        recovered: String(j.recovered),
        'calls.missed': String(j.calls.missed),
        missed_callers: String(j.missed_callers),
        texted: String(j.texted),
        'texts.delivered': String(j.texts.delivered),
        contacts_replied: String(j.contacts_replied),
        reply_rate: j.reply_rate === null ? '' : String(j.reply_rate),
        median_seconds_to_text: j.median_seconds_to_text === null ? '' : String(j.median_seconds_to_text),
      };
      expect(shown, business ?? 'all businesses').to.deep.equal(want);
      if (business) {
        expect(j.recovered).to.equal(1); // Mike: busy, then called again and answered
        expect(j.calls.missed).to.equal(2);
      }
    }
    mkdirSync(DOCS, { recursive: true });
    await pg.goto(`${p!.base}/dashboard?days=7&business=${encodeURIComponent('Brightside Dental')}`);
    await pg.screenshot({ path: join(DOCS, 'console-dashboard.png'), fullPage: true });
    await pg.context().close();
  });

  it('is usable at phone width: inbox and thread without horizontal scrolling (screenshots in docs/)', async () => {
    mkdirSync(DOCS, { recursive: true });
    const desk = await page({ width: 1100, height: 760 });
    await desk.goto(`${p!.base}/inbox`);
    await desk.locator('[data-testid=thread]').first().waitFor();
    await desk.screenshot({ path: join(DOCS, 'console-inbox.png') });
    const thread = await p!.daemon.ledgerHandle.threads.find('Brightside Dental', JANE);
    await desk.goto(`${p!.base}/threads/${thread!.id}`);
    await desk.fill('[data-testid=reply-text]', 'Of course! Dr. Lee has Friday 10:30 open. Shall I book it?');
    await desk.locator('[data-testid=count]', { hasText: 'segment' }).waitFor();
    await desk.screenshot({ path: join(DOCS, 'console-thread.png'), fullPage: true });
    await desk.context().close();

    const phone = await page({ width: 390, height: 844 });
    await phone.goto(`${p!.base}/inbox`);
    await phone.locator('[data-testid=thread]').first().waitFor();
    await noHorizontalScroll(phone);
    await phone.screenshot({ path: join(DOCS, 'console-phone-inbox.png') });
    await phone.goto(`${p!.base}/threads/${thread!.id}`);
    await phone.locator('[data-testid=item-in]').waitFor();
    await noHorizontalScroll(phone);
    await phone.screenshot({ path: join(DOCS, 'console-phone-thread.png'), fullPage: true });
    for (const path of ['/dashboard', '/contacts', '/opt-outs', '/users']) {
      await phone.goto(`${p!.base}${path}`);
      await noHorizontalScroll(phone);
    }
    await phone.context().close();
  });
});

/** The running pipeline's config as a file `mctb report` can read (its ledger, its businesses). */
function configOf(p: Pipeline): Record<string, unknown> {
  return {
    asterisk: { ami: { host: '127.0.0.1', port: 5038, username: 'mctb', secret: 'x' } },
    sms: { transport: 'log' },
    ledger: { path: p.config.ledger.path },
    defaults: { timezone: 'America/Chicago' },
  };
}
