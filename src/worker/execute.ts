import { assertJsonSafe, type TaskMessage } from '../broker/message';
import { RetryRequest } from '../errors';
import type { RegisteredTask } from '../plugin/registry';
import { serializeError, type Outcome } from './outcome';
import { compose } from '../plugin/middleware-chain';
import { RunContext, type RunHooks } from './task-context';

export type { RunHooks };

/** Told how one run of a task body ended, once (runTask). */
export interface OutcomeSink {
  /** `sync`: the body returned a plain value or threw in runTask's own call, before it returned. */
  ended(outcome: Outcome, sync: boolean): void;
}

/**
 * Runs one task body and classifies how it ended. Shared by the async pool (in the worker's
 * thread), the threads and processes pools' children and eager runs, so all behave the same.
 */
export function executeTask(task: RegisteredTask, msg: TaskMessage, hooks: RunHooks): Promise<Outcome> {
  return new Promise((resolve) => runTask(task, msg, hooks, { ended: resolve }));
}

/**
 * executeTask with a sink instead of a promise: the async pool's per-task path. A body that
 * returns a plain value (most do) is told to the sink before runTask returns, with `sync` set,
 * and nothing is allocated for it beyond the context and the outcome: the async function this
 * was cost its own promise, the pool's then() on it a second one, a reaction and two closures a
 * task (issue 21). A thenable is followed with one then(): fewer ticks than await + then().
 */
export function runTask(task: RegisteredTask, msg: TaskMessage, hooks: RunHooks, sink: OutcomeSink): void {
  const started = performance.now();
  const ctx = new RunContext(msg, hooks);
  let returned: unknown;
  try {
    // The body's closure only when middleware wraps it: most workers have none.
    returned = hooks.middleware?.length
      ? compose(hooks.middleware, ctx, async () => task.run(ctx, msg.args, msg.kwargs))
      : task.run(ctx, msg.args, msg.kwargs);
    if (isThenable(returned)) {
      // Promise.resolve: a foreign thenable that calls back synchronously still ends a tick later.
      Promise.resolve(returned).then(
        (value) => sink.ended(settled(task, value, started), false),
        (err) => sink.ended(thrown(task, err, started), false),
      );
      return;
    }
  } catch (err) {
    return sink.ended(thrown(task, err, started), true);
  }
  sink.ended(settled(task, returned, started), true);
}

/** A value the body returned: a success unless its row could not hold it. */
function settled(task: RegisteredTask, value: unknown, started: number): Outcome {
  try {
    const result = value === undefined ? null : value;
    assertJsonSafe(result, 'the return value', true);
    return { kind: 'success', result: toJson(result), runtimeMs: performance.now() - started };
  } catch (err) {
    return thrown(task, err, started);
  }
}

/**
 * What the body threw (or its promise rejected with): a retry it asked for or its autoretryFor
 * names, else a failure. Reading the error can throw too (a getter on it): that is the failure.
 */
function thrown(task: RegisteredTask, err: unknown, started: number): Outcome {
  const runtimeMs = performance.now() - started;
  try {
    if (err instanceof RetryRequest) {
      return {
        kind: 'retry',
        countdownMs: err.countdownMs,
        exc: err.reason === undefined ? null : serializeError(err.reason),
        auto: false,
        maxRetries: (err as any).maxRetries,
        runtimeMs,
      };
    }
    if (task.options.autoretryFor.some((cls) => err instanceof cls)) {
      return { kind: 'retry', countdownMs: -1, exc: serializeError(err), auto: true, runtimeMs };
    }
    return { kind: 'failure', exc: serializeError(err), runtimeMs };
  } catch (again) {
    return { kind: 'failure', exc: serializeError(again), runtimeMs };
  }
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return (
    value !== null &&
    (typeof value === 'object' || typeof value === 'function') &&
    typeof (value as { then?: unknown }).then === 'function'
  );
}

/** Dates and other JSON-able values become what the reader will get back from the table. */
function toJson(value: unknown): unknown {
  if (value === null || typeof value !== 'object') return value;
  return JSON.parse(JSON.stringify(value));
}
