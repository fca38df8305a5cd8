import Redis from 'ioredis';
import type { Celeriac } from '../../src';
import { ConfigError } from '../../src';
import { cleanup, eventually, makeApp, REDIS_URL } from '../helpers';
import { ThreadPool } from '../../src/worker/thread-pool';
import { RC_APP, RC_JOBS, spawnRcWorker, stopAll, type Child } from './rc-workers';

/**
 * --max-tasks-per-child and --max-memory-per-child on the threads pool, and the pool resized by
 * remote control: a thread is replaced between tasks, never during one.
 */

let app: Celeriac;
let redis: Redis;
const children: Child[] = [];

beforeAll(async () => {
  app = await makeApp('thread_limits', { apps: [RC_JOBS] });
  redis = new Redis(REDIS_URL);
});

afterAll(async () => {
  await stopAll(children);
  await redis?.quit();
  if (app) await cleanup(app);
});

async function startWorker(name: string, queue: string, args: string[]): Promise<void> {
  children.push(spawnRcWorker(app, ['-n', name, '-Q', queue, '--pool', 'threads', ...args]));
  await eventually(
    async () =>
      expect(await app.control.ping({ destination: [name], timeoutMs: 500 })).toEqual({ [name]: { ok: 'pong' } }),
    40_000,
    100,
  );
}

/** Runs the tasks one after another, so each starts on whichever thread is then free. */
async function oneByOne(queue: string, calls: [string, unknown[]][]): Promise<number[]> {
  const ids: number[] = [];
  for (const [name, args] of calls)
    ids.push((await (await app.sendTask(name, args, {}, { queue })).get({ timeout: 30 })) as number);
  return ids;
}

test('max-tasks-per-child: a thread runs that many tasks, then a fresh one takes over', async () => {
  await startWorker('tasks-limit@test', 'tl', ['-c', '1', '--max-tasks-per-child', '2']);
  const threads = await oneByOne(
    'tl',
    Array.from({ length: 6 }, () => ['rc.whoami', []] as [string, unknown[]]),
  );
  expect(threads.every((t) => t > 0)).toBe(true); // worker threads, not the main thread
  expect(threads[0]).toBe(threads[1]);
  expect(threads[2]).toBe(threads[3]);
  expect(threads[4]).toBe(threads[5]);
  expect(new Set(threads).size).toBe(3);
  const stats = (await app.control.inspect({ destination: ['tasks-limit@test'], timeoutMs: 3000 }).stats())[
    'tasks-limit@test'
  ];
  expect(stats.pool).toMatchObject({
    implementation: 'celeriac:threads',
    'max-tasks-per-child': 2,
    'max-memory-per-child': 'N/A',
  });
});

test('max-memory-per-child: the task that grew the heap completes, and the next runs on a new thread', async () => {
  // A thread with the app loaded uses about 20 MB of heap; the hog task keeps 64 MB more alive.
  await startWorker('memory-limit@test', 'tm', ['-c', '1', '--max-memory-per-child', '60000']);
  const [before, hogged, after, again] = await oneByOne('tm', [
    ['rc.whoami', []],
    ['rc.hog', [64]],
    ['rc.whoami', []],
    ['rc.whoami', []],
  ]);
  expect(hogged).toBe(before); // the hog itself ran to the end on its thread
  expect(after).not.toBe(before); // replaced once it was over the limit
  expect(again).toBe(after); // a fresh thread is under it: kept
});

test('pool-grow and pool-shrink add and retire threads', async () => {
  const name = 'threads-resize@test';
  const only = { destination: [name], timeoutMs: 3000 };
  await startWorker(name, 'tr', ['-c', '1']);
  expect(await app.control.poolGrow(2, only)).toEqual({ [name]: { ok: 'pool will grow' } });
  expect((await app.control.inspect(only).stats())[name].pool['max-concurrency']).toBe(3);
  const sent = await Promise.all([1, 2, 3].map(() => app.sendTask('rc.block', ['threads'], {}, { queue: 'tr' })));
  await eventually(async () => expect((await app.control.inspect(only).active())[name]).toHaveLength(3), 30_000, 50);
  // Shrinking while all three are busy: none is cut short.
  expect(await app.control.poolShrink(2, only)).toEqual({ [name]: { ok: 'pool will shrink' } });
  await redis.set(`${app.config.keyPrefix}gate:threads`, '1');
  for (const r of sent) expect(await r.get({ timeout: 15 })).toBe(name);
  expect((await app.control.inspect(only).stats())[name].pool['max-concurrency']).toBe(1);
});

test('ThreadPool.resize: idle threads go at once, and growing back reuses none of them', async () => {
  const pool = new ThreadPool(RC_APP, 1, {
    hostname: 'resize@test',
    middleware: [],
    updateState: async () => {},
    abortListenerThrew: () => {},
  });
  try {
    pool.resize(3);
    expect(pool.size).toBe(3);
    pool.resize(1);
    expect(pool.size).toBe(1);
    pool.resize(2);
    expect(pool.size).toBe(2);
  } finally {
    await pool.close();
  }
});

test('the limits are refused for the async pool, naming the option', () => {
  expect(() => app.worker({ maxTasksPerChild: 10 })).toThrow(ConfigError);
  expect(() => app.worker({ maxMemoryPerChild: 1000 })).toThrow(/maxMemoryPerChild.*threads and processes pools only/);
});
