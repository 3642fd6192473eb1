// What the call tracker reads and writes. Each PBX source (src/asterisk/ami/, src/asterisk/ari/)
// translates its protocol's events into CallEvents and emits those; neither the daemon nor the
// tracker ever sees a protocol.

/**
 * Every way a call can end, one place. `answered` is the only one where a person picked up. The
 * ledger's partial index calls_missed (migration 9) repeats this list: a change needs a new one.
 */
export const MISSED_OUTCOMES = ['noanswer', 'busy', 'cancel', 'unavailable', 'voicemail', 'queue_abandon'] as const;
export type MissedOutcome = (typeof MISSED_OUTCOMES)[number];
/** `unknown_end`: the hangup was never seen (connection lost, call expired); never texted. */
export type CallOutcome = 'answered' | MissedOutcome | 'unknown_end';

export function isMissed(outcome: CallOutcome): outcome is MissedOutcome {
  return (MISSED_OUTCOMES as readonly string[]).includes(outcome);
}

interface ChannelRef {
  /** PBX time of the event in ms when the source gives one, else arrival time. */
  at: number;
  uniqueid: string;
  linkedid: string;
  channel: string;
  /**
   * The channel's CALLERID(pres) as the event itself carries it (manager.conf / ari.conf
   * `channelvars = CALLERID(pres)`), when the PBX is set up so.
   */
  pres?: string;
}

export type CallEvent =
  | (ChannelRef & {
      type: 'channel_created';
      context: string;
      exten: string;
      callerNum: string;
      callerName: string;
      /** Asterisk channel state number: 4 Ring, 5 Ringing, 6 Up. */
      state: number;
    })
  | (ChannelRef & { type: 'channel_state'; state: number })
  | (ChannelRef & { type: 'dialplan'; context: string; exten: string; application: string })
  | (ChannelRef & { type: 'dial_begin'; destUniqueid: string; dialString: string })
  | (ChannelRef & { type: 'dial_end'; destUniqueid: string; status: string })
  | (ChannelRef & { type: 'var_set'; name: string; value: string })
  /** The dialplan changed the caller ID (e.g. Set(CALLERID(num)=anonymous)); `restricted` from CID-CallingPres. */
  | (ChannelRef & { type: 'caller_id'; callerNum: string; callerName: string; restricted: boolean })
  | (ChannelRef & { type: 'bridge_enter'; bridgeId: string; bridgeType: string })
  | (ChannelRef & { type: 'bridge_leave'; bridgeId: string })
  | (ChannelRef & { type: 'voicemail_left' })
  | (ChannelRef & { type: 'queue_abandon' })
  /** `soft`: the dialplan or Asterisk ended it; otherwise the far end (the caller) did. */
  | (ChannelRef & { type: 'hangup_request'; soft: boolean })
  | (ChannelRef & { type: 'hangup'; cause: number })
  /**
   * Answer to the source's presentation query (PbxSource.presentationOf: AMI Getvar / ARI GET
   * variable CALLERID(pres)) about channel `uniqueid`, made by the daemon; '' when the PBX would
   * not say (refused, channel already gone, timed out).
   */
  | { type: 'presentation'; at: number; linkedid: string; uniqueid?: string; value: string };

/** The dialplan variable mctb's inbound snippet sets from CALLERID(pres) (dialplan/extensions_mctb.conf). */
export const PRESENTATION_VARIABLE = 'MCTB_PRES';

/**
 * One live channel as the PBX lists it when mctb (re)connects (AMI Status, ARI GET /channels):
 * what is needed to follow a call already in progress from there.
 */
export interface ChannelSnapshot {
  uniqueid: string;
  /** The call's id; ARI has none: the source derives it (its own id for a call's first channel). */
  linkedid: string;
  channel: string;
  context: string;
  exten: string;
  callerNum: string;
  callerName: string;
  state: number;
  /** Dialplan application running now (Dial, Queue, VoiceMail, AppDial, ...). */
  application: string;
  /** In a bridge now (AMI BridgeID); undefined when the source cannot tell (ARI). */
  bridged?: boolean;
  /** When the channel was created, PBX time in ms. */
  createdAt: number;
  /** Dialplan variables the source read with it (DIALSTATUS, MCTB_PRES, CALLERID(pres)). */
  variables: Readonly<Record<string, string>>;
}

/** How mctb knows the caller's presentation: from the PBX's answer, or not at all. */
export type Presentation = 'allowed' | 'withheld' | 'unknown';

/** The tracker's verdict on one call, produced once, after the caller's channel is gone. */
export interface EndedCall {
  /** The PBX's id for the whole call: Linkedid. */
  callId: string;
  direction: 'inbound' | 'outbound';
  /** Dialled number as the PBX saw it (root channel's extension). */
  didRaw: string;
  /** E.164 of didRaw when it is a phone number. */
  did?: string;
  context: string;
  /** Caller number as presented (inbound), or dialled number (outbound). */
  numberRaw: string;
  /** E.164 of numberRaw when it is a phone number. */
  number?: string;
  callerName: string;
  /** The caller withheld their number (anonymous marker or CALLERID(pres) prohib*). */
  withheld: boolean;
  /**
   * `withheld` as above; `allowed` when the PBX said so (the dialplan's MCTB_PRES, channelvars or
   * a live lookup); `unknown` when it never did (the lookup failed, e.g. on a very short call).
   */
  presentation: Presentation;
  /** mctb did not see the whole call: it was in progress when mctb (re)connected to the PBX. */
  midway: boolean;
  outcome: CallOutcome;
  startedAt: number;
  endedAt: number;
  /**
   * From the caller's channel appearing to its hangup: PBX event timestamps when the PBX sends
   * them (manager.conf timestampevents), else arrival times.
   */
  ringMs: number;
  /** Last DIALSTATUS of the caller's channel, kept for reports. */
  dialStatus: string;
  hangupCause: number;
}

/** Tracker output besides ended calls: a new inbound call whose presentation should be queried. */
export interface InboundCallStarted {
  callId: string;
  channel: string;
  uniqueid: string;
}
