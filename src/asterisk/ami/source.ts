// The AMI connection: log in, stream events as CallEvents, answer presentation queries, and stay
// connected. asterisk-manager frames our actions and matches their responses (manager-lib.ts,
// where every change to it is); the reader, the reconnects (src/link/lifecycle.ts) and the Ping
// watchdog are ours. One manager per connection: a closed one is never reused.

import type net from 'node:net';
import { EventEmitter } from 'node:events';
import type { AmiConfig } from '../../config/types';
import type { Logger } from '../../log';
import { field, toCallEvent, type AmiFrame } from './events';
import { Link, PBX_RECONNECT_MAX_MS, networkErrorText, type Attempt } from '../../link/lifecycle';
import { PRESENTATION_VARIABLE, type ChannelSnapshot, type InboundCallStarted } from '../../calls/types';
import { AmiFrameReader, type AmiEventFilter, type AmiReaderStats } from './reader';
import { answerAction, connectManager, createManager, readSocketWith, type AmiManager } from './manager-lib';
import type { PbxSource, PbxSourceEvents } from '../source';

const ACTION_TIMEOUT_MS = 5000;
/** Connecting and logging in must finish within this; a PBX that takes the TCP connection and says nothing is "timed out". */
const CONNECT_TIMEOUT_MS = 10_000;
/** Asked of every live channel in the inventory: what a call seen from the middle needs. */
const INVENTORY_VARIABLES = [PRESENTATION_VARIABLE, 'CALLERID(pres)', 'DIALSTATUS'].join(',');

export class AmiSource extends EventEmitter<PbxSourceEvents> implements PbxSource {
  private manager?: AmiManager;
  private socket?: net.Socket;
  private reader?: AmiFrameReader;
  private readonly link: Link;
  private getvarRefused = false;
  /** Reading stopped by the daemon while its decisions catch up (back-pressure onto the PBX). */
  private paused = false;
  /** Timeouts of actions waiting for an answer: held while paused, since the answer sits unread. */
  private readonly actionTimeouts = new Map<() => void, NodeJS.Timeout | undefined>();
  /** The socket's last error on this connection: the reason given when it closes. */
  private socketError?: unknown;
  private statusRefused = false;
  /** The Status list being read: its ActionID, the channels so far, and what to do at its end. */
  private inventoryRead?: { id: string; items: ChannelSnapshot[]; finish: (items: ChannelSnapshot[] | undefined, why?: string) => void };

  constructor(
    private readonly cfg: AmiConfig,
    private readonly log: Logger,
    private readonly clock: () => number = Date.now,
    /** Only these events are parsed (the reader skips the rest); all when undefined. */
    private readonly filter?: AmiEventFilter,
  ) {
    super();
    const peer = `${cfg.host}:${cfg.port}`;
    this.link = new Link(
      log,
      {
        messages: { up: 'AMI connected', down: 'AMI connection down; reconnecting with backoff', unreachable: `could not connect to AMI at ${peer}` },
        fields: { peer },
        where: peer,
        minMs: 1000,
        maxMs: PBX_RECONNECT_MAX_MS,
        connectTimeout: { ms: CONNECT_TIMEOUT_MS, why: `timed out: no AMI login answer within ${CONNECT_TIMEOUT_MS / 1000} s` },
        onState: (state, detail) => this.emit('state', state, detail),
      },
      { open: (attempt) => this.open(attempt), close: () => this.close() },
    );
  }

  get connected(): boolean {
    return this.link.isUp;
  }

  start(): void {
    this.link.start();
  }

  async stop(): Promise<void> {
    await this.link.stop();
  }

  /**
   * Stop reading the PBX's events: the kernel's socket buffer fills and Asterisk holds the rest.
   * The Ping watchdog and action timeouts stand still meanwhile, since their answers are queued
   * behind the unread events.
   */
  pause(): void {
    if (this.paused) return;
    this.paused = true;
    this.link.holdKeepAlive();
    this.socket?.pause();
    for (const [fire, timer] of this.actionTimeouts) {
      clearTimeout(timer);
      this.actionTimeouts.set(fire, undefined);
    }
  }

  resume(): void {
    if (!this.paused) return;
    this.paused = false;
    this.link.releaseKeepAlive();
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

  presentationOf(call: InboundCallStarted): Promise<string | undefined> {
    return this.getPresentation(call.channel);
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

  private open(attempt: Attempt): void {
    const manager = createManager(this.cfg.username, this.cfg.secret);
    this.manager = manager;
    this.socketError = undefined;
    manager.on('error', ((err: Error) => {
      if (!attempt.live) return;
      this.socketError = err;
      this.log.debug('AMI socket error', { error: err.message });
    }) as never);
    manager.on('close', (() => {
      if (attempt.live) this.link.lost(this.socketError ? networkErrorText(this.socketError) : 'connection closed');
    }) as never);

    const socket = connectManager(manager, this.cfg.port, this.cfg.host, () => {
      if (!attempt.live) return;
      manager.login((err) => {
        if (!attempt.live) return;
        if (err) {
          this.log.error('AMI login rejected: check asterisk.ami.username and secret, and manager.conf permit/deny', {
            message: field(err, 'message'),
          });
          this.link.refused();
          this.link.lost(`login rejected (${field(err, 'message') || 'authentication failed'})`);
          return;
        }
        this.link.up();
        this.link.keepAlive({
          intervalMs: this.cfg.ping_interval_ms,
          probe: (answered) => manager.action({ action: 'Ping' }, answered),
          timedOut: { message: 'AMI did not answer Ping in time; reconnecting', fields: { interval_ms: this.cfg.ping_interval_ms }, why: 'ping timeout' },
        });
        this.takeInventory(attempt);
      });
    });
    this.socket = socket;
    // Events become call events here; responses go back to asterisk-manager (answerAction).
    const reader = new AmiFrameReader((record) => {
      if (!attempt.live) return;
      const inventory = this.inventoryRead;
      if (inventory && record.actionid === inventory.id && record.event !== undefined) {
        if (record.event === 'Status') inventory.items.push(snapshotOf(record, this.clock()));
        else if (record.event === 'StatusComplete') inventory.finish(inventory.items);
        return;
      }
      if (record.event !== undefined) this.onEvent(record);
      else answerAction(manager, record);
    }, undefined, this.filter);
    this.reader = reader;
    if (socket) {
      // Whatever arrives (even events the filter drops) shows the PBX alive: it answers the Ping
      // outstanding, once per read rather than per frame.
      readSocketWith(socket, (text) => {
        if (attempt.live) this.link.heard();
        reader.push(text);
      });
      if (this.paused) socket.pause();
    }
  }

  private onEvent(frame: AmiFrame): void {
    const arrival = this.clock();
    let ev;
    try {
      ev = toCallEvent(frame, arrival);
    } catch (err) {
      this.log.warn('AMI event skipped: could not read it', { error: (err as Error).message });
      return;
    }
    if (ev) this.emit('event', ev, arrival);
  }

  /**
   * Asks the PBX for every live channel (Status: write class `call`, like Getvar) and emits them
   * as the inventory. Events read meanwhile are handled as they come; a call they end is simply
   * absent from the list or ends again as a leg already gone.
   */
  private takeInventory(attempt: Attempt): void {
    const manager = this.manager;
    if (!manager) return;
    let done = false;
    const finish = (items: ChannelSnapshot[] | undefined, why?: string): void => {
      if (done) return;
      done = true;
      cancel();
      if (this.inventoryRead?.finish === finish) this.inventoryRead = undefined;
      if (!attempt.live) return;
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

  /** The lifecycle's teardown of one connection (its generation has moved on). */
  private close(): void {
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
