// What every PBX source offers the daemon, and the entry it registers (src/adapters.ts). A source
// is one folder, src/asterisk/<name>/: the connection, its events → CallEvents, its doctor probe,
// and index.ts with its entry.

import type { EventEmitter } from 'node:events';
import type { CallEvent, ChannelSnapshot, InboundCallStarted } from '../calls/types';
import type { CheckResult } from '../cli/check';
import type { Config } from '../config/types';
import type { LinkState } from '../link/lifecycle';
import type { Logger } from '../log';

export interface PbxSourceEvents {
  /** A call event, already translated from the PBX's protocol. */
  event: [event: CallEvent, arrival: number];
  state: [state: LinkState, detail: string];
  /**
   * The PBX's live channels, right after each connection: calls already in progress are followed
   * from there. undefined when the PBX would not list them (refused, no answer).
   */
  inventory: [channels: ChannelSnapshot[] | undefined, arrival: number];
}

export interface PbxSource extends EventEmitter<PbxSourceEvents> {
  readonly connected: boolean;
  start(): void;
  stop(): Promise<void>;
  /** Stop reading the PBX's events (back-pressure); resume() reads on. */
  pause(): void;
  resume(): void;
  /** CALLERID(pres) of a new inbound call's channel, or undefined when the PBX would not say. */
  presentationOf(call: InboundCallStarted): Promise<string | undefined>;
}

/** Every source's settings have this. */
export interface SourceSettings {
  /** Ask the PBX for CALLERID(pres) of each inbound channel. */
  check_presentation: boolean;
}

export interface SourceEntry<S extends SourceSettings> {
  /** The value of `asterisk.source` that picks it. */
  readonly name: string;
  /** Where its settings are, e.g. "asterisk.ami" (for messages). */
  readonly section: string;
  /** Its settings, from that section; undefined when the section is missing. */
  settings(config: Config): S | undefined;
  create(settings: S, log: Logger, clock: () => number): PbxSource;
  /** `mctb doctor`'s checks of this PBX connection. */
  doctor(settings: S, timeoutMs?: number): Promise<CheckResult[]>;
}
