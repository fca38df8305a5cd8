import { getHeapStatistics } from 'node:v8';
import { parentPort, workerData } from 'node:worker_threads';
import { decodeTask } from '../broker/message';
import { registry } from '../plugin/registry';
import { TaskNotRegisteredError, SoftTimeLimitExceededError } from '../errors';
import { executeTask } from './execute';
import { LazyAbort } from './lazy-abort';
import { currentApp } from '../plugin/current-app';
import { serializeError } from './outcome';
import type { FromThread, ToThread } from './thread-pool';

/**
 * Runs inside each worker thread: loads the app module (which discovers the tasks), then runs
 * the messages the pool hands it, one at a time.
 */
const port = parentPort!;
const send = (m: FromThread) => port.postMessage(m);
const controllers = new Map<string, LazyAbort>();

try {
  require(workerData.appModule);
  send({ type: 'ready' });
} catch (err) {
  send({ type: 'fatal', message: (err as Error).message });
}

/** The task middleware of the app this thread loaded (it registered itself as the current app). */
function appMiddleware() {
  try {
    return currentApp().taskMiddleware;
  } catch {
    return [];
  }
}

port.on('message', async (m: ToThread) => {
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
  const controller = new LazyAbort();
  controllers.set(msg.id, controller);
  const outcome = await executeTask(task, msg, {
    hostname: workerData.hostname,
    middleware: appMiddleware(),
    abort: controller,
    progress: async (done, total, meta) => send({ type: 'progress', id: msg.id, done, total, meta }),
  });
  controllers.delete(msg.id);
  // This thread's own heap (V8 statistics are per isolate): the pool's max-memory-per-child reads it.
  send({ type: 'done', id: msg.id, outcome, heapUsed: getHeapStatistics().used_heap_size });
});
