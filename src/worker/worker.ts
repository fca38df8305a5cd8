import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { hostname } from 'node:os';
import type { Broker, Delivery } from '../broker';
import { routeOf } from '../broker/redis-broker';
import { decodeTask, type TaskMessage } from '../broker/message';
import { decodeControl, isAddressedTo, type ControlMessage } from '../broker/pidbox';
import type { Celeriac } from '../celeriac';
import { CeleriacError, ConfigError, MaxRetriesExceededError, MessageDecodeError } from '../errors';
import type { LogLevel } from '../log';
import { finishedNotices } from '../results/waiter';
import type { ResultStore, StateUpdate } from '../results/store';
import type { TaskState } from '../results/states';
import { AsyncPool } from './async-pool';
import { EventDispatcher } from './events';
import { serializeError, type Outcome, type SerializedError } from './outcome';
import type { Job, Pool } from './pool';
import { TokenBucket } from './rate-limit';
import { parseRateLimit } from '../plugin/options';
import { nextAttempt, retryDelayMs } from './retry';
import { ThreadPool } from './thread-pool';
import { Acker } from './acker';
import { emitTaskSignals, summary, taskInfo, type TaskSummary } from './task-view';
import { DelayedPromoter } from './promoter';
import { Autoscaler, type AutoscaleOptions } from './autoscale';
import { RemoteControl } from './remote-control';
import { followUps, joinChord } from '../canvas/followups';

export interface WorkerOptions {
  /** Shown in the registry, events and results. Default celeriac@<hostname>. */
  name?: string;
  queues?: string[];
  /** Tasks running at once. Default 10 (async) or the CPU count (threads). */
  concurrency?: number;
  pool?: 'async' | 'threads';
  /** Messages held per running slot, beyond those running. Default 4, as Celery. */
  prefetchMultiplier?: number;
  /** The module exporting the app, loaded by each thread of the threads pool. */
  appModule?: string;
  /** How long SIGTERM waits for running tasks before giving them back. Default 30 s. */
  shutdownGraceMs?: number;
  /** A message whose holder died this many times goes to the dead-letter list instead of killing more workers. Default 5. */
  maxRedeliveries?: number;
  /** Longest a fetch blocks on an empty queue. Default 1000 ms. */
  blockMs?: number;
  /** Grow and shrink the concurrency with the backlog between min and max (`--autoscale max,min`); the worker starts at min. */
  autoscale?: AutoscaleOptions;
  /** Threads pool: replace a thread after it ran this many tasks (between tasks, never during one). */
  maxTasksPerChild?: number;
  /** Threads pool: replace a thread whose V8 heap passed this many KiB after a task (Celery's resident-memory limit, per thread). */
  maxMemoryPerChild?: number;
}

export interface WorkerStats {
  name: string;
  pid: number;
  hostname: string;
  queues: string[];
  concurrency: number;
  pool: 'async' | 'threads';
  active: number;
  held: number;
  processed: number;
  succeeded: number;
  failed: number;
  retried: number;
  startedAt: number;
  heartbeatAt: number;
}

export type { TaskSummary } from './task-view';

export interface WorkerEvents {
  error: [err: Error];
  'task-finished': [taskId: string, state: TaskState];
  /** A broadcast control message addressed to this worker (see remote-control.ts). */
  control: [msg: ControlMessage];
  'shutdown-requested': [];
}

const REVOKED_REFRESH_MS = 5000;
const RECEIVED_DELAY_MS = 20;
const FINISHING_FACTOR = 4;

/**
 * Takes messages from the broker, runs them in its pool and records each state. The guarantee
 * is at-least-once: a message leaves Redis only when its final state is committed in Postgres
 * (acksLate, the default), and a worker that stops renewing its lease has every message it held
 * given back by the next live worker within leaseMs + 1 s.
 */
export class Worker extends EventEmitter<WorkerEvents> {
  readonly name: string;
  /** Unique per process run, so a restarted worker with the same name never adopts a dead one's messages as its own. */
  readonly consumer: string;
  queues: string[];
  concurrency: number;
  private prefetchLimit: number;
  private readonly options: Required<Omit<WorkerOptions, 'name' | 'queues' | 'concurrency' | 'pool' | 'appModule' | 'autoscale' | 'maxTasksPerChild' | 'maxMemoryPerChild'>>;
  /** Set when the worker runs with autoscale; remote control's pool_grow/shrink defer to it. */
  autoscaler: Autoscaler | undefined;
  private remote: RemoteControl | undefined;
  private readonly poolKind: 'async' | 'threads';
  private pool!: Pool;
  private broker!: Broker;
  private store!: ResultStore;
  private events!: EventDispatcher;
  private state: 'new' | 'running' | 'stopping' | 'stopped' = 'new';
  private readonly held = new Set<Job>();
  private readonly ready: Job[] = [];
  private readonly waitingForRate = new Set<Job>();
  private readonly running = new Map<string, Job>();
  private readonly revoked = new Map<string, number>();
  private readonly buckets = new Map<string, TokenBucket>();
  private readonly rateOverrides = new Map<string, ReturnType<typeof parseRateLimit> | null>();
  private readonly timeOverrides = new Map<string, { soft: number | null; hard: number | null }>();
  private acker!: Acker;
  private promoter!: DelayedPromoter;
  private roomWaiter: (() => void) | undefined;
  private loopDone: Promise<void> = Promise.resolve();
  private timers: NodeJS.Timeout[] = [];
  private unsubscribers: (() => Promise<void>)[] = [];
  private readonly counters = { processed: 0, succeeded: 0, failed: 0, retried: 0 };
  private finishedCount = 0;
  private receivedBatch: Job[] = [];
  private receivedTimer: NodeJS.Timeout | undefined;
  private readonly startedAt = Date.now();

  constructor(
    private readonly app: Celeriac,
    private readonly workerOptions: WorkerOptions = {},
  ) {
    super();
    this.name = workerOptions.name ?? `celeriac@${hostname()}`;
    this.consumer = `${this.name}#${process.pid}.${randomBytes(3).toString('hex')}`;
    this.queues = workerOptions.queues?.length ? workerOptions.queues : [app.config.defaultQueue];
    this.poolKind = workerOptions.pool ?? 'async';
    if (this.poolKind !== 'async' && this.poolKind !== 'threads') throw new ConfigError('pool', `'${this.poolKind}': use 'async' or 'threads'`);
    this.concurrency = workerOptions.autoscale
      ? Autoscaler.initialConcurrency(workerOptions.autoscale)
      : workerOptions.concurrency ?? (this.poolKind === 'threads' ? require('node:os').availableParallelism() : 10);
    for (const key of ['maxTasksPerChild', 'maxMemoryPerChild'] as const) {
      const v = workerOptions[key];
      if (v === undefined) continue;
      if (this.poolKind !== 'threads') throw new ConfigError(key, `applies to the threads pool only (this worker's pool is '${this.poolKind}'): add pool: 'threads' (--pool threads)`);
      if (!Number.isInteger(v) || v < 1) throw new ConfigError(key, `expected an integer >= 1, got ${v}`);
    }
    if (!Number.isInteger(this.concurrency) || this.concurrency < 1) throw new ConfigError('concurrency', `expected an integer >= 1, got ${this.concurrency}`);
    this.options = {
      prefetchMultiplier: workerOptions.prefetchMultiplier ?? 4,
      shutdownGraceMs: workerOptions.shutdownGraceMs ?? 30_000,
      maxRedeliveries: workerOptions.maxRedeliveries ?? 5,
      blockMs: workerOptions.blockMs ?? 1000,
    };
    this.prefetchLimit = this.concurrency * (1 + this.options.prefetchMultiplier);
  }

  private log(level: LogLevel, message: string, fields?: Record<string, unknown>): void {
    this.app.logger.log(level, message, { worker: this.name, ...fields });
  }

  async start(): Promise<void> {
    if (this.state !== 'new') throw new CeleriacError(`Worker ${this.name} was already started; create a new Worker to start again.`);
    if (!this.app.hasDatabase) throw new ConfigError('databaseUrl', 'the worker records every task state in Postgres: set DATABASE_URL or pass databaseUrl');
    this.broker = await this.app.broker();
    this.store = await this.app.results();
    this.events = new EventDispatcher(this.broker, this.name, this.app.config.events);
    this.acker = new Acker(this.broker, this.consumer, (job) => this.release(job), (err) => this.fail('ack failed; these tasks may run again', err));
    this.promoter = new DelayedPromoter(this.broker, (err) => this.fail('promoting delayed tasks failed', err));
    const hooks = { hostname: this.name, middleware: this.app.taskMiddleware, progress: (job: Job, done: number, total?: number, meta?: Record<string, unknown>) => this.progress(job, done, total, meta) };
    this.pool = this.poolKind === 'threads' ? new ThreadPool(this.workerOptions.appModule, this.concurrency, hooks, { maxTasksPerChild: this.workerOptions.maxTasksPerChild, maxMemoryPerChild: this.workerOptions.maxMemoryPerChild }) : new AsyncPool(hooks);
    const onCommitted = (updates: StateUpdate[]) => {
      const notices = finishedNotices(updates);
      if (notices.length > 0) void this.broker.publish(this.broker.keys.resultsChannel, JSON.stringify(notices)).catch(() => {});
    };
    this.store.on('committed', onCommitted);
    this.unsubscribers.push(async () => void this.store.off('committed', onCommitted));
    await this.broker.registerConsumer(this.consumer, this.app.config.leaseMs);
    await this.refreshRevoked();
    if (this.workerOptions.autoscale) {
      this.autoscaler = new Autoscaler(this, (q) => this.broker.queueLength(q), this.workerOptions.autoscale);
      this.autoscaler.on('error', (err) => this.fail('autoscale could not read the backlog', err));
      this.autoscaler.on('scaled', (from, to) => this.log('info', `autoscale: concurrency ${from} → ${to}`));
    }
    this.remote = new RemoteControl(this, this.broker, this.autoscaler, { maxTasksPerChild: this.workerOptions.maxTasksPerChild, maxMemoryPerChild: this.workerOptions.maxMemoryPerChild });
    this.remote.on('error', (err) => this.fail('could not send a remote control reply', err));
    this.remote.start();
    this.unsubscribers.push(await this.broker.subscribe(this.broker.keys.pidbox, (raw) => this.onControl(raw)));
    this.unsubscribers.push(await this.broker.subscribe(this.broker.keys.delayedChannel, (due) => this.promoter.promoteBy(Number(due))));
    this.state = 'running';
    const beatMs = Math.min(2000, Math.floor(this.app.config.leaseMs / 3));
    this.timers.push(setInterval(() => void this.heartbeat(), beatMs));
    this.timers.push(setInterval(() => void this.recover(), 1000));
    this.timers.push(setInterval(() => void this.refreshRevoked(), REVOKED_REFRESH_MS));
    await this.heartbeat();
    this.promoter.start();
    this.loopDone = this.loop();
    this.autoscaler?.start();
    await this.events.worker('worker-online', this.info());
    this.app.signals.emit('workerReady', { name: this.name });
    this.log('info', `worker ready: queues ${this.queues.join(', ')}, ${this.poolKind} pool of ${this.concurrency}`);
  }

  private async loop(): Promise<void> {
    let backoffMs = 100;
    while (this.state === 'running') {
      // Prefetch bounds what has not finished: a finished task waiting for its result batch to
      // commit and its ack to return holds no slot (it only costs memory), so fetching never
      // waits on a commit. Those waiting ones are bounded too, at FINISHING_FACTOR × the limit.
      const finishing = this.held.size - this.unfinished();
      const room = Math.min(this.prefetchLimit - this.unfinished(), this.prefetchLimit * FINISHING_FACTOR - finishing);
      if (room <= 0) {
        await new Promise<void>((resolve) => (this.roomWaiter = resolve));
        continue;
      }
      let deliveries: Delivery[];
      try {
        deliveries = await this.broker.fetch(this.consumer, this.queues, Math.min(room, 1000), this.options.blockMs);
        backoffMs = 100;
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
    // Taken by a fetch that was in flight when its queue was cancelled (control cancel_consumer):
    // give it back to the workers still consuming that queue. A re-routed message (routing key ≠
    // queue) would go back to the wrong list, so that rare one runs here instead.
    if (!this.queues.includes(delivery.queue) && routeOf(delivery.raw).queue === delivery.queue) {
      void this.broker.requeue(this.consumer, [delivery.raw]).catch((e) => this.fail('could not give back a message of a cancelled queue', e));
      return;
    }
    let msg: TaskMessage;
    try {
      msg = decodeTask(delivery.raw);
      if (msg.queue !== delivery.queue) msg = this.rehome(msg, delivery);
    } catch (err) {
      const reason = err instanceof MessageDecodeError ? err.message : `undecodable message: ${String(err)}`;
      this.log('error', 'dead-lettered a message that cannot be decoded', { reason });
      void this.broker.deadLetter(this.consumer, delivery.raw, reason).catch((e) => this.fail('dead-letter failed', e));
      return;
    }
    const refusal = this.app.signer?.verify(delivery.raw);
    if (refusal) {
      this.reject(msg, delivery, `refused: ${refusal}`, 'REJECTED', 'SignatureError');
      return;
    }
    const task = this.app.registry.get(msg.task);
    if (!task) {
      const reason = `no task named '${msg.task}' is registered on worker ${this.name}; it knows: ${this.app.registry.names().join(', ') || '(none)'}`;
      this.app.signals.emit('taskUnknown', { id: msg.id, name: msg.task, reason });
      this.reject(msg, delivery, reason, 'REJECTED', 'NotRegistered');
      return;
    }
    if (delivery.redeliveries > this.options.maxRedeliveries) {
      const reason = `WorkerLostError: a worker died while holding this task ${delivery.redeliveries} times; kept out of the queue so it cannot kill more`;
      this.reject(msg, delivery, reason, 'FAILURE', 'WorkerLostError');
      return;
    }
    // Python senders give no sent_at: the receipt time is the best creation time we have.
    msg.headers.sent_at ??= new Date().toISOString();
    const job: Job = { msg, task, redeliveries: delivery.redeliveries, acked: false, started: false, finished: false };
    this.held.add(job);
    const now = Date.now();
    if (this.isRevoked(msg.id)) return this.finish(job, { kind: 'revoked', reason: 'revoked', runtimeMs: 0 });
    if (msg.expires && msg.expires.getTime() <= now) return this.finish(job, { kind: 'revoked', reason: 'expired', runtimeMs: 0 });
    if (msg.eta && msg.eta.getTime() > now + 5) {
      // Not due yet (a Python sender puts eta tasks straight on the queue): park it in the
      // delayed set rather than in memory, where Celery keeps it and loses it on a crash.
      this.held.delete(job);
      void this.broker
        .ackAndSend(this.consumer, msg.raw, [{ queue: msg.queue, priority: msg.priority, raw: msg.raw, dueAtMs: msg.eta.getTime() }])
        .then(() => this.promoter.promoteBy(msg.eta!.getTime()))
        .catch((e) => this.fail('deferring an eta task failed; it will be redelivered', e));
      return;
    }
    if (!task.options.ignoreResult && !msg.ignoreResult) this.noteReceived(job);
    this.events.task('task-received', { uuid: msg.id, name: msg.task, args: msg.headers.argsrepr, kwargs: msg.headers.kwargsrepr, retries: msg.retries, root_id: msg.rootId, parent_id: msg.parentId, eta: msg.eta?.toISOString() ?? null, expires: msg.expires?.toISOString() ?? null });
    if (!task.options.acksLate) this.ack(job);
    this.ready.push(job);
    this.dispatch();
  }

  /**
   * A message whose routing key is not the queue it sat on (Celery through a named exchange):
   * record the queue as its delivery_info, as kombu's anonymous-exchange sends do, so every later
   * re-queue (retry, eta parking, crash recovery, shutdown) puts it back where it came from.
   */
  private rehome(msg: TaskMessage, delivery: Delivery): TaskMessage {
    const envelope = JSON.parse(delivery.raw);
    envelope.properties = { ...envelope.properties, delivery_info: { exchange: '', routing_key: delivery.queue } };
    const raw = JSON.stringify(envelope);
    void this.broker.replaceHeld(this.consumer, delivery.raw, raw).catch((e) => this.fail('could not record the queue of a re-routed message', e));
    delivery.raw = raw;
    return decodeTask(raw);
  }

  private reject(msg: TaskMessage, delivery: Delivery, reason: string, state: 'REJECTED' | 'FAILURE', excType: string): void {
    this.log('error', `task ${msg.task}[${msg.id}] ${state === 'REJECTED' ? 'rejected' : 'failed'}: ${reason}`);
    this.events.task('task-rejected', { uuid: msg.id, name: msg.task, reason });
    const exc: SerializedError = { exc_type: excType, exc_message: [reason], exc_module: 'celeriac', traceback: null };
    void this.store
      .write({ ...this.describe(msg), status: state, result: excResult(exc), meta: { reason }, dateDone: new Date() })
      .then(() => this.broker.deadLetter(this.consumer, delivery.raw, reason))
      .catch((e) => this.fail('dead-letter failed', e));
  }

  private dispatch(): void {
    while (this.running.size < this.concurrency && this.ready.length > 0 && this.state !== 'stopped') {
      const job = this.ready.shift()!;
      const limit = this.rateOverrides.has(job.task.name) ? this.rateOverrides.get(job.task.name) : job.task.options.rateLimit;
      if (limit) {
        let bucket = this.buckets.get(job.task.name);
        if (!bucket) this.buckets.set(job.task.name, (bucket = new TokenBucket(limit.tokens, limit.perMs)));
        const waitMs = bucket.take();
        if (waitMs > 0) {
          this.waitingForRate.add(job);
          setTimeout(() => {
            if (!this.waitingForRate.delete(job)) return;
            this.ready.unshift(job);
            this.dispatch();
          }, waitMs);
          continue;
        }
      }
      this.start_(job);
    }
  }

  private start_(job: Job): void {
    const { msg } = job;
    if (this.isRevoked(msg.id)) return this.finish(job, { kind: 'revoked', reason: 'revoked', runtimeMs: 0 });
    job.started = true;
    job.startedAt = Date.now();
    const override = this.timeOverrides.get(msg.task);
    job.softTimeLimit = msg.softTimeLimit ?? override?.soft ?? job.task.options.softTimeLimit ?? null;
    job.timeLimit = msg.timeLimit ?? override?.hard ?? job.task.options.timeLimit ?? null;
    this.running.set(msg.id, job);
    this.app.signals.emit('taskPrerun', taskInfo(job, this.name));
    if (job.task.options.trackStarted) void this.write(job, 'STARTED', { dateStarted: new Date() });
    this.events.task('task-started', { uuid: msg.id });
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
    const { msg, task } = job;
    if (!job.finished && this.held.has(job)) this.finishedCount++;
    job.finished = true;
    this.wakeFetch();
    if (outcome.kind === 'retry') {
      const max = outcome.maxRetries !== undefined ? outcome.maxRetries : task.options.maxRetries;
      if (max !== null && msg.retries >= max) {
        const exc = outcome.exc ?? serializeError(new MaxRetriesExceededError(`Task ${msg.task}[${msg.id}] still failing after ${msg.retries} retries (maxRetries ${max}).`));
        outcome = { kind: 'failure', exc, runtimeMs: outcome.runtimeMs };
      }
    }
    emitTaskSignals(this.app.signals, taskInfo(job, this.name), outcome, job.started);
    const ignore = task.options.ignoreResult || msg.ignoreResult;
    const seconds = (outcome.runtimeMs / 1000).toFixed(3);
    const done = (state: TaskState, update: Partial<StateUpdate>, after: () => Promise<void> | void = () => this.ack(job)) => {
      this.counters.processed++;
      const committed = ignore && state === 'SUCCESS' ? Promise.resolve() : this.write(job, state, update);
      committed.then(after).then(
        () => this.emit('task-finished', msg.id, state),
        (err) => this.fail(`could not complete ${msg.id}; it will be redelivered`, err),
      );
    };
    switch (outcome.kind) {
      case 'success':
        this.counters.succeeded++;
        this.log('info', `task ${msg.task}[${msg.id}] succeeded in ${seconds}s`);
        this.events.task('task-succeeded', { uuid: msg.id, result: truncate(outcome.result), runtime: outcome.runtimeMs / 1000 });
        return done('SUCCESS', { result: outcome.result, dateDone: new Date() }, () => this.settle(job, 'SUCCESS', outcome.result));
      case 'failure':
        this.counters.failed++;
        this.log('error', `task ${msg.task}[${msg.id}] failed in ${seconds}s: ${outcome.exc.exc_type}: ${outcome.exc.exc_message.join(' ')}`);
        this.events.task('task-failed', { uuid: msg.id, exception: `${outcome.exc.exc_type}(${JSON.stringify(outcome.exc.exc_message[0])})`, traceback: outcome.exc.traceback });
        return done('FAILURE', { result: excResult(outcome.exc), traceback: outcome.exc.traceback, dateDone: new Date() }, () => this.settle(job, 'FAILURE', null));
      case 'revoked':
        this.log('info', `task ${msg.task}[${msg.id}] revoked (${outcome.reason})`);
        this.events.task('task-revoked', { uuid: msg.id, terminated: outcome.reason === 'terminated', expired: outcome.reason === 'expired' });
        return done('REVOKED', { meta: { reason: outcome.reason }, dateDone: new Date() }, () => this.settle(job, 'REVOKED', null));
      case 'retry': {
        const delayMs = retryDelayMs(task.options, msg.retries, outcome.countdownMs, outcome.auto);
        const etaMs = Date.now() + delayMs;
        this.counters.retried++;
        this.log('info', `task ${msg.task}[${msg.id}] retry ${msg.retries + 1} in ${(delayMs / 1000).toFixed(3)}s${outcome.exc ? `: ${outcome.exc.exc_type}: ${outcome.exc.exc_message.join(' ')}` : ''}`);
        this.events.task('task-retried', { uuid: msg.id, exception: outcome.exc?.exc_type ?? null });
        const next = nextAttempt(msg.raw, etaMs, this.app.signer?.canSign ? this.app.signer : undefined);
        return done(
          'RETRY',
          { result: outcome.exc ? excResult(outcome.exc) : null, traceback: outcome.exc?.traceback ?? null, meta: { next_eta: new Date(etaMs).toISOString() } },
          async () => {
            if (!job.acked) await this.broker.ackAndSend(this.consumer, msg.raw, [{ queue: msg.queue, priority: msg.priority, raw: next, dueAtMs: etaMs }]);
            else await this.broker.send([{ queue: msg.queue, priority: msg.priority, raw: next, dueAtMs: etaMs }]);
            job.acked = true;
            this.release(job);
            this.promoter.promoteBy(etaMs);
          },
        );
      }
    }
  }

  /**
   * After a final state is committed: what it sets off (callbacks, the chain's next link, a
   * chord's join) goes out in the same atomic step as the ack, so a crash sends it either never
   * (and the redelivered task sends it) or once.
   */
  private async settle(job: Job, state: 'SUCCESS' | 'FAILURE' | 'REVOKED', result: unknown): Promise<void> {
    const { msg } = job;
    if (!msg.embed.callbacks && !msg.embed.errbacks && !msg.embed.chain && !msg.embed.chord) return this.ack(job);
    const next = followUps(this.app, msg, state, result);
    await Promise.all(next.brokenChain.map((u) => this.store.write(u)));
    if (next.chord) await joinChord(this.app, this.broker, this.store, next.chord, msg.id, state !== 'SUCCESS');
    if (next.messages.length === 0) return this.ack(job);
    const outgoing = next.messages.map((m) => m.outgoing);
    if (job.acked) await this.broker.send(outgoing);
    else await this.broker.ackAndSend(this.consumer, msg.raw, outgoing);
    job.acked = true;
    this.release(job);
    this.app.recordPending(next.messages);
  }

  private describe(msg: TaskMessage): StateUpdate {
    const sentAt = typeof msg.headers.sent_at === 'string' ? new Date(msg.headers.sent_at) : null;
    return {
      dateCreated: sentAt && !Number.isNaN(sentAt.getTime()) ? sentAt : null,
      taskId: msg.id,
      status: 'RECEIVED',
      retries: msg.retries,
      taskName: msg.task,
      periodicTaskName: (msg.headers.periodic_task_name as string | undefined) ?? null,
      args: msg.args,
      kwargs: msg.kwargs,
      worker: this.name,
      queue: msg.queue,
      parentId: msg.parentId,
      rootId: msg.rootId,
      groupId: msg.groupId,
    };
  }

  /**
   * RECEIVED is written RECEIVED_DELAY_MS after receipt, and only for tasks not yet finished:
   * a task that finishes sooner goes straight to its final state in one write. Writing it at once
   * put a second Postgres round trip in front of every short task's result (measured: round trip
   * p50 5.3 ms → see BENCHMARKS.md), for a state nobody could have seen.
   */
  private noteReceived(job: Job): void {
    this.receivedBatch.push(job);
    this.receivedTimer ??= setTimeout(() => {
      this.receivedTimer = undefined;
      const batch = this.receivedBatch;
      this.receivedBatch = [];
      for (const j of batch) if (!j.finished) void this.write(j, 'RECEIVED', {});
    }, RECEIVED_DELAY_MS);
  }

  private write(job: Job, status: TaskState, update: Partial<StateUpdate>): Promise<void> {
    // Assigned into describe()'s fresh object rather than spread twice: one allocation per state.
    const u = Object.assign(this.describe(job.msg), update);
    u.status = status;
    return this.store.write(u);
  }

  private progress(job: Job, done: number, total?: number, meta?: Record<string, unknown>): Promise<void> {
    return this.write(job, 'PROGRESS', { meta: { done, total: total ?? null, ...meta } });
  }

  private ack(job: Job): Promise<void> {
    return this.acker.ack(job);
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

  private isRevoked(id: string): boolean {
    const until = this.revoked.get(id);
    return until !== undefined && until > Date.now();
  }

  private async refreshRevoked(): Promise<void> {
    try {
      const until = Date.now() + REVOKED_REFRESH_MS * 3;
      for (const id of await this.broker.listRevoked(Date.now())) this.revoked.set(id, until);
      for (const [id, t] of this.revoked) if (t < Date.now()) this.revoked.delete(id);
    } catch (err) {
      this.fail('could not read revoked ids', err);
    }
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
    // Stored too, so a revoke broadcast by Python's `celery control revoke` also binds workers that start later.
    void this.broker.addRevoked(ids, Date.now() + 3 * 3600 * 1000).catch((e) => this.fail('could not store revoked ids', e));
    for (const id of ids) {
      this.revoked.set(id, Date.now() + 3 * 3600 * 1000);
      const waiting = [...this.ready, ...this.waitingForRate].find((j) => j.msg.id === id);
      if (waiting) {
        if (this.ready.includes(waiting)) this.ready.splice(this.ready.indexOf(waiting), 1);
        this.waitingForRate.delete(waiting);
        this.finish(waiting, { kind: 'revoked', reason: 'revoked', runtimeMs: 0 });
      }
      if (terminate && this.running.has(id)) this.pool.abort(id, { kind: 'revoked', reason: 'terminated', runtimeMs: 0 });
    }
  }

  /** Tasks running now (Celery's inspect active). */
  activeTasks(): TaskSummary[] {
    return [...this.running.values()].map((j) => summary(j, this.name));
  }

  /** Tasks received and waiting for a slot or a rate-limit token (Celery's inspect reserved). */
  reservedTasks(): TaskSummary[] {
    return [...this.ready, ...this.waitingForRate].map((j) => summary(j, this.name));
  }

  revokedIds(): string[] {
    const now = Date.now();
    return [...this.revoked].filter(([, until]) => until > now).map(([id]) => id);
  }

  registeredTasks(): string[] {
    return this.app.registry.names();
  }

  /** Change how many tasks run at once (pool grow/shrink, autoscale); the prefetch bound follows. */
  setConcurrency(n: number): void {
    if (!Number.isInteger(n) || n < 1) throw new ConfigError('concurrency', `expected an integer >= 1, got ${n}`);
    this.concurrency = n;
    this.prefetchLimit = n * (1 + this.options.prefetchMultiplier);
    this.pool.resize?.(n);
    this.dispatch();
    this.roomWaiter?.();
  }

  addQueue(queue: string): void {
    if (!this.queues.includes(queue)) this.queues = [...this.queues, queue];
  }

  cancelQueue(queue: string): void {
    if (this.queues.length === 1 && this.queues[0] === queue) throw new ConfigError('queues', `cannot stop consuming '${queue}': it is this worker's only queue`);
    this.queues = this.queues.filter((q) => q !== queue);
  }

  /** Per-worker rate limit override for one task type (Celery's control rate_limit); null removes it. */
  setRateLimit(taskName: string, rate: string | null): void {
    const task = this.app.registry.require(taskName);
    this.rateOverrides.set(taskName, rate === null ? null : parseRateLimit('rate_limit', rate));
    this.buckets.delete(task.name);
  }

  /** Per-worker time limit overrides in seconds (Celery's control time_limit). */
  setTimeLimit(taskName: string, soft: number | null, hard: number | null): void {
    this.app.registry.require(taskName);
    this.timeOverrides.set(taskName, { soft, hard });
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
      await this.broker.renewLease(this.consumer, this.app.config.leaseMs);
      const info = this.info();
      await this.broker.putWorkerInfo(this.name, JSON.stringify(info));
      await this.events.worker('worker-heartbeat', info);
    } catch (err) {
      this.fail('heartbeat failed', err);
    }
  }

  private async recover(): Promise<void> {
    try {
      const moved = await this.broker.recoverLapsed();
      if (moved > 0) this.log('warn', `gave back ${moved} messages held by a worker whose lease lapsed`);
    } catch (err) {
      this.fail('lease recovery failed', err);
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
    };
  }

  private fail(message: string, err: unknown): void {
    const error = err instanceof Error ? err : new Error(String(err));
    this.log('error', message, { error: error.message });
    if (this.listenerCount('error') > 0) this.emit('error', error);
  }

  /**
   * Graceful stop (SIGTERM): take nothing new, give back what has not started, let running tasks
   * finish within the grace period, give back the ones that did not, then leave the registry.
   */
  async stop(graceMs = this.options.shutdownGraceMs): Promise<void> {
    if (this.state !== 'running') return;
    this.state = 'stopping';
    this.autoscaler?.stop();
    this.remote?.stop();
    for (const t of this.timers) clearInterval(t);
    this.promoter.stop();
    this.broker.interruptFetch(this.consumer);
    this.roomWaiter?.();
    await this.loopDone;
    const notStarted = [...this.ready, ...this.waitingForRate].filter((j) => !j.acked);
    this.ready.length = 0;
    this.waitingForRate.clear();
    await this.broker.requeue(this.consumer, notStarted.map((j) => j.msg.raw)).catch((e) => this.fail('requeue at shutdown failed; the lease will give them back', e));
    for (const j of notStarted) this.held.delete(j);
    const deadline = Date.now() + graceMs;
    while (this.running.size > 0 && Date.now() < deadline) await sleep(Math.min(50, deadline - Date.now()));
    const unfinished = [...this.running.values()];
    for (const job of unfinished) {
      this.running.delete(job.msg.id);
      this.pool.abort(job.msg.id, { kind: 'revoked', reason: 'shutdown', runtimeMs: 0 });
    }
    await this.broker.requeue(this.consumer, unfinished.filter((j) => !j.acked).map((j) => j.msg.raw)).catch(() => {});
    for (const j of unfinished) j.acked = true;
    // Results first, then acks: a task whose result is not committed by now is not acked, so its
    // message goes back to the queue with the others below and runs again (at-least-once).
    const flushed = await this.store.flush(Math.max(5000, deadline - Date.now()));
    if (!flushed) this.log('warn', `stopping with ${this.store.backlog} task states not yet written (Postgres unavailable); their messages are given back`);
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

function excResult(exc: SerializedError): Record<string, unknown> {
  return { exc_type: exc.exc_type, exc_message: exc.exc_message, exc_module: exc.exc_module };
}

function truncate(value: unknown): string {
  const text = JSON.stringify(value) ?? 'null';
  return text.length > 256 ? text.slice(0, 253) + '...' : text;
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
