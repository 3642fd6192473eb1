// ARI event (one WebSocket frame, parsed) → the tracker's CallEvent, so a call seen over ARI is
// classified exactly as the same call seen over AMI. Pure: no I/O, no clock (time comes in as
// `arrival`), never throws; anything malformed yields [].
//
// What ARI lacks and how it is made up (checked against src/demo/captures/ari/*.jsonl, Asterisk 22):
//
// - No Linkedid. The call's id is derived: it is the id of the caller's ("root") channel, which
//   is the AMI Uniqueid == Linkedid of the same call. A leg joins its call through
//     * `Dial` (`caller` → `peer`, and `forwarded`): the dialled channel belongs to the caller's call;
//     * Local pairs: `Local/x@ctx-00000001;2` belongs with `;1` (same name before the `;`).
// - New call or leg? The dialled channel's ChannelCreated comes BEFORE the Dial naming it, with
//   other events in between (ring groups: both PJSIP legs are created, then the two Dials). The
//   rule, right on every capture:
//     * a channel created in state `Ring` is a new call (a channel driver's inbound channel: the
//       trunk, or a phone placing a call), except a Local `;2` whose `;1` is known;
//     * a channel created in any other state (`Down`: made by Dial, Queue, Originate) is HELD:
//       its events are buffered until a Dial claims it (they are then released, in order, under
//       the claimer's call) or, unclaimed after `holdMs`, it becomes its own call, which is what
//       AMI says of an originated channel (its Linkedid is its own Uniqueid). A Dial with no
//       caller (Originate) releases its peer as its own call at once.
//   Channels a held channel dials, and its Local partner, are held with it.
// - No QueueCallerAbandon. Derived: the caller's channel gets a non-soft hangup request (the
//   far end hung up) while its dialplan application is Queue and it was never bridged to anyone
//   → `queue_abandon` (after the `hangup_request`, the AMI order). A queue timeout does not hang
//   up the caller, so it never looks like an abandon (AMI emits QueueCallerAbandon there too; the
//   tracker tells them apart by QUEUESTATUS=TIMEOUT anyway).
// - No MessageWaiting: the tracker already counts ChannelDialplan VoiceMail and VMSTATUS.
// - Bridge types: ARI `bridge_type` is the capability (mixing/holding), `bridge_class` the AMI
//   BridgeType (basic/parking/...). Holding bridges are reported as 'holding', parking as 'parking',
//   else the class, like AMI.
//
// Memory is bounded: a call's channels are forgotten `lingerMs` after its root is destroyed, or
// `maxCallMs` after it started; held channels are released after `holdMs`; and at most
// `maxChannels` channels are followed (the oldest calls are dropped first).

import type { CallEvent, ChannelSnapshot } from '../../calls/types';
import { translateEvent, type CallState } from './channel-events';
import { STATE_NUMBER, channelOf, createdAt, eventTime, isObject, localBase, mergeBySeq, str, stripUndefined, type AriEvent, type Channel } from './frame';

export { parseAriFrame, type AriEvent } from './frame';

export interface AriTranslatorOptions {
  /** How long a channel created in state Down waits for the Dial that claims it (arrival time). */
  holdMs?: number;
  /** Keep a call's channels this long after its caller's channel is destroyed (late Dial/bridge events). */
  lingerMs?: number;
  /** Forget any call this long after it started, ended or not. */
  maxCallMs?: number;
  /** At most this many channels followed; past it, the oldest calls are forgotten. */
  maxChannels?: number;
  /** At most this many events buffered per held group; past it, the group becomes its own call. */
  maxHeldEvents?: number;
}

interface HeldGroup {
  channelIds: string[];
  events: { seq: number; ev: AriEvent }[];
  since: number;
}

interface ChannelInfo {
  id: string;
  name: string;
  call?: CallState;
  group?: HeldGroup;
  /** channel_created was emitted for it. */
  announced: boolean;
}

/** Dial statuses that AMI reports as DialState (progress), not DialEnd. */
const DIAL_PROGRESS = new Set(['RINGING', 'PROGRESS', 'PROCEEDING']);

const DEFAULTS: Required<AriTranslatorOptions> = {
  holdMs: 5000,
  lingerMs: 30_000,
  maxCallMs: 6 * 3600_000,
  maxChannels: 50_000,
  maxHeldEvents: 500,
};

export class AriCallEvents {
  private readonly opts: Required<AriTranslatorOptions>;
  private readonly channels = new Map<string, ChannelInfo>();
  /** "Local/101@rg-legs-00000000" → id of its ;1 half. */
  private readonly localPairs = new Map<string, string>();
  /** Live calls in start order (for maxCallMs / maxChannels eviction). */
  private readonly calls = new Map<string, CallState>();
  /** Calls whose root is gone, in the order it went (for lingerMs). */
  private readonly ending = new Map<string, CallState>();
  /** Held groups in creation order. */
  private readonly held = new Set<HeldGroup>();
  private seq = 0;
  /** Channels destroyed before mctb knew them, since the last reset: not to be taken for live by a late inventory. */
  private readonly goneUnknown = new Set<string>();

  constructor(options: AriTranslatorOptions = {}) {
    this.opts = { ...DEFAULTS, ...stripUndefined(options) };
  }

  /** Channels followed now (calls and held), for tests and metrics. */
  get channelCount(): number {
    return this.channels.size;
  }

  get callCount(): number {
    return this.calls.size;
  }

  get heldCount(): number {
    return this.held.size;
  }

  /** Forgets everything (the event stream broke: what follows cannot be tied to what came before). */
  reset(): void {
    this.channels.clear();
    this.localPairs.clear();
    this.calls.clear();
    this.ending.clear();
    this.held.clear();
    this.goneUnknown.clear();
  }

  /**
   * The PBX's live channels on a new connection (GET /channels), from which calls already in
   * progress are followed. ARI names no Linkedid: a Local `;2` joins its `;1`; a channel Dial
   * made (application AppDial) cannot be tied to its caller and is left out (its caller's
   * DIALSTATUS still tells the outcome); any other channel is a call's first one. Returns the
   * snapshots for the tracker (CallTracker.inventory); their later events are translated as usual.
   */
  seed(channels: readonly unknown[], arrival: number): ChannelSnapshot[] {
    const out: ChannelSnapshot[] = [];
    const list = channels
      .map((c) => channelOf(c))
      .filter((c): c is Channel => c !== undefined && !this.channels.has(c.id) && !this.goneUnknown.has(c.id))
      .sort((a, b) => createdAt(a, arrival) - createdAt(b, arrival));
    for (const ch of list) {
      const dialplan = isObject(ch.raw.dialplan) ? ch.raw.dialplan : {};
      const app = str(dialplan.app_name);
      const partner = this.localPartner(ch.name);
      let call: CallState;
      if (partner?.call) call = partner.call;
      else if (/^AppDial/i.test(app)) continue;
      else call = this.newCall(ch.id, arrival);
      const info = this.register(ch, call);
      info.announced = true;
      const caller = isObject(ch.raw.caller) ? ch.raw.caller : {};
      const vars = isObject(ch.raw.channelvars) ? ch.raw.channelvars : {};
      out.push({
        uniqueid: ch.id,
        linkedid: call.linkedid,
        channel: ch.name,
        context: str(dialplan.context),
        exten: str(dialplan.exten),
        callerNum: str(caller.number),
        callerName: str(caller.name),
        state: STATE_NUMBER[ch.state] ?? 0,
        application: app,
        createdAt: createdAt(ch, arrival),
        variables: Object.fromEntries(Object.entries(vars).map(([k, v]) => [k, str(v)])),
      });
    }
    return out;
  }

  /** Translates one ARI event (a parsed frame). Never throws; malformed input yields []. */
  push(ev: unknown, arrival: number): CallEvent[] {
    const out: CallEvent[] = [];
    try {
      this.sweep(arrival, out);
      if (isObject(ev) && typeof ev.type === 'string') this.route(ev, arrival, out);
    } catch {
      // Defensive: a translator bug must not take the event stream down. Whatever was produced stands.
    }
    return out;
  }

  /** Releases held channels whose wait is over and forgets ended calls; call about once a second. */
  expire(now: number): CallEvent[] {
    const out: CallEvent[] = [];
    try {
      this.sweep(now, out);
    } catch {
      // as in push
    }
    return out;
  }

  // ---- routing ----

  private route(ev: AriEvent, arrival: number, out: CallEvent[]): void {
    switch (ev.type) {
      case 'ChannelCreated':
        this.onCreated(ev, arrival, out);
        return;
      case 'Dial':
        this.onDial(ev, arrival, out);
        return;
      case 'ChannelStateChange':
      case 'ChannelDialplan':
      case 'ChannelVarset':
      case 'ChannelCallerId':
      case 'ChannelEnteredBridge':
      case 'ChannelLeftBridge':
      case 'ChannelHangupRequest':
      case 'ChannelDestroyed': {
        const ch = channelOf(ev.channel);
        if (!ch) return;
        const info = this.channels.get(ch.id);
        if (!info) {
          if (ev.type === 'ChannelDestroyed' && this.goneUnknown.size < 10_000) this.goneUnknown.add(ch.id);
          return;
        }
        if (info.group) this.hold(info.group, ev, arrival, out);
        else if (info.call) this.translate(ev, ch, info.call, arrival, out);
        return;
      }
      default:
        return;
    }
  }

  /** An event of a channel whose call is known; a root destroyed starts its call's linger. */
  private translate(ev: AriEvent, ch: Channel, call: CallState, arrival: number, out: CallEvent[]): void {
    const goneBefore = call.rootGoneAt;
    translateEvent(ev, ch, call, arrival, out);
    if (goneBefore === undefined && call.rootGoneAt !== undefined) this.ending.set(call.linkedid, call);
  }

  private onCreated(ev: AriEvent, arrival: number, out: CallEvent[]): void {
    const ch = channelOf(ev.channel);
    if (!ch) return;
    const known = this.channels.get(ch.id);
    if (known) {
      // Released from hold (or synthesised from a Dial): announce it now, under its call.
      if (known.group) this.hold(known.group, ev, arrival, out);
      else if (known.call && !known.announced) this.announce(ev, ch, known, known.call, arrival, out);
      return;
    }
    const partner = this.localPartner(ch.name);
    if (partner?.call) {
      const info = this.register(ch, partner.call);
      this.announce(ev, ch, info, partner.call, arrival, out);
      return;
    }
    if (partner?.group) {
      this.addToGroup(partner.group, ch);
      this.hold(partner.group, ev, arrival, out);
      return;
    }
    if (ch.state === 'Ring') {
      const call = this.newCall(ch.id, arrival);
      const info = this.register(ch, call);
      this.announce(ev, ch, info, call, arrival, out);
      return;
    }
    const group: HeldGroup = { channelIds: [], events: [], since: arrival };
    this.held.add(group);
    this.addToGroup(group, ch);
    this.hold(group, ev, arrival, out);
  }

  private onDial(ev: AriEvent, arrival: number, out: CallEvent[]): void {
    const peer = channelOf(ev.peer);
    if (!peer) return;
    const caller = channelOf(ev.caller);
    const forwarded = channelOf(ev.forwarded);
    const callerInfo = caller ? this.channels.get(caller.id) : undefined;
    if (!caller) {
      // Originate: nobody dialled it, so it is a call of its own (AMI: Linkedid = its Uniqueid).
      const info = this.channels.get(peer.id);
      if (info?.group) this.release(info.group, arrival, out);
      return;
    }
    if (!callerInfo) return;
    if (callerInfo.group) {
      // The caller is itself waiting to be claimed: its peers wait with it.
      for (const c of [peer, forwarded]) if (c) this.joinGroup(callerInfo.group, c, ev);
      this.hold(callerInfo.group, ev, arrival, out);
      return;
    }
    const call = callerInfo.call;
    if (!call) return;
    for (const c of [peer, forwarded]) if (c) this.claim(c, call, ev, arrival, out);
    const base = { at: eventTime(ev, arrival), uniqueid: caller.id, linkedid: call.linkedid, channel: caller.name };
    const status = str(ev.dialstatus);
    if (status === '') out.push({ ...base, type: 'dial_begin', destUniqueid: peer.id, dialString: str(ev.dialstring) });
    else if (!DIAL_PROGRESS.has(status)) out.push({ ...base, type: 'dial_end', destUniqueid: peer.id, status });
  }

  // ---- calls, groups ----

  private newCall(linkedid: string, arrival: number): CallState {
    const call: CallState = { linkedid, startedAt: arrival, channelIds: [], rootBridged: false, queueAbandoned: false };
    this.calls.set(linkedid, call);
    return call;
  }

  private register(ch: Channel, call: CallState): ChannelInfo {
    const info: ChannelInfo = { id: ch.id, name: ch.name, call, announced: false };
    this.channels.set(ch.id, info);
    call.channelIds.push(ch.id);
    this.notePair(ch);
    return info;
  }

  private addToGroup(group: HeldGroup, ch: Channel): ChannelInfo {
    const info: ChannelInfo = { id: ch.id, name: ch.name, group, announced: false };
    this.channels.set(ch.id, info);
    group.channelIds.push(ch.id);
    this.notePair(ch);
    return info;
  }

  /** A Dial by a held channel names `c`: `c` (and anything held with it) waits in the caller's group. */
  private joinGroup(group: HeldGroup, c: Channel, dial: AriEvent): void {
    const info = this.channels.get(c.id);
    if (!info) {
      this.addToGroup(group, c);
      group.events.push({ seq: this.seq++, ev: { type: 'ChannelCreated', timestamp: dial.timestamp, channel: c.raw } });
      return;
    }
    if (info.group && info.group !== group) {
      const other = info.group;
      for (const id of other.channelIds) {
        const i = this.channels.get(id);
        if (i) i.group = group;
        group.channelIds.push(id);
      }
      group.events = mergeBySeq(group.events, other.events);
      this.held.delete(other);
    }
  }

  /** A Dial by a channel of `call` names `c`: it (and anything held with it) joins the call. */
  private claim(c: Channel, call: CallState, dial: AriEvent, arrival: number, out: CallEvent[]): void {
    const info = this.channels.get(c.id);
    if (!info) {
      // Never saw it created (connected mid-call, or filtered): announce it from the Dial's snapshot.
      const created = this.register(c, call);
      this.announce({ type: 'ChannelCreated', timestamp: dial.timestamp, channel: c.raw }, c, created, call, arrival, out);
      return;
    }
    if (info.group) this.releaseInto(info.group, call, arrival, out);
  }

  /** Unclaimed: the group's first channel is a call of its own. */
  private release(group: HeldGroup, arrival: number, out: CallEvent[]): void {
    const rootId = group.channelIds[0];
    if (rootId === undefined) {
      this.held.delete(group);
      return;
    }
    this.releaseInto(group, this.newCall(rootId, arrival), arrival, out);
  }

  private releaseInto(group: HeldGroup, call: CallState, arrival: number, out: CallEvent[]): void {
    this.held.delete(group);
    for (const id of group.channelIds) {
      const info = this.channels.get(id);
      if (!info) continue;
      info.group = undefined;
      info.call = call;
      call.channelIds.push(id);
    }
    for (const { ev } of group.events) this.route(ev, arrival, out);
  }

  private hold(group: HeldGroup, ev: AriEvent, arrival: number, out: CallEvent[]): void {
    group.events.push({ seq: this.seq++, ev });
    if (group.events.length > this.opts.maxHeldEvents) this.release(group, arrival, out);
  }

  private localPartner(name: string): ChannelInfo | undefined {
    const base = localBase(name);
    if (!base || !name.endsWith(';2')) return undefined;
    const id = this.localPairs.get(base);
    return id === undefined ? undefined : this.channels.get(id);
  }

  private notePair(ch: Channel): void {
    const base = localBase(ch.name);
    if (base && ch.name.endsWith(';1')) this.localPairs.set(base, ch.id);
  }

  private forget(call: CallState): void {
    for (const id of call.channelIds) {
      const info = this.channels.get(id);
      if (info && info.call === call) {
        this.channels.delete(id);
        const base = localBase(info.name);
        if (base && this.localPairs.get(base) === id) this.localPairs.delete(base);
      }
    }
    this.calls.delete(call.linkedid);
    this.ending.delete(call.linkedid);
  }

  private sweep(now: number, out: CallEvent[]): void {
    for (const group of this.held) {
      if (now - group.since < this.opts.holdMs) break;
      this.release(group, now, out);
    }
    for (const call of this.ending.values()) {
      if (now - (call.rootGoneAt ?? now) < this.opts.lingerMs) break;
      this.forget(call);
    }
    for (const call of this.calls.values()) {
      if (now - call.startedAt < this.opts.maxCallMs && this.channels.size <= this.opts.maxChannels) break;
      this.forget(call);
    }
    // Still too many: held channels nobody claimed are dropped, oldest first.
    for (const group of this.held) {
      if (this.channels.size <= this.opts.maxChannels) break;
      this.held.delete(group);
      for (const id of group.channelIds) {
        const info = this.channels.get(id);
        if (info?.group !== group) continue;
        this.channels.delete(id);
        const base = localBase(info.name);
        if (base && this.localPairs.get(base) === id) this.localPairs.delete(base);
      }
    }
  }

  // ---- translation of one event of a channel that belongs to a call ----

  private announce(ev: AriEvent, ch: Channel, info: ChannelInfo, call: CallState, arrival: number, out: CallEvent[]): void {
    info.announced = true;
    const dialplan = isObject(ch.raw.dialplan) ? ch.raw.dialplan : {};
    const caller = isObject(ch.raw.caller) ? ch.raw.caller : {};
    out.push({
      at: eventTime(ev, arrival),
      uniqueid: ch.id,
      linkedid: call.linkedid,
      channel: ch.name,
      type: 'channel_created',
      context: str(dialplan.context),
      exten: str(dialplan.exten),
      callerNum: str(caller.number),
      callerName: str(caller.name),
      state: STATE_NUMBER[ch.state] ?? 0,
    });
  }
}
