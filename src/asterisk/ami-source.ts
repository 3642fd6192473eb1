// The AMI connection: log in, stream events, answer presentation queries, and stay connected.
// asterisk-manager parses frames; the reconnect loop and the Ping watchdog are ours, because the
// library's own reconnect cannot recover from some failures (its issues #18, #30) and it prints
// to console.log. One Manager per connection: a closed one is never reused.

import net from 'node:net';
import { EventEmitter } from 'node:events';
import type { AmiConfig } from '../config/types';
import type { Logger } from '../log';
import { field, type AmiFrame } from './ami-events';
import { PBX_RECONNECT_MAX_MS, Reconnect, networkErrorText } from '../reconnect';
import { PRESENTATION_VARIABLE, type ChannelSnapshot } from '../calls/types';
import { AmiFrameReader, type AmiEventFilter, type AmiReaderStats } from './ami-reader';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const AsteriskManager = require('asterisk-manager') as (port?: number, host?: string) => AmiManager;

interface AmiManager {
  options: { port?: number; host?: string; username: string; password: string; events: boolean };
  connect(port: number, host: string, cb: () => void): void;
  login(cb: (err?: AmiFrame) => void): void;
  action(action: Record<string, string>, cb: (err: AmiFrame | undefined, res: AmiFrame) => void): string;
  disconnect(): void;
  on(event: string, fn: (...args: never[]) => void): void;
  emit(event: string, ...args: unknown[]): boolean;
  removeAllListeners(event?: string): void;
}

export type AmiState = 'connecting' | 'connected' | 'disconnected' | 'stopped';

export interface AmiSourceEvents {
  frame: [frame: AmiFrame, arrival: number];
  state: [state: AmiState, detail: string];
  /**
   * The PBX's live channels, right after each login (AMI Status): calls already in progress are
   * followed from there. undefined when the PBX would not list them (refused, no answer).
   */
  inventory: [channels: ChannelSnapshot[] | undefined, arrival: number];
}

const ACTION_TIMEOUT_MS = 5000;
/** Connecting and logging in must finish within this; a PBX that takes the TCP connection and says nothing is "timed out". */
const CONNECT_TIMEOUT_MS = 10_000;
/** Asked of every live channel in the inventory: what a call seen from the middle needs. */
const INVENTORY_VARIABLES = [PRESENTATION_VARIABLE, 'CALLERID(pres)', 'DIALSTATUS'].join(',');

export class AmiSource extends EventEmitter<AmiSourceEvents> {
  private manager?: AmiManager;
  private socket?: net.Socket;
  private reader?: AmiFrameReader;
  private state: AmiState = 'disconnected';
  private readonly reconnect: Reconnect;
  private pingTimer?: NodeJS.Timeout;
  private pingOutstanding = false;
  private stopped = false;
  private getvarRefused = false;
  /** Reading stopped by the daemon while its decisions catch up (back-pressure onto the PBX). */
  private paused = false;
  /** Timeouts of actions waiting for an answer: held while paused, since the answer sits unread. */
  private readonly actionTimeouts = new Map<() => void, NodeJS.Timeout | undefined>();
  /** Bumped on every connection, so callbacks of a dead one are ignored. */
  private generation = 0;
  private connectTimer?: NodeJS.Timeout;
  /** The socket's last error on this connection: the reason given when it closes. */
  private socketError?: unknown;
  private statusRefused = false;
  /** The Status list being read: its ActionID, the channels so far, and what to do at its end. */
  private inventoryRead?: { id: string; items: ChannelSnapshot[]; finish: (items: ChannelSnapshot[] | undefined, why?: string) => void };

  constructor(
    private readonly cfg: AmiConfig,
    private readonly log: Logger,
    private readonly clock: () => number = Date.now,
    /** Only these events are parsed and emitted (the reader skips the rest); all when undefined. */
    private readonly filter?: AmiEventFilter,
  ) {
    super();
    this.reconnect = new Reconnect(
      log,
      { up: 'AMI connected', down: 'AMI connection down; reconnecting with backoff', unreachable: `could not connect to AMI at ${cfg.host}:${cfg.port}` },
      1000,
      PBX_RECONNECT_MAX_MS,
    );
  }

  get connected(): boolean {
    return this.state === 'connected';
  }

  start(): void {
    this.stopped = false;
    this.connect();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.reconnect.cancel();
    this.teardown();
    this.setState('stopped', 'stopped');
  }

  /**
   * Stop reading the PBX's events: the kernel's socket buffer fills and Asterisk holds the rest.
   * The Ping watchdog and action timeouts stand still meanwhile, since their answers are queued
   * behind the unread events.
   */
  pause(): void {
    if (this.paused) return;
    this.paused = true;
    this.socket?.pause();
    for (const [fire, timer] of this.actionTimeouts) {
      clearTimeout(timer);
      this.actionTimeouts.set(fire, undefined);
    }
  }

  resume(): void {
    if (!this.paused) return;
    this.paused = false;
    this.pingOutstanding = false;
    for (const fire of this.actionTimeouts.keys()) this.actionTimeouts.set(fire, setTimeout(fire, ACTION_TIMEOUT_MS));
    this.socket?.resume();
  }

  /** `fire` after ACTION_TIMEOUT_MS of reading (paused time does not count); returns the cancel. */
  private actionTimeout(fire: () => void): () => void {
    const wrapped = () => {
      this.actionTimeouts.delete(wrapped);
      fire();
    };
    this.actionTimeouts.set(wrapped, this.paused ? undefined : setTimeout(wrapped, ACTION_TIMEOUT_MS));
    return () => {
      clearTimeout(this.actionTimeouts.get(wrapped));
      this.actionTimeouts.delete(wrapped);
    };
  }

  /**
   * CALLERID(pres) of a live channel, or undefined when the PBX would not say (refused, gone,
   * timed out). A refusal is logged once per process, not per call.
   */
  getPresentation(channel: string): Promise<string | undefined> {
    // Not gated on `connected`: events can arrive in the same read as the login response, before
    // our login callback runs; the library holds actions until its login completes.
    const manager = this.manager;
    if (!manager) return Promise.resolve(undefined);
    return new Promise((resolve) => {
      const cancel = this.actionTimeout(() => resolve(undefined));
      manager.action({ action: 'Getvar', channel, variable: 'CALLERID(pres)' }, (err, res) => {
        cancel();
        if (err || !res) {
          const message = err ? field(err, 'message') : 'no answer';
          if (/permission|denied|privilege/i.test(message) && !this.getvarRefused) {
            this.getvarRefused = true;
            this.log.warn('the PBX refused Getvar CALLERID(pres); withheld callers behind a trusted P-Asserted-Identity cannot be detected (see README: withheld numbers)', { message });
          }
          resolve(undefined);
          return;
        }
        resolve(field(res, 'value'));
      });
    });
  }

  private connect(): void {
    if (this.stopped) return;
    const generation = ++this.generation;
    this.setState('connecting', `${this.cfg.host}:${this.cfg.port}`);
    const manager = AsteriskManager();
    manager.options.username = this.cfg.username;
    manager.options.password = this.cfg.secret;
    manager.options.events = true;
    this.manager = manager;

    this.socketError = undefined;
    manager.on('error', ((err: Error) => {
      if (generation !== this.generation) return;
      this.socketError = err;
      this.log.debug('AMI socket error', { error: err.message });
    }) as never);
    manager.on('close', (() => {
      if (generation === this.generation) this.lost(this.socketError ? networkErrorText(this.socketError) : 'connection closed');
    }) as never);
    clearTimeout(this.connectTimer);
    this.connectTimer = setTimeout(() => {
      if (generation === this.generation) this.lost(`timed out: no AMI login answer within ${CONNECT_TIMEOUT_MS / 1000} s`);
    }, CONNECT_TIMEOUT_MS);

    // asterisk-manager does not expose its socket; catch it as it is made, so a dead peer can be
    // destroyed rather than half-closed.
    const create = net.createConnection;
    let socket: net.Socket | undefined;
    (net as { createConnection: typeof net.createConnection }).createConnection = ((...args: Parameters<typeof net.createConnection>) => {
      socket = create.apply(net, args);
      return socket;
    }) as typeof net.createConnection;
    try {
      manager.connect(this.cfg.port, this.cfg.host, () => {
        if (generation !== this.generation) return;
        manager.login((err) => {
          if (generation !== this.generation) return;
          clearTimeout(this.connectTimer);
          if (err) {
            this.log.error('AMI login rejected: check asterisk.ami.username and secret, and manager.conf permit/deny', {
              message: field(err, 'message'),
            });
            this.reconnect.refused();
            this.lost(`login rejected (${field(err, 'message') || 'authentication failed'})`);
            return;
          }
          this.reconnect.connected({ peer: `${this.cfg.host}:${this.cfg.port}` });
          this.setState('connected', `${this.cfg.host}:${this.cfg.port}`);
          this.startPing(generation);
          this.takeInventory(generation);
        });
      });
    } finally {
      (net as { createConnection: typeof net.createConnection }).createConnection = create;
    }
    this.socket = socket;
    // Our bounded reader in place of the library's: events go straight to the tracker;
    // responses go back to asterisk-manager, which matches them to their actions.
    const reader = new AmiFrameReader((record) => {
      if (generation !== this.generation) return;
      const inventory = this.inventoryRead;
      if (inventory && record.actionid === inventory.id && record.event !== undefined) {
        if (record.event === 'Status') inventory.items.push(snapshotOf(record, this.clock()));
        else if (record.event === 'StatusComplete') inventory.finish(inventory.items);
        return;
      }
      if (record.event !== undefined) this.emit('frame', record, this.clock());
      // Only answers to our own actions go to asterisk-manager: it emits each response under its
      // ActionID as an event name, so a PBX frame with `ActionID: rawevent` crashed the process (a
      // TypeError in the library, thrown from process.nextTick) and `ActionID: close` forced a
      // reconnect (ending every call in progress as unknown_end). The library's ActionIDs are digits.
      else if (typeof record.actionid === 'string' && /^\d+$/.test(record.actionid)) manager.emit('rawevent', record);
    }, undefined, this.filter);
    this.reader = reader;
    if (socket) {
      socket.removeAllListeners('data');
      socket.on('data', (chunk: string | Buffer) => reader.push(typeof chunk === 'string' ? chunk : chunk.toString('utf8')));
      if (this.paused) socket.pause();
    }
  }

  /**
   * Asks the PBX for every live channel (Status: write class `call`, like Getvar) and emits them
   * as the inventory. Events read meanwhile are handled as they come; a call they end is simply
   * absent from the list or ends again as a leg already gone.
   */
  private takeInventory(generation: number): void {
    const manager = this.manager;
    if (!manager) return;
    let done = false;
    const finish = (items: ChannelSnapshot[] | undefined, why?: string): void => {
      if (done) return;
      done = true;
      cancel();
      if (this.inventoryRead?.finish === finish) this.inventoryRead = undefined;
      if (generation !== this.generation) return;
      if (!items && !this.statusRefused) {
        this.statusRefused = /permission|denied|privilege/i.test(why ?? '');
        this.log.warn('the PBX did not list its live channels (AMI Status): calls already in progress when mctb connected are not followed', { why });
      }
      this.emit('inventory', items, this.clock());
    };
    const cancel = this.actionTimeout(() => finish(undefined, 'no answer'));
    const id = manager.action({ action: 'Status', variables: INVENTORY_VARIABLES }, (err) => {
      if (err) finish(undefined, field(err, 'message') || 'refused');
    });
    this.inventoryRead = { id: String(id), items: [], finish };
  }

  /** Frames read, and frames skipped as malformed or oversized, on the current connection. */
  get readerStats(): AmiReaderStats {
    return this.reader?.stats ?? { frames: 0, malformed: 0, oversized: 0, filtered: 0 };
  }

  private startPing(generation: number): void {
    clearInterval(this.pingTimer);
    this.pingOutstanding = false;
    this.pingTimer = setInterval(() => {
      if (generation !== this.generation || !this.manager || this.paused) return;
      if (this.pingOutstanding) {
        this.log.warn('AMI did not answer Ping in time; reconnecting', { interval_ms: this.cfg.ping_interval_ms });
        this.lost('ping timeout');
        return;
      }
      this.pingOutstanding = true;
      this.manager.action({ action: 'Ping' }, () => {
        if (generation === this.generation) this.pingOutstanding = false;
      });
    }, this.cfg.ping_interval_ms);
    this.pingTimer.unref();
  }

  private lost(why: string): void {
    this.teardown();
    if (this.stopped) return;
    this.setState('disconnected', why);
    this.reconnect.lost(why, { peer: `${this.cfg.host}:${this.cfg.port}` }, () => this.connect());
  }

  private teardown(): void {
    this.generation++;
    clearInterval(this.pingTimer);
    clearTimeout(this.connectTimer);
    this.inventoryRead = undefined;
    const manager = this.manager;
    this.manager = undefined;
    if (manager) {
      manager.removeAllListeners('managerevent');
      manager.removeAllListeners('close');
    }
    this.socket?.destroy();
    this.socket = undefined;
    // Answers to this connection's actions will never come.
    for (const fire of [...this.actionTimeouts.keys()]) fire();
  }

  private setState(state: AmiState, detail: string): void {
    if (state === this.state) return;
    this.state = state;
    this.emit('state', state, detail);
  }
}

/** One `Event: Status` of the inventory → what the tracker needs of a live channel. */
function snapshotOf(record: AmiFrame, arrival: number): ChannelSnapshot {
  const vars = record.variable && typeof record.variable === 'object' ? (record.variable as Record<string, string>) : {};
  const seconds = Number(field(record, 'seconds')) || 0;
  return {
    uniqueid: field(record, 'uniqueid'),
    linkedid: field(record, 'linkedid') || field(record, 'uniqueid'),
    channel: field(record, 'channel'),
    context: field(record, 'context'),
    exten: field(record, 'exten'),
    callerNum: field(record, 'calleridnum'),
    callerName: field(record, 'calleridname'),
    state: Number(field(record, 'channelstate')) || 0,
    application: field(record, 'application'),
    bridged: field(record, 'bridgeid') !== '',
    createdAt: arrival - seconds * 1000,
    // Asterisk writes an unset variable as "(null)".
    variables: Object.fromEntries(Object.entries(vars).map(([k, v]) => [k, v === '(null)' ? '' : v])),
  };
}
