// Shared test set-up: a Config built in code, temp dirs, waiting for conditions, and a quiet
// logger that keeps its lines for assertions.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Transport from 'winston-transport';
import YAML from 'yaml';
import { parseConfig } from '../../src/config/load';
import type { Config } from '../../src/config/types';
import { createLogger, type Logger } from '../../src/log';

export const FIXTURE_DIDS: Record<string, string> = {
  noanswer: '+15550001000',
  busy: '+15550001001',
  cancel: '+15550001002',
  answered: '+15550001003',
  'ringgroup-answered': '+15550001004',
  voicemail: '+15550001005',
  'queue-abandon': '+15550001006',
  chanunavail: '+15550001007',
  'ringgroup-noanswer': '+15550001010',
};

export function tempDir(prefix = 'mctb-test-'): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** A business as written in mctb.yaml (durations as text); defaults come from the real schema. */
export type BusinessYaml = Record<string, unknown>;

export function business(overrides: BusinessYaml = {}): BusinessYaml {
  return { name: 'Brightside Dental', dids: Object.values(FIXTURE_DIDS), delay: '0s', dedupe_window: '1h', ...overrides };
}

export interface TestConfigOptions {
  dir: string;
  amiPort: number;
  smppPort?: number;
  businesses?: BusinessYaml[];
  checkPresentation?: boolean;
  grace?: string;
  tps?: number;
  top?: Record<string, unknown>;
}

/**
 * A Config for tests, written as YAML and read by the real loader, so defaults and
 * normalisation are the ones users get. `top` adds or replaces top-level sections.
 */
export function testConfig(opts: TestConfigOptions): Config {
  return parseConfig(testConfigYaml(opts), '<test>', {});
}

/** testConfig's YAML text (for a config file on disk, e.g. one a reload reads). */
export function testConfigYaml(opts: TestConfigOptions): string {
  const doc: Record<string, unknown> = {
    asterisk: {
      ami: { host: '127.0.0.1', port: opts.amiPort, username: 'mctb', secret: 'mctb-secret', ping_interval: '2s', check_presentation: opts.checkPresentation ?? true },
      inbound_contexts: ['from-trunk', 'from-pstn', 'from-did-direct'],
      decision_grace: opts.grace ?? '300ms',
    },
    sms:
      opts.smppPort === undefined
        ? { transport: 'log' }
        : { transport: 'smpp', smpp: { host: '127.0.0.1', port: opts.smppPort, system_id: 'mctb', password: 'secret', source_addr: '+15550001000', tps: opts.tps ?? 50, enquire_link: '5s' } },
    ledger: { path: join(opts.dir, 'mctb.db') },
    numbers: { default_country: 'US' },
    defaults: { timezone: 'America/Chicago', delay: '0s' },
    businesses: opts.businesses ?? [business()],
    log: { level: 'debug', format: 'text' },
    ...opts.top,
  };
  return YAML.stringify(doc);
}

class Collect extends Transport {
  constructor(private readonly sink: string[]) {
    super();
  }
  override log(info: Record<string | symbol, unknown>, next: () => void): void {
    this.sink.push(String(info[Symbol.for('message')] ?? info.message));
    next();
  }
}

/** A logger writing nowhere but into `lines` (and to stderr when MCTB_TEST_LOG is set). */
export function testLogger(level: 'debug' | 'info' = 'debug'): { logger: Logger; lines: string[] } {
  const lines: string[] = [];
  const transports = [new Collect(lines)];
  const logger = createLogger({ level, format: 'text', transports });
  if (process.env.MCTB_TEST_LOG) logger.add(new (require('winston').transports.Console)({ stderrLevels: ['error', 'warn', 'info', 'debug'] }));
  return { logger, lines };
}

export async function waitFor<T>(what: string, fn: () => T | undefined | false | Promise<T | undefined | false>, timeoutMs = 10_000, everyMs = 25): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await sleep(everyMs);
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
