// `mctb demo --console` (issue 14): after the replay it keeps running with the console on
// 127.0.0.1, prints its URL and a one-time login, a caller answers a text-back, and an answer
// typed in the console reaches the loopback SMSC and is receipted; Ctrl-C ends it cleanly.

import { expect } from 'chai';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { DEMO_REPLY } from '../../src/demo/demo';
import { waitFor } from '../support/harness';
import { httpSession, post } from '../support/console';

const MAIN = join(__dirname, '..', '..', 'src', 'cli', 'main.js');

describe('mctb demo --console', function () {
  this.timeout(90_000);

  it('serves a live thread to answer with a one-time login; the answer is submitted and receipted; Ctrl-C stops it', async () => {
    const child = spawn(process.execPath, [MAIN, 'demo', '--console', '--port', '0'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (err += c.toString()));
    const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
    try {
      const m = await waitFor('the console line', () => /The console: (http:\/\/127\.0\.0\.1:\d+)\/\s+user: demo\s+password: (\S+)/.exec(out), 40_000);
      const [, base, password] = m as RegExpExecArray;
      await waitFor('the caller replies', () => out.includes('REPLY'), 20_000);
      const s = await httpSession(base, 'demo', password);
      const inbox = await waitFor('the reply in the inbox', async () => {
        const html = await (await fetch(`${base}/inbox`, { headers: { cookie: s.cookie } })).text();
        return html.includes('Yes please! Can someone call me back after 3?') && html;
      });
      expect(DEMO_REPLY).to.equal('Yes please! Can someone call me back after 3?');
      // Jane's thread (Mike's is there too: he texted STOP, so nothing may be sent to him).
      const thread = /data-number="\+14155550123">\s*<a href="\/threads\/(\d+)"/.exec(inbox)![1];
      const res = await post(base, `/threads/${thread}/reply`, { _csrf: s.csrf, text: 'Of course, Jane: 3:15 today.' }, { cookie: s.cookie });
      expect(res.status).to.equal(303);
      await waitFor('the answer at the gateway', () => /SMS\s+reply from the console to \+14155550123: "Of course, Jane: 3:15 today\."/.test(out), 10_000);
      const timeline = await waitFor('delivered on the thread', async () => {
        const html = await (await fetch(`${base}/threads/${thread}/timeline`, { headers: { cookie: s.cookie } })).text();
        return /data-state="delivered"[^]*?Of course, Jane|Of course, Jane[^]*?data-state="delivered"/.test(html) && html;
      });
      expect(timeline).to.contain('by demo');
    } finally {
      child.kill('SIGINT');
    }
    expect(await exited, err).to.equal(0);
  });
});
