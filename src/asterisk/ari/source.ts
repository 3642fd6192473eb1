// The ARI connection: load the REST API with ari-client, open the event WebSocket as app
// `cfg.app` with subscribeAll=true (every channel's events, not only Stasis ones), translate each
// frame into CallEvents (events.ts), answer presentation queries, and stay connected.
//
// What we take over from ari-client 2.2.0 (the patches themselves are in client-lib.ts):
// - The WebSocket's listeners. Its own message handler JSON.parses every frame and looks the type
//   up in the Swagger models without a guard: one malformed or unknown frame throws inside the
//   socket's 'data' handler and kills the process. As soon as the socket opens ('WebSocketConnected'
//   is emitted synchronously from 'open', before any frame is read) we replace its message, close
//   and error listeners with ours: frames are parsed once, malformed ones are skipped.
// - Reconnecting. Its backoff gives up after 10 tries (WebSocketMaxRetries) and cannot be
//   cancelled. We own the reconnect forever (src/link/lifecycle.ts), with a new client each time;
//   a retired client never opens a socket again (client-lib.ts: trapSocket, retire).
// - Requests that never answer: swagger-client ignores socket errors, so ari.connect and
//   getChannelVar can hang forever; both are bounded by timeouts here.
//
// The WebSocket is pinged; a missing pong within the interval drops the connection (a PBX that
// vanished without closing the TCP connection).

import { EventEmitter } from 'node:events';
import type { CallEvent, InboundCallStarted } from '../../calls/types';
import type { Logger } from '../../log';
import { Link, PBX_RECONNECT_MAX_MS, type Attempt } from '../../link/lifecycle';
import type { PbxSource, PbxSourceEvents } from '../source';
import { errorText, loadAri, retire, setAriLog, trapSocket, type AriClient, type WsLike } from './client-lib';
import { AriCallEvents, parseAriFrame, type AriTranslatorOptions } from './events';

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

const WS_OPEN = 1;
const PRESENTATION_VARIABLE = 'CALLERID(pres)';

export class AriSource extends EventEmitter<PbxSourceEvents> implements PbxSource {
  private readonly translator: AriCallEvents;
  private readonly link: Link;
  private readonly pingIntervalMs: number;
  private readonly requestTimeoutMs: number;
  private client?: AriClient;
  private ws?: WsLike;
  private expireTimer?: NodeJS.Timeout;
  /** The keep-alive's wait for the pong of its last ping. */
  private pongAwaited?: () => void;
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
    this.requestTimeoutMs = options.requestTimeoutMs ?? 5000;
    this.link = new Link(
      log,
      {
        messages: { up: 'ARI connected', down: 'ARI connection down; reconnecting with backoff', unreachable: `could not connect to ARI at ${cfg.url}` },
        fields: { url: cfg.url },
        where: cfg.url,
        minMs: options.reconnectMinMs ?? 1000,
        maxMs: options.reconnectMaxMs ?? PBX_RECONNECT_MAX_MS,
        connectTimeout: { ms: options.connectTimeoutMs ?? 15_000, why: 'timed out connecting' },
        onState: (state, detail) => this.emit('state', state, detail),
      },
      { open: (attempt) => this.open(attempt), close: () => this.close() },
    );
    setAriLog(log);
    loadAri();
  }

  get connected(): boolean {
    return this.link.isUp;
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
    this.link.holdKeepAlive();
    this.ws?._socket?.pause();
  }

  resume(): void {
    if (!this.paused) return;
    this.paused = false;
    this.link.releaseKeepAlive();
    this.ws?._socket?.resume();
  }

  start(): void {
    if (!this.link.stopped) return;
    clearInterval(this.expireTimer);
    // Held channels nobody claimed become calls of their own once their wait is over.
    // Not while paused: the events that would claim a held channel may be among the unread ones.
    this.expireTimer = setInterval(() => {
      if (!this.paused) this.emitAll(this.translator.expire(this.clock()), this.clock());
    }, 1000);
    this.expireTimer.unref();
    this.link.start();
  }

  async stop(): Promise<void> {
    clearInterval(this.expireTimer);
    await this.link.stop();
  }

  presentationOf(call: InboundCallStarted): Promise<string | undefined> {
    return this.getPresentation(call.uniqueid);
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

  private open(attempt: Attempt): void {
    let connecting: PromiseLike<AriClient>;
    try {
      connecting = loadAri().connect(this.cfg.url, this.cfg.username, this.cfg.password);
    } catch (err) {
      this.failed(attempt, err);
      return;
    }
    Promise.resolve(connecting).then(
      (client) => {
        if (!attempt.live) {
          retire(client);
          return;
        }
        this.openEvents(client, attempt);
      },
      (err: unknown) => this.failed(attempt, err),
    );
  }

  private failed(attempt: Attempt, err: unknown): void {
    if (!attempt.live) return;
    const message = errorText(err);
    if (/^40[13]\b/.test(message) || /\b(401|403)\b.*(unauthori[sz]ed|forbidden)/i.test(message)) {
      this.log.error('ARI login rejected: check asterisk.ari.username and password, and ari.conf', { url: this.cfg.url, message });
      this.link.refused();
    }
    this.link.lost(message);
  }

  private openEvents(client: AriClient, attempt: Attempt): void {
    this.client = client;
    trapSocket(client);
    client.on('WebSocketConnected', (() => {
      if (!attempt.live) {
        retire(client);
        return;
      }
      this.onOpen(client, attempt);
    }) as never);
    // Only before our listeners are in place: ari-client failed to open the socket and would retry on its own.
    const gaveUp = ((err: unknown) => {
      if (!attempt.live || this.ws) return;
      const message = errorText(err);
      if (/\b40[13]\b/.test(message)) {
        this.log.error('ARI refused the event WebSocket: check asterisk.ari.username, password and app, and ari.conf', { url: this.cfg.url, message });
        this.link.refused();
      }
      this.link.lost(`event WebSocket: ${message}`);
    }) as never;
    client.on('WebSocketReconnecting', gaveUp);
    client.on('WebSocketMaxRetries', gaveUp);
    client.on('APILoadError', (() => undefined) as never);
    try {
      client.start(this.cfg.app, true).catch(() => undefined);
    } catch (err) {
      this.link.lost(`event WebSocket: ${errorText(err)}`);
    }
  }

  private onOpen(client: AriClient, attempt: Attempt): void {
    const ws = client._ws;
    if (!ws) return;
    ws.removeAllListeners('message');
    ws.removeAllListeners('close');
    ws.removeAllListeners('error');
    ws.removeAllListeners('pong');
    ws.on('message', ((data: unknown) => {
      if (!attempt.live) return;
      this.link.heard();
      this.onFrame(data);
    }) as never);
    ws.on('close', ((code: number) => {
      if (attempt.live) this.link.lost(`event WebSocket closed (${code})`);
    }) as never);
    ws.on('error', ((err: Error) => {
      if (!attempt.live) return;
      this.log.debug('ARI WebSocket error', { error: err?.message });
      this.link.lost(`event WebSocket error: ${err?.message ?? 'unknown'}`);
    }) as never);
    ws.on('pong', (() => this.pongAwaited?.()) as never);
    this.ws = ws;
    // ws 6 resumes its socket itself when its parser catches up (receiverOnDrain; with an async
    // parser, e.g. permessage-deflate): that must not end our pause. Not while closing: ws then
    // reads on to the end.
    const socket = ws._socket;
    socket?.on('resume', () => {
      if (this.paused && attempt.live && ws.readyState === WS_OPEN) socket.pause();
    });
    if (this.paused) socket?.pause();
    this.translator.reset();
    this.link.up({ app: this.cfg.app });
    this.link.keepAlive({
      intervalMs: this.pingIntervalMs,
      probe: (answered) => {
        this.pongAwaited = answered;
        try {
          if (ws.readyState === WS_OPEN) ws.ping();
        } catch {
          // closing; the close listener reports it
        }
      },
      timedOut: { message: 'ARI did not answer the WebSocket ping in time; reconnecting', fields: { interval_ms: this.pingIntervalMs }, why: 'ping timeout' },
    });
    this.takeInventory(client, attempt);
  }

  /** Lists the live channels (GET /channels, allowed to a read-only user) and emits them as the inventory. */
  private takeInventory(client: AriClient, attempt: Attempt): void {
    let done = false;
    const finish = (channels: unknown, why?: string): void => {
      if (done || !attempt.live) return;
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

  /** The lifecycle's teardown of one connection (its generation has moved on). */
  private close(): void {
    const client = this.client;
    this.client = undefined;
    this.ws = undefined;
    this.pongAwaited = undefined;
    if (client) retire(client);
    // Whatever comes next cannot be tied to the channels seen so far.
    this.translator.reset();
  }
}
