import { setFlagsFromString } from 'node:v8';
import { serveTasks } from './child-runner';
import type { FromChild, ToChild } from './child-pool';

/**
 * The entry of each child process of the processes pool (process-pool.ts); argv: app module,
 * hostname, the V8 heap flags its worker set at run time (space-separated; src/worker/heap-flags.ts).
 */
const [appModule, hostname, heapFlags] = process.argv.slice(2);
// Before the app loads the package, which is what grows the young generation.
for (const flag of (heapFlags ?? '').split(' ').filter(Boolean)) setFlagsFromString(flag);
const handle = serveTasks({
  appModule,
  hostname,
  send: (m: FromChild) => void (process.connected && process.send!(m)),
  // Resident memory, as Celery's max-memory-per-child measures a prefork child.
  memory: () => process.memoryUsage.rss(),
});
process.on('message', (m: ToChild) => void handle(m));
// The worker is gone (killed, crashed): a child must not outlive it holding nothing to report to.
process.on('disconnect', () => process.exit(0));
