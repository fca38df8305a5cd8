import { serveTasks } from './child-runner';
import type { FromChild, ToChild } from './child-pool';

/** The entry of each child process of the processes pool (process-pool.ts); argv: app module, hostname. */
const [appModule, hostname] = process.argv.slice(2);
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
