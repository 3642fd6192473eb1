// The ARI connection: load the REST API with ari-client, open the event WebSocket as app
// `cfg.app` with subscribeAll=true (every channel's events, not only Stasis ones), translate each
// frame into CallEvents (ari-events.ts), answer presentation queries, and stay connected.
//
// What we take over from ari-client 2.2.0, and why (each checked against its source):
// - The WebSocket's listeners. Its own message handler JSON.parses every frame and looks the type
//   up in the Swagger models without a guard: one malformed or unknown frame throws inside the
//   socket's 'data' handler and kills the process. As soon as the socket opens ('WebSocketConnected'
//   is emitted synchronously from 'open', before any frame is read) we replace its message, close
//   and error listeners with ours: frames are parsed once, malformed ones are skipped.
// - Reconnecting. Its backoff gives up after 10 tries (WebSocketMaxRetries) and cannot be
//   cancelled. We own the reconnect forever (src/reconnect.ts), with a new client each time. A
//   retired client's pending retry must not open a socket: Asterisk gives an app to the newest
//   WebSocket (ApplicationReplaced), so a stray one would steal our events. Each client's `_ws`
//   is trapped so a socket created after retirement is aborted before it sends a byte.
// - swagger-client 2.0.26 (used by ari.connect) throws from inside an HTTP callback when a doc
//   fails to load (e.g. 401 for a wrong password): an uncaught exception. Its `fail` is patched to
//   report without throwing, so ari.connect rejects and we retry. It also console.logs a
//   deprecation notice on every connect (Asterisk serves Swagger 1.1): routed to our debug log.
// - Requests that never answer: swagger-client ignores socket errors, so ari.connect and
//   getChannelVar can hang forever; both are bounded by timeouts here.
//
// The WebSocket is pinged; a missing pong within the interval drops the connection (a PBX that
// vanished without closing the TCP connection).

import { EventEmitter } from 'node:events';
import { dirname } from 'node:path';
import type { CallEvent, ChannelSnapshot } from '../calls/types';
import type { Logger } from '../log';
import { PBX_RECONNECT_MAX_MS, Reconnect } from '../reconnect';
import { AriCallEvents, parseAriFrame, type AriTranslatorOptions } from './ari-events';

export interface AriSourceConfig {
  /** Base URL of Asterisk's HTTP server, e.g. http://127.0.0.1:8088 (only scheme, host and port are used). */
  url: string;
  username: string;
  password: string;
  /** Application name the event WebSocket registers as. */
  app: string;
}

export interface AriSourceOptions {
  /** WebSocket ping period; no pong by the next ping drops the connection. Default 15 s. */
  pingIntervalMs?: number;
  /** Loading the API docs and opening the WebSocket must finish within this. Default 15 s. */
  connectTimeoutMs?: number;
  /** A presentation query unanswered after this resolves undefined. Default 5 s. */
  requestTimeoutMs?: number;
  /** Reconnect backoff bounds (default 1 s .. PBX_RECONNECT_MAX_MS). */
  reconnectMinMs?: number;
  reconnectMaxMs?: number;
  translator?: AriTranslatorOptions;
}

export type AriState = 'connecting' | 'connected' | 'disconnected' | 'stopped';

export interface AriSourceEvents {
  event: [event: CallEvent, arrival: number];
  state: [state: AriState, detail: string];
  /** The PBX's live channels after each connection (GET /channels); undefined when it would not list them. */
  inventory: [channels: ChannelSnapshot[] | undefined, arrival: number];
}

interface WsLike {
  readyState: number;
  on(event: string, fn: (...args: never[]) => void): unknown;
  removeAllListeners(event?: string): unknown;
  terminate(): void;
  ping(): void;
  /** ws's own socket: paused and resumed for back-pressure (ws 6 has no pause of its own). */
  _socket?: { pause(): void; resume(): void; on(event: 'resume', fn: () => void): unknown } | null;
}

interface AriClient {
  _ws?: WsLike;
  _wsClosed?: boolean;
  channels?: { getChannelVar?: (args: { channelId: string; variable: string }) => PromiseLike<unknown>; list?: () => PromiseLike<unknown> };
  start(apps: string, subscribeAll: boolean): PromiseLike<unknown> & { catch(fn: (err: unknown) => unknown): unknown };
  on(event: string, fn: (...args: never[]) => void): unknown;
  removeAllListeners(event?: string): unknown;
}

interface AriModule {
  connect(url: string, user: string, pass: string): PromiseLike<AriClient>;
}

let ariModule: AriModule | undefined;
/** ari-client (and swagger-client under it) load when an ARI source is made: an AMI daemon never pays their memory. */
function loadAri(): AriModule {
  if (!ariModule) {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    ariModule = require('ari-client') as AriModule;
    patchSwaggerClient();
  }
  return ariModule;
}

/** Where swagger-client's console.log notices go (the most recent source's logger). */
let swaggerLog: Logger | undefined;

const WS_OPEN = 1;
const PRESENTATION_VARIABLE = 'CALLERID(pres)';

export class AriSource extends EventEmitter<AriSourceEvents> {
  private readonly translator: AriCallEvents;
  private readonly reconnect: Reconnect;
  private readonly pingIntervalMs: number;
  private readonly connectTimeoutMs: number;
  private readonly requestTimeoutMs: number;
  private state: AriState = 'disconnected';
  private client?: AriClient;
  private ws?: WsLike;
  private stopped = true;
  /** Bumped on every connection attempt and teardown, so callbacks of a dead one are ignored. */
  private generation = 0;
  private connectTimer?: NodeJS.Timeout;
  private pingTimer?: NodeJS.Timeout;
  private expireTimer?: NodeJS.Timeout;
  private pongOutstanding = false;
  /** Reading stopped by the daemon while its decisions catch up. */
  private paused = false;
  private presentationRefused = false;
  private malformed = 0;

  constructor(
    private readonly cfg: AriSourceConfig,
    private readonly log: Logger,
    private readonly clock: () => number = Date.now,
    options: AriSourceOptions = {},
  ) {
    super();
    this.translator = new AriCallEvents(options.translator);
    this.pingIntervalMs = options.pingIntervalMs ?? 15_000;
    this.connectTimeoutMs = options.connectTimeoutMs ?? 15_000;
    this.requestTimeoutMs = options.requestTimeoutMs ?? 5000;
    this.reconnect = new Reconnect(
      log,
      { up: 'ARI connected', down: 'ARI connection down; reconnecting with backoff', unreachable: `could not connect to ARI at ${cfg.url}` },
      options.reconnectMinMs ?? 1000,
      options.reconnectMaxMs ?? PBX_RECONNECT_MAX_MS,
    );
    swaggerLog = log;
    loadAri();
  }

  get connected(): boolean {
    return this.state === 'connected';
  }

  /**
   * Stop reading events: the socket's buffers fill, then Asterisk waits for its
   * `websocket_write_timeout` (ari.conf; dialplan/ari_mctb.conf suggests 5 s) before it drops
   * the connection (mctb reconnects; calls in progress end as unknown_end). The ping watchdog
   * stands still meanwhile, since the pong is queued behind the unread frames.
   */
  pause(): void {
    if (this.paused) return;
    this.paused = true;
    this.ws?._socket?.pause();
  }

  resume(): void {
    if (!this.paused) return;
    this.paused = false;
    this.pongOutstanding = false;
    this.ws?._socket?.resume();
  }

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    clearInterval(this.expireTimer);
    // Held channels nobody claimed become calls of their own once their wait is over.
    // Not while paused: the events that would claim a held channel may be among the unread ones.
    this.expireTimer = setInterval(() => {
      if (!this.paused) this.emitAll(this.translator.expire(this.clock()), this.clock());
    }, 1000);
    this.expireTimer.unref();
    this.connect();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.reconnect.cancel();
    clearInterval(this.expireTimer);
    this.teardown();
    this.setState('stopped', 'stopped');
  }

  /**
   * CALLERID(pres) of a live channel (by its id, the AMI Uniqueid), or undefined when the PBX
   * would not say (refused, channel gone, timed out). A refusal is logged once per process.
   */
  getPresentation(channelId: string): Promise<string | undefined> {
    const getVar = this.client?.channels?.getChannelVar;
    if (!getVar || !channelId) return Promise.resolve(undefined);
    return new Promise((resolve) => {
      const timer = setTimeout(() => resolve(undefined), this.requestTimeoutMs);
      const done = (value: string | undefined): void => {
        clearTimeout(timer);
        resolve(value);
      };
      let pending: PromiseLike<unknown>;
      try {
        pending = getVar({ channelId, variable: PRESENTATION_VARIABLE });
      } catch (err) {
        this.presentationFailed(err);
        done(undefined);
        return;
      }
      Promise.resolve(pending).then(
        (res) => {
          const value = res && typeof res === 'object' ? (res as { value?: unknown }).value : undefined;
          done(typeof value === 'string' ? value : undefined);
        },
        (err: unknown) => {
          this.presentationFailed(err);
          done(undefined);
        },
      );
    });
  }

  private presentationFailed(err: unknown): void {
    const message = errorText(err);
    // 404: the channel is already gone (a short call); not a refusal.
    if (/not found/i.test(message) || this.presentationRefused) {
      this.log.debug('no CALLERID(pres) from ARI', { message });
      return;
    }
    this.presentationRefused = true;
    this.log.warn('the PBX refused GET /channels/{id}/variable CALLERID(pres) over ARI; withheld callers behind a trusted P-Asserted-Identity cannot be detected (see README: withheld numbers)', { message });
  }

  private connect(): void {
    if (this.stopped) return;
    const generation = ++this.generation;
    this.setState('connecting', this.cfg.url);
    clearTimeout(this.connectTimer);
    this.connectTimer = setTimeout(() => {
      if (generation === this.generation) this.lost('timed out connecting');
    }, this.connectTimeoutMs);
    let connecting: PromiseLike<AriClient>;
    try {
      connecting = loadAri().connect(this.cfg.url, this.cfg.username, this.cfg.password);
    } catch (err) {
      this.failed(generation, err);
      return;
    }
    Promise.resolve(connecting).then(
      (client) => {
        if (generation !== this.generation) {
          retire(client);
          return;
        }
        this.openEvents(client, generation);
      },
      (err: unknown) => this.failed(generation, err),
    );
  }

  private failed(generation: number, err: unknown): void {
    if (generation !== this.generation) return;
    const message = errorText(err);
    if (/^40[13]\b/.test(message) || /\b(401|403)\b.*(unauthori[sz]ed|forbidden)/i.test(message)) {
      this.log.error('ARI login rejected: check asterisk.ari.username and password, and ari.conf', { url: this.cfg.url, message });
      this.reconnect.refused();
    }
    this.lost(message);
  }

  private openEvents(client: AriClient, generation: number): void {
    this.client = client;
    trapSocket(client);
    client.on('WebSocketConnected', (() => {
      if (generation !== this.generation) {
        retire(client);
        return;
      }
      this.onOpen(client, generation);
    }) as never);
    // Only before our listeners are in place: ari-client failed to open the socket and would retry on its own.
    const gaveUp = ((err: unknown) => {
      if (generation !== this.generation || this.ws) return;
      const message = errorText(err);
      if (/\b40[13]\b/.test(message)) {
        this.log.error('ARI refused the event WebSocket: check asterisk.ari.username, password and app, and ari.conf', { url: this.cfg.url, message });
        this.reconnect.refused();
      }
      this.lost(`event WebSocket: ${message}`);
    }) as never;
    client.on('WebSocketReconnecting', gaveUp);
    client.on('WebSocketMaxRetries', gaveUp);
    client.on('APILoadError', (() => undefined) as never);
    try {
      client.start(this.cfg.app, true).catch(() => undefined);
    } catch (err) {
      this.lost(`event WebSocket: ${errorText(err)}`);
    }
  }

  private onOpen(client: AriClient, generation: number): void {
    const ws = client._ws;
    if (!ws) return;
    clearTimeout(this.connectTimer);
    ws.removeAllListeners('message');
    ws.removeAllListeners('close');
    ws.removeAllListeners('error');
    ws.removeAllListeners('pong');
    ws.on('message', ((data: unknown) => {
      if (generation === this.generation) this.onFrame(data);
    }) as never);
    ws.on('close', ((code: number) => {
      if (generation === this.generation) this.lost(`event WebSocket closed (${code})`);
    }) as never);
    ws.on('error', ((err: Error) => {
      if (generation !== this.generation) return;
      this.log.debug('ARI WebSocket error', { error: err?.message });
      this.lost(`event WebSocket error: ${err?.message ?? 'unknown'}`);
    }) as never);
    ws.on('pong', (() => {
      this.pongOutstanding = false;
    }) as never);
    this.ws = ws;
    // ws 6 resumes its socket itself when its parser catches up (receiverOnDrain; with an async
    // parser, e.g. permessage-deflate): that must not end our pause. Not while closing: ws then
    // reads on to the end.
    const socket = ws._socket;
    socket?.on('resume', () => {
      if (this.paused && generation === this.generation && ws.readyState === WS_OPEN) socket.pause();
    });
    if (this.paused) socket?.pause();
    this.translator.reset();
    this.reconnect.connected({ url: this.cfg.url, app: this.cfg.app });
    this.setState('connected', this.cfg.url);
    this.startPing(generation);
    this.takeInventory(client, generation);
  }

  /** Lists the live channels (GET /channels, allowed to a read-only user) and emits them as the inventory. */
  private takeInventory(client: AriClient, generation: number): void {
    let done = false;
    const finish = (channels: unknown, why?: string): void => {
      if (done || generation !== this.generation) return;
      done = true;
      clearTimeout(timer);
      const arrival = this.clock();
      if (!Array.isArray(channels)) {
        this.log.warn('the PBX did not list its live channels (ARI GET /channels): calls already in progress when mctb connected are not followed', { why });
        this.emit('inventory', undefined, arrival);
        return;
      }
      this.emit('inventory', this.translator.seed(channels, arrival), arrival);
    };
    const timer = setTimeout(() => finish(undefined, 'no answer'), this.requestTimeoutMs);
    try {
      const list = client.channels?.list;
      if (!list) throw new Error('ari-client has no channels.list');
      Promise.resolve(list.call(client.channels)).then(
        (channels) => finish(channels),
        (err: unknown) => finish(undefined, errorText(err)),
      );
    } catch (err) {
      finish(undefined, errorText(err));
    }
  }

  private onFrame(data: unknown): void {
    const arrival = this.clock();
    const text = typeof data === 'string' ? data : Buffer.isBuffer(data) ? data.toString('utf8') : '';
    const ev = parseAriFrame(text);
    if (!ev) {
      this.malformed++;
      // The first one, then every thousandth: a PBX sending garbage must not flood the log.
      if (this.malformed % 1000 === 1) this.log.warn('skipped an ARI frame that is not a JSON event', { skipped: this.malformed, frame: text.slice(0, 120) });
      return;
    }
    if (ev.type === 'ApplicationReplaced') {
      // Asterisk hands an app to the newest WebSocket: another client registered as ours.
      this.log.error('another ARI client registered the same application; call events now go to it', { app: this.cfg.app });
      return;
    }
    this.emitAll(this.translator.push(ev, arrival), arrival);
  }

  private emitAll(events: CallEvent[], arrival: number): void {
    for (const ev of events) this.emit('event', ev, arrival);
  }

  private startPing(generation: number): void {
    clearInterval(this.pingTimer);
    this.pongOutstanding = false;
    this.pingTimer = setInterval(() => {
      if (generation !== this.generation || !this.ws || this.paused) return;
      if (this.pongOutstanding) {
        this.log.warn('ARI did not answer the WebSocket ping in time; reconnecting', { interval_ms: this.pingIntervalMs });
        this.lost('ping timeout');
        return;
      }
      this.pongOutstanding = true;
      try {
        if (this.ws.readyState === WS_OPEN) this.ws.ping();
      } catch {
        // closing; the close listener reports it
      }
    }, this.pingIntervalMs);
    this.pingTimer.unref();
  }

  private lost(why: string): void {
    this.teardown();
    if (this.stopped) return;
    this.setState('disconnected', why);
    this.reconnect.lost(why, { url: this.cfg.url }, () => this.connect());
  }

  private teardown(): void {
    this.generation++;
    clearTimeout(this.connectTimer);
    clearInterval(this.pingTimer);
    const client = this.client;
    this.client = undefined;
    this.ws = undefined;
    if (client) retire(client);
    // Whatever comes next cannot be tied to the channels seen so far.
    this.translator.reset();
  }

  private setState(state: AriState, detail: string): void {
    if (state === this.state) return;
    this.state = state;
    this.emit('state', state, detail);
  }
}

// ---- ari-client / swagger-client hardening ----

const RETIRED = Symbol('mctb.ari.retired');

/** Makes `client._ws` a trap: a socket ari-client creates after retire() is aborted at once. */
function trapSocket(client: AriClient): void {
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
function retire(client: AriClient): void {
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

function patchSwaggerClient(): void {
  try {
    const ariDir = dirname(require.resolve('ari-client'));
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const swagger = require(require.resolve('swagger-client', { paths: [ariDir] })) as { SwaggerApi?: { prototype: Record<string, unknown> } };
    const proto = swagger.SwaggerApi?.prototype;
    if (proto && !proto.__mctbPatched) {
      proto.fail = function (this: { failure?: (m: unknown) => void }, message: unknown): void {
        this.failure?.(message);
      };
      proto.__mctbPatched = true;
    }
  } catch {
    // a different ari-client layout: leave it as it is
  }
  const g = globalThis as unknown as { log?: unknown };
  if (typeof g.log === 'function') {
    g.log = (...args: unknown[]): void => {
      swaggerLog?.debug('swagger-client', { message: args.map((a) => (typeof a === 'string' ? a : safeJson(a))).join(' ') });
    };
  }
}

function safeJson(v: unknown): string {
  try {
    return JSON.stringify(v) ?? String(v);
  } catch {
    return String(v);
  }
}

function errorText(err: unknown): string {
  if (err instanceof Error) return err.message;
  if (typeof err === 'string') return err;
  if (err && typeof err === 'object' && typeof (err as { message?: unknown }).message === 'string') return (err as { message: string }).message;
  return safeJson(err);
}
