// Metric labels take values from closed sets: a free-text error (an SMPP error string) fed to the
// daemon's events does not make a new `reason` label value; it is counted as `other`.

import { expect } from 'chai';
import { EventEmitter } from 'node:events';
import type { DaemonEvents } from '../../src/events';
import { reasonLabel, SEND_REASONS } from '../../src/health/labels';
import { Metrics } from '../../src/health/metrics';
import { wireMetrics } from '../../src/health/wiring';
import { CALL_REASONS } from '../../src/policy/decide';
import type { SendRow } from '../../src/records/rows';

async function reasons(m: Metrics, metric: string): Promise<Set<string>> {
  const out = new Set<string>();
  for (const line of (await m.text()).split('\n')) {
    if (!line.startsWith(`${metric}{`)) continue;
    const r = /reason="([^"]*)"/.exec(line);
    if (r) out.add(r[1]);
  }
  return out;
}

describe('metrics: reason labels are a closed set', () => {
  it('maps known words to themselves and anything else to other', () => {
    for (const r of [...CALL_REASONS, ...SEND_REASONS, '']) expect(reasonLabel(r)).to.equal(r);
    expect(reasonLabel('submit_sm_resp command_status 0x00000045 (ESME_RSUBMITFAIL)')).to.equal('other');
    expect(reasonLabel(undefined)).to.equal('');
  });

  it('free-text errors from the outbox and the gateway do not create new label values in mctb_texts_total', async () => {
    const m = new Metrics(async () => 0, () => 0);
    const events = new EventEmitter<DaemonEvents>();
    wireMetrics(events, m, () => 0);
    const row = { id: 1, kind: 'text_back' } as SendRow;
    events.emit('send.finished', row, 'failed', 'gateway_rejected');
    events.emit('send.finished', row, 'skipped', 'opted_out');
    for (let i = 0; i < 20; i++) {
      events.emit('send.finished', row, 'failed', `ESME_RTHROTTLED: throttling error ${i}`);
      events.emit('send.retrying', row, `connect ECONNREFUSED 10.0.0.${i}:2775`, 0);
    }
    events.emit('receipt.received', { messageId: 'x', state: 'weird-state' } as never, { sendState: 'failed' });
    expect([...(await reasons(m, 'mctb_texts_total'))].sort()).to.deep.equal(['gateway_rejected', 'opted_out', 'other']);
  });
});
