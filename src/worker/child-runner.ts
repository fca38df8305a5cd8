import { threadId } from 'node:worker_threads';
import { decodeTask } from '../broker/message';
import { registry } from '../plugin/registry';
import { TaskNotRegisteredError, SoftTimeLimitExceededError } from '../errors';
import { executeTask } from './execute';
import { LazyAbort } from './lazy-abort';
import { thrownField } from '../contain';
import { currentApp } from '../plugin/current-app';
import type { Runtime } from '../runtime/runtime';
import { serializeError } from './outcome';
import type { FromChild, ToChild } from './child-pool';

export interface ChildSide {
  appModule: string;
  hostname: string;
  send(m: FromChild): void;
  /** What max-memory-per-child compares after each task, bytes. */
  memory(): number;
}

/**
 * Runs inside each child of a threads or processes pool: loads the app module (which discovers
 * the tasks), then runs the messages the pool hands it, one at a time. Returns the handler for
 * the pool's messages.
 */
export function serveTasks(side: ChildSide): (m: ToChild) => Promise<void> {
  const { send } = side;
  const controllers = new Map<string, LazyAbort>();
  // Sent to the worker, which logs it with its own logger: the child's process goes on.
  const abortListenerThrew = (task: string, id: string, err: unknown) =>
    send({ type: 'abort-listener-threw', id, task, error: thrownField(err).error });
  try {
    require(side.appModule);
    announce(side.hostname);
    send({ type: 'ready' });
  } catch (err) {
    send({ type: 'fatal', message: (err as Error).message });
  }
  return async (m: ToChild) => {
    if (m.type === 'soft-limit') {
      controllers.get(m.id)?.abort(new SoftTimeLimitExceededError(m.seconds));
      return;
    }
    const msg = decodeTask(m.raw);
    const task = registry.get(msg.task);
    if (!task) {
      send({
        type: 'done',
        id: msg.id,
        outcome: {
          kind: 'failure',
          exc: serializeError(new TaskNotRegisteredError(msg.task, registry.names())),
          runtimeMs: 0,
        },
      });
      return;
    }
    const controller = new LazyAbort(msg, abortListenerThrew);
    controllers.set(msg.id, controller);
    const outcome = await executeTask(task, msg, {
      hostname: side.hostname,
      middleware: appMiddleware(),
      abort: controller,
      updateState: async (state, meta) => send({ type: 'state', id: msg.id, state, meta }),
    });
    controllers.delete(msg.id);
    send({ type: 'done', id: msg.id, outcome, memory: side.memory() });
  };
}

/** The task middleware of the app this child loaded (it registered itself as the current app). */
function appMiddleware() {
  try {
    return currentApp<Runtime>().taskMiddleware;
  } catch {
    return [];
  }
}

/** Celery's worker_process_init, on the app this child loaded (handlers connected in the app module see it). */
function announce(hostname: string): void {
  let app;
  try {
    app = currentApp<Runtime>();
  } catch {
    return; // the module registered tasks without creating an app: nobody can have connected a handler
  }
  app.signals.emit('workerProcessInit', { hostname, pid: process.pid, threadId: threadId });
}
