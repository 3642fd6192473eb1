// The daemon's events counted into its metrics, and /healthz's answer from the state of each
// link. Labels take values from closed sets (src/health/labels.ts).

import type { EventEmitter } from 'node:events';
import type { DaemonEvents } from '../events';
import { reasonLabel } from './labels';
import type { Health } from './http';
import type { Metrics } from './metrics';

/** Counts every event the daemon emits into its metrics. */
export function wireMetrics(events: EventEmitter<DaemonEvents>, m: Metrics, clock: () => number): void {
  events.on('call.decided', (d) => {
    if (d.recorded) m.calls.inc({ outcome: d.call.outcome, decision: d.decision, reason: reasonLabel(d.reason) });
  });
  events.on('send.submitted', (row, _ids, callEndedAt) => {
    m.texts.inc({ kind: row.kind, status: 'submitted', reason: '' });
    // The outbox read the call anyway: no second trip to the ledger per text.
    if (row.kind === 'text_back' && callEndedAt !== undefined) m.hangupToSubmit.observe(Math.max(0, clock() - callEndedAt) / 1000);
  });
  events.on('send.finished', (row, state, reason) => m.texts.inc({ kind: row.kind, status: state, reason: reasonLabel(reason) }));
  events.on('send.retrying', (row, error) => m.texts.inc({ kind: row.kind, status: 'retrying', reason: reasonLabel(error) }));
  events.on('receipt.received', (r, matched) => {
    if (matched.sendState) m.texts.inc({ kind: 'any', status: matched.sendState, reason: reasonLabel(r.state) });
  });
  events.on('sms.received', (e) => m.inbound.inc({ action: e.action }));
  events.on('webhook.delivered', () => m.webhooks.inc());
  events.on('pbx.state', (state) => m.linkUp.set({ link: 'pbx' }, state === 'connected' ? 1 : 0));
}

export interface HealthInputs {
  /** A real write to the ledger (Ledger.probeWrite); rejects when it cannot be written. */
  probeLedger(): Promise<void>;
  smsUp: boolean;
  pbxState: string;
  unwritten: { size: number; droppedTotal: number };
}

/** The state of each link, as /healthz reports it; the ledger is checked with a real write. */
export async function healthOf(i: HealthInputs, m: Metrics): Promise<Health> {
  let ledger: Health['ledger'];
  try {
    await i.probeLedger();
    ledger = { up: true };
  } catch (err) {
    ledger = { up: false, error: (err as Error).message };
  }
  m.linkUp.set({ link: 'sms' }, i.smsUp ? 1 : 0);
  m.linkUp.set({ link: 'ledger' }, ledger.up ? 1 : 0);
  const pbx = { up: i.pbxState === 'connected', state: i.pbxState };
  const sms = { up: i.smsUp, state: i.smsUp ? 'up' : 'down' };
  // Calls waiting to be recorded are calls not yet handled: not healthy until they are.
  const retry_queue = { calls: i.unwritten.size, dropped: i.unwritten.droppedTotal };
  return { ok: pbx.up && sms.up && ledger.up && retry_queue.calls === 0, pbx, sms, ledger, retry_queue };
}
