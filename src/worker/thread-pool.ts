import { extname, join, resolve } from 'node:path';
import { packageFile } from '../package-files';
import { appliedWorkerHeapFlags, holdHeapFlagsWhileStarting } from './heap-flags';
import { ChildPool, type Child, type ChildEvents, type ChildLimits } from './child-pool';
import type { PoolHooks } from './pool';

export type ThreadLimits = ChildLimits;

/**
 * CPU-bound tasks on worker threads, so the worker's event loop keeps renewing its lease and
 * fetching. Threads share the worker's process: a task that crashes the process (a native
 * addon's fault, process.abort, an allocation past the heap limit) takes the worker with it; the
 * processes pool isolates those. max-memory-per-child reads each thread's own V8 heap.
 */
export class ThreadPool extends ChildPool {
  constructor(appModule: string | undefined, size: number, hooks: PoolHooks, limits: ThreadLimits = {}) {
    super('threads', appModule, size, hooks, limits);
  }

  protected launch(events: ChildEvents): Child {
    const entry = join(__dirname, 'thread-entry' + extname(__filename));
    const registerTs = packageFile('bin/register-ts.js');
    // V8 puts a semi-space growth factor below 2 back to 2 for the whole process when it makes a
    // heap, so each new thread would undo the flags `celeriac worker` set at run time, for itself
    // and the worker alike: the thread sets them again first, before it loads anything, and the
    // worker holds its own meanwhile (holdHeapFlagsWhileStarting).
    const heapFlags = appliedWorkerHeapFlags()
      .map((f) => `v8.setFlagsFromString(${JSON.stringify(f)});`)
      .join(' ');
    const bootstrap =
      (heapFlags ? `{ const v8 = require('node:v8'); ${heapFlags} } ` : '') +
      `require(${JSON.stringify(registerTs)}).register(); require(${JSON.stringify(entry)});`;
    // Required here, so a worker on another pool does not load node:worker_threads at start.
    const { Worker: Thread } = require('node:worker_threads') as typeof import('node:worker_threads');
    const thread = new Thread(bootstrap, {
      eval: true,
      workerData: { appModule: resolve(this.appModule!), hostname: this.hooks.hostname },
    });
    holdHeapFlagsWhileStarting(thread);
    let uncaught: Error | undefined;
    thread.on('message', events.message);
    // An uncaught error ends the thread; its exit then fails the task with what it was.
    thread.on('error', (err) => (uncaught = err));
    const exited = new Promise<void>((done) =>
      thread.on('exit', (code) => {
        events.exit(uncaught ? `uncaught ${uncaught.name}: ${uncaught.message}` : `exit code ${code}`);
        done();
      }),
    );
    thread.unref();
    return { send: (m) => thread.postMessage(m), kill: () => void thread.terminate(), exited };
  }
}
