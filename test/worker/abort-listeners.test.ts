import { join } from 'node:path';
import type { Celeriac } from '../../src';
import { hardLimited, next, softLimited, untilRevoked } from '../fixtures/abort-listeners/jobs/tasks';
import { cleanup, eventually, makeApp } from '../helpers';
import { exited, ready, spawnWorker } from './child';

/**
 * A task's own abort listeners that throw (sync, async, onabort, handleEvent) when its signal
 * aborts: Node rethrows those on process.nextTick, an uncaught exception that ended the worker
 * process (or, in the threads pool, the thread: the task then failed WorkerLostError). In a real
 * worker process, as only there does the throw end anything: each is logged, the task ends as
 * the limit or the revoke says, a removed listener stays removed, and the worker runs the next task.
 */
const APP = join(__dirname, '../fixtures/abort-listeners/app.ts');
let app: Celeriac;
const workers: ReturnType<typeof spawnWorker>[] = [];

beforeAll(async () => {
  app = await makeApp('abort_listeners', { apps: [join(__dirname, '../fixtures/abort-listeners/jobs')] });
});
afterAll(async () => {
  for (const w of workers) if (w.exitCode === null && w.signalCode === null) w.kill('SIGTERM');
  await Promise.all(workers.map((w) => exited(w)));
  if (app) await cleanup(app);
});

async function start(queue: string, pool: 'async' | 'threads'): Promise<ReturnType<typeof spawnWorker>> {
  const w = spawnWorker(app, ['-Q', queue, '--pool', pool, '-c', '1', '-n', `${queue}@abort`], {}, APP);
  workers.push(w);
  await ready(w, 40_000);
  return w;
}

/** What the worker logged for the throwing listeners of task `id`, in the order they ran. */
function reported(w: ReturnType<typeof spawnWorker>, id: string, name: string): string[] {
  const line = `task ${name}[${id}]'s abort listener threw; ignored (the task is still stopped as its time limit, revoke or the shutdown asked)`;
  return w
    .output()
    .split('\n')
    .filter((l) => l.includes(line))
    .map(
      (l) =>
        /(sync listener threw|async listener rejected|onabort threw|handleEvent threw|removed listener ran|ran twice)/.exec(
          l,
        )?.[1] ?? l,
    );
}

/** The worker process is still running (it logged what ended it otherwise). */
function alive(w: ReturnType<typeof spawnWorker>): void {
  if (w.exitCode !== null || w.signalCode !== null)
    throw new Error(`the worker exited (${w.exitCode ?? w.signalCode}):\n${w.output().slice(-3000)}`);
}

const EXPECTED = ['async listener rejected', 'handleEvent threw', 'onabort threw', 'sync listener threw'];

/** Its listeners are in place once it reported progress. */
async function listening(r: { info(): Promise<{ status: string } | null> }): Promise<void> {
  await eventually(async () => expect((await r.info())?.status).toBe('PROGRESS'));
}

describe('async pool', () => {
  let w: ReturnType<typeof spawnWorker>;
  beforeAll(async () => {
    w = await start('al_async', 'async');
  }, 60_000);
  afterEach(() => alive(w));

  test('a hard time limit: the task fails TimeLimitExceededError, each throw is logged, the next task runs', async () => {
    const r = await hardLimited.applyAsync([], {}, { queue: 'al_async' });
    await expect(r.get({ timeout: 10 })).rejects.toMatchObject({ excType: 'TimeLimitExceededError' });
    await eventually(() => expect(reported(w, r.id, hardLimited.name).sort()).toEqual(EXPECTED));
    expect(await (await next.applyAsync([1], {}, { queue: 'al_async' })).get({ timeout: 10 })).toBe(2);
  });

  test('a soft time limit: the good listener after the bad ones still ends it with SoftTimeLimitExceededError', async () => {
    const r = await softLimited.applyAsync([], {}, { queue: 'al_async' });
    await expect(r.get({ timeout: 10 })).rejects.toMatchObject({ excType: 'SoftTimeLimitExceededError' });
    await eventually(() => expect(reported(w, r.id, softLimited.name).sort()).toEqual(EXPECTED));
    expect(await (await next.applyAsync([2], {}, { queue: 'al_async' })).get({ timeout: 10 })).toBe(3);
  });

  test('a revoke with terminate: the task ends REVOKED (terminated), each throw is logged, the next task runs', async () => {
    const r = await untilRevoked.applyAsync([], {}, { queue: 'al_async' });
    await listening(r);
    await app.control.revoke(r.id, { terminate: true });
    await eventually(async () =>
      expect(await r.info()).toMatchObject({ status: 'REVOKED', meta: { reason: 'terminated' } }),
    );
    await eventually(() => expect(reported(w, r.id, untilRevoked.name).sort()).toEqual(EXPECTED));
    expect(await (await next.applyAsync([3], {}, { queue: 'al_async' })).get({ timeout: 10 })).toBe(4);
  });
});

describe('threads pool', () => {
  test('a soft time limit (the one abort that reaches a thread): the thread survives, the task fails SoftTimeLimitExceededError, not WorkerLostError', async () => {
    const w = await start('al_threads', 'threads');
    const r = await softLimited.applyAsync([], {}, { queue: 'al_threads' });
    await expect(r.get({ timeout: 10 })).rejects.toMatchObject({ excType: 'SoftTimeLimitExceededError' });
    await eventually(() => expect(reported(w, r.id, softLimited.name).sort()).toEqual(EXPECTED));
    expect(await (await next.applyAsync([4], {}, { queue: 'al_threads' })).get({ timeout: 10 })).toBe(5);
    expect(w.output()).not.toContain('WorkerLostError');
    alive(w);
  }, 60_000);
});
