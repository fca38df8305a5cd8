import { assertJsonSafe, type TaskMessage } from '../broker/message';
import { RetryRequest } from '../errors';
import type { RegisteredTask } from '../plugin/registry';
import { serializeError, type Outcome } from './outcome';
import { compose } from '../plugin/middleware-chain';
import { RunContext, type RunHooks } from './task-context';

export type { RunHooks };

/**
 * Runs one task body and classifies how it ended. Shared by the async pool (in the worker's
 * thread) and the threads pool (inside each worker thread), so both behave the same.
 */
export async function executeTask(task: RegisteredTask, msg: TaskMessage, hooks: RunHooks): Promise<Outcome> {
  const started = performance.now();
  const ctx = new RunContext(msg, hooks);
  try {
    // The body's closure only when middleware wraps it: most workers have none.
    const returned = hooks.middleware?.length
      ? compose(hooks.middleware, ctx, async () => task.run(ctx, msg.args, msg.kwargs))
      : task.run(ctx, msg.args, msg.kwargs);
    // A body that returns a plain value (most do) is not awaited: awaiting it cost a promise, a
    // reaction and a suspension of this function per task (issue 21). Its outcome still reaches
    // the pool a microtask later, through this function's own promise.
    const value = isThenable(returned) ? await returned : returned;
    const result = value === undefined ? null : value;
    assertJsonSafe(result, 'the return value', true);
    return { kind: 'success', result: toJson(result), runtimeMs: performance.now() - started };
  } catch (err) {
    const runtimeMs = performance.now() - started;
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
