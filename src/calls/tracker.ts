// Follows every call as the set of channels sharing a Linkedid and decides, once the caller's
// channel and all its legs are gone (or a grace period after the caller's hangup, whichever comes
// first), whether a person answered. Pure: no I/O, no clock; time comes in as `now`.
// CDR and CEL events, whose order around the Hangup varies between identical calls, are not read.
//
// Why these rules (see src/demo/captures/README.md, captured from a real Asterisk 22):
// - "Up" is not "answered": VoiceMail and Answer() before Queue bring the caller's channel Up.
//   A person answered when a dialled device leg (not a Local channel, not the caller) entered a
//   bridge and the caller's channel entered one too.
// - Hangup causes and Cdr dispositions mislead (cause 16 for answered and voicemail; Cdr
//   ANSWERED for voicemail, NO ANSWER for ring-group losers), so neither is read.
// - Only the caller's channel's DIALSTATUS counts: Local ;2 legs say CANCEL when nobody hung up.
// - Queues emit QueueCallerAbandon on timeout too; QUEUESTATUS=TIMEOUT tells them apart.
// - A call injected through a Local channel (Originate of Local/<DID>@<inbound context>, call
//   files, callback tools) starts with the `;1` half, the origin side, whose caller ID turns into
//   the extension being rung. The call a business got is the `;2` half that entered the inbound
//   context: the tracker moves the call's caller channel there, with the caller ID it had then.
// - After a lost connection, calls are not guessed: they wait for the PBX's list of live channels
//   on the next connection (`inventory`), which ends the ones that went meanwhile (`unknown_end`)
//   and starts following the ones that began meanwhile (`midway`).

import { toE164, isWithheldNumber } from '../numbers/phone';
import { classify, dialledNumberOf, localHalf, type TrackedCall } from './tracked';
import { PRESENTATION_VARIABLE, type CallEvent, type CallOutcome, type ChannelSnapshot, type EndedCall, type InboundCallStarted, type Presentation } from './types';

export interface TrackerOptions {
  inboundContexts: readonly string[];
  /** Is this E.164 number a configured business's DID? A call to one is inbound whatever its context. Asked at each event (a reload may change the DIDs), as is defaultCountry. */
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
  /**
   * After the PBX connection is lost, open calls wait this long for the next connection's
   * inventory before they are given up as `unknown_end`. Default 30 s.
   */
  reconnectHoldMs?: number;
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
      // An answer about a channel that is no longer the caller's (a Local `;1` half) says nothing.
      if (call && (ev.uniqueid === undefined || ev.uniqueid === call.rootUniqueid)) {
        if (ev.value && !call.presentation) call.presentation = ev.value;
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
    // Not from the channel's creation: chan_pjsip sets the presentation only after it announced
    // the channel, so a withheld caller's first event still says "allowed" (captured, README).
    if (ev.pres && isRoot && ev.type !== 'channel_created') {
      call.presentation = ev.pres;
      call.presentationPending = false;
    }
    switch (ev.type) {
      case 'channel_created':
        call.legs.set(ev.uniqueid, ev.channel.startsWith('Local/'));
        call.liveLegs.add(ev.uniqueid);
        if (call.localOrigin !== undefined && !call.localPartner && localHalf(ev.channel) === `${call.localOrigin};2`) {
          call.localPartner = { uniqueid: ev.uniqueid, channel: ev.channel, callerNum: ev.callerNum, callerName: ev.callerName };
          if (this.entersInbound(ev.context, ev.exten)) return this.moveToPartner(call, ev.context, ev.exten);
        }
        break;
      case 'dialplan':
        if (isRoot) this.noteDialplan(call, ev.context, ev.exten);
        else if (call.localPartner?.uniqueid === ev.uniqueid && this.entersInbound(ev.context, ev.exten)) {
          const started = this.moveToPartner(call, ev.context, ev.exten);
          if (/^voicemail$/i.test(ev.application)) call.voicemail = true;
          return started;
        }
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
        if (call.localPartner?.uniqueid === ev.uniqueid && !isRoot) {
          call.localPartner.callerNum = ev.callerNum;
          call.localPartner.callerName = ev.callerName;
        }
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

  /** Does a channel at this dialplan place take an inbound call to a business? */
  private entersInbound(context: string, exten: string): boolean {
    if (this.inboundContexts.has(context)) return true;
    const did = toE164(exten, this.opts.defaultCountry);
    return did !== undefined && this.opts.isDid(did);
  }

  /**
   * The call began on a Local `;1` half and its `;2` half has entered the inbound context: that
   * half is the call the business got. Its caller ID now (before any connected-line change on the
   * `;1` side) is the caller; its dial status is the outcome; the `;1` half becomes a Local leg.
   */
  private moveToPartner(call: TrackedCall, context: string, exten: string): InboundCallStarted | undefined {
    const partner = call.localPartner;
    if (!partner) return undefined;
    const origin = call.rootUniqueid;
    call.legs.set(origin, true);
    if (call.hangupAt === undefined) call.liveLegs.add(origin);
    call.legs.delete(partner.uniqueid);
    call.liveLegs.delete(partner.uniqueid);
    call.localOrigin = undefined;
    call.rootUniqueid = partner.uniqueid;
    call.rootChannel = partner.channel;
    call.direction = 'inbound';
    call.context = context;
    call.didRaw = exten;
    call.did = toE164(exten, this.opts.defaultCountry);
    call.callerNum = partner.callerNum;
    call.callerName = partner.callerName;
    call.dialled = '';
    call.restricted = false;
    call.presentation = '';
    call.presentationPending = this.opts.presentationWaitMs !== undefined;
    call.rootBridged = false;
    call.dialStatus = '';
    call.lastDialEnd = '';
    call.callerHungUp = false;
    call.hangupAt = undefined;
    call.hangupEventAt = undefined;
    call.hangupCause = 0;
    return { callId: call.callId, channel: partner.channel, uniqueid: partner.uniqueid };
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
      } else if (call.lostSince !== undefined && now - call.lostSince >= (this.opts.reconnectHoldMs ?? 30_000)) {
        // The PBX did not come back in time to say whether it is still going: never guessed.
        this.calls.delete(id);
        out.push(this.verdict(call, call.hangupAt !== undefined ? classify(call) : 'unknown_end', call.hangupAt ?? now));
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
   * The PBX connection was lost: events may be missing from here on. Open calls wait (up to
   * reconnectHoldMs) for the next connection's inventory to say whether they are still going.
   */
  connectionLost(now: number): void {
    for (const call of this.calls.values()) call.lostSince ??= now;
  }

  /**
   * The PBX's live channels on a new connection. Calls followed before that are gone from the
   * list ended while mctb could not see them: `unknown_end`, never guessed (or their verdict, if
   * their hangup was seen). Those still there go on, marked midway. Channels not followed yet
   * start being followed: the calls that began meanwhile, marked midway. Returns the ended calls
   * and the inbound calls started (for their presentation query).
   */
  inventory(channels: readonly ChannelSnapshot[], now: number): { ended: EndedCall[]; started: InboundCallStarted[] } {
    const ended: EndedCall[] = this.takeReady();
    const started: InboundCallStarted[] = [];
    const live = new Map(channels.map((c) => [c.uniqueid, c]));
    for (const [id, call] of this.calls) {
      if (call.lostSince === undefined) continue;
      call.lostSince = undefined;
      const root = live.get(call.rootUniqueid);
      if (!root) {
        this.calls.delete(id);
        ended.push(this.verdict(call, call.hangupAt !== undefined ? classify(call) : 'unknown_end', call.hangupAt ?? now));
        continue;
      }
      call.midway = true;
      for (const leg of call.liveLegs) if (!live.has(leg)) call.liveLegs.delete(leg);
      this.noteSnapshot(call, root);
    }
    // Calls' first channels before their legs, oldest first, so each leg finds its call.
    const order = [...channels].sort((a, b) => Number(b.uniqueid === b.linkedid) - Number(a.uniqueid === a.linkedid) || a.createdAt - b.createdAt);
    for (const ch of order) {
      const call = this.calls.get(ch.linkedid);
      if (ch.uniqueid === ch.linkedid) {
        if (call) continue;
        const start = this.startCall(
          { type: 'channel_created', at: ch.createdAt, uniqueid: ch.uniqueid, linkedid: ch.linkedid, channel: ch.channel, context: ch.context, exten: ch.exten, callerNum: ch.callerNum, callerName: ch.callerName, state: ch.state },
          now,
        );
        const fresh = this.calls.get(ch.linkedid);
        if (!fresh) continue;
        fresh.midway = true;
        this.noteSnapshot(fresh, ch);
        if (start && fresh.presentationPending) started.push(start);
      } else if (call && !call.legs.has(ch.uniqueid) && ch.uniqueid !== call.rootUniqueid) {
        const moved = this.handle({ type: 'channel_created', at: ch.createdAt, uniqueid: ch.uniqueid, linkedid: ch.linkedid, channel: ch.channel, context: ch.context, exten: ch.exten, callerNum: ch.callerNum, callerName: ch.callerName, state: ch.state }, now);
        if (moved) {
          call.midway = true;
          this.noteSnapshot(call, ch);
          if (call.presentationPending) started.push(moved);
        }
      }
    }
    return { ended, started };
  }

  /** What a snapshot of the caller's channel says about a call seen from the middle. */
  private noteSnapshot(call: TrackedCall, ch: ChannelSnapshot): void {
    const pres = ch.variables[PRESENTATION_VARIABLE] || ch.variables['CALLERID(pres)'];
    if (pres) {
      call.presentation = pres;
      call.presentationPending = false;
    }
    const status = ch.variables.DIALSTATUS;
    if (status) call.dialStatus = status;
    if (/^voicemail$/i.test(ch.application)) call.voicemail = true;
    // Bridged while in Dial or Queue: someone took the call. Where the source cannot say (ARI),
    // a caller's channel that is Up inside Dial is taken as answered: not texting one missed caller
    // is better than texting someone who spoke to staff.
    const inDialOrQueue = /^(dial|queue)$/i.test(ch.application);
    if (inDialOrQueue && (ch.bridged === true || (ch.bridged === undefined && ch.state === 6 && /^dial$/i.test(ch.application)))) {
      call.rootBridged = true;
      call.deviceBridged = true;
    }
  }

  /**
   * The event stream broke and no inventory will follow: calls whose hangup we may never see are
   * ended as unknown_end at once rather than guessed. Calls already hung up keep their verdict.
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
    const half = localHalf(ev.channel);
    const localOrigin = half?.endsWith(';1') === true;
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
      // A Local `;1` half is the origin side of an injected call: its `;2` is asked instead.
      presentationPending: inbound && !localOrigin && this.opts.presentationWaitMs !== undefined,
      midway: false,
      restricted: false,
      // The event's own time (ms, PBX time when it sends one), like the hangup's: not the Uniqueid's whole seconds.
      startedAt: ev.at,
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
    if (half && localOrigin) call.localOrigin = half.slice(0, -2);
    this.calls.set(ev.linkedid, call);
    return inbound && !localOrigin ? { callId: call.callId, channel: ev.channel, uniqueid: ev.uniqueid } : undefined;
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
    if (name === PRESENTATION_VARIABLE) {
      // Set by the inbound dialplan before anything rings: known in the stream, no lookup race.
      if (value) call.presentation = value;
      call.presentationPending = false;
      return;
    }
    if (name === 'DIALSTATUS' && value) call.dialStatus = value;
    else if (name === 'QUEUESTATUS' && value === 'TIMEOUT') call.queueTimeout = true;
  }

  private verdict(call: TrackedCall, outcome: CallOutcome, endedAt: number): EndedCall {
    const inbound = call.direction === 'inbound';
    const numberRaw = inbound ? call.callerNum : call.dialled;
    const withheld = inbound && (call.restricted || isWithheldNumber(call.callerNum) || /^prohib/i.test(call.presentation));
    const presentation: Presentation = withheld ? 'withheld' : call.presentation ? 'allowed' : 'unknown';
    return {
      callId: call.callId,
      direction: call.direction,
      didRaw: call.didRaw,
      did: call.did,
      context: call.context,
      numberRaw,
      number: toE164(numberRaw, this.opts.defaultCountry),
      callerName: call.callerName,
      withheld,
      presentation,
      midway: call.midway,
      outcome,
      startedAt: call.startedAt,
      endedAt,
      ringMs: Math.max(0, (call.hangupEventAt ?? endedAt) - call.createdEventAt),
      dialStatus: call.dialStatus || call.lastDialEnd,
      hangupCause: call.hangupCause,
    };
  }
}
