// /healthz and /metrics of a running daemon (loopback AMI + SMPP, real ledger).

import { expect } from 'chai';
import { loadCapture } from '../../src/demo/ami-replay';
import { sleep, waitFor } from '../support/harness';
import { startPipeline, type Pipeline } from '../support/pipeline';

/** Prometheus text exposition format, line by line: comments, or `name{labels} value`. */
function parsePrometheus(text: string): Map<string, number> {
  const samples = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('# HELP ') || line.startsWith('# TYPE ')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(?:[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\]|\\.)*",?)*\})? (-?[0-9.e+-]+|NaN|\+Inf|-Inf)$/.exec(line);
    if (!m) throw new Error(`not Prometheus text: ${JSON.stringify(line)}`);
    samples.set(`${m[1]}${m[2] ?? ''}`, Number(m[3]));
  }
  return samples;
}

describe('health and metrics over HTTP', function () {
  this.timeout(60_000);
  let p: Pipeline | undefined;
  afterEach(async () => {
    await p?.stop();
    p = undefined;
  });

  it('/healthz is 503 while the SMPP gateway is down and 200 again when it is back', async () => {
    p = await startPipeline({ top: { http: { listen: '127.0.0.1:0' } } });
    const url = `http://127.0.0.1:${p.daemon.healthPort}/healthz`;
    await waitFor('healthy', async () => (await fetch(url)).status === 200);
    const ok = (await (await fetch(url)).json()) as { ok: boolean; pbx: { up: boolean }; sms: { up: boolean }; ledger: { up: boolean } };
    expect(ok).to.deep.include({ ok: true });
    expect(ok.pbx.up && ok.sms.up && ok.ledger.up).to.equal(true);

    const port = p.config.sms.smpp!.port;
    await p.smsc.close();
    await waitFor('unhealthy', async () => (await fetch(url)).status === 503);
    const down = (await (await fetch(url)).json()) as { sms: { up: boolean }; pbx: { up: boolean } };
    expect(down.sms.up).to.equal(false);
    expect(down.pbx.up).to.equal(true);

    const { LoopbackSmsc } = await import('../../src/demo/loopback-smsc');
    const again = new LoopbackSmsc();
    await again.listen(port);
    try {
      await waitFor('healthy again', async () => (await fetch(url)).status === 200, 20_000);
    } finally {
      await p.stop();
      await again.close();
    }
  });

  it('/metrics is Prometheus text and counts a replayed missed call and its text', async () => {
    p = await startPipeline({ top: { http: { listen: '127.0.0.1:0' } } });
    const url = `http://127.0.0.1:${p.daemon.healthPort}/metrics`;
    const before = parsePrometheus(await (await fetch(url)).text());
    expect(before.get('mctb_calls_total{outcome="noanswer",decision="text",reason="missed"}') ?? 0).to.equal(0);
    await p.pbx.play(loadCapture('noanswer'));
    await p.pbx.play(loadCapture('answered'));
    await p.decisions(2);
    await waitFor('delivered', () => p!.smsc.submits.length === 1);
    await sleep(200);
    const res = await fetch(url);
    expect(res.headers.get('content-type')).to.match(/^text\/plain; version=0\.0\.4/);
    const after = parsePrometheus(await res.text());
    expect(after.get('mctb_calls_total{outcome="noanswer",decision="text",reason="missed"}')).to.equal(1);
    expect(after.get('mctb_calls_total{outcome="answered",decision="no_text",reason="answered"}')).to.equal(1);
    expect(after.get('mctb_texts_total{kind="text_back",status="submitted",reason=""}')).to.equal(1);
    expect(after.get('mctb_hangup_to_submit_seconds_count')).to.equal(1);
    expect(after.get('mctb_link_up{link="pbx"}')).to.equal(1);
    expect(after.get('mctb_outbox_depth')).to.equal(0);
    expect((await fetch(`http://127.0.0.1:${p.daemon.healthPort}/nope`)).status).to.equal(404);
  });
});
