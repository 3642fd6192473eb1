// The documentation generated from the schema (src/config/docs.ts): config/mctb.example.yaml
// and the README's key table must be what `npm run gen:config` writes today, and the example
// must pass `mctb config check`.

import { expect } from 'chai';
import * as fs from 'fs';
import * as path from 'path';
import { TABLE_END, TABLE_START, exampleConfig, keyTable, withKeyTable } from '../../src/config/docs';
import { mctb } from '../support/cli';

const ROOT = path.resolve(__dirname, '../../..');
const EXAMPLE = path.join(ROOT, 'config', 'mctb.example.yaml');
const README = path.join(ROOT, 'README.md');
const REGENERATE = 'is out of date with src/config/schema.ts: run npm run gen:config';

/** The first line where two texts differ, to show in the failure. */
function firstDifference(committed: string, generated: string): string {
  const a = committed.split('\n');
  const b = generated.split('\n');
  const i = a.findIndex((line, n) => line !== b[n]);
  const at = i < 0 ? a.length : i;
  return `line ${at + 1}:\n  committed: ${JSON.stringify(a[at])}\n  generated: ${JSON.stringify(b[at])}`;
}

describe('config docs generated from the schema', () => {
  it('config/mctb.example.yaml is the generated one', () => {
    const committed = fs.readFileSync(EXAMPLE, 'utf8');
    const generated = exampleConfig();
    if (committed !== generated) expect.fail(`config/mctb.example.yaml ${REGENERATE}\n${firstDifference(committed, generated)}`);
  });

  it("the README's table of keys is the generated one", () => {
    const committed = fs.readFileSync(README, 'utf8');
    const generated = withKeyTable(committed);
    if (committed !== generated) expect.fail(`the table of keys in README.md ${REGENERATE}\n${firstDifference(committed, generated)}`);
    expect(committed.indexOf(TABLE_START)).to.be.greaterThan(committed.indexOf('## Configure'));
  });

  it('the table has a row for each key, nested keys by their path', () => {
    const table = keyTable();
    for (const p of ['asterisk.ami.port', 'sms.smpp.password', 'ledger.late_after', 'http.listen', 'defaults.presentation_unknown', 'defaults.notify.webhook.url', 'businesses[].dids', 'log.format']) {
      expect(table).to.include(`| \`${p}\` |`);
    }
    // Durations as written, with their bounds; a template's "|" escaped for Markdown.
    expect(table).to.match(/\| `ledger\.late_after` \| duration, at least 1s \| `10m` \|/);
    expect(table).to.include('{{contact.first_name\\| }}');
    expect(withKeyTable(`a\n${TABLE_START}\nold\n${TABLE_END}\nb\n`)).to.equal(`a\n${TABLE_START}\n${table}\n${TABLE_END}\nb\n`);
  });

  it('the example passes `mctb config check`', async function () {
    this.timeout(60_000);
    const r = await mctb(['config', 'check', '-c', EXAMPLE], { env: {} });
    expect(r.code, r.stderr + r.stdout).to.equal(0);
    expect(r.stdout).to.include('Brightside Dental');
  });
});
