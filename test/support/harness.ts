// Shared test set-up: a Config built in code, temp dirs, waiting for conditions, and a quiet
// logger that keeps its lines for assertions.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Transport from 'winston-transport';
import type { BusinessConfig, Config } from '../../src/config/types';
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

export function business(overrides: Partial<BusinessConfig> = {}): BusinessConfig {
  return {
    name: 'Brightside Dental',
    dids: Object.values(FIXTURE_DIDS),
    delay_ms: 0,
    dedupe_window_ms: 3_600_000,
    message: 'Hi{{contact.first_name| }}, this is {{business.name}}. Sorry we missed your call! How can we help?',
    ...overrides,
  };
}

export function testConfig(opts: { dir: string; amiPort: number; smppPort?: number; businesses?: BusinessConfig[]; checkPresentation?: boolean; graceMs?: number; tps?: number }): Config {
  return {
    file: '<test>',
    asterisk: {
      ami: { host: '127.0.0.1', port: opts.amiPort, username: 'mctb', secret: 'mctb-secret', ping_interval_ms: 2000, check_presentation: opts.checkPresentation ?? true },
      inbound_contexts: ['from-trunk', 'from-pstn', 'from-did-direct'],
      decision_grace_ms: opts.graceMs ?? 300,
      max_call_ms: 4 * 3600_000,
    },
    sms:
      opts.smppPort === undefined
        ? { transport: 'log' }
        : {
            transport: 'smpp',
            smpp: { host: '127.0.0.1', port: opts.smppPort, system_id: 'mctb', password: 'secret', system_type: '', source_addr: '+15550001000', tls: false, tps: opts.tps ?? 50, enquire_link_ms: 5000 },
          },
    ledger: { path: join(opts.dir, 'mctb.db') },
    numbers: { default_country: 'US' },
    businesses: opts.businesses ?? [business()],
    log: { level: 'debug', format: 'text' },
  };
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
