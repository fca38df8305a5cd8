import { assertJsonSafe, type TaskMessage } from '../broker/message';
import { RetryRequest } from '../errors';
import type { RetryOptions, TaskContext } from '../plugin/context';
import { assertSettableState } from '../results/state-rules';
import { checkSendOptions } from '../runtime/send-options';
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

const ABORT = Symbol('celeriac.abort');

/**
 * The `ctx` a task body gets. A class, not an object literal: a literal with a getter took V8's
 * slow path (3.4–3.8 ms CPU per 1,000 runs of executeTask against ~0.3, ANALYSIS.md "Worker CPU
 * per task").
 *
 * Every member is an own enumerable property, so `{ ...ctx, extra }` handed to a helper keeps
 * progress, updateState, retry and locals, and a body may take them off (`const { progress } =
 * ctx`) or replace them (a middleware wrapping ctx.progress). progress and updateState are two
 * closures over the run's hooks and locals an empty object, all made in the constructor: ~17 ns
 * a run more than prototype getters (bench/diag/context-cost.js, 0.25 → 0.27 ms per 1,000
 * no-op runs), against ~50 µs of worker CPU a task: too little to trade the spread for.
 *
 * The exception is `signal`, a getter on the prototype: its AbortController is made on first
 * read, as most bodies never read it and one a run cost ~5 µs a task (about 20× the rest of the
 * context). So a spread has no signal (a getter is not copied); pass ctx itself, or
 * `{ ...ctx, signal: ctx.signal }`.
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
  readonly locals: Record<string, unknown> = {};
  readonly retry: TaskContext['retry'] = retry;
  progress: TaskContext['progress'];
  updateState: TaskContext['updateState'];
  /**
   * Under a symbol, so a spread's keys and JSON do not show it, yet a Proxy of ctx or
   * `Object.create(ctx)` still reaches it through `this` (a `#private` field threw there).
   */
  readonly [ABORT]: LazyAbort;

  constructor(msg: TaskMessage, hooks: RunHooks) {
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
    this[ABORT] = hooks.abort;
    this.progress = async (done, total, meta) => {
      // Checked here, in the task's own call, so the task hears of a meta its row cannot hold.
      if (meta !== undefined) assertJsonSafe(meta, 'progress meta', true);
      return hooks.updateState('PROGRESS', { done, total: total ?? null, ...meta });
    };
    this.updateState = async (state, meta) => {
      assertSettableState(state);
      if (meta !== undefined && (meta === null || typeof meta !== 'object' || Array.isArray(meta)))
        throw new InvalidStateError(
          `updateState('${state}', meta): meta must be a plain object like { done: 3 }, got ${Array.isArray(meta) ? 'an array' : meta === null ? 'null' : typeof meta}.`,
        );
      if (meta !== undefined) assertJsonSafe(meta, `the meta of state ${state}`, true);
      return hooks.updateState(state, meta);
    };
  }

  get signal(): AbortSignal {
    return this[ABORT].signal;
  }
}

/** Needs no `this`: one function for every context, which a body may take off ctx or spread. */
function retry(options: RetryOptions = {}): never {
  // The send's own checks, here in the task's call: a countdown or eta the next message cannot
  // carry threw later, in the worker's finish, which ran the body again (or parked the task).
  checkSendOptions({ countdown: options.countdown, eta: options.eta });
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

/** The scheduled_at header beat sets (an ISO instant); anything else, from another sender, is no slot. */
function scheduledAt(header: unknown): Date | null {
  if (typeof header !== 'string') return null;
  const at = new Date(header);
  return Number.isNaN(at.getTime()) ? null : at;
}
