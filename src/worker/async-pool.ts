import { SoftTimeLimitExceededError, TimeLimitExceededError } from '../errors';
import type { TaskMiddleware } from '../plugin/middleware-chain';
import { runTask, type OutcomeSink, type RunHooks } from './execute';
import { LazyAbort } from './lazy-abort';
import { serializeError, type Outcome } from './outcome';
import type { Job, Pool, PoolHooks } from './pool';

/**
 * Many tasks at once on the worker's event loop: right for I/O-bound work. A hard time limit
 * cannot stop a promise, so it settles the task as failed, frees the slot and aborts the signal;
 * whatever the body does afterwards is ignored. CPU-bound work belongs in the threads pool.
 */
export class AsyncPool implements Pool {
  readonly kind = 'async';
  constructor(
    /** @internal Read by its runs. */
    readonly hooks: PoolHooks,
  ) {}

  run(job: Job): Promise<Outcome> {
    return new Promise((resolve) => this.runThen(job, (_job, outcome) => resolve(outcome)));
  }

  /**
   * run() with a callback, called once with the job and its outcome: the worker's per-task path,
   * sparing the promise run() wraps it in and the worker's then() on it (issue 21). The outcome
   * always comes a microtask or more later, as run()'s promise would bring it, so neither a body
   * that returns at once nor abort() re-enters the caller (the worker's dispatch loop).
   */
  runThen(job: Job, done: (job: Job, outcome: Outcome) => void): void {
    const { msg, task } = job;
    const run = new AsyncRun(job, this, done);
    const soft = job.softTimeLimit ?? msg.softTimeLimit ?? task.options.softTimeLimit;
    const hard = job.timeLimit ?? msg.timeLimit ?? task.options.timeLimit;
    if (soft) run.softTimer = setTimeout(() => run.abort.abort(new SoftTimeLimitExceededError(soft)), soft * 1000);
    if (hard) {
      run.hardTimer = setTimeout(() => {
        const err = new TimeLimitExceededError(hard);
        run.abort.abort(err);
        run.settle({ kind: 'failure', exc: serializeError(err), runtimeMs: performance.now() - run.started });
      }, hard * 1000);
    }
    job.running = run;
    try {
      runTask(task, msg, run, run);
    } catch (err) {
      run.settle({ kind: 'failure', exc: serializeError(err), runtimeMs: performance.now() - run.started });
    }
  }

  /**
   * Runs whose body returned in runTask's own call, told to their callers in one microtask for
   * all of them (in the order they ended) rather than one promise and reaction each.
   */
  later(run: AsyncRun): void {
    if (this.endedNow.push(run) === 1) queueMicrotask(this.tellEnded);
  }

  private readonly endedNow: AsyncRun[] = [];
  private readonly tellEnded = () => {
    // A run told here may start the next task, whose body may end at once and join this list.
    let i = 0;
    try {
      for (; i < this.endedNow.length; i++) this.endedNow[i].tell();
      this.endedNow.length = 0;
    } finally {
      // Only when a caller threw: the runs after it are still told.
      if (this.endedNow.length > 0) {
        this.endedNow.splice(0, i + 1);
        if (this.endedNow.length > 0) queueMicrotask(this.tellEnded);
      }
    }
  };

  abort(job: Job, outcome: Outcome): void {
    const run = job.running;
    if (!(run instanceof AsyncRun)) return;
    run.abort.abort(new Error(outcome.kind === 'revoked' ? outcome.reason : 'aborted'));
    run.settle(outcome);
  }

  async close(): Promise<void> {}
}

/**
 * One task on the async pool: the hooks its context is given, its abort, its timers, its
 * settling and the sink its outcome comes to, in one object. They were a hooks literal, an
 * updateState closure, a settle closure with its scope and a record in a map by id (now the
 * job's `running` field, which abort() reads): ~250
 * bytes of garbage a task (issue 21).
 */
class AsyncRun implements RunHooks, OutcomeSink {
  readonly abort: LazyAbort;
  readonly hostname: string;
  readonly middleware: readonly TaskMiddleware[];
  readonly started = performance.now();
  softTimer: NodeJS.Timeout | undefined = undefined;
  hardTimer: NodeJS.Timeout | undefined = undefined;
  private settled = false;
  private outcome: Outcome | undefined = undefined;

  constructor(
    private readonly job: Job,
    private readonly pool: AsyncPool,
    private readonly done: (job: Job, outcome: Outcome) => void,
  ) {
    const hooks = pool.hooks;
    this.abort = new LazyAbort(job.msg, hooks.abortListenerThrew);
    this.hostname = hooks.hostname;
    this.middleware = hooks.middleware;
  }

  updateState(state: string, meta: Record<string, unknown> | undefined): Promise<void> {
    return this.pool.hooks.updateState(this.job, state, meta);
  }

  /** The body ended (runTask): `sync`, before runTask returned, so it is told a microtask later. */
  ended(outcome: Outcome, sync: boolean): void {
    this.settle(outcome, !sync);
  }

  /**
   * Called once per task however it ends; `own`: from the task's own promise, told at once; else
   * (a time limit, an abort, a body that returned at once) a microtask later.
   */
  settle(outcome: Outcome, own?: boolean): void {
    if (this.settled) return;
    this.settled = true;
    if (this.softTimer) clearTimeout(this.softTimer);
    if (this.hardTimer) clearTimeout(this.hardTimer);
    this.job.running = undefined;
    this.outcome = outcome;
    if (own) this.tell();
    else this.pool.later(this);
  }

  tell(): void {
    const outcome = this.outcome!;
    this.outcome = undefined;
    this.done(this.job, outcome);
  }
}
