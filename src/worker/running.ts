/**
 * What a started worker runs on, built in start() as one object: its connections, the helpers
 * that act for it on every task (intake, finisher, acker, state writer), its pool, remote control
 * and subscriptions. Each step that takes hold of something (a thread, a lease, a subscription)
 * pushes how to let go of it, so a start that fails part-way closes exactly what it built, and
 * a stop closes the same list: nothing is half-built, and nothing is a field left unset until
 * start() (as beat's start does, ../beat/beat.ts).
 */
import type { Broker } from '../broker';
import type { LogLevel } from '../log';
import { finishedNotices } from '../results/waiter';
import type { ResultStore, StateUpdate } from '../results/store';
import type { TaskState } from '../results/states';
import type { Runtime } from '../runtime/runtime';
import { thrownField } from '../contain';
import { abortListenerThrewMessage } from './abort-listeners';
import { Acker } from './acker';
import { AsyncPool } from './async-pool';
import { Autoscaler, type Scalable } from './autoscale';
import { describeConf } from './conf';
import type { ControlledWorker, WorkerStats } from './control-surface';
import { EventDispatcher } from './events';
import { Finisher } from './finisher';
import { Intake } from './intake';
import type { WorkerOptions } from './options';
import type { WorkerParts } from './parts';
import type { Job, Pool, PoolKind } from './pool';
import { ProcessPool } from './process-pool';
import { DelayedPromoter } from './promoter';
import { RemoteControl } from './remote-control';
import { RevokedIds } from './revoked';
import { StateWriter } from './state-writer';
import { ThreadPool } from './thread-pool';

export interface Running {
  readonly broker: Broker;
  readonly store: ResultStore;
  readonly events: EventDispatcher;
  readonly acker: Acker;
  readonly promoter: DelayedPromoter;
  readonly revoked: RevokedIds;
  readonly states: StateWriter;
  readonly intake: Intake;
  readonly finisher: Finisher;
  readonly pool: Pool;
  readonly remote: RemoteControl;
  /** Set when the worker runs with autoscale; remote control's pool_grow/shrink defer to it. */
  readonly autoscaler: Autoscaler | undefined;
  /** Lets go of everything start-up took hold of, last first; never throws. */
  close(): Promise<void>;
}

/** What building the running worker needs from the Worker. */
export interface RunningHost {
  readonly app: Runtime;
  /** The worker as remote control and autoscale act on it. */
  readonly worker: ControlledWorker & Scalable;
  readonly name: string;
  readonly consumer: string;
  readonly poolKind: PoolKind;
  readonly concurrency: number;
  readonly prefetchLimit: number;
  readonly maxRedeliveries: number;
  readonly options: WorkerOptions;
  readonly counters: { processed: number; succeeded: number; failed: number; retried: number };
  /** Processed per task name (inspect stats). */
  readonly totals: Map<string, number>;
  release(job: Job): void;
  taskFinished(taskId: string, state: TaskState): void;
  onControl(raw: string): void;
  info(): WorkerStats;
  log(level: LogLevel, message: string, fields?: Record<string, unknown>): void;
  fail(message: string, err: unknown): void;
  stopping(): boolean;
}

export async function buildRunning(host: RunningHost): Promise<Running> {
  const { app, consumer } = host;
  const undo: (() => Promise<void> | void)[] = [];
  const close = async () => {
    for (const step of undo.splice(0).reverse()) await Promise.resolve(step()).catch(() => {});
  };
  try {
    // Side by side: each is a connection handshake, and a worker's start-up is time its queue waits.
    const [broker, store] = await Promise.all([app.broker(), app.results()]);
    const events = new EventDispatcher(broker, host.name, app.config.events);
    const acker = new Acker(
      broker,
      consumer,
      (job) => host.release(job),
      (message, err) => host.fail(message, err),
    );
    const promoter = new DelayedPromoter(broker.delayed, (err) => host.fail('promoting delayed tasks failed', err));
    const revoked = new RevokedIds(broker, (message, err) => host.fail(message, err));
    const states = new StateWriter(store, host.name);
    const parts: WorkerParts = {
      owner: host.worker,
      app,
      workerName: host.name,
      consumer,
      broker,
      states,
      events,
      acker,
      promoter,
      log: (level, message, fields) => host.log(level, message, fields),
      fail: (message, err) => host.fail(message, err),
      stopping: () => host.stopping(),
    };
    const intake = new Intake(parts, host.maxRedeliveries);
    const finisher = new Finisher(
      parts,
      host.counters,
      (job) => host.release(job),
      (taskId, state) => host.taskFinished(taskId, state),
      host.totals,
    );
    const pool = buildPool(host, states);
    undo.push(() => pool.close());
    const onCommitted = (updates: StateUpdate[]) => {
      const notices = finishedNotices(updates);
      if (notices.length > 0)
        void broker.publish(broker.channels.resultsChannel, JSON.stringify(notices)).catch(() => {});
    };
    store.on('committed', onCommitted);
    undo.push(() => void store.off('committed', onCommitted));
    // Remote control listens before the pidbox subscription delivers its first message.
    const autoscale = host.options.autoscale;
    const autoscaler = autoscale ? new Autoscaler(host.worker, (q) => broker.queueLength(q), autoscale) : undefined;
    autoscaler?.on('error', (err) => host.fail('autoscale could not read the backlog', err));
    autoscaler?.on('scaled', (from, to) => host.log('info', `autoscale: concurrency ${from} → ${to}`));
    const remote = new RemoteControl(host.worker, broker, autoscaler, {
      maxTasksPerChild: host.options.maxTasksPerChild,
      maxMemoryPerChild: host.options.maxMemoryPerChild,
      conf: () => describeConf(app.config, host.info()),
    });
    remote.on('error', (err) => host.fail('could not send a remote control reply', err));
    remote.start();
    undo.push(() => remote.stop());
    // The subscriptions (a connection of their own on Redis) are made while the consumer
    // registers and the revoked ids are read: side by side, as each is a round trip or a
    // handshake the queue waits on at start. Each one that succeeded is undone if another failed.
    const subscribed = Promise.allSettled([
      broker.subscribe(broker.channels.pidbox, (raw) => host.onControl(raw)),
      ...(broker.delayed
        ? [broker.subscribe(broker.delayed.wakeChannel, (due) => promoter.promoteBy(Number(due)))]
        : []),
    ]);
    const registered = (async () => {
      await broker.registerConsumer(consumer, app.config.leaseMs);
      undo.push(async () => {
        await broker.removeWorkerInfo(host.name).catch(() => {});
        await broker.unregisterConsumer(consumer);
      });
      // basic.qos on transports that push (RabbitMQ): the prefetch bound, as the fetch's max is on Redis.
      await broker.pushed
        ?.setPrefetch(consumer, host.prefetchLimit)
        .catch((err) => host.fail('could not set the prefetch (basic.qos)', err));
      await revoked.refresh();
    })();
    const settled = await Promise.allSettled([registered, subscribed]);
    const subscriptions = await subscribed;
    for (const s of subscriptions) if (s.status === 'fulfilled') undo.push(s.value);
    for (const s of [...settled, ...subscriptions]) if (s.status === 'rejected') throw s.reason;
    return {
      broker,
      store,
      events,
      acker,
      promoter,
      revoked,
      states,
      intake,
      finisher,
      pool,
      remote,
      autoscaler,
      close,
    };
  } catch (err) {
    await close();
    throw err;
  }
}

function buildPool(host: RunningHost, states: StateWriter): Pool {
  const hooks = {
    hostname: host.name,
    middleware: host.app.taskMiddleware,
    updateState: (job: Job, state: string, meta?: Record<string, unknown>) =>
      states.write(job, state, { meta: meta ?? {} }).then(() => {}),
    abortListenerThrew: (taskName: string, taskId: string, err: unknown) =>
      host.log('error', abortListenerThrewMessage(taskName, taskId), thrownField(err)),
  };
  const limits = { maxTasksPerChild: host.options.maxTasksPerChild, maxMemoryPerChild: host.options.maxMemoryPerChild };
  const Children = { threads: ThreadPool, processes: ProcessPool, async: undefined }[host.poolKind];
  return Children ? new Children(host.options.appModule, host.concurrency, hooks, limits) : new AsyncPool(hooks);
}
