import { assertJsonSafe, type TaskMessage } from '../broker/message';
import { RetryRequest } from '../errors';
import { assertSettableState } from '../results/state-rules';
import { InvalidStateError } from '../results/states';
import type { TaskContext, RetryOptions } from '../plugin/context';
import type { RegisteredTask } from '../plugin/registry';
import { serializeError, type Outcome } from './outcome';
import { compose, type TaskMiddleware } from '../plugin/middleware-chain';
import type { LazyAbort } from './lazy-abort';

export interface RunHooks {
  hostname: string;
  middleware?: readonly TaskMiddleware[];
  abort: LazyAbort;
  /** Record a state the task set (PROGRESS, STARTED or a custom one), already checked. */
  updateState(state: string, meta: Record<string, unknown> | undefined): Promise<void>;
}

/**
 * Runs one task body and classifies how it ended. Shared by the async pool (in the worker's
 * thread) and the threads pool (inside each worker thread), so both behave the same.
 */
export async function executeTask(task: RegisteredTask, msg: TaskMessage, hooks: RunHooks): Promise<Outcome> {
  const started = performance.now();
  const ctx: TaskContext = {
    id: msg.id,
    name: msg.task,
    retries: msg.retries,
    args: msg.args,
    kwargs: msg.kwargs,
    hostname: hooks.hostname,
    queue: msg.queue,
    parentId: msg.parentId,
    rootId: msg.rootId,
    groupId: msg.groupId,
    headers: msg.headers,
    scheduledAt: scheduledAt(msg.headers.scheduled_at),
    get signal() {
      return hooks.abort.signal;
    },
    retry(options: RetryOptions = {}): never {
      const countdownMs =
        options.countdown !== undefined
          ? options.countdown * 1000
          : options.eta
            ? Math.max(0, options.eta.getTime() - Date.now())
            : -1;
      const req = new RetryRequest(countdownMs, options.exc);
      (req as any).maxRetries = options.maxRetries;
      throw req;
    },
    progress: async (done, total, meta) => {
      // Checked here, in the task's own call, so the task hears of a meta its row cannot hold.
      if (meta !== undefined) assertJsonSafe(meta, 'progress meta', true);
      return hooks.updateState('PROGRESS', { done, total: total ?? null, ...meta });
    },
    updateState: async (state, meta) => {
      assertSettableState(state);
      if (meta !== undefined && (meta === null || typeof meta !== 'object' || Array.isArray(meta)))
        throw new InvalidStateError(
          `updateState('${state}', meta): meta must be a plain object like { done: 3 }, got ${Array.isArray(meta) ? 'an array' : meta === null ? 'null' : typeof meta}.`,
        );
      if (meta !== undefined) assertJsonSafe(meta, `the meta of state ${state}`, true);
      return hooks.updateState(state, meta);
    },
    locals: {},
  };
  try {
    const body = async () => task.run(ctx, msg.args, msg.kwargs);
    const value = hooks.middleware?.length ? await compose(hooks.middleware, ctx, body) : await body();
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

/** The scheduled_at header beat sets (an ISO instant); anything else, from another sender, is no slot. */
function scheduledAt(header: unknown): Date | null {
  if (typeof header !== 'string') return null;
  const at = new Date(header);
  return Number.isNaN(at.getTime()) ? null : at;
}

/** Dates and other JSON-able values become what the reader will get back from the table. */
function toJson(value: unknown): unknown {
  if (value === null || typeof value !== 'object') return value;
  return JSON.parse(JSON.stringify(value));
}
