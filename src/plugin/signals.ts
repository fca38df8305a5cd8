import type { Logger } from '../log';

/** What hooks see of a task: enough to trace, log or count it, in every pool. */
export interface TaskInfo {
  id: string;
  name: string;
  args: unknown[];
  kwargs: Record<string, unknown>;
  retries: number;
  queue: string;
  hostname: string | null;
}

/** A message about to be sent. `headers` may be changed by beforePublish (e.g. to carry a trace id). */
export interface PublishInfo {
  id: string;
  name: string;
  args: unknown[];
  kwargs: Record<string, unknown>;
  queue: string;
  headers: Record<string, unknown>;
}

/** Celery's signals (celery/signals.py), in camelCase, with typed arguments. */
export interface SignalMap {
  beforePublish: [info: PublishInfo];
  afterPublish: [info: PublishInfo];
  taskPrerun: [task: TaskInfo];
  taskPostrun: [task: TaskInfo, state: string];
  taskSuccess: [task: TaskInfo, result: unknown];
  taskFailure: [task: TaskInfo, error: { type: string; message: string; traceback: string | null }];
  taskRetry: [task: TaskInfo, reason: string | null];
  taskRevoked: [task: TaskInfo, reason: string];
  taskUnknown: [info: { id: string; name: string; reason: string }];
  workerReady: [worker: { name: string }];
  workerShutdown: [worker: { name: string }];
  beatInit: [beat: { name: string }];
}

export type SignalName = keyof SignalMap;
type Handler<K extends SignalName> = (...args: SignalMap[K]) => unknown;

/**
 * Hooks an app subscribes to. A handler that throws (or rejects) is logged and never breaks the
 * task, the publish or the worker; handlers are not awaited, so a slow one cannot stall a worker.
 */
export class Signals {
  private readonly handlers = new Map<SignalName, Set<Handler<any>>>();

  constructor(private readonly logger: () => Logger) {}

  /** Subscribe; returns the function that unsubscribes. */
  connect<K extends SignalName>(name: K, handler: Handler<K>): () => void {
    let set = this.handlers.get(name);
    if (!set) this.handlers.set(name, (set = new Set()));
    set.add(handler);
    return () => void set!.delete(handler);
  }

  has(name: SignalName): boolean {
    return (this.handlers.get(name)?.size ?? 0) > 0;
  }

  emit<K extends SignalName>(name: K, ...args: SignalMap[K]): void {
    const set = this.handlers.get(name);
    if (!set) return;
    for (const handler of set) {
      try {
        const out = handler(...args);
        if (out && typeof (out as Promise<unknown>).catch === 'function')
          (out as Promise<unknown>).catch((err) => this.report(name, err));
      } catch (err) {
        this.report(name, err);
      }
    }
  }

  private report(name: string, err: unknown): void {
    this.logger().log('error', `a ${name} handler threw; ignored`, {
      error: err instanceof Error ? err.message : String(err),
    });
  }
}
