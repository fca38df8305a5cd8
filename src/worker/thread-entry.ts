import { getHeapStatistics } from 'node:v8';
import { parentPort, workerData } from 'node:worker_threads';
import { serveTasks } from './child-runner';
import type { FromChild } from './child-pool';

/** The entry of each thread of the threads pool (thread-pool.ts). */
const port = parentPort!;
const handle = serveTasks({
  appModule: workerData.appModule,
  hostname: workerData.hostname,
  send: (m: FromChild) => port.postMessage(m),
  // This thread's own heap (V8 statistics are per isolate): a thread has no resident set of its own.
  memory: () => getHeapStatistics().used_heap_size,
});
port.on('message', handle);
