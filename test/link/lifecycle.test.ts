// The one connection lifecycle (src/link/lifecycle.ts) with a scripted adapter: generations,
// states once each, backoff and its cap, what is logged when, refused credentials, the connect
// deadline, the keep-alive watchdog (held while paused; anything heard answers it), connection timers, and stop.

import { expect } from 'chai';
import { Link, type Attempt, type LinkOptions, type LinkState } from '../../src/link/lifecycle';
import { sleep, testLogger, waitFor } from '../support/harness';

/** A link whose adapter records each open and close; the test says when a connection is up or lost. */
function scripted(options: Partial<LinkOptions> = {}) {
  const { logger, lines } = testLogger();
  const attempts: Attempt[] = [];
  const states: [LinkState, string][] = [];
  let closes = 0;
  const link = new Link(
    logger,
    {
      messages: { up: 'X connected', down: 'X connection down', unreachable: 'could not connect to X at h:1' },
      fields: { peer: 'h:1' },
      where: 'h:1',
      minMs: 40,
      maxMs: 160,
      onState: (s, d) => states.push([s, d]),
      ...options,
    },
    { open: (a) => attempts.push(a), close: () => void closes++ },
  );
  return { link, lines, attempts, states, closes: () => closes };
}

describe('link lifecycle (src/link/lifecycle.ts)', function () {
  this.timeout(10_000);

  it('never up: "could not connect to X at Y: why" once, then quietly; backoff doubles up to its cap; stale attempts are dead', async () => {
    const { link, lines, attempts, states } = scripted();
    link.start();
    expect(attempts).to.have.length(1);
    expect(link.nextDelayMs).to.equal(40);
    link.lost('connection refused');
    expect(attempts[0]!.live, 'a lost attempt is dead').to.equal(false);
    expect(link.nextDelayMs).to.equal(80);
    await waitFor('the second attempt', () => attempts.length === 2);
    expect(attempts[1]!.live).to.equal(true);
    link.lost('connection refused');
    expect(link.nextDelayMs).to.equal(160);
    await waitFor('the third attempt', () => attempts.length === 3);
    link.lost('connection refused');
    expect(link.nextDelayMs, 'capped').to.equal(160);
    expect(lines.filter((l) => /could not connect to X at h:1: connection refused; retrying with backoff/.test(l))).to.have.length(1);
    expect(lines.filter((l) => /X connection down/.test(l))).to.have.length(0);
    expect(states.slice(0, 4)).to.deep.equal([
      ['connecting', 'h:1'],
      ['disconnected', 'connection refused'],
      ['connecting', 'h:1'],
      ['disconnected', 'connection refused'],
    ]);
    await link.stop();
  });

  it('up, then down: "connected" and "down" once per outage; the backoff starts from the bottom again', async () => {
    const { link, lines, attempts, states } = scripted();
    link.start();
    link.up({ extra: 1 });
    expect(link.isUp).to.equal(true);
    expect(lines.filter((l) => /X connected/.test(l) && /extra=1/.test(l) && /peer=h:1/.test(l))).to.have.length(1);
    link.lost('closed');
    link.lost('closed'); // a second report of the same outage changes nothing
    await waitFor('reconnecting', () => attempts.length === 2);
    link.lost('refused');
    await waitFor('again', () => attempts.length === 3);
    expect(lines.filter((l) => /X connection down/.test(l))).to.have.length(1);
    link.up();
    expect(link.nextDelayMs).to.equal(40);
    link.lost('closed');
    expect(lines.filter((l) => /X connection down/.test(l)), 'a new outage').to.have.length(2);
    expect(lines.filter((l) => /could not connect/.test(l))).to.have.length(0);
    expect(states.map(([s]) => s).slice(0, 3)).to.deep.equal(['connecting', 'connected', 'disconnected']);
    await link.stop();
  });

  it('refused(): the next wait is the longest', async () => {
    const { link } = scripted();
    link.start();
    link.refused();
    link.lost('login rejected');
    expect(link.nextDelayMs).to.equal(160);
    await link.stop();
  });

  it('the connect deadline loses an attempt that is not up in time, and is cleared by up()', async () => {
    const { link, attempts, states } = scripted({ connectTimeout: { ms: 60, why: 'timed out' } });
    link.start();
    await waitFor('timed out', () => states.some(([s, d]) => s === 'disconnected' && d === 'timed out'));
    expect(attempts[0]!.live).to.equal(false);
    await waitFor('second attempt', () => attempts.length === 2);
    link.up();
    await sleep(150);
    expect(link.isUp, 'up() cleared the deadline').to.equal(true);
    await link.stop();
  });

  it('keep-alive: an unanswered probe drops the connection; answered, it stays; held (paused), it stands still', async () => {
    const { link, lines, attempts } = scripted();
    link.start();
    link.up();
    let probes = 0;
    let answer = true;
    const keep = () =>
      link.keepAlive({
        intervalMs: 30,
        probe: (answered) => {
          probes++;
          if (answer) setTimeout(answered, 5);
        },
        timedOut: { message: 'X did not answer', why: 'ping timeout', fields: { interval_ms: 30 } },
      });
    keep();
    await sleep(200);
    expect(probes).to.be.at.least(3);
    expect(link.isUp).to.equal(true);

    link.holdKeepAlive();
    answer = false;
    const held = probes;
    await sleep(150);
    expect(probes, 'no probe while held').to.equal(held);
    expect(link.isUp).to.equal(true);
    link.releaseKeepAlive();
    await waitFor('the watchdog fires', () => !link.isUp);
    expect(lines.filter((l) => /X did not answer/.test(l) && /interval_ms=30/.test(l))).to.have.length(1);
    expect(lines.some((l) => /X connection down/.test(l) && /ping timeout/.test(l))).to.equal(true);
    const after = probes;
    await waitFor('reconnect', () => attempts.length === 2);
    await sleep(100);
    expect(probes, 'the old connection\'s watchdog is gone').to.equal(after);
    await link.stop();
  });

  it('keep-alive: whatever the peer sends counts as an answer (a pong queued behind a backlog is late, the link is alive); silent, it drops', async () => {
    const { link, lines } = scripted();
    link.start();
    link.up();
    let probes = 0;
    link.keepAlive({
      intervalMs: 30,
      probe: () => void probes++, // never answered: the answer is behind the backlog
      timedOut: { message: 'X did not answer', why: 'ping timeout', fields: { interval_ms: 30 } },
    });
    // The backlog being read: something arrives every 10 ms for 10 intervals.
    const reading = setInterval(() => link.heard(), 10);
    await sleep(300);
    clearInterval(reading);
    expect(probes, 'probes kept going').to.be.at.least(5);
    expect(link.isUp, 'up while data arrives').to.equal(true);
    expect(lines.filter((l) => /X did not answer/.test(l))).to.deep.equal([]);
    await waitFor('the watchdog fires once the peer falls silent', () => !link.isUp);
    await link.stop();
  });

  it('connection timers go with their connection; stop() closes it, says stopped and never reconnects', async () => {
    const { link, attempts, states, closes } = scripted();
    link.start();
    link.up();
    let fired = 0;
    link.after(50, () => fired++);
    link.lost('closed');
    await sleep(100);
    expect(fired, 'cancelled by the teardown').to.equal(0);
    await waitFor('reconnect', () => attempts.length === 2);
    link.after(20, () => fired++);
    await sleep(60);
    expect(fired).to.equal(1);
    const closedBefore = closes();
    let drained = false;
    await link.stop(async () => {
      expect(attempts[1]!.live, 'still live while draining').to.equal(true);
      drained = true;
    });
    expect(drained).to.equal(true);
    expect(closes()).to.equal(closedBefore + 1);
    expect(attempts[1]!.live).to.equal(false);
    expect(states[states.length - 1]).to.deep.equal(['stopped', 'stopped']);
    link.lost('late report');
    await sleep(100);
    expect(attempts).to.have.length(2);
    expect(link.state).to.equal('stopped');
  });

  it('a new detail of `connecting` is reported (the steps of getting there); the same state and detail only once', () => {
    const { link, states } = scripted();
    link.start();
    link.setState('connecting', 'initialising');
    link.setState('connecting', 'initialising');
    link.setState('connecting', 'searching (home)');
    link.up({}, 'home');
    link.setState('connected', 'home');
    expect(states).to.deep.equal([
      ['connecting', 'h:1'],
      ['connecting', 'initialising'],
      ['connecting', 'searching (home)'],
      ['connected', 'home'],
    ]);
    void link.stop();
  });
});
