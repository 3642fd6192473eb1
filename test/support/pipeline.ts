// The real pipeline between real loopback peers: an AMI replay server, the daemon, a loopback
// SMSC and a ledger file in a temp dir.

import type { Config } from '../../src/config/types';
import { Daemon, type CallDecided, type DaemonTuning } from '../../src/daemon';
import { AmiReplayServer, type ReplayOptions } from '../../src/demo/ami-replay';
import { LoopbackSmsc, type SmscBehaviour } from '../../src/demo/loopback-smsc';
import type { Logger } from '../../src/log';
import { tempDir, testConfig, testLogger, waitFor, type BusinessYaml } from './harness';
import { pgLedger } from './pg-ledger';

export interface Pipeline {
  daemon: Daemon;
  pbx: AmiReplayServer;
  smsc: LoopbackSmsc;
  config: Config;
  decided: CallDecided[];
  logLines: string[];
  /** The daemon's logger (its lines land in logLines). */
  logger: Logger;
  dir: string;
  /** Waits until `n` calls have been decided in total. */
  decisions(n: number, timeoutMs?: number): Promise<CallDecided[]>;
  stop(): Promise<void>;
}

export async function startPipeline(opts: { smsc?: SmscBehaviour; pbx?: ReplayOptions; businesses?: BusinessYaml[]; top?: Record<string, unknown>; smscPort?: number; startSmsc?: boolean; tps?: number; clock?: () => number; tuning?: DaemonTuning; amend?: (config: Config) => void; engine?: 'sqlite' | 'postgres' } = {}): Promise<Pipeline> {
  const { dir, cleanup } = tempDir();
  const pbx = new AmiReplayServer({ getvar: () => 'allowed_not_screened', ...opts.pbx });
  const amiPort = await pbx.listen();
  const smsc = new LoopbackSmsc({ receiptDelayMs: 20, ...opts.smsc });
  const smppPort = opts.startSmsc === false ? (opts.smscPort ?? 0) : await smsc.listen(opts.smscPort ?? 0);
  // The ledger's engine: SQLite (a file in dir), or PostgreSQL (a fresh schema of the run's
  // throwaway cluster) when asked, or for every pipeline with MCTB_TEST_LEDGER=postgres.
  const engine = opts.engine ?? (process.env.MCTB_TEST_LEDGER === 'postgres' ? 'postgres' : 'sqlite');
  const pg = engine === 'postgres' ? await pgLedger('pipe') : undefined;
  const top = pg ? { ledger: { driver: 'postgres', url: pg.url, password: pg.password, pool: 4 }, ...opts.top } : opts.top;
  const config = testConfig({ dir, amiPort, smppPort, businesses: opts.businesses, tps: opts.tps, top });
  // Values the config file refuses (e.g. a Ping interval under 1 s), set after the loader.
  opts.amend?.(config);
  const { logger, lines } = testLogger();
  const daemon = new Daemon(config, logger, opts.clock, opts.tuning);
  const decided: CallDecided[] = [];
  daemon.events.on('call.decided', (d) => decided.push(d));
  await daemon.start();
  await pbx.waitForLogin();
  let stopped = false;
  return {
    daemon,
    pbx,
    smsc,
    config,
    decided,
    logLines: lines,
    logger,
    dir,
    decisions: (n, timeoutMs = 10_000) => waitFor(`${n} call decisions`, () => decided.length >= n && decided, timeoutMs),
    async stop() {
      if (stopped) return;
      stopped = true;
      await daemon.stop(1000);
      await pbx.close();
      await smsc.close().catch(() => undefined);
      cleanup();
    },
  };
}
