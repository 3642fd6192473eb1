// One winston logger, a child per part ("mctb:ami", "mctb:smpp", ...). Every value that came
// from outside (caller IDs, PDU text) is quoted and escaped by the text format, so a hostile
// caller ID cannot forge a log line.

import winston from 'winston';
import type { LogFormat, LogLevel } from './config/types';

export type Logger = winston.Logger;

const SPLAT = Symbol.for('splat');

function quote(value: unknown): string {
  const s = typeof value === 'string' ? value : value instanceof Error ? value.message : JSON.stringify(value);
  if (s === undefined) return 'undefined';
  // Plain tokens stay readable; anything else is JSON-quoted (escapes control chars and quotes).
  return /^[\w.+:/@*%-]{1,200}$/.test(s) ? s : JSON.stringify(s.length > 500 ? s.slice(0, 500) + '…' : s);
}

const textFormat = winston.format.printf((info) => {
  const { level, message, timestamp, ns, ...rest } = info as Record<string, unknown>;
  delete rest[SPLAT as unknown as string];
  const fields = Object.entries(rest)
    .filter(([k]) => typeof k === 'string')
    .map(([k, v]) => `${k}=${quote(v)}`)
    .join(' ');
  const msg = String(message).replace(/[\u0000-\u001f\u007f-\u009f]/g, (c) => JSON.stringify(c).slice(1, -1));
  return `${String(timestamp)} ${String(level).padEnd(5)} ${typeof ns === 'string' ? ns : 'mctb'}: ${msg}${fields ? ' ' + fields : ''}`;
});

/** Lines from the root logger say "mctb"; a child's own namespace is kept (defaultMeta would overwrite it). */
const rootNamespace = winston.format((info) => {
  if (info.ns === undefined) info.ns = 'mctb';
  return info;
});

export interface LogOptions {
  level: LogLevel;
  format: LogFormat;
  /** Extra transports (tests collect lines). Defaults to stderr. */
  transports?: winston.transport[];
  silent?: boolean;
}

export function createLogger(opts: LogOptions): Logger {
  const format =
    opts.format === 'json'
      ? winston.format.combine(rootNamespace(), winston.format.timestamp(), winston.format.json())
      : winston.format.combine(rootNamespace(), winston.format.timestamp(), textFormat);
  return winston.createLogger({
    level: opts.level,
    format,
    silent: opts.silent,
    transports: opts.transports ?? [new winston.transports.Console({ stderrLevels: ['error', 'warn', 'info', 'debug'] })],
  });
}

/** A logger for one part of the daemon. */
export function part(logger: Logger, name: string): Logger {
  return logger.child({ ns: `mctb:${name}` });
}
