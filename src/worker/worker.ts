import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { hostname } from 'node:os';
import type { Broker, Delivery } from '../broker';
import type { ConsumerLeases } from '../broker/broker';
import { decodeControl, isAddressedTo, type ControlMessage } from '../broker/pidbox';
import { decodeTask } from '../broker/message';
import type { Runtime } from '../runtime/runtime';
import { BrokerUnavailableError, CeleriacError, ConfigError } from '../errors';
import type { LogLevel } from '../log';
import { Outage } from '../outage';
import { finishedNotices } from '../results/waiter';
import type { ResultStore, StateUpdate } from '../results/store';
import type { TaskState } from '../results/states';
import { AsyncPool } from './async-pool';
import { EventDispatcher } from './events';
import { serializeError, type Outcome } from './outcome';
import type { Job, Pool, PoolKind } from './pool';
import { describeConf } from './conf';
import { ProcessPool } from './process-pool';
import { parseRateLimit } from '../plugin/options';
import { ThreadPool } from './thread-pool';
import { Acker } from './acker';
import { summary, taskInfo, type TaskSummary } from './task-view';
import { DelayedPromoter } from './promoter';
import { Autoscaler } from './autoscale';
import { RemoteControl } from './remote-control';
import { Finisher } from './finisher';
import { Intake } from './intake';
import { resolveWorkerOptions, type ResolvedWorkerOptions, type WorkerOptions } from './options';
import type { WorkerParts } from './parts';
import { RevokedIds } from './revoked';
import { StateWriter } from './state-writer';
import { STRAY_CHECK_MS, StrayReclaimer } from './strays';
import { TaskLimits } from './task-limits';

export type { WorkerOptions } from './options';

import type { ControlledWorker, WorkerStats } from './control-surface';

export type { WorkerStats } from './control-surface';

export type { TaskSummary } from './task-view';

export interface WorkerEvents {
  error: [err: Error];
  'task-finished': [taskId: string, state: TaskState];
  /** A broadcast control message addressed to this worker (see remote-control.ts). */
  control: [msg: ControlMessage];
  'shutdown-requested': [];
}

/**
 * Finished tasks held while their state commits and their ack goes out, as a multiple of the
 * prefetch limit (README "Workers": 4 × concurrency × (1 + prefetchMultiplier)). In normal running
 * they are a handful. While Postgres is away the multiple is 1: nothing finished can be let go of
 * then, and each is a task that runs again if this worker dies, so it stops fetching sooner
 * (test/hardening/outage-postgres.test.ts checks every fetch made during an outage).
 */
const FINISHING_FACTOR = 4;

/**
 * Takes messages from the broker, runs them in its pool and records each state. The guarantee
 * is at-least-once: a message leaves Redis only when its final state is committed in Postgres
 * (acksLate, the default), and a worker that stops renewing its lease has every message it held
 * given back by the next live worker within leaseMs + 1 s.
 */
export class Worker extends EventEmitter<WorkerEvents> implements ControlledWorker {
  readonly name: string;
  /** Unique per process run, so a restarted worker with the same name never adopts a dead one's messages as its own. */
  readonly consumer: string;
  queues: string[];
  concurrency: number;
  private prefetchLimit: number;
  private readonly options: Pick<
    ResolvedWorkerOptions,
    'prefetchMultiplier' | 'shutdownGraceMs' | 'maxRedeliveries' | 'blockMs'
  >;
  /** Set when the worker runs with autoscale; remote control's pool_grow/shrink defer to it. */
  autoscaler: Autoscaler | undefined;
  private remote: RemoteControl | undefined;
  private readonly poolKind: PoolKind;
  private pool!: Pool;
  private broker!: Broker;
  private store!: ResultStore;
  private events!: EventDispatcher;
  private state: 'new' | 'running' | 'stopping' | 'stopped' = 'new';
  private readonly held = new Set<Job>();
  private readonly ready: Job[] = [];
  // Each with the timer that hands it back when its token is due: cleared on revoke and on stop, or
  // a minute-long wait ('1/m') would outlive the worker and hold its process open.
  private readonly waitingForRate = new Map<Job, NodeJS.Timeout>();
  private readonly running = new Map<string, Job>();
  private revoked!: RevokedIds;
  private readonly limits: TaskLimits;
  private acker!: Acker;
  private promoter!: DelayedPromoter;
  private states!: StateWriter;
  private intake!: Intake;
  private finisher!: Finisher;
  private roomWaiter: (() => void) | undefined;
  private starting: Promise<void> | undefined;
  private stopping: Promise<void> | undefined;
  private loopDone: Promise<void> = Promise.resolve();
  private timers: NodeJS.Timeout[] = [];
  private unsubscribers: (() => Promise<void>)[] = [];
  private readonly counters = { processed: 0, succeeded: 0, failed: 0, retried: 0 };
  /** Processed per task name, for `inspect stats` (not in the heartbeat: it grows with the task names). */
  readonly totals = new Map<string, number>();
  private finishedCount = 0;
  private readonly startedAt = Date.now();
  /** Redis as this worker sees it: an outage is logged when it starts and when it ends. */
  private readonly redisOutage: Outage;
  /** No lease recovery before this instant (see recover()). */
  private recoveryHeldUntil = 0;

  constructor(
    private readonly app: Runtime,
    private readonly workerOptions: WorkerOptions = {},
  ) {
    super();
    const resolved = resolveWorkerOptions(workerOptions, app.config.defaultQueue);
    this.name = resolved.name;
    this.consumer = `${this.name}#${process.pid}.${randomBytes(3).toString('hex')}`;
    this.queues = resolved.queues;
    this.poolKind = resolved.pool;
    this.concurrency = resolved.concurrency;
    this.options = resolved;
    this.limits = new TaskLimits({
      rate: app.config.taskDefaultRateLimit,
      soft: workerOptions.softTimeLimit ?? app.config.taskSoftTimeLimit,
      hard: workerOptions.timeLimit ?? app.config.taskTimeLimit,
    });
    this.prefetchLimit = this.concurrency * (1 + this.options.prefetchMultiplier);
    this.redisOutage = new Outage(
      'Redis',
      (level, message, fields) => this.log(level, message, fields),
      'running tasks go on; fetching, acks and heartbeats are retried until it is back',
    );
  }

  private log(level: LogLevel, message: string, fields?: Record<string, unknown>): void {
    this.app.logger.log(level, message, { worker: this.name, ...fields });
  }

  /**
   * Connects, registers and starts fetching. If a step fails, what the earlier ones built (threads,
   * timers, subscriptions, the consumer's lease) is closed again before the error is thrown: a
   * failed start leaves nothing running, and stop() after it resolves at once.
   */
  start(): Promise<void> {
    if (this.state !== 'new' || this.starting)
      return Promise.reject(
        new CeleriacError(`Worker ${this.name} was already started; create a new Worker to start again.`),
      );
    if (!this.app.hasDatabase)
      return Promise.reject(
        new ConfigError(
          'databaseUrl',
          'the worker records every task state in Postgres: set DATABASE_URL or pass databaseUrl',
        ),
      );
    this.app.signals.emit('workerInit', { name: this.name, pool: this.poolKind, concurrency: this.concurrency });
    this.starting = this.startUp().catch(async (err) => {
      await this.closeBuilt();
      throw err;
    });
    return this.starting;
  }

  private async startUp(): Promise<void> {
    // Side by side: each is a connection handshake, and a worker's start-up is time its queue waits.
    [this.broker, this.store] = await Promise.all([this.app.broker(), this.app.results()]);
    this.events = new EventDispatcher(this.broker, this.name, this.app.config.events);
    this.acker = new Acker(
      this.broker,
      this.consumer,
      (job) => this.release(job),
      (err) => this.fail('ack failed; these tasks may run again', err),
    );
    this.promoter = new DelayedPromoter(this.broker.delayed, (err) => this.fail('promoting delayed tasks failed', err));
    this.revoked = new RevokedIds(this.broker, (message, err) => this.fail(message, err));
    this.states = new StateWriter(this.store, this.name);
    const parts: WorkerParts = {
      owner: this,
      app: this.app,
      workerName: this.name,
      consumer: this.consumer,
      broker: this.broker,
      states: this.states,
      events: this.events,
      acker: this.acker,
      promoter: this.promoter,
      log: (level, message, fields) => this.log(level, message, fields),
      fail: (message, err) => this.fail(message, err),
      stopping: () => this.state !== 'running',
    };
    this.intake = new Intake(parts, this.options.maxRedeliveries);
    this.finisher = new Finisher(
      parts,
      this.counters,
      (job) => this.release(job),
      (taskId, state) => this.emit('task-finished', taskId, state),
      this.totals,
    );
    const hooks = {
      hostname: this.name,
      middleware: this.app.taskMiddleware,
      updateState: (job: Job, state: string, meta?: Record<string, unknown>) =>
        this.states.write(job, state, { meta: meta ?? {} }).then(() => {}),
    };
    const limits = {
      maxTasksPerChild: this.workerOptions.maxTasksPerChild,
      maxMemoryPerChild: this.workerOptions.maxMemoryPerChild,
    };
    const Children = { threads: ThreadPool, processes: ProcessPool, async: undefined }[this.poolKind];
    this.pool = Children
      ? new Children(this.workerOptions.appModule, this.concurrency, hooks, limits)
      : new AsyncPool(hooks);
    const onCommitted = (updates: StateUpdate[]) => {
      const notices = finishedNotices(updates);
      if (notices.length > 0)
        void this.broker.publish(this.broker.channels.resultsChannel, JSON.stringify(notices)).catch(() => {});
    };
    this.store.on('committed', onCommitted);
    this.unsubscribers.push(async () => void this.store.off('committed', onCommitted));
    await this.broker.registerConsumer(this.consumer, this.app.config.leaseMs);
    await this.applyPrefetch();
    await this.revoked.refresh();
    if (this.workerOptions.autoscale) {
      this.autoscaler = new Autoscaler(this, (q) => this.broker.queueLength(q), this.workerOptions.autoscale);
      this.autoscaler.on('error', (err) => this.fail('autoscale could not read the backlog', err));
      this.autoscaler.on('scaled', (from, to) => this.log('info', `autoscale: concurrency ${from} → ${to}`));
    }
    this.remote = new RemoteControl(this, this.broker, this.autoscaler, {
      maxTasksPerChild: this.workerOptions.maxTasksPerChild,
      maxMemoryPerChild: this.workerOptions.maxMemoryPerChild,
      conf: () => describeConf(this.app.config, this.info()),
    });
    this.remote.on('error', (err) => this.fail('could not send a remote control reply', err));
    this.remote.start();
    this.unsubscribers.push(await this.broker.subscribe(this.broker.channels.pidbox, (raw) => this.onControl(raw)));
    if (this.broker.delayed)
      this.unsubscribers.push(
        await this.broker.subscribe(this.broker.delayed.wakeChannel, (due) => this.promoter.promoteBy(Number(due))),
      );
    this.state = 'running';
    const beatMs = Math.min(2000, Math.floor(this.app.config.leaseMs / 3));
    this.timers.push(setInterval(() => void this.heartbeat(), beatMs));
    const leases = this.broker.leases;
    if (leases) {
      this.timers.push(setInterval(() => void this.recover(leases), 1000));
      const strays = new StrayReclaimer(this.broker, this.consumer);
      this.timers.push(setInterval(() => void this.reclaimStrays(strays), STRAY_CHECK_MS));
    }
    this.revoked.start();
    await this.heartbeat();
    this.promoter.start();
    this.loopDone = this.loop();
    this.autoscaler?.start();
    await this.events.worker('worker-online', this.info());
    this.app.signals.emit('workerReady', { name: this.name });
    this.log('info', `worker ready: queues ${this.queues.join(', ')}, ${this.poolKind} pool of ${this.concurrency}`);
  }

  /** Closes whatever a failed start() had built, in reverse order; the worker ends 'stopped'. */
  private async closeBuilt(): Promise<void> {
    this.state = 'stopped';
    this.autoscaler?.stop();
    this.remote?.stop();
    for (const t of this.timers.splice(0)) clearInterval(t);
    this.revoked?.stop();
    this.promoter?.stop();
    if (this.broker) this.broker.interruptFetch(this.consumer);
    this.roomWaiter?.();
    await this.loopDone.catch(() => {});
    for (const unsub of this.unsubscribers.splice(0)) await unsub().catch(() => {});
    if (this.broker) {
      await this.broker.removeWorkerInfo(this.name).catch(() => {});
      await this.broker.unregisterConsumer(this.consumer).catch(() => {});
    }
    await this.pool?.close().catch(() => {});
  }

  private async loop(): Promise<void> {
    let backoffMs = 100;
    while (this.state === 'running') {
      // Prefetch bounds what has not finished: a finished task waiting for its result batch to
      // commit and its ack to return holds no slot (it only costs memory), so fetching never
      // waits on a commit. Those waiting ones are bounded too, at FINISHING_FACTOR × the limit.
      const finishing = this.held.size - this.unfinished();
      const finishingCap = this.prefetchLimit * (this.store.health().postgres.down ? 1 : FINISHING_FACTOR);
      const room = Math.min(this.prefetchLimit - this.unfinished(), finishingCap - finishing);
      if (room <= 0) {
        await new Promise<void>((resolve) => (this.roomWaiter = resolve));
        continue;
      }
      let deliveries: Delivery[];
      try {
        deliveries = await this.broker.fetch(this.consumer, this.queues, Math.min(room, 1000), this.options.blockMs);
        backoffMs = 100;
        this.brokerOk();
      } catch (err) {
        if (this.state !== 'running') break;
        this.fail('fetch failed; retrying', err);
        await sleep(backoffMs);
        backoffMs = Math.min(backoffMs * 2, 5000);
        continue;
      }
      for (const d of deliveries) this.accept(d);
    }
  }

  private accept(delivery: Delivery): void {
    const job = this.intake.admit(delivery, this.queues);
    if (!job) return;
    const { msg, task } = job;
    this.held.add(job);
    const now = Date.now();
    if (this.revoked.has(msg.id)) return this.finish(job, { kind: 'revoked', reason: 'revoked', runtimeMs: 0 });
    if (msg.expires && msg.expires.getTime() <= now)
      return this.finish(job, { kind: 'revoked', reason: 'expired', runtimeMs: 0 });
    if (msg.eta && msg.eta.getTime() > now + 5) {
      // Not due yet (a Python sender puts eta tasks straight on the queue): hand it back to the
      // transport until then (on Redis the delayed set, rather than this process's memory, where
      // Celery keeps it and loses it on a crash).
      this.held.delete(job);
      void this.broker
        .defer(this.consumer, msg.raw, {
          queue: msg.queue,
          priority: msg.priority,
          raw: msg.raw,
          dueAtMs: msg.eta.getTime(),
        })
        .then(() => this.promoter.promoteBy(msg.eta!.getTime()))
        .catch((e) => this.fail('deferring an eta task failed; it will be redelivered', e));
      return;
    }
    if (!task.options.ignoreResult && !msg.ignoreResult) this.states.noteReceived(job);
    if (this.app.signals.has('taskReceived')) this.app.signals.emit('taskReceived', taskInfo(job, this.name));
    this.events.task('task-received', {
      uuid: msg.id,
      name: msg.task,
      args: msg.headers.argsrepr,
      kwargs: msg.headers.kwargsrepr,
      retries: msg.retries,
      root_id: msg.rootId,
      parent_id: msg.parentId,
      eta: msg.eta?.toISOString() ?? null,
      expires: msg.expires?.toISOString() ?? null,
    });
    if (!task.options.acksLate) void this.acker.ack(job);
    this.ready.push(job);
    this.dispatch();
  }

  private dispatch(): void {
    while (this.running.size < this.concurrency && this.ready.length > 0 && this.state !== 'stopped') {
      const job = this.ready.shift()!;
      const waitMs = this.limits.rateWaitMs(job.task);
      if (waitMs > 0) {
        const timer = setTimeout(() => {
          if (!this.waitingForRate.delete(job)) return;
          this.ready.unshift(job);
          this.dispatch();
        }, waitMs);
        this.waitingForRate.set(job, timer);
        continue;
      }
      this.start_(job);
    }
  }

  private start_(job: Job): void {
    const { msg } = job;
    if (this.revoked.has(msg.id)) return this.finish(job, { kind: 'revoked', reason: 'revoked', runtimeMs: 0 });
    job.started = true;
    job.startedAt = Date.now();
    this.limits.applyTimeLimits(job);
    this.running.set(msg.id, job);
    this.app.signals.emit('taskPrerun', taskInfo(job, this.name));
    if (job.task.options.trackStarted) void this.states.write(job, 'STARTED', { dateStarted: new Date() });
    this.events.task('task-started', { uuid: msg.id, name: msg.task });
    this.pool.run(job).then(
      (outcome) => {
        this.running.delete(msg.id);
        this.finish(job, outcome);
        this.dispatch();
      },
      (err) => {
        this.running.delete(msg.id);
        this.finish(job, { kind: 'failure', exc: serializeError(err), runtimeMs: 0 });
        this.dispatch();
      },
    );
  }

  private finish(job: Job, outcome: Outcome): void {
    if (!job.finished && this.held.has(job)) this.finishedCount++;
    job.finished = true;
    this.wakeFetch();
    this.finisher.finish(job, outcome);
  }

  /** Held messages not yet finished: waiting for a slot, a rate token, or running. */
  private unfinished(): number {
    return this.held.size - this.finishedCount;
  }

  private release(job: Job): void {
    if (this.held.delete(job) && job.finished) this.finishedCount--;
    this.wakeFetch();
  }

  private wakeFetch(): void {
    const wake = this.roomWaiter;
    this.roomWaiter = undefined;
    wake?.();
  }

  private onControl(raw: string): void {
    const msg = decodeControl(raw);
    if (!msg || !isAddressedTo(msg, this.name)) return;
    if (msg.method === 'revoke') {
      const arg = msg.arguments.task_id;
      this.revoke((Array.isArray(arg) ? arg : [arg]).map(String), msg.arguments.terminate === true);
    }
    this.emit('control', msg);
  }

  // ---- The control surface: what remote control (inspect/control commands) and the admin act on.

  /** Drop these tasks if they have not started; end them now if `terminate` and they are running. */
  revoke(ids: string[], terminate: boolean): void {
    this.revoked.add(ids);
    for (const id of ids) {
      const waiting = [...this.ready, ...this.waitingForRate.keys()].find((j) => j.msg.id === id);
      if (waiting) {
        if (this.ready.includes(waiting)) this.ready.splice(this.ready.indexOf(waiting), 1);
        clearTimeout(this.waitingForRate.get(waiting));
        this.waitingForRate.delete(waiting);
        this.finish(waiting, { kind: 'revoked', reason: 'revoked', runtimeMs: 0 });
      }
      if (terminate && this.running.has(id))
        this.pool.abort(id, { kind: 'revoked', reason: 'terminated', runtimeMs: 0 });
    }
  }

  /** Tasks running now (Celery's inspect active). */
  activeTasks(): TaskSummary[] {
    return [...this.running.values()].map((j) => summary(j, this.name));
  }

  /** Tasks received and waiting for a slot or a rate-limit token (Celery's inspect reserved). */
  reservedTasks(): TaskSummary[] {
    return [...this.ready, ...this.waitingForRate.keys()].map((j) => summary(j, this.name));
  }

  /**
   * Tasks the transport holds for this worker until their eta (Celery's inspect scheduled): on
   * RabbitMQ, unacked in the consumer; on Redis none (they wait in the shared delayed set).
   */
  scheduledTasks(): { eta: string | null; priority: number; request: TaskSummary }[] {
    return (this.broker.pushed?.deferredBy(this.consumer) ?? []).flatMap((raw) => {
      try {
        const msg = decodeTask(raw);
        const job = { msg, redeliveries: 0, acked: false, started: false } as Job;
        return [{ eta: msg.eta?.toISOString() ?? null, priority: msg.priority, request: summary(job, this.name) }];
      } catch {
        return [];
      }
    });
  }

  /** basic.qos on transports that push (RabbitMQ): the prefetch bound, as the fetch's max is on Redis. */
  private applyPrefetch(): Promise<void> {
    return (this.broker?.pushed?.setPrefetch(this.consumer, this.prefetchLimit) ?? Promise.resolve()).catch((err) =>
      this.fail('could not set the prefetch (basic.qos)', err),
    );
  }

  revokedIds(): string[] {
    return this.revoked?.list() ?? []; // before start() nothing is revoked here yet
  }

  registeredTasks(): string[] {
    return this.app.registry.names();
  }

  /** How many messages it may hold at once (Celery's prefetch_count). */
  get prefetchCount(): number {
    return this.prefetchLimit;
  }

  /** Change how many tasks run at once (pool grow/shrink, autoscale); the prefetch bound follows. */
  setConcurrency(n: number): void {
    if (!Number.isInteger(n) || n < 1) throw new ConfigError('concurrency', `expected an integer >= 1, got ${n}`);
    this.concurrency = n;
    this.prefetchLimit = n * (1 + this.options.prefetchMultiplier);
    void this.applyPrefetch();
    this.pool.resize?.(n);
    this.dispatch();
    this.roomWaiter?.();
  }

  /** Control pool_restart: fresh children load the app module again (new code on disk); the async pool has none. */
  restartPool(): void {
    if (!this.pool.restart)
      throw new ConfigError(
        'pool',
        `pool_restart needs the threads or processes pool; this worker runs the ${this.poolKind} pool`,
      );
    this.pool.restart();
  }

  addQueue(queue: string): void {
    if (!this.queues.includes(queue)) this.queues = [...this.queues, queue];
  }

  cancelQueue(queue: string): void {
    if (this.queues.length === 1 && this.queues[0] === queue)
      throw new ConfigError('queues', `cannot stop consuming '${queue}': it is this worker's only queue`);
    this.queues = this.queues.filter((q) => q !== queue);
  }

  /** Per-worker rate limit override for one task type (Celery's control rate_limit); null removes it. */
  setRateLimit(taskName: string, rate: string | null): void {
    this.app.registry.require(taskName);
    this.limits.overrideRate(taskName, rate === null ? null : parseRateLimit('rate_limit', rate));
  }

  /** Per-worker time limit overrides in seconds (Celery's control time_limit). */
  setTimeLimit(taskName: string, soft: number | null, hard: number | null): void {
    this.app.registry.require(taskName);
    this.limits.overrideTime(taskName, soft, hard);
  }

  /** Control enable_events / disable_events: a monitor arrived, or task events are not wanted. */
  setTaskEvents(on: boolean): void {
    this.events.setTaskEvents(on);
  }

  /** Ask the process running this worker to stop gracefully (control shutdown). */
  requestShutdown(): void {
    this.emit('shutdown-requested');
  }

  private async heartbeat(): Promise<void> {
    try {
      await this.broker.leases?.renewLease(this.consumer, this.app.config.leaseMs);
      const info = this.info();
      await this.broker.putWorkerInfo(this.name, JSON.stringify(info));
      this.brokerOk();
      await this.events.worker('worker-heartbeat', info);
      this.app.signals.emit('heartbeatSent', { name: this.name });
    } catch (err) {
      this.fail('heartbeat failed', err);
    }
  }

  /**
   * Redis answered again after failing. Every lease may have expired meanwhile (a Redis restart
   * longer than leaseMs loses them all at once), and other live workers renew theirs only at
   * their next heartbeat: so this worker recovers nothing for one lease period, by which time
   * every worker still alive has renewed (heartbeats come every leaseMs / 3 at most).
   */
  private brokerOk(): void {
    if (this.redisOutage.ok() !== undefined) this.recoveryHeldUntil = Date.now() + this.app.config.leaseMs;
  }

  /**
   * Gives back the messages of workers whose lease lapsed. The script renews this worker's own
   * lease first and never recovers it, so a recovery check that runs before the next heartbeat
   * after an outage cannot hand back this worker's own running tasks (issue 15 item 7).
   */
  private async recover(leases: ConsumerLeases): Promise<void> {
    if (Date.now() < this.recoveryHeldUntil || this.redisOutage.down) return;
    try {
      const moved = await leases.recoverLapsed({ consumer: this.consumer, leaseMs: this.app.config.leaseMs });
      if (moved > 0) this.log('warn', `gave back ${moved} messages held by a worker whose lease lapsed`);
    } catch (err) {
      this.fail('lease recovery failed', err);
    }
  }

  private async reclaimStrays(strays: StrayReclaimer): Promise<void> {
    try {
      const moved = await strays.check(() => new Set([...this.held].map((j) => j.msg.raw)));
      if (moved > 0)
        this.log(
          'warn',
          `gave back ${moved} messages left in this worker's processing list with no task for them (a fetch whose reply was lost)`,
        );
    } catch (err) {
      this.fail('checking for stray held messages failed', err);
    }
  }

  info(): WorkerStats {
    return {
      name: this.name,
      pid: process.pid,
      hostname: hostname(),
      queues: this.queues,
      concurrency: this.concurrency,
      pool: this.poolKind,
      active: this.running.size,
      held: this.held.size,
      ...this.counters,
      startedAt: this.startedAt,
      heartbeatAt: Date.now(),
      redis: this.redisOutage.info(),
      store: this.store?.health() ?? null,
    };
  }

  /**
   * Redis being away is one outage, logged when it starts and when it ends (Outage), not one
   * error line per heartbeat, fetch and ack that failed meanwhile; other failures are logged each.
   */
  private fail(message: string, err: unknown): void {
    const error = err instanceof Error ? err : new Error(String(err));
    if (error instanceof BrokerUnavailableError) this.redisOutage.failed(error);
    else this.log('error', message, { error: error.message });
    if (this.listenerCount('error') > 0) this.emit('error', error);
  }

  /**
   * Graceful stop (SIGTERM): take nothing new, give back what has not started, let running tasks
   * finish within the grace period, give back the ones that did not, then leave the registry.
   */
  stop(graceMs = this.options.shutdownGraceMs): Promise<void> {
    // Idempotent: every call resolves once the worker is down; a stop during start waits for it.
    if (!this.starting) return Promise.resolve();
    this.stopping ??= this.starting
      .catch(() => {})
      .then(() => (this.state === 'running' ? this.shutDown(graceMs) : undefined));
    return this.stopping;
  }

  private async shutDown(graceMs: number): Promise<void> {
    this.state = 'stopping';
    this.app.signals.emit('workerShuttingDown', { name: this.name, graceMs });
    this.autoscaler?.stop();
    this.remote?.stop();
    for (const t of this.timers) clearInterval(t);
    this.revoked.stop();
    this.promoter.stop();
    this.broker.interruptFetch(this.consumer);
    this.roomWaiter?.();
    await this.loopDone;
    const notStarted = [...this.ready, ...this.waitingForRate.keys()].filter((j) => !j.acked);
    this.ready.length = 0;
    for (const timer of this.waitingForRate.values()) clearTimeout(timer);
    this.waitingForRate.clear();
    await this.broker
      .requeue(
        this.consumer,
        notStarted.map((j) => j.msg.raw),
      )
      .catch((e) => this.fail('requeue at shutdown failed; the lease will give them back', e));
    for (const j of notStarted) this.held.delete(j);
    const deadline = Date.now() + graceMs;
    while (this.running.size > 0 && Date.now() < deadline) await sleep(Math.min(50, deadline - Date.now()));
    const unfinished = [...this.running.values()];
    for (const job of unfinished) {
      this.running.delete(job.msg.id);
      this.pool.abort(job.msg.id, { kind: 'revoked', reason: 'shutdown', runtimeMs: 0 });
    }
    await this.broker
      .requeue(
        this.consumer,
        unfinished.filter((j) => !j.acked).map((j) => j.msg.raw),
      )
      .catch(() => {});
    for (const j of unfinished) j.acked = true;
    // Results first, then acks: a task whose result is not committed by now is not acked, so its
    // message goes back to the queue with the others below and runs again (at-least-once).
    const flushed = await this.store.flush(Math.max(5000, deadline - Date.now()));
    if (!flushed)
      this.log(
        'warn',
        `stopping with ${this.store.backlog} task states not yet written (Postgres unavailable); their messages are given back`,
      );
    await this.acker.drain();
    await this.events.flush();
    await this.events.worker('worker-offline', this.info());
    for (const unsub of this.unsubscribers.splice(0)) await unsub().catch(() => {});
    await this.broker.removeWorkerInfo(this.name).catch(() => {});
    await this.broker.unregisterConsumer(this.consumer).catch(() => {});
    await this.pool.close();
    this.state = 'stopped';
    this.app.signals.emit('workerShutdown', { name: this.name });
    this.log('info', 'worker stopped');
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
