import { SoftTimeLimitExceededError, TimeLimitExceededError } from '../errors';
import type { TaskMiddleware } from '../plugin/middleware-chain';
import { executeTask, type RunHooks } from './execute';
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
  private readonly running = new Map<string, AsyncRun>();

  constructor(private readonly hooks: PoolHooks) {}

  run(job: Job): Promise<Outcome> {
    return new Promise((resolve) => this.runThen(job, resolve));
  }

  /**
   * run() with a callback, called once with the outcome: the worker's per-task path, sparing the
   * promise run() wraps it in and the worker's then() on it (issue 21). A task that ends on its
   * own is reported from its promise's settlement; one settled from outside (a time limit, an
   * abort) a microtask later, as run()'s promise would, so abort() never re-enters its caller.
   */
  runThen(job: Job, done: (outcome: Outcome) => void): void {
    const { msg, task } = job;
    const run = new AsyncRun(job, this.hooks, this.running, done);
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
    this.running.set(msg.id, run);
    executeTask(task, msg, run).then(
      (outcome) => run.settle(outcome, true),
      (err) =>
        run.settle({ kind: 'failure', exc: serializeError(err), runtimeMs: performance.now() - run.started }, true),
    );
  }

  abort(taskId: string, outcome: Outcome): void {
    const run = this.running.get(taskId);
    if (!run) return;
    run.abort.abort(new Error(outcome.kind === 'revoked' ? outcome.reason : 'aborted'));
    run.settle(outcome);
  }

  async close(): Promise<void> {}
}

/**
 * One task on the async pool: the hooks its context is given, its abort, its timers and its
 * settling, in one object. They were a hooks literal, an updateState closure, a settle closure
 * with its scope and a record in the running map: ~250 bytes of garbage a task (issue 21).
 */
class AsyncRun implements RunHooks {
  readonly abort: LazyAbort;
  readonly hostname: string;
  readonly middleware: readonly TaskMiddleware[];
  readonly started = performance.now();
  softTimer: NodeJS.Timeout | undefined = undefined;
  hardTimer: NodeJS.Timeout | undefined = undefined;
  private settled = false;

  constructor(
    private readonly job: Job,
    private readonly hooks: PoolHooks,
    private readonly running: Map<string, AsyncRun>,
    private readonly done: (outcome: Outcome) => void,
  ) {
    this.abort = new LazyAbort(job.msg, hooks.abortListenerThrew);
    this.hostname = hooks.hostname;
    this.middleware = hooks.middleware;
  }

  updateState(state: string, meta: Record<string, unknown> | undefined): Promise<void> {
    return this.hooks.updateState(this.job, state, meta);
  }

  /** Called once per task however it ends; `own`: from the task's own promise, else a microtask later. */
  settle(outcome: Outcome, own?: boolean): void {
    if (this.settled) return;
    this.settled = true;
    if (this.softTimer) clearTimeout(this.softTimer);
    if (this.hardTimer) clearTimeout(this.hardTimer);
    this.running.delete(this.job.msg.id);
    if (own) this.done(outcome);
    else queueMicrotask(() => this.done(outcome));
  }
}
