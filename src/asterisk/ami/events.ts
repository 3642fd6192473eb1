// AMI frame (as asterisk-manager hands it: lower-cased keys, repeated keys as arrays,
// `Variable:` split into an object) → the tracker's CallEvent. Pure and total: a frame that is
// missing what we need yields undefined, never an exception.

import { PRESENTATION_VARIABLE } from '../../calls/types';
import type { CallEvent } from '../../calls/types';
import type { AmiEventFilter } from './reader';

export type AmiFrame = Record<string, unknown>;

/** First value of a key, as a string ('' when absent or not text). */
export function field(frame: AmiFrame, key: string): string {
  const v = frame[key];
  if (typeof v === 'string') return v;
  if (Array.isArray(v) && typeof v[0] === 'string') return v[0];
  return '';
}

/** VarSet's variable name; asterisk-manager turns "Variable: X" into { X: '' }. */
function variableName(frame: AmiFrame): string {
  const v = frame['variable'];
  if (typeof v === 'string') return v;
  if (v && typeof v === 'object' && !Array.isArray(v)) {
    const keys = Object.keys(v);
    return keys.length === 1 ? keys[0] : '';
  }
  return '';
}

function eventTime(frame: AmiFrame, arrival: number): number {
  const ts = Number(field(frame, 'timestamp'));
  return Number.isFinite(ts) && ts > 1e9 ? Math.round(ts * 1000) : arrival;
}

export function toCallEvent(frame: AmiFrame, arrival: number): CallEvent | undefined {
  const ev = readEvent(frame, arrival);
  // manager.conf `channelvars = CALLERID(pres)`: every event of the channel carries its presentation.
  const vars = frame.chanvariable;
  if (ev && ev.type !== 'presentation' && vars !== undefined && typeof vars === 'object') {
    const pres = (vars as Record<string, string>)['CALLERID(pres)'];
    if (pres) ev.pres = pres;
  }
  return ev;
}

function readEvent(frame: AmiFrame, arrival: number): CallEvent | undefined {
  const name = field(frame, 'event');
  const uniqueid = field(frame, 'uniqueid');
  const linkedid = field(frame, 'linkedid');
  // Every event the tracker reads is about a channel of a call.
  if (!uniqueid || !linkedid || !name) return undefined;
  // The four fields every event has, written into each literal (no spread: this runs per event).
  const at = eventTime(frame, arrival);
  const channel = field(frame, 'channel');
  switch (name) {
    case 'Newchannel':
      return {
        at, uniqueid, linkedid, channel,
        type: 'channel_created',
        context: field(frame, 'context'),
        exten: field(frame, 'exten'),
        callerNum: field(frame, 'calleridnum'),
        callerName: field(frame, 'calleridname'),
        state: Number(field(frame, 'channelstate')) || 0,
      };
    case 'Newstate':
      return { at, uniqueid, linkedid, channel, type: 'channel_state', state: Number(field(frame, 'channelstate')) || 0 };
    case 'Newexten':
      return {
        at, uniqueid, linkedid, channel,
        type: 'dialplan',
        context: field(frame, 'context'),
        exten: field(frame, 'exten'),
        application: field(frame, 'application'),
      };
    case 'DialBegin':
      return { at, uniqueid, linkedid, channel, type: 'dial_begin', destUniqueid: field(frame, 'destuniqueid'), dialString: field(frame, 'dialstring') };
    case 'DialEnd':
      return { at, uniqueid, linkedid, channel, type: 'dial_end', destUniqueid: field(frame, 'destuniqueid'), status: field(frame, 'dialstatus') };
    case 'VarSet': {
      const varName = variableName(frame);
      if (!TRACKED_VARIABLES.has(varName)) return undefined;
      return { at, uniqueid, linkedid, channel, type: 'var_set', name: varName, value: field(frame, 'value') };
    }
    case 'BridgeEnter':
      return { at, uniqueid, linkedid, channel, type: 'bridge_enter', bridgeId: field(frame, 'bridgeuniqueid'), bridgeType: field(frame, 'bridgetype') };
    case 'BridgeLeave':
      return { at, uniqueid, linkedid, channel, type: 'bridge_leave', bridgeId: field(frame, 'bridgeuniqueid') };
    case 'NewCallerid':
      return {
        at, uniqueid, linkedid, channel,
        type: 'caller_id',
        callerNum: field(frame, 'calleridnum'),
        callerName: field(frame, 'calleridname'),
        // "32 (Presentation Restricted, Not Screened)": bit 0x20 set means restricted.
        restricted: /restricted/i.test(field(frame, 'cid-callingpres')) || ((Number.parseInt(field(frame, 'cid-callingpres'), 10) || 0) & 0x60) === 0x20,
      };
    case 'MessageWaiting':
      return { at, uniqueid, linkedid, channel, type: 'voicemail_left' };
    case 'QueueCallerAbandon':
      return { at, uniqueid, linkedid, channel, type: 'queue_abandon' };
    case 'HangupRequest':
      return { at, uniqueid, linkedid, channel, type: 'hangup_request', soft: false };
    case 'SoftHangupRequest':
      return { at, uniqueid, linkedid, channel, type: 'hangup_request', soft: true };
    case 'Hangup':
      return { at, uniqueid, linkedid, channel, type: 'hangup', cause: Number(field(frame, 'cause')) || 0 };
    default:
      return undefined;
  }
}

/** The dialplan variables that carry an outcome; the rest of VarSet (a third of all AMI traffic) is noise. */
const TRACKED_VARIABLES = new Set(['DIALSTATUS', 'VMSTATUS', 'QUEUESTATUS', PRESENTATION_VARIABLE]);

/**
 * The frames toCallEvent can turn into a call event, for the reader to skip the rest unparsed
 * (test/asterisk/ami-source.test.ts holds the two to the same events on every capture).
 */
export const CALL_EVENT_FILTER: AmiEventFilter = {
  // Status/StatusComplete: the inventory of live channels mctb asks for on each login (source.ts).
  events: new Set(['Newchannel', 'Newstate', 'Newexten', 'DialBegin', 'DialEnd', 'VarSet', 'BridgeEnter', 'BridgeLeave', 'NewCallerid', 'MessageWaiting', 'QueueCallerAbandon', 'HangupRequest', 'SoftHangupRequest', 'Hangup', 'Status', 'StatusComplete']),
  variables: TRACKED_VARIABLES,
  fields: new Set(['event', 'uniqueid', 'linkedid', 'channel', 'timestamp', 'context', 'exten', 'application', 'calleridnum', 'calleridname', 'channelstate', 'cid-callingpres', 'destuniqueid', 'dialstring', 'dialstatus', 'variable', 'value', 'bridgeuniqueid', 'bridgetype', 'cause', 'actionid', 'seconds', 'bridgeid', 'chanvariable']),
};
