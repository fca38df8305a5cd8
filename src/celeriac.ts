import { containedLogger } from './contain';
import type { RequestHandler, Router } from 'express';
import type { AdminOptions } from './admin';
import type { DataSource } from 'typeorm';
import { createBroker, type Broker } from './broker';
import { PostgresCoordination } from './results/coordination';
import { resolveConfig, type CeleriacOptions, type ResolvedConfig, type RouteOptions } from './config';
import { databaseOf, openPool, type Database } from './db/database';
import { CeleriacError } from './errors';
import { consoleLogger, type Logger } from './log';
import { autodiscover } from './plugin/autodiscover';
import { callerFile } from './plugin/naming';
import { Control } from './plugin/control';
import { setCurrentApp } from './plugin/current-app';
import { registry, type TaskRegistry } from './plugin/registry';
import type { ApplyOptions } from './plugin/options';
import { chunkSizeOf, sendInChunks, type BulkOptions, type TaskCall } from './plugin/bulk';
import { AsyncResult } from './results/async-result';
import type { ResultBackend } from './results/backend';
import { DatabaseResultBackend } from './results/database-backend';
import { ResultStore, type StateUpdate } from './results/store';
import { checkDjangoTables, resultTables } from './results/table-mode';
import { ResultWaiter } from './results/waiter';
import { Worker, type WorkerOptions } from './worker/worker';
import type { Beat, BeatOptions } from './beat';
import { GroupResult } from './results/async-result';
import { EagerRun } from './eager/run';
import { EagerResult } from './eager/eager-result';
import './canvas/builtins';
import './results/cleanup';
import { Signals } from './plugin/signals';
import { publishTaskSent } from './plugin/sent-events';
import { MessageSigner } from './broker/signing';
import { compose, type PublishMiddleware, type TaskMiddleware } from './plugin/middleware-chain';
import { prepareMessage, routeOf, type PreparedMessage, type PrepareOptions } from './runtime/prepare';
import { systemClock, type Clock } from './runtime/clock';

/** How long close() lets Postgres connections finish a statement before cutting them. */
const CLOSE_POOL_MS = 5_000;

declare global {
  // eslint-disable-next-line @typescript-eslint/no-namespace
  namespace Express {
    interface Request {
      /** The Celeriac app: send tasks (`req.celeriac.sendTask`) and read results (`req.celeriac.asyncResult(id)`). */
      celeriac: Celeriac;
    }
  }
}

/**
 * The app object: configuration, the task registry, and lazy connections to the broker and the
 * database. Web processes use it to send tasks and read results; `celeriac worker` and
 * `celeriac beat` load the same object from the module named by --app.
 *
 * It is the facade that assembles the runtime (./runtime/runtime.ts) its parts are handed:
 * Worker, Beat, the admin and work-flows see only that narrow interface, never this class. It
 * meets Runtime structurally (checked where it hands itself down: worker(), beat(), admin()),
 * not by an `implements` clause: the published types strip the internal members, and an app
 * compiled without skipLibCheck would then see a class that fails its own clause.
 */
export class Celeriac {
  readonly config: ResolvedConfig;
  readonly registry: TaskRegistry = registry;
  readonly logger: Logger;
  /** @internal */
  readonly clock: Clock = systemClock;
  readonly control: Control;
  /** Files autodiscovery imported, in order. */
  readonly discovered: string[];
  private brokerPromise: Promise<Broker> | undefined;
  private dsPromise: Promise<DataSource> | undefined;
  private dbPromise: Promise<Database> | undefined;
  private storePromise: Promise<ResultStore> | undefined;
  private readonly waiter: ResultWaiter;
  private readonly closers: (() => Promise<void>)[] = [];
  /** Celery's signals: `celeriac.signals.connect('taskFailure', (task, error) => …)`. */
  readonly signals: Signals = new Signals(() => this.logger);
  /** @internal */
  readonly taskMiddleware: TaskMiddleware[] = [];
  private readonly publishMiddleware: PublishMiddleware[] = [];
  /** @internal Set when config.signing is: signs what this process sends, verifies what its workers take. */
  readonly signer: MessageSigner | undefined;
  /** @internal What this app's AsyncResults and GroupResults read through. */
  readonly resultBackend: ResultBackend;

  constructor(options: CeleriacOptions = {}) {
    this.config = resolveConfig(options);
    // Contained: the worker logs from inside its batch loops, where a throwing logger lost or doubled tasks.
    this.logger = containedLogger(this.config.logger ?? consoleLogger(this.config.logFormat, this.config.logLevel));
    this.signer = this.config.signing ? new MessageSigner(this.config.signing) : undefined;
    // Process-wide, on purpose (see ./plugin/current-app.ts): task modules send through the last app created.
    setCurrentApp(this);
    // Relative app folders are relative to the module that creates the app (the first frame outside this package).
    this.discovered = autodiscover(this.config.apps, callerFile(__dirname), this.config.taskModules);
    this.control = new Control(
      () => this.broker(),
      () => (this.hasDatabase ? this.results() : Promise.resolve(undefined)),
    );
    this.waiter = new ResultWaiter(
      () => this.broker(),
      () => this.results(),
    );
    this.resultBackend = new DatabaseResultBackend(
      () => this.requireResults(),
      this.waiter,
      (ids, options) => this.control.revoke(ids, options),
    );
  }

  get hasDatabase(): boolean {
    return this.config.databaseUrl !== undefined || this.config.dataSource !== undefined;
  }

  /** The broker, connected on first use. */
  broker(): Promise<Broker> {
    this.brokerPromise ??= (async () => {
      const broker = createBroker(this.config.broker, this.config.keyPrefix, {
        maxPriority: this.config.queueMaxPriority,
        queueType: this.config.queueType,
        // RabbitMQ has no shared atomic state: chords, send-once markers, revoked ids and the
        // worker registry live in Postgres beside the results (src/results/coordination.ts).
        coordination: async () =>
          this.hasDatabase ? new PostgresCoordination(await this.database(), this.config.schema) : undefined,
      });
      try {
        await broker.connect();
      } catch (err) {
        this.brokerPromise = undefined;
        throw err;
      }
      return broker;
    })();
    return this.brokerPromise;
  }

  /**
   * The TypeORM DataSource, initialised on first use: the host app's when it passed one, else
   * Celeriac's own on DATABASE_URL. Only migrations, beat and the admin's schedule CRUD use it, so
   * TypeORM loads with the first call, never in a worker or a process that only sends.
   */
  dataSource(): Promise<DataSource> {
    this.dsPromise ??= (async () => {
      const { createDataSource, initialize } = dataSourceModule();
      const ds = createDataSource(this.config);
      try {
        return await initialize(ds, this.config);
      } catch (err) {
        this.dsPromise = undefined;
        throw err;
      }
    })();
    return this.dsPromise;
  }

  /**
   * @internal What results, the worker and remote control run their SQL on: a pg pool of its own
   * on DATABASE_URL (one connection made first, so a wrong URL fails here), or the pool of the
   * DataSource the host app passed.
   */
  database(): Promise<Database> {
    this.dbPromise ??= (this.config.dataSource ? this.dataSource().then(databaseOf) : openPool(this.config)).catch(
      (err) => {
        this.dbPromise = undefined;
        throw err;
      },
    );
    return this.dbPromise;
  }

  results(): Promise<ResultStore> {
    // The store logs its own outages (when one starts, while it lasts, when it ends) and every
    // state Postgres refused, so no per-failure listener here.
    this.storePromise ??= this.database().then(
      (db) =>
        new ResultStore(
          db,
          this.config.schema,
          (level, message, fields) => this.logger.log(level, message, fields),
          resultTables(this.config.tables, this.config.schema),
          { batchesInFlight: this.config.resultBatchesInFlight },
        ),
    );
    return this.storePromise;
  }

  /**
   * Apply Celeriac's migrations; running it again changes nothing. In django table mode,
   * `djangoTrigger: true` also installs the opt-in NOTIFY trigger on Django's change marker
   * (beat/django-trigger.ts), `false` removes it; left out, Django's tables are not touched.
   */
  async migrate(options: { djangoTrigger?: boolean } = {}): Promise<string[]> {
    const ds = await this.dataSource();
    const query = (text: string, params?: unknown[]) => ds.query(text, params);
    if (options.djangoTrigger !== undefined && this.config.tables !== 'django')
      throw new CeleriacError(
        `migrate({ djangoTrigger }) is for tables: 'django' (it goes on Django's django-celery-beat tables); this app has tables: '${this.config.tables}'`,
      );
    if (this.config.tables === 'django') await checkDjangoTables(query, this.config.schema);
    const applied = await dataSourceModule().migrate(ds);
    if (options.djangoTrigger !== undefined) {
      const trigger = require('./beat/django-trigger') as typeof import('./beat/django-trigger');
      if (options.djangoTrigger) await trigger.installDjangoTrigger(query, this.config.schema);
      else await trigger.removeDjangoTrigger(query, this.config.schema);
    }
    return applied;
  }

  /**
   * Add middleware around every task run (in workers of this app, in every pool) or around every
   * publish from this process, Express-style: `(ctx, next) => { …; const r = await next(); …; return r; }`.
   */
  use(kind: 'task', middleware: TaskMiddleware): this;
  use(kind: 'publish', middleware: PublishMiddleware): this;
  use(kind: 'task' | 'publish', middleware: TaskMiddleware | PublishMiddleware): this {
    if (kind === 'task') this.taskMiddleware.push(middleware as TaskMiddleware);
    else if (kind === 'publish') this.publishMiddleware.push(middleware as PublishMiddleware);
    else throw new CeleriacError(`use('${kind}', fn): kind must be 'task' or 'publish'.`);
    return this;
  }

  /** Send a task by name: one defined here, or one another service runs (give it a route). */
  async sendTask<R = unknown>(
    name: string,
    args: unknown[] = [],
    kwargs: Record<string, unknown> = {},
    options: ApplyOptions = {},
  ): Promise<AsyncResult<R>> {
    // A task another service runs (a route, no definition here) still goes to the broker, as
    // Celery's send_task is never eager: there is nothing here to run it with.
    if (this.config.alwaysEager && this.registry.get(name)) return this.applyEager<R>(name, args, kwargs, options);
    const prepared = this.prepare(name, args, kwargs, options);
    this.waiter.expect(prepared.id);
    await this.sendPrepared([prepared]);
    return new AsyncResult<R>(prepared.id, this.resultBackend);
  }

  /**
   * Send many tasks at once (BullMQ's addBulk): every item is validated and encoded first, so a
   * bad one fails the call with nothing sent and its index in the message; then each chunk of
   * `chunkSize` (1000) messages goes to the broker in one round trip, and their PENDING rows are
   * written behind the sends in batches, as sendTask's are. A broker failure part-way throws
   * BulkSendError with the ids that were sent.
   */
  async sendMany<R = unknown>(
    items: readonly TaskCall<readonly unknown[]>[],
    options?: BulkOptions,
  ): Promise<AsyncResult<R>[]> {
    if (this.config.alwaysEager && items.every((item) => this.registry.get(item?.name))) {
      const out: AsyncResult<R>[] = [];
      for (const item of items)
        out.push(await this.applyEager<R>(item.name, (item.args ?? []) as unknown[], item.kwargs ?? {}, item.options));
      return out;
    }
    const ids = await sendInChunks(
      items,
      chunkSizeOf(options),
      (item) => this.prepare(item.name, (item.args ?? []) as unknown[], item.kwargs ?? {}, item.options ?? {}),
      (chunk) => this.sendPrepared(chunk),
    );
    return ids.map((id) => new AsyncResult<R>(id, this.resultBackend));
  }

  /**
   * Run a task in this process now (Celery's apply; what `task.apply()` and `alwaysEager` do):
   * the message is built and checked as for a send, run through the worker's own task runner,
   * and everything it sets off (callbacks, errbacks, a chain's next step) runs too before this
   * resolves. `throw` (default: the eagerPropagates option) throws the task's own error on failure.
   */
  async applyEager<R = unknown>(
    name: string,
    args: unknown[] = [],
    kwargs: Record<string, unknown> = {},
    options: ApplyOptions & { throw?: boolean } = {},
  ): Promise<EagerResult<R>> {
    const { throw: propagate = this.config.eagerPropagates, ...rest } = options;
    const prepared = this.prepare(name, args, kwargs, rest);
    const run = new EagerRun(this, propagate);
    await run.run([prepared]);
    return new EagerResult<R>(prepared.id, run.backend);
  }

  /**
   * @internal Validate, route and encode one message without sending it, so work-flows and the
   * worker can send several (or send and ack) in one atomic step. Throws before anything is sent.
   */
  prepare(
    name: string,
    args: unknown[],
    kwargs: Record<string, unknown>,
    options: PrepareOptions = {},
  ): PreparedMessage {
    return prepareMessage(this, name, args, kwargs, options);
  }

  /** @internal Send prepared messages in one round trip and record them as PENDING. */
  async sendPrepared(prepared: PreparedMessage[]): Promise<void> {
    const broker = await this.broker();
    const send = async () => {
      await broker.send(prepared.map((p) => p.outgoing));
      this.recordPending(prepared);
    };
    if (this.publishMiddleware.length === 0) await send();
    else {
      const ctx = { messages: prepared.map((p) => ({ id: p.id, name: p.name, queue: p.outgoing.queue })), locals: {} };
      await compose(this.publishMiddleware, ctx, send);
    }
    if (this.signals.has('afterPublish')) {
      for (const p of prepared) this.signals.emit('afterPublish', p.info);
    }
  }

  /**
   * @internal What follows every send (the app's, a worker's follow-ups, a chord's body): PENDING
   * rows for messages already handed to the broker (batched, not awaited), and their task-sent
   * events when taskSendSentEvent is on.
   */
  recordPending(prepared: PreparedMessage[]): void {
    if (this.config.taskSendSentEvent && this.config.events && prepared.length > 0)
      void this.broker().then(
        (broker) =>
          publishTaskSent(
            broker,
            prepared.map((p) => p.outgoing),
          ),
        () => {},
      );
    const pending = prepared.map((p) => p.pending).filter((p): p is StateUpdate => p !== null);
    if (pending.length === 0) return;
    this.results().then(
      (store) => pending.forEach((u) => store.writeLater(u)),
      (err) => this.logger.log('warn', 'could not record PENDING', { error: (err as Error).message }),
    );
  }

  /** Celery's task_routes: exact names first, then globs (`reports.*`) in the order given. */
  route(name: string): RouteOptions | undefined {
    return routeOf(this.config.routes, name);
  }

  asyncResult<R = unknown>(taskId: string): AsyncResult<R> {
    return new AsyncResult<R>(taskId, this.resultBackend);
  }

  /** A group's results by group id (Celery's GroupResult.restore), or null if no such group was saved. */
  async groupResult<R = unknown>(groupId: string): Promise<GroupResult<R> | null> {
    const ids = await this.resultBackend.groupTaskIds(groupId);
    return ids
      ? new GroupResult<R>(
          groupId,
          ids.map((id) => this.asyncResult<R>(id)),
          this.resultBackend,
        )
      : null;
  }

  private requireResults(): Promise<ResultStore> {
    if (!this.hasDatabase) {
      return Promise.reject(
        new CeleriacError('Reading results needs Postgres: set DATABASE_URL or pass databaseUrl / dataSource.'),
      );
    }
    return this.results();
  }

  /** A worker for this app; `celeriac worker` builds one from its flags. Call start() to run it. */
  worker(options: WorkerOptions = {}): Worker {
    const worker = new Worker(this, options);
    this.onClose(() => worker.stop());
    return worker;
  }

  /** The scheduler for this app; `celeriac beat` runs one. Call start() to run it, or tick(now) in tests. */
  beat(options: BeatOptions = {}): Beat {
    // Required here, as the admin is: beat's schedules (luxon, cron-parser) and its TypeORM
    // entities are nothing a worker or a web process that only sends needs at start.
    const { Beat } = require('./beat') as typeof import('./beat');
    const beat = new Beat(this, options);
    this.onClose(() => beat.stop());
    return beat;
  }

  /** Express middleware giving handlers `req.celeriac`. */
  middleware(): RequestHandler {
    return (req, _res, next) => {
      req.celeriac = this;
      next();
    };
  }

  /**
   * The admin (pages, JSON API, event stream) as an Express router:
   * `app.use('/admin/celeriac', celeriac.admin({ authorize: (req) => Boolean(req.user?.isStaff) }))`.
   * Refuses to build without `authorize` (README § Admin, Security).
   */
  admin(options: AdminOptions): Router {
    // Required here, not imported above: a worker or beat never builds the admin, and Express with
    // every route and page is ~60 modules they would otherwise load at start (bench/ANALYSIS.md).
    const { createAdmin } = require('./admin') as typeof import('./admin');
    return createAdmin(this, options);
  }

  /** @internal Let subsystems (worker, beat, admin) close with the app. */
  onClose(fn: () => Promise<void>): void {
    this.closers.push(fn);
  }

  /** Flush pending writes and close every connection this app opened. */
  async close(): Promise<void> {
    for (const fn of this.closers.splice(0).reverse()) await fn().catch(() => {});
    await this.waiter.close();
    const store = this.storePromise ? await this.storePromise.catch(() => undefined) : undefined;
    const dropped = (await store?.close()) ?? 0;
    if (dropped > 0)
      this.logger.log('warn', `closed with ${dropped} task states not written: Postgres did not accept them in time`);
    if (this.brokerPromise) await (await this.brokerPromise.catch(() => undefined))?.close();
    const db = this.dbPromise ? await this.dbPromise.catch(() => undefined) : undefined;
    const ds = this.dsPromise && !this.config.dataSource ? await this.dsPromise.catch(() => undefined) : undefined;
    const [dbInTime, dsInTime] = await Promise.all([
      db ? db.close(CLOSE_POOL_MS) : true,
      ds?.isInitialized ? dataSourceModule().destroyWithin(ds, CLOSE_POOL_MS) : true,
    ]);
    if (!dbInTime || !dsInTime)
      this.logger.log(
        'warn',
        `closed Postgres connections that were still inside a statement after ${CLOSE_POOL_MS / 1000} s (a lock on Celeriac's tables, or an overloaded server?)`,
      );
    this.brokerPromise = this.dsPromise = this.dbPromise = this.storePromise = undefined;
  }
}

/** TypeORM's DataSource and migrations, loaded with the first caller that needs them. */
function dataSourceModule(): typeof import('./db/data-source') {
  return require('./db/data-source') as typeof import('./db/data-source');
}
