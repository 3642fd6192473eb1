// Wires the parts and owns start-up and graceful shutdown. Data flows one way:
// PBX events → call tracker → ended call → policy decision → outbox row in the ledger →
// transport → receipts → ledger.

import { EventEmitter } from 'node:events';
import { SOURCES, TRANSPORTS } from './adapters';
import type { PbxSource } from './asterisk/source';
import { CallTracker } from './calls/tracker';
import { UnwrittenCalls } from './calls/unwritten';
import type { CallEvent, EndedCall, InboundCallStarted } from './calls/types';
import type { Config } from './config/types';
import { Ledger } from './ledger/ledger';
import type { NewNotification, NewSend, NotificationRow, SendRow } from './records/rows';
import type { UnsentState } from './records/states';
import { Inbox, type InboxEvent } from './inbox/inbox';
import { alertsFor } from './notify/events';
import { WebhookSender } from './notify/webhook';
import { localTime } from './policy/hours';
import { randomUUID } from 'node:crypto';
import { isMissed } from './calls/types';
import { part, type Logger } from './log';
import { maskNumber } from './numbers/phone';
import { Metrics } from './health/metrics';
import { HealthServer, type Health } from './health/http';
import { BusinessDirectory, decideCandidate, isCandidate, screenCall, type CallDecision, type CallReason } from './policy/decide';
import { composeTextBack, templateValues } from './policy/compose';
import { renderTemplate, sanitizeValue } from './messages/template';
import type { BusinessConfig } from './config/types';
import type { LinkState } from './link/lifecycle';
import { Outbox } from './sms/outbox';
import type { DeliveryReceipt, SmsTransport } from './sms/transport';

export interface CallDecided {
  call: EndedCall;
  business?: string;
  decision: 'text' | 'no_text';
  reason: CallReason;
  /** The decision in one sentence. */
  detail: string;
  sendId?: number;
  dueAt?: number;
  /** false when the ledger already had this call (events replayed). */
  recorded: boolean;
}

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

const TICK_MS = 200;
/** Calls recorded in one transaction at most: small enough that the outbox, queued behind a batch, waits milliseconds. */
const DECISION_BATCH = 50;
/**
 * Ended calls waiting for the ledger past which the PBX's events stop being read (TCP
 * back-pressure: the socket buffers fill and Asterisk holds the rest), and below which reading
 * resumes. A burst the ledger cannot keep up with waits in the PBX, not in this process's memory.
 */
const BACKLOG_PAUSE = 1000;
const BACKLOG_RESUME = 500;

/** Knobs for tests: the back-pressure thresholds. */
export interface DaemonTuning {
  backlogPause?: number;
  backlogResume?: number;
}

export class Daemon {
  readonly events = new EventEmitter<DaemonEvents>();
  private ledger?: Ledger;
  private transport?: SmsTransport;
  private outbox?: Outbox;
  private webhooks?: WebhookSender;
  private source?: PbxSource;
  /** Since when the PBX has not been read (back-pressure), if it is paused now. */
  private pausedSince?: number;
  private pauseWarnedAt = -Infinity;
  private readonly backlogPause: number;
  private readonly backlogResume: number;
  /** Ended calls taken from the queue and not yet committed. */
  private deciding = 0;
  private tracker: CallTracker;
  private readonly directory: BusinessDirectory;
  private tickTimer?: NodeJS.Timeout;
  private pruneTimer?: NodeJS.Timeout;
  readonly metrics: Metrics;
  private healthServer?: HealthServer;
  /** Port of /healthz and /metrics when `http` is configured. */
  healthPort?: number;
  private pbxState = 'connecting';
  private readonly pending = new Set<Promise<unknown>>();
  private decisionChain: Promise<void> = Promise.resolve();
  private readonly decisionQueue: EndedCall[] = [];
  /** Ended calls the ledger could not record yet, tried again with backoff (src/calls/unwritten.ts). */
  private readonly unwritten: UnwrittenCalls;
  private retryTimer?: NodeJS.Timeout;
  /** Running totals since start (shown in logs; the ledger keeps the durable record). */
  readonly counters = { rate_limited: 0 };
  private readonly rateWarned = new Map<string, number>();
  private readonly log: Logger;
  private stopped = false;

  constructor(
    readonly config: Config,
    logger: Logger,
    private readonly clock: () => number = Date.now,
    tuning: DaemonTuning = {},
  ) {
    this.log = logger;
    this.backlogPause = Math.max(1, tuning.backlogPause ?? BACKLOG_PAUSE);
    this.backlogResume = Math.min(this.backlogPause, Math.max(1, tuning.backlogResume ?? BACKLOG_RESUME));
    this.directory = new BusinessDirectory(config.businesses);
    this.tracker = new CallTracker({
      inboundContexts: config.asterisk.inbound_contexts,
      isDid: this.directory.isBusinessDid,
      defaultCountry: config.numbers.default_country,
      graceMs: config.asterisk.decision_grace_ms,
      maxCallMs: config.asterisk.max_call_ms,
      presentationWaitMs: SOURCES[config.asterisk.source].settings(config)?.check_presentation ? 3000 : undefined,
    });
    this.metrics = new Metrics(
      () => (this.ledger ? this.ledger.sends.countOpen() : Promise.resolve(0)),
      () => this.tracker.size,
      () => this.backlog,
      () => this.unwritten.size,
    );
    this.unwritten = new UnwrittenCalls({ log: part(logger, 'ledger'), onLost: (reason, n) => this.metrics.callsLost.inc({ reason }, n) });
    this.wireMetrics();
  }

  /** Counts every event the daemon emits into its metrics. */
  private wireMetrics(): void {
    const m = this.metrics;
    this.events.on('call.decided', (d) => {
      if (d.recorded) m.calls.inc({ outcome: d.call.outcome, decision: d.decision, reason: d.reason });
    });
    this.events.on('send.submitted', (row, _ids, callEndedAt) => {
      m.texts.inc({ kind: row.kind, status: 'submitted', reason: '' });
      // The outbox read the call anyway: no second trip to the ledger per text.
      if (row.kind === 'text_back' && callEndedAt !== undefined) m.hangupToSubmit.observe(Math.max(0, this.clock() - callEndedAt) / 1000);
    });
    this.events.on('send.finished', (row, state, reason) => m.texts.inc({ kind: row.kind, status: state, reason }));
    this.events.on('send.retrying', (row, error) => m.texts.inc({ kind: row.kind, status: 'retrying', reason: error }));
    this.events.on('receipt.received', (r, matched) => {
      if (matched.sendState) m.texts.inc({ kind: 'any', status: matched.sendState, reason: r.state });
    });
    this.events.on('sms.received', (e) => m.inbound.inc({ action: e.action }));
    this.events.on('webhook.delivered', () => m.webhooks.inc());
    this.events.on('pbx.state', (state) => {
      this.pbxState = state;
      m.linkUp.set({ link: 'pbx' }, state === 'connected' ? 1 : 0);
    });
  }

  /** The state of each link, as /healthz reports it; the ledger is checked with a real write. */
  async health(): Promise<Health> {
    let ledger: Health['ledger'];
    try {
      await this.ledgerHandle.probeWrite(this.clock());
      ledger = { up: true };
    } catch (err) {
      ledger = { up: false, error: (err as Error).message };
    }
    const smsUp = this.transport?.ready ?? false;
    this.metrics.linkUp.set({ link: 'sms' }, smsUp ? 1 : 0);
    this.metrics.linkUp.set({ link: 'ledger' }, ledger.up ? 1 : 0);
    const pbx = { up: this.pbxState === 'connected', state: this.pbxState };
    const sms = { up: smsUp, state: smsUp ? 'up' : 'down' };
    // Calls waiting to be recorded are calls not yet handled: not healthy until they are.
    const retry_queue = { calls: this.unwritten.size, dropped: this.unwritten.droppedTotal };
    return { ok: pbx.up && sms.up && ledger.up && retry_queue.calls === 0, pbx, sms, ledger, retry_queue };
  }

  /** Calls being followed right now. */
  get openCalls(): number {
    return this.tracker.size;
  }

  get ledgerHandle(): Ledger {
    if (!this.ledger) throw new Error('daemon not started');
    return this.ledger;
  }

  async start(): Promise<void> {
    const cfg = this.config;
    this.ledger = await Ledger.open(cfg.ledger.path, { log: part(this.log, 'ledger') });
    // Any commit (a text claimed, a health probe) says the ledger works: calls waiting for it go now.
    this.ledger.onWrite(() => {
      if (this.unwritten.nextRetryAt === undefined || this.unwritten.due(this.clock())) return;
      this.unwritten.ledgerWorks(this.clock());
      this.scheduleRetry();
    });
    const requeued = await this.ledger.sends.requeueInterrupted(this.clock());
    if (requeued > 0) this.log.warn('texts interrupted by the last shutdown will be sent again', { count: requeued });

    this.transport = this.makeTransport();
    this.transport.onReceipt(async (receipt) => {
      const matched = await this.ledgerHandle.sends.recordReceipt(receipt.messageId, receipt.state, receipt.error, this.clock());
      part(this.log, 'smpp').info('delivery receipt', { message_id: receipt.messageId, state: receipt.state, send: matched.sendId ?? 'unmatched' });
      this.events.emit('receipt.received', receipt, matched);
    });
    this.outbox = new Outbox(
      this.ledger,
      this.transport,
      new Map(cfg.businesses.map((b) => [b.name, b])),
      part(this.log, 'outbox'),
      {
        submitted: (row, ids, callEndedAt) => this.events.emit('send.submitted', row, ids, callEndedAt),
        finished: (row, state, reason) => this.events.emit('send.finished', row, state, reason),
        retrying: (row, error, at) => this.events.emit('send.retrying', row, error, at),
      },
      this.clock,
    );
    const inbox = new Inbox(cfg, this.ledger, part(this.log, 'inbox'), this.clock, (e) => this.events.emit('sms.received', e), () => this.outbox?.poke());
    this.transport.onMessage((sms) => inbox.handle(sms));
    this.webhooks = new WebhookSender(this.ledger, new Map(cfg.businesses.map((b) => [b.name, b])), part(this.log, 'webhook'), this.clock, (row) =>
      this.events.emit('webhook.delivered', row),
    );
    this.transport.start();
    this.outbox.start();
    this.webhooks.start();

    this.source = this.makeSource();
    this.source.start();
    if (cfg.http) {
      this.healthServer = new HealthServer(cfg.http, () => this.health(), this.metrics, part(this.log, 'http'));
      this.healthPort = await this.healthServer.start();
    }
    this.tickTimer = setInterval(() => {
      // While the PBX is not read, a call's settling events may be unread: no wait runs out then.
      if (this.pausedSince === undefined) this.decide(this.tracker.due(this.clock()));
    }, TICK_MS);
    const retention = cfg.ledger.retention_ms;
    if (retention) {
      const prune = () => void this.pruneLedger(retention);
      setTimeout(prune, 60_000).unref();
      this.pruneTimer = setInterval(prune, 24 * 3600_000);
      this.pruneTimer.unref();
    }
    this.log.info('mctb started', { businesses: cfg.businesses.length, transport: this.transport.name, ledger: cfg.ledger.path });
  }

  /** Stop taking events, decide what has ended, let in-flight submits finish (bounded), close the ledger. */
  async stop(waitMs = 5000): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    await this.source?.stop();
    await this.healthServer?.stop();
    clearInterval(this.tickTimer);
    clearInterval(this.pruneTimer);
    this.decide(this.tracker.due(Number.MAX_SAFE_INTEGER).filter((c) => c.outcome !== 'unknown_end'));
    await Promise.allSettled([...this.pending]);
    await this.lastTryUnwritten();
    await this.outbox?.stop(waitMs);
    await this.webhooks?.stop(waitMs);
    await this.transport?.stop(waitMs);
    await this.ledger?.close();
    this.log.info('mctb stopped');
  }

  /** The configured transport (src/adapters.ts), its link's state reported as sms.state. */
  private makeTransport(): SmsTransport {
    const entry = TRANSPORTS[this.config.sms.transport];
    const settings = entry.settings(this.config);
    if (settings === undefined) throw new Error(`sms.transport is ${entry.name} but ${entry.section} is missing`);
    const t = entry.create(settings, this.log);
    t.events?.on('state', (state, detail) => this.events.emit('sms.state', state, detail));
    return t;
  }

  /** The configured PBX source (src/adapters.ts): its call events go to the tracker. */
  private makeSource(): PbxSource {
    const entry = SOURCES[this.config.asterisk.source];
    const settings = entry.settings(this.config);
    if (settings === undefined) throw new Error(`asterisk.source is ${entry.name} but ${entry.section} is missing`);
    const source = entry.create(settings, this.log, this.clock);
    const ask = settings.check_presentation ? (s: InboundCallStarted) => source.presentationOf(s) : undefined;
    source.on('state', (state, detail) => {
      // Events may be missing from here on: open calls wait for the next connection's inventory.
      if (state === 'disconnected') this.tracker.connectionLost(this.clock());
      this.events.emit('pbx.state', state, detail);
    });
    source.on('inventory', (channels, arrival) => {
      const { ended, started } = this.tracker.inventory(channels ?? [], arrival);
      this.decide(ended);
      if (channels && channels.length > 0) part(this.log, 'calls').info('calls in progress when mctb connected are followed from here', { channels: channels.length, calls: started.length });
      if (ask) for (const s of started) this.askPresentation(s, ask);
    });
    source.on('event', (ev, arrival) => this.onCallEvent(ev, arrival, ask));
    return source;
  }

  private onCallEvent(ev: CallEvent, arrival: number, askPresentation?: (s: InboundCallStarted) => Promise<string | undefined>): void {
    const started = this.tracker.handle(ev, arrival);
    if (this.tracker.hasReady) this.decide(this.tracker.takeReady());
    if (started && askPresentation) this.askPresentation(started, askPresentation);
  }

  /** A live lookup of the caller's presentation: the fallback when the dialplan does not put it in the event stream. */
  private askPresentation(started: InboundCallStarted, ask: (s: InboundCallStarted) => Promise<string | undefined>): void {
    void ask(started).then((value) => {
      this.tracker.handle({ type: 'presentation', at: this.clock(), linkedid: started.callId, uniqueid: started.uniqueid, value: value ?? '' }, this.clock());
      if (this.tracker.hasReady) this.decide(this.tracker.takeReady());
    });
  }

  /**
   * Decisions run one at a time: each reads the ledger (opt-outs, recent texts, caps) and writes
   * its verdict before the next reads, so two calls ending in the same instant cannot both text.
   * Calls that end together are recorded in one transaction (one commit for the burst; one that
   * fails fails alone: Ledger.batchEach); what follows a decision (events, logs, waking the
   * outbox) runs after the commit.
   */
  private decide(ended: EndedCall[]): void {
    if (ended.length === 0) return;
    this.decisionQueue.push(...ended);
    if (this.backlog >= this.backlogPause) this.pauseSource();
    if (this.decisionQueue.length > ended.length) return; // a batch is queued already
    void this.runDecisionsNext();
  }

  /** Queues a run of runDecisions behind the one running, if any. */
  private runDecisionsNext(): Promise<void> {
    const job = this.decisionChain.then(() => this.runDecisions());
    this.decisionChain = job;
    this.pending.add(job);
    void job.finally(() => this.pending.delete(job));
    return job;
  }

  /**
   * Records ended calls in the order they ended: first those the ledger could not take before
   * (once their retry is due), then new ones. While calls wait for the ledger, calls that end
   * wait behind them (not counted as back-pressure: a ledger that is down, not slow, is not
   * waited out in the PBX), so none is recorded, nor deduped, before a call that ended earlier.
   * Returns with the decision queue empty.
   */
  private async runDecisions(): Promise<void> {
    for (;;) {
      const now = this.clock();
      if (this.unwritten.size > 0 && this.decisionQueue.length > 0) {
        this.unwritten.add(this.decisionQueue.splice(0), now);
        this.resumeSource();
      }
      let batch: EndedCall[];
      const retried = this.unwritten.size > 0;
      if (retried) {
        if (!this.unwritten.due(now)) return this.scheduleRetry();
        batch = this.unwritten.oldest(DECISION_BATCH);
      } else if (this.decisionQueue.length > 0) {
        batch = this.decisionQueue.splice(0, DECISION_BATCH);
        this.deciding = batch.length;
      } else {
        return;
      }
      const { written, errors, effects } = await this.record(batch, retried);
      this.deciding = 0;
      if (retried || written.includes(false)) {
        this.unwritten.attempted(batch, written, this.clock(), errors);
        this.scheduleRetry();
      }
      if (this.decisionQueue.length < this.backlogResume) this.resumeSource();
      for (const effect of effects) effect();
    }
  }

  /** Writes ended calls in one transaction; one that fails fails alone (Ledger.batchEach). */
  private async record(batch: EndedCall[], retried: boolean): Promise<{ written: boolean[]; errors: (string | undefined)[]; effects: (() => void)[] }> {
    const effects: (() => void)[] = [];
    try {
      const settled = await this.ledgerHandle.batchEach(batch.map((call) => () => this.onCallEnded(call, retried)), { relaxed: true });
      const errors = settled.map((r) => (r.status === 'rejected' ? (r.reason as Error).message : undefined));
      for (const r of settled) if (r.status === 'fulfilled') effects.push(r.value);
      return { written: settled.map((r) => r.status === 'fulfilled'), errors, effects };
    } catch (err) {
      return { written: batch.map(() => false), errors: batch.map(() => (err as Error).message), effects };
    }
  }

  private scheduleRetry(): void {
    clearTimeout(this.retryTimer);
    const at = this.unwritten.nextRetryAt;
    if (at === undefined || this.stopped) return;
    this.retryTimer = setTimeout(() => void this.runDecisionsNext(), Math.max(0, at - this.clock()));
  }

  /** At stop: one more try for the calls waiting for the ledger; what is still unwritten is lost (and logged). */
  private async lastTryUnwritten(): Promise<void> {
    clearTimeout(this.retryTimer);
    if (this.unwritten.size === 0) return;
    this.unwritten.ledgerWorks(this.clock());
    await this.runDecisionsNext();
    this.unwritten.clear();
  }

  /** Ended calls not yet in the ledger. */
  get backlog(): number {
    return this.decisionQueue.length + this.deciding;
  }

  /** Whether PBX events are being left unread (back-pressure) right now. */
  get pbxPaused(): boolean {
    return this.pausedSince !== undefined;
  }

  private pauseSource(): void {
    if (this.pausedSince !== undefined || this.stopped) return;
    this.pausedSince = this.clock();
    this.source?.pause();
    this.events.emit('pbx.paused', true, this.backlog);
    this.metrics.pbxPaused.set(1);
    // Under a sustained flood this pauses about once a second: warn at most once a minute.
    if (this.pausedSince - this.pauseWarnedAt < 60_000) return;
    this.pauseWarnedAt = this.pausedSince;
    this.log.warn('decisions are behind: reading PBX events paused until they catch up (see mctb_pbx_paused_seconds_total)', { waiting: this.backlog });
  }

  private resumeSource(): void {
    if (this.pausedSince === undefined) return;
    const pausedMs = this.clock() - this.pausedSince;
    this.pausedSince = undefined;
    this.metrics.pbxPaused.set(0);
    this.metrics.pbxPausedSeconds.inc(pausedMs / 1000);
    // Calls still open saw no events meanwhile: their grace and waits do not count the pause.
    this.tracker.stall(pausedMs);
    this.log.debug('decisions caught up: reading PBX events again', { paused_ms: pausedMs });
    this.events.emit('pbx.paused', false, this.backlog);
    this.source?.resume();
  }

  /** Records one ended call and returns what to do once it is committed. `late`: it waited for the ledger. */
  private async onCallEnded(call: EndedCall, late = false): Promise<() => void> {
    const ledger = this.ledgerHandle;
    const now = this.clock();
    const business = this.directory.forDid(call.did);
    const screened = screenCall(call, business);
    if (!isCandidate(screened) && screened.reason === 'outbound' && !call.number) return () => undefined; // internal calls are not ours to keep
    let verdict: CallDecision;
    let contactName: string | undefined;
    if (isCandidate(screened)) {
      const facts = await ledger.calls.facts(screened.caller.number, screened.business.name, now, { own: screened.business.limits, global: this.config.limits });
      // A call that waited for the ledger is texted only while still in time (ledger.late_after).
      verdict = decideCandidate(screened, facts, this.config.limits, now, { lateAfterMs: late ? this.config.ledger.late_after_ms : undefined });
      contactName = facts.contactName;
    } else {
      verdict = screened;
    }
    const number = verdict.number ?? call.number;
    const record = {
      callId: call.callId,
      direction: call.direction,
      business: business?.name,
      did: call.did,
      number,
      numberRaw: call.numberRaw,
      callerName: call.callerName,
      outcome: call.outcome,
      decision: verdict.decision,
      reason: verdict.reason,
      detail: verdict.detail,
      startedAt: call.startedAt,
      endedAt: call.endedAt,
      recordedAt: now,
      midway: call.midway,
      presentation: call.direction === 'inbound' ? call.presentation : undefined,
    };
    let sendId: number | undefined;
    let dueAt: number | undefined;
    const sends: NewSend[] = [];
    if (verdict.decision === 'text' && verdict.business && number) {
      const b = verdict.business;
      dueAt = call.endedAt + b.delay_ms;
      const ctx = { contactName, now };
      const source = this.sourceOf(b);
      sends.push({ business: b.name, number, sourceAddr: source, body: composeTextBack(b, call, { ...ctx, messageKind: verdict.messageKind ?? 'open' }), dueAt, kind: 'text_back' });
      if (b.follow_up) {
        const body = renderTemplate(b.follow_up.message, templateValues(b, call, ctx));
        sends.push({ business: b.name, number, sourceAddr: source, body, dueAt: dueAt + b.follow_up.after_ms, kind: 'follow_up' });
      }
    }
    const alerts = business && call.direction === 'inbound' && isMissed(call.outcome) ? this.missedCallAlerts(business, call, verdict, number, now) : { sends: [], notifications: [] as NewNotification[] };
    const opensTask = business && number && !call.withheld && isMissed(call.outcome) ? { business: business.name, number } : undefined;
    const res = await ledger.calls.record(record, [...sends, ...alerts.sends], alerts.notifications, opensTask);
    const recorded = res.inserted;
    if (sends.length > 0) sendId = res.sendId;
    let cancelled = 0;
    if (call.outcome === 'answered' && number && recorded) {
      // The caller reached a person (called again, or staff called them): a waiting text would be noise.
      const scope = call.direction === 'inbound' ? business?.name : undefined;
      cancelled = await ledger.sends.cancelScheduled(number, scope, 'called_back', now);
      await ledger.tasks.closeFor(number, scope, 'answered', now);
    }
    return () => {
      if (recorded && (sends.length > 0 || alerts.sends.length > 0)) this.outbox?.poke();
      if (recorded && alerts.notifications.length > 0) this.webhooks?.poke();
      if (recorded && verdict.reason === 'rate_limited') this.noteRateLimited(verdict, now);
      if (cancelled > 0 && number) this.log.info('waiting text cancelled: caller reached a person', { to: maskNumber(number), count: cancelled });
      part(this.log, 'calls').info(recorded ? 'call decided' : 'call already in the ledger (replayed events); nothing to do', {
        call: call.callId,
        did: call.did ?? call.didRaw,
        caller: number ? maskNumber(number) : call.withheld ? 'withheld' : 'invalid',
        outcome: call.outcome,
        decision: verdict.decision,
        reason: verdict.reason,
        ...(dueAt !== undefined && recorded ? { text_in_ms: Math.max(0, dueAt - now) } : {}),
      });
      this.events.emit('call.decided', {
        call,
        business: business?.name,
        decision: recorded ? verdict.decision : 'no_text',
        reason: verdict.reason,
        detail: verdict.detail,
        sendId,
        dueAt,
        recorded,
      });
    };
  }

  private sourceOf(b: BusinessConfig): string {
    return b.source_addr ?? this.config.sms.smpp?.source_addr ?? b.dids[0] ?? '';
  }

  private missedCallAlerts(business: BusinessConfig, call: EndedCall, verdict: CallDecision, number: string | undefined, now: number) {
    return alertsFor(
      business,
      {
        type: 'missed_call',
        data: {
          call_id: call.callId,
          number: call.withheld ? null : (number ?? null),
          caller_name: call.withheld ? '' : sanitizeValue(call.callerName, 64),
          did: call.did ?? null,
          outcome: call.outcome,
          texted: verdict.decision === 'text',
          reason: verdict.reason,
          at: new Date(call.endedAt).toISOString(),
        },
      },
      { eventId: randomUUID(), now, localTime: localTime(business.timezone, call.endedAt), sourceAddr: this.sourceOf(business) },
    );
  }

  /** `ledger.retention`: old calls, texts and messages go; opt-outs and contacts stay. */
  private async pruneLedger(retentionMs: number): Promise<void> {
    if (this.stopped || !this.ledger) return;
    try {
      const result = await this.ledger.admin.prune(retentionMs, this.clock());
      part(this.log, 'ledger').info('pruned rows older than ledger.retention', { ...result });
    } catch (err) {
      part(this.log, 'ledger').error('ledger pruning failed; will try again tomorrow', { error: (err as Error).message });
    }
  }

  /** Counts every rate-limited call; warns once per cap per hour, not once per call. */
  private noteRateLimited(verdict: CallDecision, now: number): void {
    const key = `${verdict.business?.name ?? ''}/${verdict.cap ?? ''}`;
    this.counters.rate_limited++;
    const window = Math.floor(now / 3600_000);
    if (this.rateWarned.get(key) === window) return;
    this.rateWarned.set(key, window);
    part(this.log, 'policy').warn('text cap reached: texts are skipped as rate_limited until the window passes (possible SMS pumping)', {
      business: verdict.business?.name ?? '',
      cap: verdict.cap ?? '',
      detail: verdict.detail,
      rate_limited_total: this.counters.rate_limited,
    });
  }
}
