import type { TaskContext } from './context';

/** Around every task run (tracing, tenancy, metrics): call `next()` to run the task; return its result. */
export type TaskMiddleware = (ctx: TaskContext, next: () => Promise<unknown>) => Promise<unknown>;

/** Around every publish: `ctx.messages` are the tasks being sent; call `next()` to send them. */
export type PublishMiddleware = (ctx: PublishContext, next: () => Promise<void>) => Promise<void>;

export interface PublishContext {
  messages: { id: string; name: string; queue: string }[];
  /** Free space for middleware to pass data along the chain. */
  locals: Record<string, unknown>;
}

/** Express-style composition: each layer decides whether and when the next one runs. */
export function compose<C, R>(
  layers: readonly ((ctx: C, next: () => Promise<R>) => Promise<R>)[],
  ctx: C,
  last: () => Promise<R>,
): Promise<R> {
  const run = (i: number): Promise<R> => (i === layers.length ? last() : layers[i](ctx, () => run(i + 1)));
  return run(0);
}
