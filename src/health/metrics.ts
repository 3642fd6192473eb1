// Prometheus metrics for one daemon, in their own registry (never the process-wide default, so
// two daemons in one process, as in tests, do not collide).

import client from 'prom-client';

export class Metrics {
  readonly registry = new client.Registry();
  readonly calls = new client.Counter({ name: 'mctb_calls_total', help: 'Calls decided, by outcome, decision and reason', labelNames: ['outcome', 'decision', 'reason'], registers: [this.registry] });
  readonly texts = new client.Counter({ name: 'mctb_texts_total', help: 'Texts by kind and status (submitted, delivered, failed, cancelled, skipped, retrying) and reason', labelNames: ['kind', 'status', 'reason'], registers: [this.registry] });
  readonly inbound = new client.Counter({ name: 'mctb_inbound_messages_total', help: 'Texts received, by action (reply, opted_out, opted_in, help_sent, already_opted_out, relayed, relay_refused)', labelNames: ['action'], registers: [this.registry] });
  readonly hangupToSubmit = new client.Histogram({
    name: 'mctb_hangup_to_submit_seconds',
    help: 'Time from the caller hanging up to the text-back being accepted by the gateway',
    buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 900],
    registers: [this.registry],
  });
  readonly linkUp = new client.Gauge({ name: 'mctb_link_up', help: 'Whether each link is up (pbx, sms, ledger)', labelNames: ['link'], registers: [this.registry] });
  readonly webhooks = new client.Counter({ name: 'mctb_webhook_deliveries_total', help: 'Webhook events delivered', registers: [this.registry] });
  readonly pbxPaused = new client.Gauge({ name: 'mctb_pbx_paused', help: 'Whether reading PBX events is paused because ended calls wait for the ledger (1) or not (0)', registers: [this.registry] });
  readonly pbxPausedSeconds = new client.Counter({ name: 'mctb_pbx_paused_seconds_total', help: 'Time PBX events were not read because decisions were behind', registers: [this.registry] });
  readonly callsLost = new client.Counter({
    name: 'mctb_calls_lost_total',
    help: 'Ended calls never recorded: dropped from a full retry queue (retry_queue_full), or failing to be written while other calls were (write_failed)',
    labelNames: ['reason'],
    registers: [this.registry],
  });

  readonly active = new client.Gauge({ name: 'mctb_active', help: 'Whether this daemon is the active one of its site (1: its outbox sends) or a standby (0)', registers: [this.registry] });

  constructor(outboxDepth: () => Promise<number>, openCalls: () => number, callsWaiting: () => number = () => 0, callsUnwritten: () => number = () => 0, site?: string) {
    // In a shared ledger (several daemons), every series says which daemon it is from.
    if (site !== undefined) this.registry.setDefaultLabels({ site });
    new client.Gauge({
      name: 'mctb_outbox_depth',
      help: 'Texts scheduled or on the wire',
      registers: [this.registry],
      async collect() {
        this.set(await outboxDepth().catch(() => -1));
      },
    });
    new client.Gauge({
      name: 'mctb_open_calls',
      help: 'Calls being followed now',
      registers: [this.registry],
      collect() {
        this.set(openCalls());
      },
    });
    new client.Gauge({
      name: 'mctb_calls_waiting',
      help: 'Ended calls waiting to be decided and recorded in the ledger',
      registers: [this.registry],
      collect() {
        this.set(callsWaiting());
      },
    });
    new client.Gauge({
      name: 'mctb_calls_unwritten',
      help: 'Ended calls the ledger could not record yet, kept in memory and tried again (the retry queue)',
      registers: [this.registry],
      collect() {
        this.set(callsUnwritten());
      },
    });
    for (const link of ['pbx', 'sms', 'ledger']) this.linkUp.set({ link }, 0);
  }

  text(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}
