import { isoDate } from '../broker/headers';
import type { Signature as WireSignature } from '../broker/message';
import { currentApp } from '../plugin/current-app';
import type { Runtime } from '../runtime/runtime';
import type { ApplyOptions } from '../plugin/options';
import type { AsyncResult } from '../results/async-result';
import type { GroupResult } from '../results/async-result';
import { sendCanvas } from './send';

/**
 * Anything that can be sent as a work-flow step: a signature, a chain, a group, a chord. `H` is
 * what sending it resolves to: an AsyncResult, or a GroupResult for a group.
 */
export abstract class Canvas<H = AsyncResult> {
  /** @internal Only carries the result handle's type. */
  declare readonly __handle?: H;

  /** Celery's wire form (a signature dict), as it travels inside messages. */
  abstract toJSON(): WireSignature;

  /**
   * Send it. `args` come before each first task's partial arguments (a chain's first step, every
   * member of a group or chord header); `options` apply to the messages sent now. Resolves to
   * the result handle, known before anything runs.
   */
  applyAsync(args: unknown[] = [], kwargs: Record<string, unknown> = {}, options: ApplyOptions = {}): Promise<H> {
    return sendCanvas(currentApp<Runtime>(), this.toJSON(), args, kwargs, options) as Promise<H>;
  }

  delay(...args: unknown[]): Promise<H> {
    return this.applyAsync(args);
  }

  /**
   * Run it in this process now, as Celery's `apply()`: every task of the work-flow, with its
   * callbacks and errbacks, before this resolves; the handle reads the run's memory (EagerResult).
   * `throw` (default: the app's eagerPropagates) throws the first failed task's own error.
   */
  apply(
    args: unknown[] = [],
    kwargs: Record<string, unknown> = {},
    options: ApplyOptions & { throw?: boolean } = {},
  ): Promise<H> {
    const { throw: propagate, taskId, ...rest } = options;
    const wire = taskId ? { ...this.toJSON(), options: { ...this.toJSON().options, task_id: taskId } } : this.toJSON();
    return sendCanvas(currentApp<Runtime>(), wire, args, kwargs, rest, { throw: propagate }) as Promise<H>;
  }
}

/** A canvas node of any kind, with any result. */
export type AnyCanvas = Canvas<any>;

/** What sending a canvas node resolves to. */
export type HandleOf<C> = C extends Canvas<infer H> ? H : never;

/** The value one result of a node contributes to a group or chord header: groups unroll into it. */
export type ValueOf<C> =
  HandleOf<C> extends GroupResult<infer R> ? R : HandleOf<C> extends AsyncResult<infer R> ? R : unknown;

export interface SignatureOptions extends ApplyOptions {
  /** Run with this task's result as first argument when it succeeds (Celery's link). */
  link?: AnyCanvas[];
  /** Run with this task's id as first argument when it fails (Celery's link_error). */
  linkError?: AnyCanvas[];
}

/**
 * A task call that has not happened yet (Celery's signature): name, partial arguments, options.
 * Arguments given when it is applied (or the previous result, in a chain) come *before* the
 * partial ones, as in Celery; an immutable signature (`.si()`) ignores them. `A` is what is
 * still to be given, for `delay(...)`.
 */
export class Signature<R = unknown, A extends unknown[] = unknown[]> extends Canvas<AsyncResult<R>> {
  constructor(
    readonly task: string,
    readonly args: unknown[] = [],
    readonly kwargs: Record<string, unknown> = {},
    readonly options: SignatureOptions = {},
    readonly immutable = false,
  ) {
    super();
  }

  set(options: SignatureOptions): Signature<R, A> {
    return new Signature<R, A>(this.task, this.args, this.kwargs, { ...this.options, ...options }, this.immutable);
  }

  link(callback: AnyCanvas): Signature<R, A> {
    return this.set({ link: [...(this.options.link ?? []), callback] });
  }

  linkError(errback: AnyCanvas): Signature<R, A> {
    return this.set({ linkError: [...(this.options.linkError ?? []), errback] });
  }

  get id(): string | undefined {
    return this.options.taskId;
  }

  override delay(...args: A): Promise<AsyncResult<R>> {
    return this.applyAsync(args);
  }

  override applyAsync(
    args: unknown[] = [],
    kwargs: Record<string, unknown> = {},
    options: ApplyOptions = {},
  ): Promise<AsyncResult<R>> {
    const { taskId, ...rest } = options;
    const wire = (taskId ? this.set({ taskId }) : this).toJSON();
    return sendCanvas(currentApp<Runtime>(), wire, args, kwargs, rest) as Promise<AsyncResult<R>>;
  }

  /** Celery's wire form of a signature, as it travels inside messages. */
  toJSON(): WireSignature {
    const o = this.options;
    const options: Record<string, unknown> = {};
    if (o.taskId) options.task_id = o.taskId;
    if (o.queue) options.queue = o.queue;
    if (o.priority !== undefined) options.priority = o.priority;
    if (o.countdown !== undefined) options.countdown = o.countdown;
    if (o.eta) options.eta = o.eta.toISOString();
    if (o.expires !== undefined) options.expires = o.expires instanceof Date ? o.expires.toISOString() : o.expires;
    if (o.headers) options.headers = o.headers;
    if (o.timeLimit !== undefined) options.time_limit = o.timeLimit;
    if (o.softTimeLimit !== undefined) options.soft_time_limit = o.softTimeLimit;
    if (o.ignoreResult !== undefined) options.ignore_result = o.ignoreResult;
    if (o.link?.length) options.link = o.link.map((s) => s.toJSON());
    if (o.linkError?.length) options.link_error = o.linkError.map((s) => s.toJSON());
    return {
      task: this.task,
      args: this.args,
      kwargs: this.kwargs,
      options,
      subtask_type: null,
      immutable: this.immutable,
    };
  }

  /** Reads a plain signature from Celery's wire form (ours or Python's). */
  static fromJSON(w: WireSignature | Record<string, any>): Signature {
    const o = (w.options ?? {}) as Record<string, any>;
    const options: SignatureOptions = {};
    if (o.task_id) options.taskId = o.task_id;
    if (o.queue) options.queue = o.queue;
    if (typeof o.priority === 'number') options.priority = o.priority;
    if (typeof o.countdown === 'number') options.countdown = o.countdown;
    // A naive date-time (Python's isoformat) is UTC, as Celery reads it.
    if (typeof o.eta === 'string') options.eta = isoDate(o.eta);
    if (o.expires !== undefined && o.expires !== null)
      options.expires = typeof o.expires === 'string' ? isoDate(o.expires) : o.expires;
    if (o.headers) options.headers = o.headers;
    if (typeof o.time_limit === 'number') options.timeLimit = o.time_limit;
    if (typeof o.soft_time_limit === 'number') options.softTimeLimit = o.soft_time_limit;
    if (Array.isArray(o.link)) options.link = o.link.map((s: any) => Signature.fromJSON(s));
    if (Array.isArray(o.link_error)) options.linkError = o.link_error.map((s: any) => Signature.fromJSON(s));
    return new Signature(
      String(w.task),
      Array.isArray(w.args) ? w.args : [],
      w.kwargs ?? {},
      options,
      w.immutable === true,
    );
  }
}

/** `signature('billing.charge', [10], { currency: 'EUR' })`: a signature for a task defined elsewhere. */
export function signature<R = unknown>(
  task: string,
  args: unknown[] = [],
  kwargs: Record<string, unknown> = {},
  options: SignatureOptions = {},
): Signature<R> {
  return new Signature<R>(task, args, kwargs, options);
}
