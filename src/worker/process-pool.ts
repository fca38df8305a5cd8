import { extname, join, resolve } from 'node:path';
import { packageFile } from '../package-files';
import { appliedWorkerHeapFlags } from './heap-flags';
import { ChildPool, type Child, type ChildEvents, type ChildLimits } from './child-pool';
import type { PoolHooks } from './pool';

/**
 * Tasks in child processes, as Celery's prefork pool: each child is forked warm with the app
 * loaded, and what kills a process (process.abort, a native addon's segfault, an allocation past
 * the heap limit) kills one child, whose task fails with WorkerLostError while the worker and the
 * other children run on. Children inherit the worker's Node flags, so `node
 * --max-old-space-size=N` caps each child's heap; the heap flags `celeriac worker` sets at run
 * time are handed over in argv (below). max-memory-per-child reads the child's resident set after
 * each task, as Celery does. Messages and outcomes cross the IPC channel as JSON.
 */
export class ProcessPool extends ChildPool {
  constructor(appModule: string | undefined, size: number, hooks: PoolHooks, limits: ChildLimits = {}) {
    super('processes', appModule, size, hooks, limits);
  }

  protected launch(events: ChildEvents): Child {
    const entry = join(__dirname, 'process-entry' + extname(__filename));
    // Required here, so a worker on another pool does not load node:child_process at start.
    const { fork } = require('node:child_process') as typeof import('node:child_process');
    // The heap flags `celeriac worker` set at run time are not in execArgv. The child sets them
    // at run time too, before it loads the app: on node's command line V8 would raise a semi-space
    // growth factor of 1 to 2 when it makes the heap.
    const heapFlags = appliedWorkerHeapFlags().join(' ');
    const child = fork(entry, [resolve(this.appModule!), this.hooks.hostname, heapFlags], {
      // A debugger flag would have every child bind the worker's inspector port and fail to start.
      execArgv: [...process.execArgv.filter((a) => !/^--inspect/.test(a)), '--require', packageFile('bin/register.js')],
      // The child's output is the worker's: a task's console.log lands where the worker logs.
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      serialization: 'json',
    });
    child.on('message', events.message);
    // Sending to a child that just died: its 'exit' follows and fails the task.
    child.on('error', () => {});
    const exited = new Promise<void>((done) =>
      child.on('exit', (code, signal) => {
        events.exit(signal ? `signal ${signal}` : `exit code ${code}`);
        done();
      }),
    );
    // A live child does not keep the worker's event loop open: close() ends them.
    child.unref();
    child.channel?.unref();
    return {
      send: (m) => {
        if (child.connected) child.send(m);
      },
      kill: () => void child.kill('SIGKILL'),
      exited,
    };
  }
}
