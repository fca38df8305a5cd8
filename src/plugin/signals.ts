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
  /** A worker took the task from its queue and will run it (Celery's task_received). */
  taskReceived: [task: TaskInfo];
  taskPrerun: [task: TaskInfo];
  taskPostrun: [task: TaskInfo, state: string];
  taskSuccess: [task: TaskInfo, result: unknown];
  taskFailure: [task: TaskInfo, error: { type: string; message: string; traceback: string | null }];
  taskRetry: [task: TaskInfo, reason: string | null];
  taskRevoked: [task: TaskInfo, reason: string];
  taskUnknown: [info: { id: string; name: string; reason: string }];
  /**
   * A worker refused a message it took (Celery's task_rejected): undecodable, a bad signature, an
   * unknown task, values the table cannot hold, or one that killed too many workers. `id` and
   * `name` are null when the message is too broken to tell.
   */
  taskRejected: [info: { id: string | null; name: string | null; reason: string; state: 'REJECTED' | 'FAILURE' }];
  /** start() was called, before anything connects (Celery's worker_init). */
  workerInit: [worker: { name: string; pool: string; concurrency: number }];
  /**
   * A child of the threads or processes pool loaded the app and is about to take tasks (Celery's
   * worker_process_init): fired in that child, on the app it loaded, so per-child set-up (a database
   * pool, a tracer) connects there. Not fired by the async pool, which has no children.
   */
  workerProcessInit: [child: { hostname: string; pid: number; threadId: number }];
  workerReady: [worker: { name: string }];
  /** The worker sent a heartbeat (Celery's heartbeat_sent). */
  heartbeatSent: [worker: { name: string }];
  /** stop() began: nothing new is taken, running tasks get the grace period (Celery's worker_shutting_down). */
  workerShuttingDown: [worker: { name: string; graceMs: number }];
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
