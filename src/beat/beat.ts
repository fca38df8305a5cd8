import { EventEmitter } from 'node:events';
import type { Runtime } from '../runtime/runtime';
import { classifyDbError } from '../db/db-errors';
import { BrokerUnavailableError, CeleriacError } from '../errors';
import type { LogLevel } from '../log';
import { Outage } from '../outage';
import type { Clock } from './clock';
import { BeatDb } from './db';
import { BeatNotMigratedError } from './errors';
import type { BeatEvents, TickResult } from './events';
import { reachFaultPoint } from './fault-hooks';
import { Heartbeat } from './heartbeat';
import { beatHost } from './host';
import { ChangeListener } from './listener';
import { resolveBeatOptions, type BeatOptions, type ResolvedBeatOptions } from './options';
import { Outbox } from './outbox';
import { Planner } from './planner';
import type { BeatHost, BeatRuntime } from './runtime';
import { brokerBatchSender, type BatchSender } from './send-once';
import { beatStatements, type BeatStatements } from './sql';
import { builtinEntries, syncBeatSchedule } from './sync';
import { DJANGO_POLL_MS, DjangoScheduleMirror } from './django-mirror';
import { hasDjangoTrigger } from './django-trigger';
import { Ticker } from './tick';

/** A running beat re-plans edited rows for at most this long per tick before it sends what is due. */
const REPLAN_BUDGET_MS = 200;

/** What a tick needs: the connections and the parts that use them. Built on first use, by tick() or start(). */
interface Core {
  rt: BeatRuntime;
  outbox: Outbox;
  ticker: Ticker;
}

/** What start() adds to the core for a running beat; torn down by stop(). */
interface Running {
  listener: ChangeListener | undefined;
  heartbeat: Heartbeat;
  loopDone: Promise<void>;
}

/**
 * The scheduler: sends each periodic task's runs to the broker, from the tables, once.
 *
 * This class is the lifecycle only: it builds the parts (./planner.ts, ./outbox.ts, ./tick.ts,
 * sharing the runtime in ./runtime.ts), runs the loop, and tears them down. A tick (run by the
 * loop, or by a test with its own `now`) re-plans edited rows, claims what is due and sends it,
 * settles unconfirmed outbox batches, and says when to look next (./tick.ts). Between ticks the
 * beat sleeps until then, or until a NOTIFY says a schedule changed, or at most pollIntervalMs
 * while LISTEN is unavailable.
 *
 * Any number of beats may run against one database: see README.md in this folder for why each
 * run is sent exactly once.
 */
export class Beat extends EventEmitter<BeatEvents> {
  readonly name: string;
  private readonly opts: ResolvedBeatOptions;
  private readonly schema: string;
  private readonly sql: BeatStatements;
  private readonly host: BeatHost;
  private state: 'new' | 'starting' | 'running' | 'stopping' | 'stopped' = 'new';
  private core: Promise<Core> | undefined;
  private runningParts: Running | undefined;
  private listener: ChangeListener | undefined;
  private starting: Promise<void> | undefined;
  private stopping: Promise<void> | undefined;
  private wakeUp: (() => void) | undefined;
  private wakeRequested = false;
  private tickChain: Promise<unknown> = Promise.resolve();
  /** In django table mode: Django's django-celery-beat rows mirrored in, run history copied back. */
  private mirror: DjangoScheduleMirror | undefined;
  private mirrorTimer: NodeJS.Timeout | undefined;
  /** Postgres as this beat sees it: an outage is logged when it starts and when a tick next succeeds. */
  private readonly postgres = new Outage(
    'Postgres (beat)',
    (level, message, fields) => this.log(level, message, fields),
    'nothing is claimed or sent meanwhile; runs that fall due are sent when it is back',
  );
  /** Redis as this beat sees it: an outage is logged at the first send that fails and the next that succeeds. */
  private readonly redis = new Outage(
    'Redis (beat)',
    (level, message, fields) => this.log(level, message, fields),
    'due runs stay claimed in the outbox and are sent when it is back',
  );

  constructor(
    private readonly app: Runtime,
    options: BeatOptions = {},
  ) {
    super();
    this.opts = resolveBeatOptions(options);
    this.name = this.opts.name;
    this.schema = app.config.schema;
    this.sql = beatStatements(this.schema);
    this.host = beatHost(app);
  }

  get clock(): Clock {
    return this.opts.clock;
  }

  get running(): boolean {
    return this.state === 'running';
  }

  /** True while the LISTEN session is up; false means changes are seen by polling. */
  get listening(): boolean {
    return this.listener?.listening ?? false;
  }

  /**
   * Opens the connections, syncs beatSchedule, starts listening and the heartbeat, then the loop.
   * If any step fails, what the earlier ones built is closed again before the error is thrown.
   */
  start(): Promise<void> {
    if (this.state !== 'new')
      return Promise.reject(
        new CeleriacError(`Beat ${this.name} was already started; create a new Beat to start again.`),
      );
    this.state = 'starting';
    this.starting = this.startUp();
    return this.starting;
  }

  /**
   * Finishes the tick in progress, sends the runs it claimed ahead, then closes every connection.
   * Safe to call in any state and any number of times: every call resolves when the beat is down.
   */
  stop(): Promise<void> {
    this.stopping ??= this.shutDown();
    return this.stopping;
  }

  /** Look now instead of at the next due time (a NOTIFY does this). */
  wake(): void {
    this.wakeRequested = true;
    this.wakeUp?.();
  }

  /**
   * One pass: re-plan edited rows, send what is due at `now`, settle unconfirmed batches.
   * Ticks of one beat never overlap. Tests call this with their own `now` instead of start().
   */
  tick(now?: Date | number): Promise<TickResult> {
    return this.chainTick(() => (now === undefined ? this.clock.now() : new Date(now).getTime()), 0, Infinity);
  }

  private async startUp(): Promise<void> {
    // Closers of what this start built, run in reverse if a later step fails.
    const built: (() => Promise<void>)[] = [];
    try {
      const { rt, ticker } = await this.ensureCore();
      const startedAtMs = this.clock.now();
      if (this.opts.syncSchedule) {
        const synced = await syncBeatSchedule(
          (fn) => rt.db.transaction(fn),
          this.schema,
          this.app.config.beatSchedule,
          builtinEntries(this.app),
        );
        if (synced.upserted || synced.disabled.length)
          this.log('info', 'beat schedule synced from code', { entries: synced.upserted, disabled: synced.disabled });
      }
      await rt.db.run(this.sql.unpark);
      if (this.app.config.tables === 'django') {
        const mirror = this.djangoMirror(rt);
        await mirror.poll();
        // With the opt-in trigger a change NOTIFYs and wakes a listening beat, whose every tick
        // reads the marker; without it, a timer reads the marker every DJANGO_POLL_MS.
        const notified = this.opts.listen && (await rt.db.transaction((q) => hasDjangoTrigger(q, this.schema)));
        if (!notified) {
          this.mirrorTimer = setInterval(() => {
            mirror.poll().then(
              (changed) => changed && this.wake(),
              (err) => this.fail('reading django-celery-beat tables failed; retrying', err),
            );
          }, DJANGO_POLL_MS);
          this.mirrorTimer.unref();
          built.push(async () => clearInterval(this.mirrorTimer));
        }
        this.log(
          'info',
          notified
            ? "beat hears of changes in Django's tables by their NOTIFY trigger"
            : `beat reads Django's periodic_tasks.last_update every ${DJANGO_POLL_MS} ms`,
        );
      }
      const listener = this.opts.listen ? this.listen(rt) : undefined;
      if (listener) {
        built.push(() => listener.stop()); // before start(): a failed first attempt leaves a retry timer
        await listener.start();
      }
      const heartbeat = new Heartbeat(rt, startedAtMs, () => this.listening);
      built.push(() => heartbeat.stop());
      await heartbeat.start();
      this.state = 'running';
      this.runningParts = { listener, heartbeat, loopDone: this.loop(ticker) };
    } catch (err) {
      this.state = 'stopped';
      for (const close of built.reverse()) await close().catch(() => {});
      await this.release();
      throw err;
    }
    this.log('info', 'beat started', { beat: this.name, listening: this.listening });
    if (this.app.signals.has('beatInit')) this.app.signals.emit('beatInit', { name: this.name });
    this.emit('started');
  }

  private listen(rt: BeatRuntime): ChangeListener {
    const listener = new ChangeListener(() => rt.db.newListenClient(), this.schema);
    this.listener = listener;
    listener.on('change', () => this.wake());
    listener.on('state', (up) => {
      // stop() closes the session on purpose: polling is not what happens next.
      if (this.state === 'stopping' || this.state === 'stopped') return void this.emit('listening', up);
      this.log(
        up ? 'info' : 'warn',
        up ? 'beat is listening for schedule changes' : `beat polls for changes every ${this.opts.pollIntervalMs} ms`,
      );
      this.emit('listening', up);
      this.wake();
    });
    listener.on('error', (err) => this.fail('LISTEN session lost', err));
    return listener;
  }

  private async shutDown(): Promise<void> {
    // A stop() during start() lets it finish (or fail and clean up after itself) first.
    await this.starting?.catch(() => {});
    const wasRunning = this.state === 'running';
    const parts = this.runningParts;
    this.runningParts = undefined;
    this.state = 'stopping';
    clearInterval(this.mirrorTimer);
    const heartbeatStopped = parts?.heartbeat.stop();
    this.wake();
    await parts?.loopDone;
    await this.tickChain;
    const core = await this.core?.catch(() => undefined);
    // Runs claimed ahead are ours to send: wait for their instants (at most claimAheadMs).
    await core?.outbox.stop();
    await heartbeatStopped;
    await parts?.listener?.stop();
    if (parts) await parts.heartbeat.remove().catch(() => {});
    await this.release();
    this.state = 'stopped';
    if (wasRunning) {
      this.log('info', 'beat stopped', { beat: this.name });
      this.emit('stopped');
    }
  }

  private chainTick(now: () => number, aheadMs: number, replanBudgetMs: number): Promise<TickResult> {
    const run = this.tickChain.then(async () => {
      if (this.state === 'stopped') throw new CeleriacError(`Beat ${this.name} is stopped; create a new Beat.`);
      const nowMs = now();
      const { rt, ticker } = await this.ensureCore();
      const mirror = this.app.config.tables === 'django' ? this.djangoMirror(rt) : undefined;
      await mirror?.poll();
      const result = await ticker.run(nowMs, aheadMs, replanBudgetMs);
      await mirror?.writeBack();
      return result;
    });
    this.tickChain = run.catch(() => {});
    return run;
  }

  /** `ticker` is the core's: built before the loop starts, released only after it returns. */
  private async loop(ticker: Ticker): Promise<void> {
    let idleRounds = 0;
    let failures = 0;
    while (this.state === 'running') {
      this.wakeRequested = false;
      let wakeAt: number;
      try {
        const startedAt = this.clock.now();
        const aheadMs = this.opts.claimAheadMs;
        const r = await this.chainTick(() => this.clock.now(), aheadMs, REPLAN_BUDGET_MS);
        failures = 0;
        this.postgres.ok();
        idleRounds =
          r.sent + r.scheduled + r.skipped + r.replanned + r.recovered + r.rowErrors > 0 ? 0 : idleRounds + 1;
        wakeAt = r.nextWakeAt ? r.nextWakeAt.getTime() : Infinity;
        // Having claimed ahead, claim again after half the window rather than for every next
        // slot: at 100,000 tasks a minute that is two claims a second, each run still claimed
        // at least half the window before its slot. Rows waiting to be planned do not wait.
        if (r.scheduled > 0 && !ticker.rowsToPlan) wakeAt = Math.max(wakeAt, startedAt + aheadMs / 2);
      } catch (err) {
        failures++;
        this.fail('beat tick failed; retrying', err);
        wakeAt = this.clock.now() + Math.min(100 * 2 ** failures, 5000);
      }
      if (this.state !== 'running') break;
      const cap = this.listening ? this.opts.maxSleepMs : this.opts.pollIntervalMs;
      let delayMs = Math.min(wakeAt - this.clock.now(), cap);
      // Due but not claimable (locked by a long transaction, or another beat mid-claim): back
      // off briefly instead of spinning on it.
      if (delayMs <= 0 && idleRounds > 0)
        delayMs = Math.min(10 * 2 ** Math.min(idleRounds, 7), this.opts.pollIntervalMs);
      if (delayMs > 0 && !this.wakeRequested) await this.sleep(delayMs);
    }
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.wakeUp = undefined;
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.wakeUp = done;
    });
  }

  private djangoMirror(rt: BeatRuntime): DjangoScheduleMirror {
    this.mirror ??= new DjangoScheduleMirror(
      (fn) => rt.db.transaction(fn),
      this.schema,
      this.app.config.timezone,
      (level, message, fields) => this.log(level, message, fields),
      builtinEntries(this.app).map((e) => e.name),
    );
    return this.mirror;
  }

  /** The connections and the parts, built once; a failed build is forgotten so the next call retries. */
  private ensureCore(): Promise<Core> {
    this.core ??= this.openCore();
    this.core.catch(() => (this.core = undefined));
    return this.core;
  }

  private async openCore(): Promise<Core> {
    const db = BeatDb.open(await this.app.dataSource(), this.name);
    try {
      await db.run(this.sql.probe);
    } catch (err) {
      await db.close();
      if (/does not exist/.test((err as Error).message)) throw new BeatNotMigratedError(this.schema, { cause: err });
      throw err;
    }
    const viaBroker = brokerBatchSender(() => this.app.broker());
    // A send Redis answered ends a Redis outage this beat logged.
    const sender: BatchSender = {
      sendOnce: async (batchId, runs, markerTtlMs) => {
        const delivered = await viaBroker.sendOnce(batchId, runs, markerTtlMs);
        this.redis.ok();
        return delivered;
      },
      close: () => viaBroker.close(),
    };
    const rt: BeatRuntime = {
      name: this.name,
      schema: this.schema,
      opts: this.opts,
      clock: this.opts.clock,
      db,
      sender,
      sql: this.sql,
      host: this.host,
      events: this,
      log: (level, message, fields) => this.log(level, message, fields),
      fail: (message, err) => this.fail(message, err),
      faultPoint: (point, batchId) => reachFaultPoint(this, point, batchId),
    };
    const planner = new Planner(rt);
    const outbox = new Outbox(rt);
    return { rt, outbox, ticker: new Ticker(rt, planner, outbox) };
  }

  /** Closes the connections the core opened, if it was built. */
  private async release(): Promise<void> {
    const pending = this.core;
    this.core = undefined;
    const core = await pending?.catch(() => undefined);
    if (!core) return;
    await core.rt.sender.close();
    await core.rt.db.close();
  }

  /**
   * Postgres or Redis being away is one outage each, logged when it starts and when it ends (the
   * next tick, or send, that succeeds), not one error line per failed tick, heartbeat, LISTEN
   * attempt or send meanwhile.
   */
  private fail(message: string, err: unknown): void {
    const cause = err instanceof Error ? err : new Error(String(err));
    if (cause instanceof BrokerUnavailableError) this.redis.failed(cause);
    else if (classifyDbError(cause) === 'transient') this.postgres.failed(cause);
    else this.log('error', message, { error: cause.message });
    if (this.listenerCount('error') > 0)
      this.emit('error', new CeleriacError(`${message}: ${cause.message}`, { cause }));
  }

  private log(level: LogLevel, message: string, fields: Record<string, unknown> = {}): void {
    this.app.logger.log(level, message, { beat: this.name, ...fields });
  }
}
