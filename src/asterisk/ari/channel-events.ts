// One ARI event of a channel whose call is known → its CallEvents, in AMI's terms. Pure but for
// the call's own flags (root bridged, queue abandoned, root gone), which it keeps up to date.

import { PRESENTATION_VARIABLE, type CallEvent } from '../../calls/types';
import { STATE_NUMBER, bridgeTypeOf, eventTime, isObject, str, type AriEvent, type Channel } from './frame';

export interface CallState {
  linkedid: string;
  startedAt: number;
  channelIds: string[];
  /** The root entered a non-holding bridge at some point (someone was connected to the caller). */
  rootBridged: boolean;
  queueAbandoned: boolean;
  rootGoneAt?: number;
}

/** The dialplan variables that carry an outcome (as in ../ami/events.ts). */
const TRACKED_VARIABLES = new Set(['DIALSTATUS', 'VMSTATUS', 'QUEUESTATUS', PRESENTATION_VARIABLE]);

export function translateEvent(ev: AriEvent, ch: Channel, call: CallState, arrival: number, out: CallEvent[]): void {
  const isRoot = ch.id === call.linkedid;
  const vars = ch.raw.channelvars;
  // ari.conf `channelvars = CALLERID(pres)`: every channel snapshot carries its presentation.
  const pres = isObject(vars) ? str(vars['CALLERID(pres)']) : '';
  const base = pres
    ? { at: eventTime(ev, arrival), uniqueid: ch.id, linkedid: call.linkedid, channel: ch.name, pres }
    : { at: eventTime(ev, arrival), uniqueid: ch.id, linkedid: call.linkedid, channel: ch.name };
  switch (ev.type) {
    case 'ChannelStateChange':
      out.push({ ...base, type: 'channel_state', state: STATE_NUMBER[ch.state] ?? 0 });
      return;
    case 'ChannelDialplan': {
      const dialplan = isObject(ch.raw.dialplan) ? ch.raw.dialplan : {};
      out.push({ ...base, type: 'dialplan', context: str(dialplan.context), exten: str(dialplan.exten), application: str(ev.dialplan_app) });
      return;
    }
    case 'ChannelVarset': {
      const name = str(ev.variable);
      if (TRACKED_VARIABLES.has(name)) out.push({ ...base, type: 'var_set', name, value: str(ev.value) });
      return;
    }
    case 'ChannelCallerId': {
      const caller = isObject(ch.raw.caller) ? ch.raw.caller : {};
      const pres = typeof ev.caller_presentation === 'number' ? ev.caller_presentation : Number.parseInt(str(ev.caller_presentation), 10) || 0;
      out.push({
        ...base,
        type: 'caller_id',
        callerNum: str(caller.number),
        callerName: str(caller.name),
        // AST_PRES_RESTRICTED is 0x20 within the 0x60 presentation mask, as AMI's CID-CallingPres.
        restricted: (pres & 0x60) === 0x20 || /restricted/i.test(str(ev.caller_presentation_txt)),
      });
      return;
    }
    case 'ChannelEnteredBridge': {
      const bridge = isObject(ev.bridge) ? ev.bridge : {};
      const bridgeType = bridgeTypeOf(bridge);
      if (isRoot && bridgeType !== 'holding' && bridgeType !== 'parking') call.rootBridged = true;
      out.push({ ...base, type: 'bridge_enter', bridgeId: str(bridge.id), bridgeType });
      return;
    }
    case 'ChannelLeftBridge': {
      const bridge = isObject(ev.bridge) ? ev.bridge : {};
      out.push({ ...base, type: 'bridge_leave', bridgeId: str(bridge.id) });
      return;
    }
    case 'ChannelHangupRequest': {
      const soft = ev.soft === true;
      out.push({ ...base, type: 'hangup_request', soft });
      const dialplan = isObject(ch.raw.dialplan) ? ch.raw.dialplan : {};
      if (isRoot && !soft && !call.rootBridged && !call.queueAbandoned && /^queue$/i.test(str(dialplan.app_name))) {
        call.queueAbandoned = true;
        out.push({ ...base, type: 'queue_abandon' });
      }
      return;
    }
    case 'ChannelDestroyed': {
      const cause = typeof ev.cause === 'number' ? ev.cause : Number(ev.cause) || 0;
      out.push({ ...base, type: 'hangup', cause: Number.isFinite(cause) ? cause : 0 });
      if (isRoot && call.rootGoneAt === undefined) call.rootGoneAt = arrival;
      return;
    }
    default:
      return;
  }
}
