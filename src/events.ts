// The daemon's typed event bus: each event's name and payload, one place. The metrics
// (src/health/wiring.ts), the demo and the tests listen to these.

import type { CallDecided } from './calls/record';
import type { InboxEvent } from './inbox/inbox';
import type { LinkState } from './link/lifecycle';
import type { NotificationRow, SendRow } from './records/rows';
import type { UnsentState } from './records/states';
import type { DeliveryReceipt } from './sms/transport';

export interface DaemonEvents {
  'call.decided': [CallDecided];
  'send.submitted': [SendRow, string[], number | undefined];
  'send.finished': [SendRow, UnsentState, string];
  'send.retrying': [SendRow, string, number];
  'receipt.received': [DeliveryReceipt, { sendId?: number; sendState?: string }];
  'sms.received': [InboxEvent];
  'webhook.delivered': [NotificationRow];
  /** The PBX connection (AMI or ARI). */
  'pbx.state': [LinkState, string];
  /** Reading PBX events paused (true) or resumed (false) for back-pressure, with the calls waiting then. */
  'pbx.paused': [boolean, number];
  /** The SMS link (SMPP session or modem). */
  'sms.state': [LinkState, string];
}
