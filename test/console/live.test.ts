// The console's live hub (src/console/live.ts): a browser resumes from its last event id; with
// nobody watching (and nobody just gone) the daemon skips the per-change work, and an id from
// before such a gap resets the page instead of trusting it.

import { expect } from 'chai';
import { LiveHub, type Change } from '../../src/console/live';

function reader() {
  const got: { id: string; change?: Change; reset?: true }[] = [];
  return { got, sub: { send: (id: string, change: Change) => got.push({ id, change }), reset: () => got.push({ id: '', reset: true }) } };
}

describe('console live hub', () => {
  const change = (thread: number): Change => ({ business: 'B', thread, what: 'reply' });

  it('replays what a returning reader missed, in order, from its last id', () => {
    const hub = new LiveHub(() => 0);
    const a = reader();
    const off = hub.subscribe(a.sub);
    hub.publish(change(1));
    const last = a.got[0].id;
    off();
    hub.publish(change(2));
    hub.publish(change(3));
    const b = reader();
    hub.subscribe(b.sub, last);
    expect(b.got.map((g) => g.change?.thread)).to.deep.equal([2, 3]);
  });

  it('is watched while a reader is here and for two minutes after the last left, then not', () => {
    let now = 0;
    const hub = new LiveHub(() => now);
    expect(hub.watched).to.equal(false);
    const off = hub.subscribe(reader().sub);
    expect(hub.watched).to.equal(true);
    off();
    now = 119_000;
    expect(hub.watched).to.equal(true);
    now = 121_000;
    expect(hub.watched).to.equal(false);
  });

  it('resets a reader whose id is from before a change nobody kept (missed)', () => {
    const hub = new LiveHub(() => 0);
    const a = reader();
    const off = hub.subscribe(a.sub);
    hub.publish(change(1));
    const last = a.got[0].id;
    off();
    hub.missed();
    const b = reader();
    hub.subscribe(b.sub, last);
    expect(b.got).to.deep.equal([{ id: '', reset: true }]);
    // A reader that starts after the gap resumes normally.
    const c = reader();
    hub.subscribe(c.sub, hub.lastId);
    hub.publish(change(4));
    expect(c.got.map((g) => g.change?.thread)).to.deep.equal([4]);
  });
});

describe('console TLS files', () => {
  it('a missing certificate stops the start with an error naming the key and the file', async () => {
    const { startPipeline } = await import('../support/pipeline');
    let error: Error | undefined;
    await startPipeline({ top: { console: { listen: '127.0.0.1:0', tls: { cert_file: '/nonexistent/console.crt', key_file: '/nonexistent/console.key' } } } }).then(
      (p) => p.stop(),
      (e: Error) => (error = e),
    );
    expect(error?.message).to.match(/^console\.tls\.cert_file \/nonexistent\/console\.crt: cannot read it \(ENOENT\)/);
  });
});
