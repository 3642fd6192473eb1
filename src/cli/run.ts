// `mctb run`: the daemon in the foreground (systemd, Docker). SIGTERM/SIGINT stop it gracefully.

import { Daemon } from '../daemon';
import { formatProblem } from '../config/load';
import { createLogger } from '../log';
import { readConfig, reportConfigError } from './read-config';

/** How long shutdown waits for texts already on the wire. */
const STOP_WAIT_MS = 10_000;

export async function runDaemon(cliPath: string | undefined): Promise<number> {
  let result;
  try {
    result = readConfig(cliPath);
  } catch (e) {
    return reportConfigError(e);
  }
  const { config, warnings } = result;
  const logger = createLogger(config.log);
  for (const w of warnings) logger.warn(`config: ${formatProblem(w)}`);
  const daemon = new Daemon(config, logger);
  try {
    await daemon.start();
  } catch (err) {
    logger.error('could not start', { error: (err as Error).message, ledger: config.ledger.path });
    return 1;
  }
  return new Promise<number>((resolve) => {
    let stopping = false;
    const stop = (signal: string) => {
      if (stopping) return;
      stopping = true;
      logger.info('stopping', { signal });
      daemon.stop(STOP_WAIT_MS).then(
        () => resolve(0),
        (err) => {
          logger.error('unclean stop', { error: (err as Error).message });
          resolve(1);
        },
      );
    };
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGINT'));
  });
}
