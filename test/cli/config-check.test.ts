// `mctb config check`'s preview of the closed-hours text: `{{business.next_open}}` as a caller
// calling while closed sees it, whatever the time the check is run (never "we open now").

import { expect } from 'chai';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DateTime } from 'luxon';
import { configCheck, type ConfigCheckJson } from '../../src/cli/config-check';
import { nextClosed } from '../../src/policy/hours';
import { yamlConfig } from '../support/cli';
import { tempDir } from '../support/harness';

const ZONE = 'America/Chicago';
const CLOSED = "We're closed; we open {{business.next_open}}.";

/** A Chicago wall-clock time as an instant. */
const chicago = (iso: string) => DateTime.fromISO(iso, { zone: ZONE }).toMillis();

function sink(): { stream: NodeJS.WritableStream; text: () => string } {
  let text = '';
  return { stream: { write: (s: string) => ((text += s), true) } as unknown as NodeJS.WritableStream, text: () => text };
}

describe('config check: the closed-hours text preview', () => {
  let dir: string;
  let cleanup: () => void;
  let file: string;
  before(() => {
    ({ dir, cleanup } = tempDir('mctb-check-'));
    file = join(dir, 'mctb.yaml');
    const extra = `  timezone: ${ZONE}\n  hours: { mon-fri: "09:00-17:00" }\n  messages: { closed: ${JSON.stringify(CLOSED)} }`;
    writeFileSync(file, yamlConfig({ amiPort: 5038, smppPort: 2775, ledger: join(dir, 'mctb.db') }).replace('dedupe_window: 1h', `dedupe_window: 1h\n${extra}`));
  });
  after(() => cleanup());

  function check(now: number): string {
    const out = sink();
    expect(configCheck(file, out.stream, sink().stream, false, now)).to.equal(0);
    return out.text();
  }

  it('during opening hours: previewed at closing time, "we open tomorrow", not "now"', () => {
    const out = check(chicago('2026-12-09T10:00')); // a Wednesday
    expect(out).to.include('open now');
    expect(out).to.include(`text (closed, known name, a call at 2026-12-09 17:00:00 CST): "We're closed; we open tomorrow 9:00 AM."`);
    expect(out).not.to.include('we open now');
  });

  it('on a Friday during hours: the next opening is Monday', () => {
    expect(check(chicago('2026-12-11T16:59'))).to.include(`a call at 2026-12-11 17:00:00 CST): "We're closed; we open Monday 9:00 AM."`);
  });

  it('while closed: previewed now', () => {
    const out = check(chicago('2026-12-09T20:30'));
    expect(out).to.include(`text (closed, known name): "We're closed; we open tomorrow 9:00 AM."`);
  });

  it('--json: the same text, and the instant it was composed for', () => {
    const out = sink();
    configCheck(file, out.stream, sink().stream, true, chicago('2026-12-09T10:00'));
    const json = JSON.parse(out.text()) as ConfigCheckJson;
    const closed = json.businesses[0].texts.find((t) => t.label === 'closed, known name')!;
    expect(closed).to.include({ at: '2026-12-09T17:00:00.000-06:00', text: "We're closed; we open tomorrow 9:00 AM." });
    expect(json.businesses[0].texts[0].at).to.equal('2026-12-09T10:00:00.000-06:00');
  });

  it('nextClosed: now when closed, else the end of the open range; none for a business always open', () => {
    const schedule = { timezone: ZONE, hours: { days: [[[540, 1020]], [], [], [], [], [], []] as const }, closed: [] };
    expect(nextClosed(schedule, chicago('2026-12-07T10:00'))).to.equal(chicago('2026-12-07T17:00'));
    expect(nextClosed(schedule, chicago('2026-12-07T08:00'))).to.equal(chicago('2026-12-07T08:00'));
    expect(nextClosed({ timezone: ZONE, closed: [] }, chicago('2026-12-07T10:00'))).to.equal(undefined);
    // A dated closure starting inside the open range.
    expect(nextClosed({ ...schedule, closed: [{ date: '2026-12-07', range: [720, 780] as const }] }, chicago('2026-12-07T10:00'))).to.equal(chicago('2026-12-07T12:00'));
  });
});
