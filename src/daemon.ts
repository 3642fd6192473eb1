// Wires the parts and owns start-up and graceful shutdown. Data flows one way:
// PBX events → call tracker → ended call → decisions queue (src/calls/decisions.ts) → plan
// (src/plans/) → ledger → outbox → transport → receipts → ledger. What a call or a text causes is
// decided in src/plans/; here the parts are only made, connected, started and stopped.

import { EventEmitter } from 'node:events';
import { SOURCES, TRANSPORTS } from './adapters';
import type { PbxSource } from './asterisk/source';
import { Decisions } from './calls/decisions';
import { CallRecorder, type CallDecided } from './calls/record';
import type { DaemonEvents } from './events';
import { CallTracker } from './calls/tracker';
import { feedTracker } from './pbx-feed';
import { UnwrittenCalls } from './calls/unwritten';
import { planReload, type ReloadPlan } from './config/reload';
import type { BusinessConfig, Config } from './config/types';
import { ConsoleServer } from './console/server';
import { HealthServer, type Health } from './health/http';
import { Metrics } from './health/metrics';
import { healthOf, wireMetrics } from './health/wiring';
import { Inbox } from './inbox/inbox';
import type { ActiveLock, Role } from './failover/active-lock';
import { Ledger, targetOf } from './ledger/ledger';
import { Pruner } from './ledger/pruner';
import { part, type Logger } from './log';
import { WebhookSender } from './notify/webhook';
import { BusinessDirectory } from './policy/decide';
import { FilteredWarnings, isFiltered } from './sms/filtered';
import { Outbox } from './sms/outbox';
import type { SmsTransport } from './sms/transport';

export type { CallDecided, DaemonEvents };

const TICK_MS = 200;

/** Knobs for tests: the back-pressure thresholds (src/calls/decisions.ts). */
export interface DaemonTuning {
  backlogPause?: number;
  backlogResume?: number;
}

export class Daemon {
  readonly events = new EventEmitter<DaemonEvents>();
  readonly metrics: Metrics;
  /** Port of /healthz and /metrics when `http` is configured. */
  healthPort?: number;
  /** Port of the web console when `console` is configured. */
  consolePort?: number;
  private consoleServer?: ConsoleServer;

  /** The console's routes (tests check each refuses a request without a session). */
  get consoleRoutes(): ConsoleServer['routes'] {
    return this.consoleServer?.routes ?? [];
  }
  private ledger?: Ledger;
  private transport?: SmsTransport;
  private outbox?: Outbox;
  private webhooks?: WebhookSender;
  private source?: PbxSource;
  private healthServer?: HealthServer;
  private pruner?: Pruner;
  /** Active or standby (a shared PostgreSQL ledger: src/failover/active-lock.ts); SQLite: always active. */
  private activeLock?: ActiveLock;
  private roleNow: Role = 'standby';
  /** Role changes, applied one after another. */
  private roleChange: Promise<void> = Promise.resolve();
  private readonly startedAt: number;
  private tickTimer?: NodeJS.Timeout;
  private readonly tracker: CallTracker;
  private readonly recorder: CallRecorder;
  private readonly decisions: Decisions;
  /** Ended calls the ledger could not record yet, tried again with backoff (src/calls/unwritten.ts). */
  private readonly unwritten: UnwrittenCalls;
  private pbxState = 'connecting';
  private stopped = false;
  /** The config in force: the one given, then each one `reload()` applied. */
  private current: Config;
  private directory: BusinessDirectory;
  private businessByName: ReadonlyMap<string, BusinessConfig>;

  private readonly log: Logger;

  constructor(
    config: Config,
    log: Logger,
    private readonly clock: () => number = Date.now,
    tuning: DaemonTuning = {},
  ) {
    // In a shared ledger every line says which daemon wrote it.
    this.log = log = config.ledger.driver === 'postgres' ? log.child({ site: config.site }) : log;
    this.startedAt = clock();
    this.current = config;
    this.directory = new BusinessDirectory(config.businesses);
    this.businessByName = new Map(config.businesses.map((b) => [b.name, b]));
    const current = () => this.current;
    this.tracker = new CallTracker({
      // asterisk.* needs a restart (src/config/reload.ts); the DIDs and numbers.default_country
      // are read from the config in force at each event.
      inboundContexts: config.asterisk.inbound_contexts,
      isDid: (did) => this.directory.isBusinessDid(did),
      get defaultCountry() {
        return current().numbers.default_country;
      },
      graceMs: config.asterisk.decision_grace_ms,
      maxCallMs: config.asterisk.max_call_ms,
      presentationWaitMs: SOURCES[config.asterisk.source].settings(config)?.check_presentation ? 3000 : undefined,
    });
    this.metrics = new Metrics(
      () => (this.ledger ? this.ledger.sends.countOpen() : Promise.resolve(0)),
      () => this.tracker.size,
      () => this.backlog,
      () => this.unwritten.size,
      config.ledger.driver === 'postgres' ? config.site : undefined,
    );
    this.unwritten = new UnwrittenCalls({ log: part(log, 'ledger'), onLost: (reason, n) => this.metrics.callsLost.inc({ reason }, n) });
    this.recorder = new CallRecorder({
      ledger: () => this.ledgerHandle.calls,
      config: current,
      log,
      clock,
      pokeOutbox: () => this.outbox?.poke(),
      pokeWebhooks: () => this.webhooks?.poke(),
      decided: (d) => this.events.emit('call.decided', d),
    });
    this.decisions = new Decisions({
      batchEach: (fns, opts) => this.ledgerHandle.batchEach(fns, opts),
      record: this.recorder.record,
      unwritten: this.unwritten,
      pause: (paused, waiting, pausedMs) => this.pauseSource(paused, waiting, pausedMs),
      log,
      clock,
      backlogPause: tuning.backlogPause,
      backlogResume: tuning.backlogResume,
    });
    wireMetrics(this.events, this.metrics, clock);
    this.events.on('pbx.state', (state) => (this.pbxState = state));
  }

  /** The config in force (after any reload). */
  get config(): Config {
    return this.current;
  }

  /**
   * Applies a new, valid config (SIGHUP) without a restart: what each part reads per call, text
   * or event takes it from the next one on. Calls being followed and texts waiting in the ledger
   * are untouched (a waiting text keeps the words it was written with). Keys that need a restart
   * (src/config/reload.ts) keep their old values and are logged at warn, one line each.
   */
  reload(next: Config): ReloadPlan {
    const plan = planReload(this.current, next);
    for (const key of plan.needRestart) {
      this.log.warn('config reload: this key changed but takes effect only after a restart (systemctl restart mctb); the old value is kept', { key });
    }
    const before = this.current;
    const cfg = plan.config;
    this.current = cfg;
    this.directory = new BusinessDirectory(cfg.businesses);
    this.businessByName = new Map(cfg.businesses.map((b) => [b.name, b]));
    this.log.level = cfg.log.level;
    if (cfg.ledger.retention_ms !== before.ledger.retention_ms && this.ledger && !this.stopped && this.roleNow === 'active') this.startPruner(this.ledger);
    this.log.info('config reloaded', {
      file: cfg.file,
      businesses: cfg.businesses.length,
      changed: plan.applied.length > 0 ? plan.applied.join(', ') : 'nothing',
      ...(plan.needRestart.length > 0 ? { needs_restart: plan.needRestart.join(', ') } : {}),
    });
    return plan;
  }

  /** The state of each link, as /healthz reports it; the ledger is checked with a real write. */
  health(): Promise<Health> {
    const i = { probeLedger: () => this.ledgerHandle.probeWrite(this.clock()), smsUp: this.transport?.ready ?? false, pbxState: this.pbxState, unwritten: this.unwritten };
    return healthOf(i, this.metrics).then((h) => ({ ...h, role: this.roleNow, site: this.current.site }));
  }

  /** active: this daemon's outbox sends; standby: another daemon of its site does (shared PostgreSQL ledger). */
  get role(): Role {
    return this.roleNow;
  }

  /** Calls being followed right now. */
  get openCalls(): number {
    return this.tracker.size;
  }

  /** Ended calls not yet in the ledger. */
  get backlog(): number {
    return this.decisions.backlog;
  }

  /** Whether PBX events are being left unread (back-pressure) right now. */
  get pbxPaused(): boolean {
    return this.decisions.paused;
  }

  /** Running totals since start (shown in logs; the ledger keeps the durable record). */
  get counters(): { rate_limited: number } {
    return this.recorder.counters;
  }

  get ledgerHandle(): Ledger {
    if (!this.ledger) throw new Error('daemon not started');
    return this.ledger;
  }

  /** Starts every part; when one fails, the parts already started are stopped before the error is thrown. */
  async start(): Promise<void> {
    try {
      await this.startParts();
    } catch (err) {
      this.log.error('mctb could not start; stopping the parts already started', { error: (err as Error).message });
      await this.stop(0).catch(() => undefined);
      throw err;
    }
  }

  private async startParts(): Promise<void> {
    const cfg = this.config;
    const shared = cfg.ledger.driver === 'postgres';
    const ledger = (this.ledger = await Ledger.open(targetOf(cfg.ledger), { log: part(this.log, 'ledger'), site: shared ? cfg.site : undefined }));
    // Any commit (a text claimed, a health probe) says the ledger works: calls waiting for it go now.
    ledger.onWrite(() => this.decisions.ledgerWorks());
    const business = (name: string) => this.businessByName.get(name);
    const transport = (this.transport = this.makeTransport());
    // Texts the carrier filtered (not delivered): a warning once a day per business, with the fix.
    const filtered = new FilteredWarnings(part(this.log, 'sms'), this.clock);
    this.events.on('send.finished', (row, state, reason) => state === 'failed' && filtered.note(row.business, reason, row.id));
    transport.onReceipt(async (receipt) => {
      const matched = await ledger.sends.recordReceipt(receipt.messageId, receipt.state, receipt.error, this.clock());
      part(this.log, 'smpp').info('delivery receipt', { message_id: receipt.messageId, state: receipt.state, send: matched.sendId ?? 'unmatched' });
      this.events.emit('receipt.received', receipt, matched);
      if (matched.sendId !== undefined && isFiltered(receipt.error)) {
        const row = await ledger.sends.get(matched.sendId).catch(() => undefined);
        if (row) filtered.note(row.business, receipt.error, row.id);
      }
    });
    const e = this.events;
    const outbox = (this.outbox = new Outbox(ledger, transport, business, part(this.log, 'outbox'), {
      submitted: (row, ids, callEndedAt) => e.emit('send.submitted', row, ids, callEndedAt),
      finished: (row, state, reason) => e.emit('send.finished', row, state, reason),
      retrying: (row, error, at) => e.emit('send.retrying', row, error, at),
    }, this.clock));
    const inbox = new Inbox(() => this.current, ledger, part(this.log, 'inbox'), this.clock, (m) => e.emit('sms.received', m), () => outbox.poke());
    transport.onMessage((sms) => inbox.handle(sms));
    this.webhooks = new WebhookSender(
      ledger,
      business,
      part(this.log, 'webhook'),
      this.clock,
      (row) => e.emit('webhook.delivered', row),
      shared ? () => this.current.businesses.map((b) => b.name) : undefined,
    );
    if (shared) {
      // Loaded only here: a box on SQLite never loads the PostgreSQL driver.
      const [{ ActiveLock }, { clientConfig }] = await Promise.all([import('./failover/active-lock'), import('./ledger/postgres')]);
      this.activeLock = new ActiveLock({
        connection: clientConfig({ url: cfg.ledger.url ?? '', password: cfg.ledger.password, applicationName: `mctb ${cfg.site} lock` }),
        site: cfg.site,
        log: part(this.log, 'failover'),
        onRole: (role) => this.setRole(role),
        onBeat: (role) => void ledger.daemons.seen(cfg.site, role, this.startedAt, this.clock()).catch(() => undefined),
      });
    } else this.setRole('active');
    await this.roleChange;
    transport.start();
    this.activeLock?.start();
    this.source = this.makeSource();
    this.source.start();
    if (cfg.http) {
      this.healthServer = new HealthServer(cfg.http.listen, () => this.health(), this.metrics, part(this.log, 'http'), transport.webhooks ?? []);
      this.healthPort = await this.healthServer.start();
    }
    if (cfg.console) {
      this.consoleServer = new ConsoleServer({ config: () => this.config, ledger, events: e, pokeOutbox: () => outbox.poke(), log: part(this.log, 'console'), clock: this.clock });
      this.consolePort = await this.consoleServer.start();
    }
    this.tickTimer = setInterval(() => {
      // While the PBX is not read, a call's settling events may be unread: no wait runs out then.
      if (!this.decisions.paused) this.decisions.add(this.tracker.due(this.clock()));
    }, TICK_MS);
    this.log.info('mctb started', { businesses: cfg.businesses.length, transport: transport.name, ledger: ledger.path, ...(shared ? { site: cfg.site } : {}) });
  }

  /**
   * Takes a role: active starts the outbox (first requeueing the texts a crash or the previous
   * active daemon left on the wire, marked interrupted), webhooks and pruning; standby stops them.
   */
  private setRole(role: Role): void {
    this.roleChange = this.roleChange.then(async () => {
      if (this.stopped || role === this.roleNow) return;
      this.roleNow = role;
      this.metrics.active.set(role === 'active' ? 1 : 0);
      const ledger = this.ledgerHandle;
      if (role === 'active') {
        const requeued = await ledger.sends.requeueInterrupted(this.clock()).catch((err: Error) => {
          this.log.error('could not requeue interrupted texts', { error: err.message });
          return 0;
        });
        if (requeued > 0) this.log.warn('texts interrupted by the last shutdown will be sent again', { count: requeued });
        this.outbox?.start();
        this.webhooks?.start();
        this.startPruner(ledger);
      } else {
        this.pruner?.stop();
        await this.outbox?.stop(2000);
        await this.webhooks?.stop(2000);
      }
    });
  }

  /** Stop taking events, decide what has ended, let in-flight submits finish (bounded), close the ledger. */
  async stop(waitMs = 5000): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    await this.activeLock?.stop();
    await this.consoleServer?.stop();
    await this.source?.stop();
    await this.healthServer?.stop();
    clearInterval(this.tickTimer);
    this.pruner?.stop();
    await this.decisions.stop(this.tracker.due(Number.MAX_SAFE_INTEGER).filter((c) => c.outcome !== 'unknown_end'));
    await this.outbox?.stop(waitMs);
    await this.webhooks?.stop(waitMs);
    await this.transport?.stop(waitMs);
    await this.ledger?.close();
    this.log.info('mctb stopped');
  }

  /** `ledger.retention`'s daily pruning, (re)started with the value in force; none when it is not set. */
  private startPruner(ledger: Ledger): void {
    this.pruner?.stop();
    this.pruner = undefined;
    const retentionMs = this.current.ledger.retention_ms;
    if (!retentionMs) return;
    this.pruner = new Pruner({ retentionMs, prune: (ms, now) => ledger.admin.prune(ms, now), log: part(this.log, 'ledger'), clock: this.clock });
    this.pruner.start();
  }

  /** Back-pressure (src/calls/decisions.ts): stop reading the PBX, or read it again. */
  private pauseSource(paused: boolean, waiting: number, pausedMs: number): void {
    this.metrics.pbxPaused.set(paused ? 1 : 0);
    if (paused) {
      this.source?.pause();
      this.events.emit('pbx.paused', true, waiting);
      return;
    }
    this.metrics.pbxPausedSeconds.inc(pausedMs / 1000);
    // Calls still open saw no events meanwhile: their grace and waits do not count the pause.
    this.tracker.stall(pausedMs);
    this.events.emit('pbx.paused', false, waiting);
    this.source?.resume();
  }

  /** The configured transport (src/adapters.ts), its link's state reported as sms.state. */
  private makeTransport(): SmsTransport {
    const entry = TRANSPORTS[this.config.sms.transport];
    const settings = entry.settings(this.config);
    if (settings === undefined) throw new Error(`sms.transport is ${entry.name} but ${entry.section} is missing`);
    const t = entry.create(settings, this.log, {
      store: { get: (key) => this.ledgerHandle.transportState.get(key), set: (key, value) => this.ledgerHandle.transportState.set(key, value) },
      numbers: () => [...new Set(this.config.businesses.flatMap((b) => [...b.dids, ...(b.source_addr ? [b.source_addr] : [])]))],
    });
    if ((t.webhooks?.length ?? 0) > 0 && !this.config.http) {
      this.log.warn(`${entry.section ?? entry.name} has webhooks but http.listen is not set: the carrier cannot reach them (polling still works when set)`);
    }
    t.events?.on('state', (state, detail) => this.events.emit('sms.state', state, detail));
    return t;
  }

  /** The configured PBX source (src/adapters.ts): its call events go to the tracker (src/pbx-feed.ts). */
  private makeSource(): PbxSource {
    const entry = SOURCES[this.config.asterisk.source];
    const settings = entry.settings(this.config);
    if (settings === undefined) throw new Error(`asterisk.source is ${entry.name} but ${entry.section} is missing`);
    const source = entry.create(settings, this.log, this.clock);
    feedTracker(source, {
      tracker: this.tracker,
      decide: (ended) => this.decisions.add(ended),
      state: (state, detail) => this.events.emit('pbx.state', state, detail),
      askPresentation: settings.check_presentation === true,
      log: this.log,
      clock: this.clock,
    });
    return source;
  }
}
