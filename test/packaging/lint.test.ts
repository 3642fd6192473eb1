// The import boundaries of eslint.config.mjs hold: eslint (as `npm run lint` runs it) on files
// put for a moment in src/calls/ and src/sms/ that import what those folders must not, next to
// imports they may use. Only the forbidden lines are reported, each with the rule's reason.

import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { existsSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const root = join(__dirname, '..', '..', '..');
const eslintBin = join(root, 'node_modules', 'eslint', 'bin', 'eslint.js');

interface LintMessage {
  ruleId: string | null;
  line: number;
  message: string;
}
interface LintResult {
  filePath: string;
  messages: LintMessage[];
}

/** Lints `files` (path relative to the root → source), written for the run and removed after. */
function lint(files: Record<string, string>): Map<string, LintMessage[]> {
  const paths = Object.keys(files).map((f) => join(root, f));
  try {
    for (const [f, text] of Object.entries(files)) writeFileSync(join(root, f), text);
    const r = spawnSync(process.execPath, [eslintBin, '--format', 'json', '--no-warn-ignored', ...paths], { cwd: root, encoding: 'utf8', timeout: 120_000 });
    expect(r.status, r.stderr).to.equal(1);
    const results = JSON.parse(r.stdout) as LintResult[];
    return new Map(results.map((res) => [res.filePath.slice(root.length + 1), res.messages]));
  } finally {
    for (const p of paths) rmSync(p, { force: true });
  }
}

const restricted = (messages: LintMessage[] | undefined) =>
  (messages ?? []).filter((m) => m.ruleId === 'no-restricted-imports').map((m) => ({ line: m.line, message: m.message }));

describe('packaging: the linter keeps the import boundaries', function () {
  this.timeout(180_000);
  const core = `src/calls/lint-probe-${process.pid}.ts`;
  const sms = `src/sms/lint-probe-${process.pid}.ts`;
  let found: Map<string, LintMessage[]>;

  before(function () {
    if (!existsSync(eslintBin)) throw new Error('eslint is missing: run `npm ci` first');
    found = lint({
      [core]: [
        "import type { Decision } from '../records/states';", // 1: allowed (pure types)
        "import { Ledger } from '../ledger/ledger';", // 2
        "import { readFileSync } from 'node:fs';", // 3
        "import type { Daemon } from '../daemon';", // 4
        "import { SmppTransport } from '../sms/smpp/transport';", // 5
        "import { DateTime } from 'luxon';", // 6: allowed (a pure library)
        'export const probe = [Ledger, readFileSync, SmppTransport, DateTime] as const;',
        'export type Probe = [Decision, Daemon];',
        '',
      ].join('\n'),
      [sms]: [
        "import type { SendState } from '../records/states';", // 1: allowed
        "import type { Ledger } from '../ledger/ledger';", // 2
        "export * from '../ledger/sends';", // 3
        'export type Probe = [SendState, Ledger];',
        '',
      ].join('\n'),
    });
  });

  it('the pure core (src/calls/) imports no ledger, I/O module, daemon or adapter', () => {
    const errors = restricted(found.get(core));
    expect(errors.map((e) => e.line)).to.deep.equal([2, 3, 4, 5]);
    expect(errors[0].message).to.include("'../ledger/ledger'").and.include('no ledger');
    expect(errors[1].message).to.include("'node:fs'").and.include('does no I/O');
    expect(errors[2].message).to.include("'../daemon'");
    expect(errors[3].message).to.include("'../sms/smpp/transport'").and.include('no adapter');
  });

  it('src/sms/ does not import src/ledger/ (it uses src/records/)', () => {
    const errors = restricted(found.get(sms));
    expect(errors.map((e) => e.line)).to.deep.equal([2, 3]);
    for (const e of errors) expect(e.message).to.include('src/records');
  });
});
