// What crosses between the ledger and the parts that use it: the rows it returns (column names as
// in SQLite) and the new records handed to it (camelCase). Types only, no dependency on the
// ledger: sms/, notify/ and inbox/ use them without importing it.

import type { Decision, NotificationState, SendState } from './states';

/** An ended call and what was decided about it, as recorded. */
export interface CallRecord {
  callId: string;
  direction: 'inbound' | 'outbound';
  business?: string;
  did?: string;
  number?: string;
  numberRaw: string;
  callerName: string;
  outcome: string;
  decision: Decision;
  reason: string;
  /** The decision in one sentence (mctb why). */
  detail?: string;
  startedAt: number;
  endedAt: number;
  recordedAt: number;
  /** In progress when mctb (re)connected to the PBX: seen from the middle. */
  midway?: boolean;
  /** How the caller's presentation was known (inbound calls). */
  presentation?: string;
}

/** Everything one ended call writes, in one transaction (Calls.apply): what src/plans/ decided. */
export interface CallEffects {
  call: CallRecord;
  /** The call's own texts (text-back, follow-up) first, then staff alerts. */
  sends: NewSend[];
  notifications: NewNotification[];
  /** A missed call from a number that can be called back opens (or adds to) a callback task. */
  openTask?: { business: string; number: string };
  /**
   * The caller reached a person: texts waiting for this number are cancelled and its callback
   * tasks closed (for the business, or any business when undefined).
   */
  reachedPerson?: { number: string; business: string | undefined; cancelReason: 'called_back'; closeReason: 'answered' };
}

export interface CallRow {
  call_id: string;
  direction: string;
  business: string | null;
  did: string | null;
  number: string | null;
  number_raw: string;
  caller_name: string;
  outcome: string;
  decision: string;
  reason: string;
  started_at: number;
  ended_at: number;
  detail: string | null;
  /** 1: in progress when mctb (re)connected to the PBX. */
  midway: number;
  /** allowed | withheld | unknown; null on rows from before ledger v6. */
  presentation: string | null;
}

/** A call with its text-back, if it has one (`mctb calls`, `mctb why`). */
export type CallListRow = CallRow & {
  text_id: number | null;
  text_state: SendState | null;
  text_reason: string | null;
  /** The text-back's error (a carrier's code; FILTERED_PREFIX: filtered by the carrier). */
  text_error?: string | null;
  text_submitted_at: number | null;
};

export interface NewSend {
  business: string;
  number: string;
  sourceAddr: string;
  body: string;
  dueAt: number;
  /** A SendKind; when not given, `text_back` for a call's text (Calls.record), else `manual`. */
  kind?: string;
  /** Who wrote it by hand (a console user, a staff mobile): `sends.sent_by`. */
  sentBy?: string;
  /**
   * A staff alert that offers to answer a contact: the contact's number. The ledger writes the id
   * of the business's thread with that number in place of THREAD_MARK (src/notify/events.ts).
   */
  replyThread?: string;
  /**
   * The site whose daemon sends it, on a ledger shared by several (a console reply to a business
   * another site texts for); default: this daemon's.
   */
  site?: string;
}

export interface SendRow {
  id: number;
  call_id: string | null;
  business: string;
  number: string;
  source_addr: string;
  body: string;
  kind: string;
  state: SendState;
  reason: string | null;
  due_at: number;
  attempts: number;
  interrupted: number;
  error: string | null;
  created_at: number;
  updated_at: number;
  submitted_at: number | null;
  finished_at: number | null;
  /** Who wrote it by hand (console user, staff mobile); null for mctb's own texts. */
  sent_by: string | null;
}

export interface ContactRow {
  number: string;
  name: string | null;
  caller_id_name: string | null;
  tags: string | null;
  do_not_text: number;
  first_seen_at: number | null;
  last_call_at: number | null;
}

export interface OptOutRow {
  number: string;
  /** A business name, or '*' for all. */
  business: string;
  source: string;
  created_at: number;
}

export interface MessageRow {
  id: number;
  business: string | null;
  body: string;
  keyword: string | null;
  received_at: number;
}

export interface TaskRow {
  id: number;
  business: string;
  number: string;
  call_id: string | null;
  calls: number;
  opened_at: number;
  last_call_at: number;
  closed_at: number | null;
  closed_reason: string | null;
  name: string | null;
  last_message: string | null;
}

export interface NotificationRow {
  id: number;
  event_id: string;
  business: string;
  type: string;
  body: string;
  state: NotificationState;
  attempts: number;
  next_attempt_at: number;
  created_at: number;
}

export interface NewNotification {
  eventId: string;
  business: string;
  type: string;
  body: string;
}

/** What an incoming text does, written in one transaction with the message itself. */
export interface InboundEffects {
  message: { business: string; number: string; to: string; body: string; keyword: string | null; receivedAt: number; carrierId?: string };
  optOut?: { scope: string };
  optIn?: { scope: string };
  /** Scheduled texts to this number cancelled (for the business, or all with '*'). */
  cancelScheduled?: { scope: string; reason: string };
  /** A staff mobile's text relayed to this thread's contact: staff answered it, so it is read. */
  relayedTo?: { business: string; number: string };
  sends: NewSend[];
  notifications: NewNotification[];
}

/** A console user (businesses: the ones a staff user sees; an owner sees all and lists none). */
export interface UserRow {
  id: number;
  name: string;
  role: 'owner' | 'staff';
  businesses: string[];
  created_at: number;
  password_changed_at: number;
}

/** A console session still live, with its user (Sessions.get). */
export interface LiveSession {
  user: UserRow;
  csrf: string;
  createdAt: number;
  lastSeenAt: number;
}

/** One entry of the audit log: who did what to whom, from where. Never a password or its hash. */
export interface AuditRow {
  id: number;
  at: number;
  /** A user name, 'cli', or null (a sign-in attempt). */
  actor: string | null;
  /** One of AUDIT_ACTIONS. */
  action: string;
  subject: string | null;
  address: string | null;
  detail: string | null;
}
