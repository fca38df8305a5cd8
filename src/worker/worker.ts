import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { hostname } from 'node:os';
import type { Delivery } from '../broker';
import { decodeControl, isAddressedTo, type ControlMessage } from '../broker/pidbox';
import type { Runtime } from '../runtime/runtime';
import { BrokerUnavailableError, CeleriacError, ConfigError, shown } from '../errors';
import type { LogLevel } from '../log';
import { Outage } from '../outage';
import { callContained, thrownField } from '../contain';
import { MAX_TIMER_MS } from '../time-limit';
import type { TaskState } from '../results/states';
import { serializeError, type Outcome } from './outcome';
import type { Job, PoolKind } from './pool';
import { parseRateLimit } from '../plugin/options';
import { scheduledSummaries, summary, taskInfo, type TaskSummary } from './task-view';
import type { Autoscaler } from './autoscale';
import { resolveWorkerOptions, type ResolvedWorkerOptions, type WorkerOptions } from './options';
import { buildRunning, type Running } from './running';
import { TaskLimits } from './task-limits';
import { Upkeep } from './upkeep';
import { WaitingJobs } from './waiting';
import { HeldJobs } from './held';
import { drainAndClose, sleep } from './shutdown';

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
 * prefetch limit (README "Workers": 8 × concurrency × (1 + prefetchMultiplier)). While Postgres is
 * away the multiple is 1: nothing finished can be let go of then, and each is a task that runs
 * again if this worker dies, so it stops fetching sooner (test/hardening/outage-postgres.test.ts
 * checks every fetch made during an outage). Why 8: a result batch takes ~100 µs a row to commit
 * under load, so at 4 one batch in flight and the next one waiting filled the bound and the fetch
 * loop stood still for half of a W1 drain; 16 drained faster still but held enough finished tasks
 * to lift a 100,000-task drain's peak RSS from 73 to 85 MiB, past the 80 MiB goal (8: 76)
 * (bench/diag/drain-timeline.js; bench/ANALYSIS.md, eighth round, "drain").
 */
export const FINISHING_FACTOR = 8;

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
  private readonly poolKind: PoolKind;
  /** Everything start() built, as one object (./running.ts); undefined before start. */
  private live: Running | undefined;
  private upkeep: Upkeep | undefined;
  private state: 'new' | 'running' | 'stopping' | 'stopped' = 'new';
  private readonly held = new HeldJobs();
  private readonly waiting: WaitingJobs;
  private readonly running = new Map<string, Job>();
  private readonly limits: TaskLimits;
  private starting: Promise<void> | undefined;
  private stopping: Promise<void> | undefined;
  private loopDone: Promise<void> = Promise.resolve();
  private readonly counters = { processed: 0, succeeded: 0, failed: 0, retried: 0 };
  /** Processed per task name, for `inspect stats` (not in the heartbeat: it grows with the task names). */
  readonly totals = new Map<string, number>();
  private readonly startedAt = Date.now();
  /** Redis as this worker sees it: an outage is logged when it starts and when it ends. */
  private readonly redisOutage: Outage;

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
    this.waiting = new WaitingJobs(
      (job) => this.limits.rateWaitMs(job.task),
      () => this.dispatch(),
    );
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
    const host = {
      app: this.app,
      worker: this,
      name: this.name,
      consumer: this.consumer,
      poolKind: this.poolKind,
      concurrency: this.concurrency,
      prefetchLimit: this.prefetchLimit,
      maxRedeliveries: this.options.maxRedeliveries,
      options: this.workerOptions,
      counters: this.counters,
      totals: this.totals,
      outage: this.redisOutage,
      heldRaws: () => this.held.raws(),
      release: (job: Job) => this.held.release(job),
      taskFinished: (taskId: string, state: TaskState) => this.emit('task-finished', taskId, state),
      onControl: (raw: string) => this.onControl(raw),
      info: () => this.info(),
      log: (level: LogLevel, message: string, fields?: Record<string, unknown>) => this.log(level, message, fields),
      fail: (message: string, err: unknown) => this.fail(message, err),
      stopping: () => this.state !== 'running',
    };
    const live = (this.live = await buildRunning(host));
    this.upkeep = new Upkeep(host, live);
    this.state = 'running';
    this.upkeep.start();
    live.revoked.start();
    live.promoter.start();
    // Fetch before the first heartbeat returns: registration took the lease; start() still
    // resolves only once the worker is in the registry.
    this.loopDone = this.loop();
    await this.upkeep.heartbeat();
    live.autoscaler?.start();
    await live.events.worker('worker-online', this.info());
    this.app.signals.emit('workerReady', { name: this.name });
    this.log('info', `worker ready: queues ${this.queues.join(', ')}, ${this.poolKind} pool of ${this.concurrency}`);
  }

  /** The running worker's parts; only ever read once start() has built them. */
  private get run(): Running {
    if (!this.live) throw new CeleriacError(`Worker ${this.name} is not running: call start() first.`);
    return this.live;
  }

  /** Set when the worker runs with autoscale; remote control's pool_grow/shrink defer to it. */
  get autoscaler(): Autoscaler | undefined {
    return this.live?.autoscaler;
  }

  /** Stops what runs on the parts (timers, the fetch loop), then closes the parts; the worker ends 'stopped'. */
  private async closeBuilt(): Promise<void> {
    this.state = 'stopped';
    await this.halt();
    await this.live?.close();
  }

  /** Stops the loops and timers that use the parts, and waits for the fetch loop to end. */
  private async halt(): Promise<void> {
    const live = this.live;
    this.upkeep?.stop();
    live?.autoscaler?.stop();
    live?.remote.stop();
    live?.revoked.stop();
    live?.promoter.stop();
    live?.broker.interruptFetch(this.consumer);
    this.held.wake();
    await this.loopDone.catch(() => {});
  }

  private async loop(): Promise<void> {
    let backoffMs = 100;
    while (this.state === 'running') {
      // Prefetch bounds what has not finished: a finished task waiting for its result batch to
      // commit and its ack to return holds no slot (it only costs memory), so fetching never
      // waits on a commit. Those waiting ones are bounded too, at FINISHING_FACTOR × the limit.
      const finishing = this.held.size - this.held.unfinished;
      const finishingCap = this.prefetchLimit * (this.run.store.health().postgres.down ? 1 : FINISHING_FACTOR);
      const room = Math.min(this.prefetchLimit - this.held.unfinished, finishingCap - finishing);
      if (room <= 0) {
        await this.held.room();
        continue;
      }
      let deliveries: Delivery[];
      try {
        deliveries = await this.run.broker.fetch(
          this.consumer,
          this.queues,
          Math.min(room, 1000),
          this.options.blockMs,
        );
        backoffMs = 100;
        this.upkeep?.brokerOk();
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
    const { intake, revoked, acker } = this.run;
    const job = intake.admit(delivery, this.queues);
    if (!job) return;
    const { msg, task } = job;
    this.held.add(job);
    const now = Date.now();
    if (revoked.has(msg.id)) return this.finish(job, { kind: 'revoked', reason: 'revoked', runtimeMs: 0 });
    if (msg.expires && msg.expires.getTime() <= now)
      return this.finish(job, { kind: 'revoked', reason: 'expired', runtimeMs: 0 });
    if (msg.eta && msg.eta.getTime() > now + 5) {
      this.held.release(job);
      return intake.defer(job, msg.eta);
    }
    intake.received(job);
    if (!task.options.acksLate) void acker.ack(job);
    this.waiting.push(job);
    this.dispatch();
  }

  private dispatch(): void {
    while (this.running.size < this.concurrency && this.state !== 'stopped') {
      const job = this.waiting.next();
      if (!job) return;
      this.start_(job);
    }
  }

  private start_(job: Job): void {
    const { msg } = job;
    const { revoked, states, events, pool } = this.run;
    if (revoked.has(msg.id)) return this.finish(job, { kind: 'revoked', reason: 'revoked', runtimeMs: 0 });
    job.started = true;
    job.startedAt = Date.now();
    this.limits.applyTimeLimits(job);
    this.running.set(msg.id, job);
    // Its TaskInfo only for a handler: most workers connect none (issue 21).
    if (this.app.signals.has('taskPrerun')) this.app.signals.emit('taskPrerun', taskInfo(job, this.name));
    if (job.task.options.trackStarted) void states.write(job, 'STARTED', { dateStarted: new Date() });
    if (events.wanted) events.task('task-started', { uuid: msg.id, name: msg.task });
    if (pool.runThen) return pool.runThen(job, this.ended);
    pool.run(job).then(
      (outcome) => this.ended(job, outcome),
      (err) => this.ended(job, { kind: 'failure', exc: serializeError(err), runtimeMs: 0 }),
    );
  }

  private readonly ended = (job: Job, outcome: Outcome): void => {
    this.running.delete(job.msg.id);
    this.finish(job, outcome);
    this.dispatch();
  };

  private finish(job: Job, outcome: Outcome): void {
    this.held.finished(job);
    this.run.finisher.finish(job, outcome);
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
    const { revoked, pool } = this.run;
    revoked.add(ids);
    for (const id of ids) {
      const waiting = this.waiting.remove(id);
      if (waiting) this.finish(waiting, { kind: 'revoked', reason: 'revoked', runtimeMs: 0 });
      const running = terminate ? this.running.get(id) : undefined;
      if (running) pool.abort(running, { kind: 'revoked', reason: 'terminated', runtimeMs: 0 });
    }
  }

  /** Tasks running now (Celery's inspect active). */
  activeTasks(): TaskSummary[] {
    return [...this.running.values()].map((j) => summary(j, this.name));
  }

  /** Tasks received and waiting for a slot or a rate-limit token (Celery's inspect reserved). */
  reservedTasks(): TaskSummary[] {
    return this.waiting.all().map((j) => summary(j, this.name));
  }

  /**
   * Tasks the transport holds for this worker until their eta (Celery's inspect scheduled): on
   * RabbitMQ, unacked in the consumer; on Redis none (they wait in the shared delayed set).
   */
  scheduledTasks(): { eta: string | null; priority: number; request: TaskSummary }[] {
    return scheduledSummaries(this.live?.broker.pushed?.deferredBy(this.consumer) ?? [], this.name);
  }

  /** basic.qos on transports that push (RabbitMQ): the prefetch bound, as the fetch's max is on Redis. */
  private applyPrefetch(): Promise<void> {
    return (this.live?.broker.pushed?.setPrefetch(this.consumer, this.prefetchLimit) ?? Promise.resolve()).catch(
      (err) => this.fail('could not set the prefetch (basic.qos)', err),
    );
  }

  revokedIds(): string[] {
    return this.live?.revoked.list() ?? []; // before start() nothing is revoked here yet
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
    this.live?.pool.resize?.(n);
    this.dispatch();
    this.held.wake();
  }

  /** Control pool_restart: fresh children load the app module again (new code on disk); the async pool has none. */
  restartPool(): void {
    const { pool } = this.run;
    if (!pool.restart)
      throw new ConfigError(
        'pool',
        `pool_restart needs the threads or processes pool; this worker runs the ${this.poolKind} pool`,
      );
    pool.restart();
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
    this.run.events.setTaskEvents(on);
  }

  /** Ask the process running this worker to stop gracefully (control shutdown). */
  requestShutdown(): void {
    this.emit('shutdown-requested');
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
      store: this.live?.store.health() ?? null,
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
    // Contained: the finish path's callbacks call this, where a throwing listener stopped a batch loop.
    if (this.listenerCount('error') > 0) callContained((e) => this.emit('error', e), error, this.onListenerThrow);
  }
  private readonly onListenerThrow = (e: unknown) =>
    this.log('error', "a worker 'error' listener threw; ignored", thrownField(e));

  /**
   * Graceful stop (SIGTERM): take nothing new, give back what has not started, let running tasks
   * finish within the grace period, give back the ones that did not, then leave the registry.
   */
  stop(graceMs = this.options.shutdownGraceMs): Promise<void> {
    // Checked before anything stops: a NaN grace gave running tasks back at once, one past
    // setTimeout's ceiling made the final result flush give up after 1 ms.
    if (typeof graceMs !== 'number' || !Number.isInteger(graceMs) || graceMs < 0 || graceMs > MAX_TIMER_MS)
      return Promise.reject(
        new ConfigError('graceMs', `expected a whole number of ms from 0 to ${MAX_TIMER_MS}, got ${shown(graceMs)}`),
      );
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
    await this.halt();
    await drainAndClose({
      run: this.run,
      consumer: this.consumer,
      waiting: this.waiting,
      running: this.running,
      held: this.held,
      graceMs,
      info: () => this.info(),
      log: (level, message) => this.log(level, message),
      fail: (message, err) => this.fail(message, err),
    });
    this.state = 'stopped';
    this.app.signals.emit('workerShutdown', { name: this.name });
    this.log('info', 'worker stopped');
  }
}
