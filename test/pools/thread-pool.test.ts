import { join } from 'node:path';
import type { Celeriac } from '../../src';
import { cleanup, makeApp } from '../helpers';
import { exited, ready, spawnWorker } from '../worker/child';

/**
 * The threads pool, in a real worker process started by the CLI, with the heap flags
 * `celeriac worker` sets at run time (src/worker/heap-flags.ts).
 */

const APP = join(__dirname, '../fixtures/pools/app.ts');
let app: Celeriac;
const workers: ReturnType<typeof spawnWorker>[] = [];

beforeAll(async () => {
  app = await makeApp('thread_pool', { apps: [join(__dirname, '../fixtures/pools/jobs')] });
});

afterAll(async () => {
  for (const w of workers) if (w.exitCode === null && w.signalCode === null) w.kill('SIGTERM');
  await Promise.all(workers.map((w) => exited(w)));
  if (app) await cleanup(app);
});

test('a thread keeps the young generation the worker set: 1 MiB semi-spaces while it loads the package', async () => {
  // Making a thread's heap puts V8's process-wide growth factor back to 2 (V8 raises a factor
  // below 2 when it configures a heap), so without the thread setting it again the thread's
  // young generation grows to 16 MiB semi-spaces while it loads the app, and the worker's too.
  const w = spawnWorker(app, ['-Q', 'tp', '--pool', 'threads', '-c', '1', '-n', 'tp@pools'], {}, APP);
  workers.push(w);
  await ready(w, 40_000);
  const heap = (await (await app.sendTask('pools.heap', [], {}, { queue: 'tp' })).get({ timeout: 30 })) as {
    newSpaceBytes: number;
  };
  expect(heap.newSpaceBytes).toBeLessThanOrEqual(2 * 1024 * 1024);
});
