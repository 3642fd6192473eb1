// One call as the tracker follows it (src/calls/tracker.ts), and the pure reading of its outcome
// from what was seen: bridges, voicemail, queue events, the caller's DIALSTATUS.

import type { CallOutcome } from './types';

/** A call being followed: its channels and what they did. */
export interface TrackedCall {
  callId: string;
  /** The caller's channel: the call's first one, or the Local `;2` half that entered the inbound context. */
  rootUniqueid: string;
  rootChannel: string;
  /** The call began on a Local `;1` half: its name before the `;` (its `;2` may be the real caller). */
  localOrigin?: string;
  /** That `;2` half, once seen, with its caller ID as it changes until it enters the inbound context. */
  localPartner?: { uniqueid: string; channel: string; callerNum: string; callerName: string };
  direction: 'inbound' | 'outbound';
  context: string;
  didRaw: string;
  did?: string;
  callerNum: string;
  callerName: string;
  dialled: string;
  /** CALLERID(pres) as the PBX gave it; '' until it does. */
  presentation: string;
  presentationPending: boolean;
  /** Seen from the middle: mctb (re)connected while it was in progress. */
  midway: boolean;
  /** Since when the PBX connection has been lost while this call was open. */
  lostSince?: number;
  /** The dialplan marked the caller ID restricted (NewCallerid). */
  restricted: boolean;
  startedAt: number;
  /** Event time of the caller's channel appearing (PBX time when given, else arrival). */
  createdEventAt: number;
  firstSeenAt: number;
  /** Time the event stream stood still while this call was open: its waits are pushed back by it. */
  stalledMs: number;
  /** uniqueid → is a Local/ channel. */
  legs: Map<string, boolean>;
  /** Legs (not the caller's channel) still up. */
  liveLegs: Set<string>;
  rootBridged: boolean;
  deviceBridged: boolean;
  dialStatus: string;
  lastDialEnd: string;
  voicemail: boolean;
  queueAbandon: boolean;
  queueTimeout: boolean;
  callerHungUp: boolean;
  hangupAt?: number;
  hangupEventAt?: number;
  hangupCause: number;
}

const DIALSTATUS_OUTCOME: Readonly<Record<string, CallOutcome>> = {
  ANSWER: 'answered',
  NOANSWER: 'noanswer',
  BUSY: 'busy',
  CANCEL: 'cancel',
  CHANUNAVAIL: 'unavailable',
  CONGESTION: 'unavailable',
};

export function classify(call: TrackedCall): CallOutcome {
  if (call.rootBridged && call.deviceBridged) return 'answered';
  if (call.voicemail) return 'voicemail';
  if (call.queueTimeout) return 'noanswer';
  if (call.queueAbandon) return 'queue_abandon';
  const byStatus = DIALSTATUS_OUTCOME[call.dialStatus] ?? DIALSTATUS_OUTCOME[call.lastDialEnd];
  // DIALSTATUS=ANSWER with no bridge seen is still the PBX's word: texting someone who spoke
  // to staff is worse than missing one text (bridge events may be filtered out in manager.conf).
  if (byStatus) return byStatus;
  return call.callerHungUp ? 'cancel' : 'noanswer';
}

/** "Local/15550001000@from-trunk-0000002a;2" → "Local/15550001000@from-trunk-0000002a;2" for a Local half, else undefined. */
export function localHalf(channel: string): string | undefined {
  return channel.startsWith('Local/') && /;[12]$/.test(channel) ? channel : undefined;
}

/** "PJSIP/+14155550123@trunk" or "SIP/trunk/14155550123" → the number part. */
export function dialledNumberOf(dialString: string): string {
  const m = /(\+?\d{5,})/.exec(dialString);
  return m ? m[1] : '';
}
