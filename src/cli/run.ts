// `mctb run`: the daemon in the foreground (systemd, Docker). SIGTERM/SIGINT stop it gracefully;
// SIGHUP (`systemctl reload mctb`) reads the config file again.

import { Daemon } from '../daemon';
import { ConfigError, formatProblem } from '../config/load';
import { createLogger, type Logger } from '../log';
import { MissingConfigError, readConfig, reportConfigError } from './read-config';

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
  let stopping = false;
  // From here on: SIGHUP's default action would end the process.
  const onHangup = () => {
    if (stopping) return;
    logger.info('SIGHUP: reading the config again', { file: config.file });
    reloadConfig(daemon, cliPath, logger);
  };
  process.on('SIGHUP', onHangup);
  try {
    await daemon.start();
  } catch (err) {
    process.off('SIGHUP', onHangup);
    logger.error('could not start', { error: (err as Error).message, ledger: config.ledger.path });
    return 1;
  }
  return new Promise<number>((resolve) => {
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

/**
 * Reads the config file (and its secret files) again and applies it to the running daemon
 * (Daemon.reload). A file that does not validate is refused: each problem is logged as
 * `mctb config check` prints it (file:line:column), and the daemon keeps the config it runs
 * with. Returns whether the new config was applied.
 */
export function reloadConfig(daemon: Daemon, cliPath: string | undefined, logger: Logger): boolean {
  let result;
  try {
    result = readConfig(cliPath);
  } catch (e) {
    const keeping = 'the running config is kept (fix the file, then `systemctl reload mctb` again)';
    if (e instanceof ConfigError) {
      for (const p of e.problems) logger.error(`config: ${formatProblem(p)}`);
      const n = e.problems.length;
      logger.error(`config reload refused: ${n} problem${n === 1 ? '' : 's'} in the configuration; ${keeping}`);
    } else if (e instanceof MissingConfigError) {
      logger.error(`config reload refused: ${e.lines()[0].replace(/^mctb: /, '')}; ${keeping}`);
    } else {
      logger.error(`config reload failed: ${(e as Error).message}; ${keeping}`);
    }
    return false;
  }
  for (const w of result.warnings) logger.warn(`config: ${formatProblem(w)}`);
  daemon.reload(result.config);
  return true;
}
