import { randomUUID } from 'node:crypto';
import type { Signature as WireSignature } from '../broker/message';
import type { PreparedMessage } from '../celeriac';
import { currentApp } from '../plugin/current-app';
import type { ApplyOptions } from '../plugin/task';
import type { AsyncResult } from '../results/async-result';

export interface SignatureOptions extends ApplyOptions {
  /** Run with this task's result as first argument when it succeeds (Celery's link). */
  link?: Signature[];
  /** Run with this task's id as first argument when it fails (Celery's link_error). */
  linkError?: Signature[];
}

/**
 * A task call that has not happened yet (Celery's signature): name, partial arguments, options.
 * Arguments given when it is applied (or the previous result, in a chain) come *before* the
 * partial ones, as in Celery; an immutable signature (`.si()`) ignores them.
 */
export class Signature<R = unknown> {
  constructor(
    readonly task: string,
    readonly args: unknown[] = [],
    readonly kwargs: Record<string, unknown> = {},
    readonly options: SignatureOptions = {},
    readonly immutable = false,
  ) {}

  set(options: SignatureOptions): Signature<R> {
    return new Signature<R>(this.task, this.args, this.kwargs, { ...this.options, ...options }, this.immutable);
  }

  link(callback: Signature): Signature<R> {
    return this.set({ link: [...(this.options.link ?? []), callback] });
  }

  linkError(errback: Signature): Signature<R> {
    return this.set({ linkError: [...(this.options.linkError ?? []), errback] });
  }

  /** This signature with a task id fixed now, so work-flows know every id before anything runs. */
  withId(): Signature<R> {
    return this.options.taskId ? this : this.set({ taskId: randomUUID() });
  }

  get id(): string | undefined {
    return this.options.taskId;
  }

  delay(...args: unknown[]): Promise<AsyncResult<R>> {
    return this.applyAsync(args);
  }

  async applyAsync(
    args: unknown[] = [],
    kwargs: Record<string, unknown> = {},
    options: ApplyOptions = {},
  ): Promise<AsyncResult<R>> {
    const app = currentApp();
    const prepared = this.prepare(args, kwargs, options);
    await app.sendPrepared([prepared]);
    return app.asyncResult<R>(prepared.id);
  }

  /** @internal */
  prepare(
    args: unknown[] = [],
    kwargs: Record<string, unknown> = {},
    options: ApplyOptions & { embed?: Record<string, unknown> } = {},
  ): PreparedMessage {
    const { link, linkError, ...own } = this.options;
    return currentApp().prepare(
      this.task,
      this.immutable ? this.args : [...args, ...this.args],
      { ...this.kwargs, ...(this.immutable ? {} : kwargs) },
      {
        ...own,
        ...options,
        embed: {
          callbacks: link?.map((s) => s.toJSON()) ?? null,
          errbacks: linkError?.map((s) => s.toJSON()) ?? null,
          ...(options as { embed?: object }).embed,
        },
      },
    );
  }

  /** Celery's wire form of a signature, as it travels inside messages. */
  toJSON(): WireSignature {
    const o = this.options;
    const options: Record<string, unknown> = {};
    if (o.taskId) options.task_id = o.taskId;
    if (o.queue) options.queue = o.queue;
    if (o.priority !== undefined) options.priority = o.priority;
    if (o.countdown !== undefined) options.countdown = o.countdown;
    if (o.expires !== undefined) options.expires = o.expires instanceof Date ? o.expires.toISOString() : o.expires;
    if (o.headers) options.headers = o.headers;
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

  /** Reads a signature from Celery's wire form (ours or Python's). */
  static fromJSON(w: WireSignature | Record<string, any>): Signature {
    const o = (w.options ?? {}) as Record<string, any>;
    const options: SignatureOptions = {};
    if (o.task_id) options.taskId = o.task_id;
    if (o.queue) options.queue = o.queue;
    if (o.priority !== undefined && o.priority !== null) options.priority = o.priority;
    if (o.countdown !== undefined && o.countdown !== null) options.countdown = o.countdown;
    if (o.expires !== undefined && o.expires !== null)
      options.expires = typeof o.expires === 'string' ? new Date(o.expires) : o.expires;
    if (o.headers) options.headers = o.headers;
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
