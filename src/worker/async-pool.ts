import { SoftTimeLimitExceededError, TimeLimitExceededError } from '../errors';
import { executeTask } from './execute';
import { LazyAbort } from './lazy-abort';
import { serializeError, type Outcome } from './outcome';
import type { Job, Pool, PoolHooks } from './pool';

interface Running {
  controller: LazyAbort;
  settle(outcome: Outcome): void;
}

/**
 * Many tasks at once on the worker's event loop: right for I/O-bound work. A hard time limit
 * cannot stop a promise, so it settles the task as failed, frees the slot and aborts the signal;
 * whatever the body does afterwards is ignored. CPU-bound work belongs in the threads pool.
 */
export class AsyncPool implements Pool {
  readonly kind = 'async';
  private readonly running = new Map<string, Running>();

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
    const controller = new LazyAbort();
    const started = performance.now();
    // Two slots, not a list: most tasks have no limit, and an empty list a task was garbage.
    let softTimer: NodeJS.Timeout | undefined;
    let hardTimer: NodeJS.Timeout | undefined;
    let settled = false;
    const settle = (outcome: Outcome, own?: boolean) => {
      if (settled) return;
      settled = true;
      if (softTimer) clearTimeout(softTimer);
      if (hardTimer) clearTimeout(hardTimer);
      this.running.delete(msg.id);
      if (own) done(outcome);
      else queueMicrotask(() => done(outcome));
    };
    const soft = job.softTimeLimit ?? msg.softTimeLimit ?? task.options.softTimeLimit;
    const hard = job.timeLimit ?? msg.timeLimit ?? task.options.timeLimit;
    if (soft) softTimer = setTimeout(() => controller.abort(new SoftTimeLimitExceededError(soft)), soft * 1000);
    if (hard) {
      hardTimer = setTimeout(() => {
        const err = new TimeLimitExceededError(hard);
        controller.abort(err);
        settle({ kind: 'failure', exc: serializeError(err), runtimeMs: performance.now() - started });
      }, hard * 1000);
    }
    this.running.set(msg.id, { controller, settle });
    executeTask(task, msg, {
      hostname: this.hooks.hostname,
      middleware: this.hooks.middleware,
      abort: controller,
      updateState: (state, meta) => this.hooks.updateState(job, state, meta),
    }).then(
      (outcome) => settle(outcome, true),
      (err) => settle({ kind: 'failure', exc: serializeError(err), runtimeMs: performance.now() - started }, true),
    );
  }

  abort(taskId: string, outcome: Outcome): void {
    const running = this.running.get(taskId);
    if (!running) return;
    running.controller.abort(new Error(outcome.kind === 'revoked' ? outcome.reason : 'aborted'));
    running.settle(outcome);
  }

  async close(): Promise<void> {}
}
