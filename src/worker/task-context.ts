import { assertJsonSafe, type TaskMessage } from '../broker/message';
import { RetryRequest } from '../errors';
import type { RetryOptions, TaskContext } from '../plugin/context';
import { assertSettableState } from '../results/state-rules';
import { InvalidStateError } from '../results/states';
import type { TaskMiddleware } from '../plugin/middleware-chain';
import type { LazyAbort } from './lazy-abort';

/** What the pool that runs a task hands its context (and executeTask). */
export interface RunHooks {
  hostname: string;
  middleware?: readonly TaskMiddleware[];
  abort: LazyAbort;
  /** Record a state the task set (PROGRESS, STARTED or a custom one), already checked. */
  updateState(state: string, meta: Record<string, unknown> | undefined): Promise<void>;
}

/**
 * The `ctx` a task body gets. A class, so that one run costs one object: its methods live on the
 * prototype and `locals` is made when first read, where an object literal made four closures and a
 * `locals` object per task (the W1 drain runs tens of thousands a second, and most bodies use
 * none of them). `progress` and `updateState` read `this`, so a body that takes them off the
 * context (`const { progress } = ctx`) gets a bound copy, made on that first read.
 */
export class RunContext implements TaskContext {
  readonly id: string;
  readonly name: string;
  readonly retries: number;
  readonly args: unknown[];
  readonly kwargs: Record<string, unknown>;
  readonly hostname: string;
  readonly queue: string;
  readonly parentId: string | null;
  readonly rootId: string;
  readonly groupId: string | null;
  readonly headers: Record<string, unknown>;
  readonly scheduledAt: Date | null;
  private ownLocals: Record<string, unknown> | undefined;

  constructor(
    msg: TaskMessage,
    private readonly hooks: RunHooks,
  ) {
    this.id = msg.id;
    this.name = msg.task;
    this.retries = msg.retries;
    this.args = msg.args;
    this.kwargs = msg.kwargs;
    this.hostname = hooks.hostname;
    this.queue = msg.queue;
    this.parentId = msg.parentId;
    this.rootId = msg.rootId;
    this.groupId = msg.groupId;
    this.headers = msg.headers;
    this.scheduledAt = scheduledAt(msg.headers.scheduled_at);
  }

  get signal(): AbortSignal {
    return this.hooks.abort.signal;
  }

  get locals(): Record<string, unknown> {
    return (this.ownLocals ??= {});
  }

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
  }

  get progress(): TaskContext['progress'] {
    return own(this, 'progress', async (done, total, meta) => {
      // Checked here, in the task's own call, so the task hears of a meta its row cannot hold.
      if (meta !== undefined) assertJsonSafe(meta, 'progress meta', true);
      return this.hooks.updateState('PROGRESS', { done, total: total ?? null, ...meta });
    });
  }

  /** A middleware or body may replace it, as on the object literal the context was. */
  set progress(fn: TaskContext['progress']) {
    own(this, 'progress', fn);
  }

  set updateState(fn: TaskContext['updateState']) {
    own(this, 'updateState', fn);
  }

  get updateState(): TaskContext['updateState'] {
    return own(this, 'updateState', async (state, meta) => {
      assertSettableState(state);
      if (meta !== undefined && (meta === null || typeof meta !== 'object' || Array.isArray(meta)))
        throw new InvalidStateError(
          `updateState('${state}', meta): meta must be a plain object like { done: 3 }, got ${Array.isArray(meta) ? 'an array' : meta === null ? 'null' : typeof meta}.`,
        );
      if (meta !== undefined) assertJsonSafe(meta, `the meta of state ${state}`, true);
      return this.hooks.updateState(state, meta);
    });
  }
}

/** Keeps `fn` on the instance under `key`, so later reads (and calls taken off the context) reuse it. */
function own<T>(ctx: RunContext, key: 'progress' | 'updateState', fn: T): T {
  // Writable: a middleware wrapping ctx.progress after a first read must not hit a TypeError.
  Object.defineProperty(ctx, key, { value: fn, enumerable: false, writable: true, configurable: true });
  return fn;
}

/** The scheduled_at header beat sets (an ISO instant); anything else, from another sender, is no slot. */
function scheduledAt(header: unknown): Date | null {
  if (typeof header !== 'string') return null;
  const at = new Date(header);
  return Number.isNaN(at.getTime()) ? null : at;
}
