// Follows every call as the set of channels sharing a Linkedid and decides, once the caller's
// channel and all its legs are gone (or a grace period after the caller's hangup, whichever comes
// first), whether a person answered. Pure: no I/O, no clock; time comes in as `now`.
// CDR and CEL events, whose order around the Hangup varies between identical calls, are not read.
//
// Why these rules (see test/fixtures/README.md, captured from a real Asterisk 22):
// - "Up" is not "answered": VoiceMail and Answer() before Queue bring the caller's channel Up.
//   A person answered when a dialled device leg (not a Local channel, not the caller) entered a
//   bridge and the caller's channel entered one too.
// - Hangup causes and Cdr dispositions mislead (cause 16 for answered and voicemail; Cdr
//   ANSWERED for voicemail, NO ANSWER for ring-group losers), so neither is read.
// - Only the caller's channel's DIALSTATUS counts: Local ;2 legs say CANCEL when nobody hung up.
// - Queues emit QueueCallerAbandon on timeout too; QUEUESTATUS=TIMEOUT tells them apart.

import { toE164, isWithheldNumber } from '../numbers/phone';
import type { CallEvent, CallOutcome, EndedCall, InboundCallStarted } from './types';

export interface TrackerOptions {
  inboundContexts: readonly string[];
  /** Is this E.164 number a configured business's DID? A call to one is inbound whatever its context. */
  isDid: (e164: string) => boolean;
  defaultCountry: string;
  /** Wait after the caller's hangup for late events before deciding. */
  graceMs: number;
  /** A call not ended after this long (by arrival time) is given up as `unknown_end`. */
  maxCallMs: number;
  /**
   * The source will be asked for each inbound call's presentation: wait for its answer (a
   * `presentation` event, '' when the PBX refused) up to this long past the grace.
   */
  presentationWaitMs?: number;
}

interface TrackedCall {
  callId: string;
  rootUniqueid: string;
  rootChannel: string;
  direction: 'inbound' | 'outbound';
  context: string;
  didRaw: string;
  did?: string;
  callerNum: string;
  callerName: string;
  dialled: string;
  presentation: string;
  presentationPending: boolean;
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

export class CallTracker {
  private readonly calls = new Map<string, TrackedCall>();
  private readonly inboundContexts: ReadonlySet<string>;
  /** Calls whose every channel is gone: nothing that changes the verdict can follow. */
  private ready: EndedCall[] = [];

  constructor(private readonly opts: TrackerOptions) {
    this.inboundContexts = new Set(opts.inboundContexts);
  }

  /** Calls being followed now (bounded by maxCallMs). */
  get size(): number {
    return this.calls.size;
  }

  /**
   * Feeds one event. Returns the start of a new inbound call (so the source can ask the PBX for
   * its caller-ID presentation while the channel is alive), else undefined.
   */
  handle(ev: CallEvent, now: number): InboundCallStarted | undefined {
    if (ev.type === 'presentation') {
      const call = this.calls.get(ev.linkedid);
      if (call) {
        call.presentation = ev.value;
        call.presentationPending = false;
        this.finishIfOver(call);
      }
      return undefined;
    }
    if (ev.type === 'channel_created' && ev.uniqueid === ev.linkedid) {
      return this.startCall(ev, now);
    }
    const call = this.calls.get(ev.linkedid);
    if (!call) return undefined;
    const isRoot = ev.uniqueid === call.rootUniqueid;
    switch (ev.type) {
      case 'channel_created':
        call.legs.set(ev.uniqueid, ev.channel.startsWith('Local/'));
        call.liveLegs.add(ev.uniqueid);
        break;
      case 'dialplan':
        if (isRoot) this.noteDialplan(call, ev.context, ev.exten);
        if (/^voicemail$/i.test(ev.application)) call.voicemail = true;
        break;
      case 'dial_begin':
        if (isRoot && call.direction === 'outbound' && !call.dialled) call.dialled = dialledNumberOf(ev.dialString);
        break;
      case 'dial_end':
        if (isRoot && ev.status) call.lastDialEnd = ev.status;
        break;
      case 'var_set':
        this.noteVariable(call, isRoot, ev.name, ev.value);
        break;
      case 'caller_id':
        if (isRoot && call.direction === 'inbound') {
          call.callerNum = ev.callerNum;
          call.callerName = ev.callerName;
          if (ev.restricted) call.restricted = true;
        }
        break;
      case 'bridge_enter':
        if (ev.bridgeType === 'holding' || ev.bridgeType === 'parking') break;
        if (isRoot) call.rootBridged = true;
        else if (call.legs.get(ev.uniqueid) === false) call.deviceBridged = true;
        break;
      case 'voicemail_left':
        if (isRoot) call.voicemail = true;
        break;
      case 'queue_abandon':
        if (isRoot) call.queueAbandon = true;
        break;
      case 'hangup_request':
        if (isRoot && !ev.soft && call.hangupAt === undefined) call.callerHungUp = true;
        break;
      case 'hangup':
        if (isRoot && call.hangupAt === undefined) {
          call.hangupAt = now;
          call.hangupEventAt = ev.at;
          call.hangupCause = ev.cause;
        } else if (!isRoot) {
          call.liveLegs.delete(ev.uniqueid);
        }
        this.finishIfOver(call);
        break;
      default:
        break;
    }
    return undefined;
  }

  /**
   * Calls that ended with the event just handled: the caller's channel and every leg are gone and
   * the presentation answer is in. Decided at once, without waiting for the grace period (which
   * only covers legs that outlive the caller), so a text can leave within milliseconds.
   */
  takeReady(): EndedCall[] {
    const out = this.ready;
    this.ready = [];
    return out;
  }

  get hasReady(): boolean {
    return this.ready.length > 0;
  }

  private finishIfOver(call: TrackedCall): void {
    if (call.hangupAt === undefined || call.liveLegs.size > 0 || call.presentationPending) return;
    this.calls.delete(call.callId);
    this.ready.push(this.verdict(call, classify(call), call.hangupAt));
  }

  /** Calls ready to be decided: hung up at least graceMs ago, or given up after maxCallMs. */
  due(now: number): EndedCall[] {
    const out: EndedCall[] = this.takeReady();
    for (const [id, call] of this.calls) {
      const wait = this.opts.graceMs + (call.presentationPending ? this.opts.presentationWaitMs ?? 0 : 0) + call.stalledMs;
      if (call.hangupAt !== undefined && now - call.hangupAt >= wait) {
        this.calls.delete(id);
        out.push(this.verdict(call, classify(call), call.hangupAt));
      } else if (call.hangupAt === undefined && now - call.firstSeenAt >= this.opts.maxCallMs + call.stalledMs) {
        this.calls.delete(id);
        out.push(this.verdict(call, 'unknown_end', now));
      }
    }
    return out;
  }

  /**
   * The event stream stood still for `ms` (the daemon stopped reading the PBX while decisions
   * caught up): events that would end or settle a call may sit unread, so no open call's wait
   * counts that time.
   */
  stall(ms: number): void {
    if (ms <= 0) return;
    for (const call of this.calls.values()) call.stalledMs += ms;
  }

  /**
   * The event stream broke (PBX connection lost): calls whose hangup we may never see are ended
   * as unknown_end at once rather than guessed. Calls already hung up keep their verdict.
   */
  abandonOpenCalls(now: number): EndedCall[] {
    const out: EndedCall[] = this.takeReady();
    for (const [id, call] of this.calls) {
      this.calls.delete(id);
      if (call.hangupAt !== undefined) out.push(this.verdict(call, classify(call), call.hangupAt));
      else out.push(this.verdict(call, 'unknown_end', now));
    }
    return out;
  }

  private startCall(ev: Extract<CallEvent, { type: 'channel_created' }>, now: number): InboundCallStarted | undefined {
    if (this.calls.has(ev.linkedid)) return undefined;
    const did = toE164(ev.exten, this.opts.defaultCountry);
    const inbound = this.inboundContexts.has(ev.context) || (did !== undefined && this.opts.isDid(did));
    const call: TrackedCall = {
      callId: ev.linkedid,
      rootUniqueid: ev.uniqueid,
      rootChannel: ev.channel,
      direction: inbound ? 'inbound' : 'outbound',
      context: ev.context,
      didRaw: ev.exten,
      did,
      callerNum: ev.callerNum,
      callerName: ev.callerName,
      dialled: '',
      presentation: '',
      presentationPending: inbound && this.opts.presentationWaitMs !== undefined,
      restricted: false,
      startedAt: startTimeOf(ev.uniqueid) ?? ev.at,
      createdEventAt: ev.at,
      firstSeenAt: now,
      stalledMs: 0,
      legs: new Map(),
      liveLegs: new Set(),
      rootBridged: false,
      deviceBridged: false,
      dialStatus: '',
      lastDialEnd: '',
      voicemail: false,
      queueAbandon: false,
      queueTimeout: false,
      callerHungUp: false,
      hangupCause: 0,
    };
    this.calls.set(ev.linkedid, call);
    return inbound ? { callId: call.callId, channel: ev.channel, uniqueid: ev.uniqueid } : undefined;
  }

  private noteDialplan(call: TrackedCall, context: string, exten: string): void {
    if (call.direction === 'inbound') {
      // Trunks that enter at "s" reveal the DID only once the dialplan routes it.
      if (call.did === undefined && this.inboundContexts.has(context)) {
        const did = toE164(exten, this.opts.defaultCountry);
        if (did !== undefined) {
          call.did = did;
          call.didRaw = exten;
        }
      }
    } else if (!call.dialled && toE164(exten, this.opts.defaultCountry) !== undefined) {
      call.dialled = exten;
    }
  }

  private noteVariable(call: TrackedCall, isRoot: boolean, name: string, value: string): void {
    if (name === 'VMSTATUS' && value) call.voicemail = true;
    if (!isRoot) return;
    if (name === 'DIALSTATUS' && value) call.dialStatus = value;
    else if (name === 'QUEUESTATUS' && value === 'TIMEOUT') call.queueTimeout = true;
  }

  private verdict(call: TrackedCall, outcome: CallOutcome, endedAt: number): EndedCall {
    const inbound = call.direction === 'inbound';
    const numberRaw = inbound ? call.callerNum : call.dialled;
    return {
      callId: call.callId,
      direction: call.direction,
      didRaw: call.didRaw,
      did: call.did,
      context: call.context,
      numberRaw,
      number: toE164(numberRaw, this.opts.defaultCountry),
      callerName: call.callerName,
      withheld: inbound && (call.restricted || isWithheldNumber(call.callerNum) || /^prohib/i.test(call.presentation)),
      outcome,
      startedAt: call.startedAt,
      endedAt,
      ringMs: Math.max(0, (call.hangupEventAt ?? endedAt) - call.createdEventAt),
      dialStatus: call.dialStatus || call.lastDialEnd,
      hangupCause: call.hangupCause,
    };
  }
}

const DIALSTATUS_OUTCOME: Readonly<Record<string, CallOutcome>> = {
  ANSWER: 'answered',
  NOANSWER: 'noanswer',
  BUSY: 'busy',
  CANCEL: 'cancel',
  CHANUNAVAIL: 'unavailable',
  CONGESTION: 'unavailable',
};

function classify(call: TrackedCall): CallOutcome {
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

/** Uniqueid is "<epoch seconds>.<sequence>": the channel's creation time on the PBX. */
function startTimeOf(uniqueid: string): number | undefined {
  const dot = uniqueid.indexOf('.');
  const secs = Number(dot > 0 ? uniqueid.slice(0, dot) : NaN);
  return Number.isFinite(secs) && secs > 1e9 ? secs * 1000 : undefined;
}

/** "PJSIP/+14155550123@trunk" or "SIP/trunk/14155550123" → the number part. */
function dialledNumberOf(dialString: string): string {
  const m = /(\+?\d{5,})/.exec(dialString);
  return m ? m[1] : '';
}
