// The ari-client package (2.2.0) and swagger-client (2.0.26) under it, as mctb uses them. Every
// change to their behaviour is here, each checked against their source:
//
// - swagger-client's SwaggerApi.prototype.fail calls `this.failure(message)` and then throws
//   from inside an HTTP callback when a doc fails to load (e.g. 401 for a wrong password): an
//   uncaught exception. It is patched to report without throwing, so ari.connect rejects and the
//   source retries.
// - swagger-client assigns a global `log` function that console.logs (a deprecation notice on
//   every connect, since Asterisk serves Swagger 1.1): routed to the debug log of the most recent
//   source (setAriLog).
// - ari-client keeps the event WebSocket in `client._ws` and makes a new one on its own retries
//   (its `connect()` inside `start()` assigns `self._ws = new WebSocket(...)`); `_wsClosed = true`
//   tells its close/error handlers that the close was wanted, so they do not retry. A retired
//   client's pending retry must not open a socket: Asterisk gives an app to the newest WebSocket
//   (ApplicationReplaced), so a stray one would steal our events. trapSocket() makes `_ws` a
//   property whose setter aborts a socket created after retire(), before it sends a byte.
//
// test/asterisk/ari-lib.test.ts fails if an upgrade changes what these rely on.

import { dirname } from 'node:path';
import type { Logger } from '../../log';

export interface WsLike {
  readyState: number;
  on(event: string, fn: (...args: never[]) => void): unknown;
  removeAllListeners(event?: string): unknown;
  terminate(): void;
  ping(): void;
  /** ws's own socket: paused and resumed for back-pressure (ws 6 has no pause of its own). */
  _socket?: { pause(): void; resume(): void; on(event: 'resume', fn: () => void): unknown } | null;
}

export interface AriClient {
  _ws?: WsLike;
  _wsClosed?: boolean;
  channels?: { getChannelVar?: (args: { channelId: string; variable: string }) => PromiseLike<unknown>; list?: () => PromiseLike<unknown> };
  start(apps: string, subscribeAll: boolean): PromiseLike<unknown> & { catch(fn: (err: unknown) => unknown): unknown };
  on(event: string, fn: (...args: never[]) => void): unknown;
  removeAllListeners(event?: string): unknown;
}

export interface AriModule {
  connect(url: string, user: string, pass: string): PromiseLike<AriClient>;
}

let ariModule: AriModule | undefined;
/** Where swagger-client's console.log notices go (the most recent source's logger). */
let swaggerLog: Logger | undefined;

/** ari-client (and swagger-client under it), loaded and patched on first use: an AMI daemon never pays their memory. */
export function loadAri(): AriModule {
  if (!ariModule) {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    ariModule = require('ari-client') as AriModule;
    patchSwaggerClient();
  }
  return ariModule;
}

export function setAriLog(log: Logger): void {
  swaggerLog = log;
}

/** swagger-client as ari-client resolves it. */
export function swaggerClient(): { SwaggerApi?: { prototype: Record<string, unknown> } } {
  const ariDir = dirname(require.resolve('ari-client'));
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return require(require.resolve('swagger-client', { paths: [ariDir] })) as { SwaggerApi?: { prototype: Record<string, unknown> } };
}

function patchSwaggerClient(): void {
  try {
    const proto = swaggerClient().SwaggerApi?.prototype;
    if (proto && !proto.__mctbPatched) {
      proto.fail = function (this: { failure?: (m: unknown) => void }, message: unknown): void {
        this.failure?.(message);
      };
      proto.__mctbPatched = true;
    }
  } catch {
    // a different ari-client layout: leave it as it is (the test of this module says so)
  }
  const g = globalThis as unknown as { log?: unknown };
  if (typeof g.log === 'function') {
    g.log = (...args: unknown[]): void => {
      swaggerLog?.debug('swagger-client', { message: args.map((a) => (typeof a === 'string' ? a : safeJson(a))).join(' ') });
    };
  }
}

const RETIRED = Symbol('mctb.ari.retired');

/** Makes `client._ws` a trap: a socket ari-client creates after retire() is aborted at once. */
export function trapSocket(client: AriClient): void {
  let current: WsLike | undefined = client._ws;
  Object.defineProperty(client, '_ws', {
    configurable: true,
    enumerable: true,
    get: () => current,
    set: (ws: WsLike) => {
      current = ws;
      if ((client as unknown as Record<symbol, boolean>)[RETIRED]) kill(ws);
    },
  });
}

/** Stops a client for good: its socket closed, its own reconnects disarmed, its events ignored. */
export function retire(client: AriClient): void {
  (client as unknown as Record<symbol, boolean>)[RETIRED] = true;
  client._wsClosed = true;
  try {
    client.removeAllListeners();
    client.on('error', (() => undefined) as never);
  } catch {
    // not an emitter: nothing to remove
  }
  if (client._ws) kill(client._ws);
}

function kill(ws: WsLike): void {
  try {
    ws.removeAllListeners();
    // terminate() on a connecting socket emits 'error' synchronously; with no listener that throws.
    ws.on('error', (() => undefined) as never);
    ws.terminate();
  } catch {
    // already gone
  }
}

export function safeJson(v: unknown): string {
  try {
    return JSON.stringify(v) ?? String(v);
  } catch {
    return String(v);
  }
}

export function errorText(err: unknown): string {
  if (err instanceof Error) return err.message;
  if (typeof err === 'string') return err;
  if (err && typeof err === 'object' && typeof (err as { message?: unknown }).message === 'string') return (err as { message: string }).message;
  return safeJson(err);
}
