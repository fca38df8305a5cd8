import { join } from 'node:path';
import Redis from 'ioredis';
import { TaskFailedError, type Celeriac } from '../../src';
import type { Worker } from '../../src/worker/worker';
import { cleanup, eventually, makeApp, REDIS_URL } from '../helpers';
import { spawn } from 'node:child_process';
import { childEnv, stopAll, type Child } from '../ops/rc-workers';
import { ready } from '../worker/child';
import { add, patient, sleeper } from '../fixtures/parity/tasks';

/** App-wide limits (taskSoftTimeLimit, taskTimeLimit, taskDefaultRateLimit), the worker's own, and the worker signals. */
let app: Celeriac;
let redis: Redis;
const workers: Worker[] = [];
const children: Child[] = [];
const seen: [string, unknown][] = [];

beforeAll(async () => {
  app = await makeApp('parity_limits', {
    apps: [join(__dirname, '../fixtures/parity')],
    taskSoftTimeLimit: 0.3,
    taskDefaultRateLimit: '1/m',
    routes: { 'elsewhere.*': { queue: 'signals' }, 'parityApp.*': { queue: 'cli-limits' } },
  });
  redis = new Redis(REDIS_URL);
  for (const name of [
    'workerInit',
    'workerReady',
    'heartbeatSent',
    'taskReceived',
    'taskRejected',
    'workerShuttingDown',
    'workerShutdown',
  ] as const)
    app.signals.connect(name, (info: unknown) => void seen.push([name, info]));
});
afterAll(async () => {
  await stopAll(children);
  await redis.quit();
  await cleanup(app);
});

async function worker(queue: string, options: Parameters<Celeriac['worker']>[0] = {}): Promise<Worker> {
  const w = app.worker({ name: `${queue}@parity`, queues: [queue], concurrency: 2, ...options });
  workers.push(w);
  await w.start();
  return w;
}

const ROOT = join(__dirname, '../..');
/** `celeriac worker --app test/fixtures/parity-app/app.ts`, its output kept. */
function parityWorker(args: string[]): Child {
  const child = spawn(
    process.execPath,
    [join(ROOT, 'bin/celeriac.js'), ...args, '--app', join(ROOT, 'test/fixtures/parity-app/app.ts')],
    { cwd: ROOT, env: childEnv(app), stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  return Object.assign(child, { output: () => out });
}

const excType = async (r: { get(o: { timeout: number }): Promise<unknown> }) =>
  ((await r.get({ timeout: 15 }).catch((e) => e)) as TaskFailedError).excType;

test('the app-wide soft limit applies to a task that sets none; its own option comes first', async () => {
  await worker('app-default');
  expect(await excType(await sleeper.applyAsync([], {}, { queue: 'app-default' }))).toBe('SoftTimeLimitExceededError');
  // 0.6 s is past the app's 0.3 s but inside the task's own minute.
  expect(await (await patient.applyAsync([600], {}, { queue: 'app-default' })).get({ timeout: 15 })).toBe('done');
});

test("a worker's timeLimit comes before the app's soft limit default", async () => {
  await worker('worker-hard', { timeLimit: 0.15 });
  expect(await excType(await sleeper.applyAsync([], {}, { queue: 'worker-hard' }))).toBe('TimeLimitExceededError');
});

test('the app-wide rate limit holds a second run of a task that sets none', async () => {
  await worker('rated');
  const first = await add.applyAsync([1, 1], {}, { queue: 'rated' });
  const second = await add.applyAsync([2, 2], {}, { queue: 'rated' });
  expect(await first.get({ timeout: 15 })).toBe(2);
  // One token a minute: the second is received but waits for the next token.
  await eventually(async () => expect(await second.status()).toBe('RECEIVED'));
  expect(await second.ready()).toBe(false);
});

test('worker signals: init, ready, heartbeat, received, rejected, shutting down, shutdown, in order', async () => {
  const w = await worker('signals');
  const r = await app.sendTask('elsewhere.nothing', [], {}, { queue: 'signals' });
  await eventually(async () => expect(await r.status()).toBe('REJECTED'));
  await eventually(() => expect(seen.some(([n]) => n === 'heartbeatSent')).toBe(true));
  await w.stop();
  const mine = seen.filter(([, info]) => (info as { name?: string }).name === 'signals@parity').map(([n]) => n);
  expect(mine[0]).toBe('workerInit');
  expect(mine.indexOf('workerReady')).toBeGreaterThan(0);
  expect(mine.at(-2)).toBe('workerShuttingDown');
  expect(mine.at(-1)).toBe('workerShutdown');
  const rejected = seen.find(([n]) => n === 'taskRejected')![1];
  expect(rejected).toMatchObject({ id: r.id, name: 'elsewhere.nothing', state: 'REJECTED' });
  expect(seen.some(([n, info]) => n === 'taskReceived' && (info as { name: string }).name === 'parity.add')).toBe(true);
});

test('celeriac worker --soft-time-limit, and workerProcessInit in each thread of the threads pool', async () => {
  const queue = 'cli-limits';
  const child = parityWorker([
    'worker',
    '-Q',
    queue,
    '-n',
    'cli@parity',
    '--pool',
    'threads',
    '-c',
    '2',
    '--soft-time-limit',
    '0.2',
    '--time-limit',
    '30',
  ]);
  children.push(child);
  await ready(child);
  const r = await app.sendTask('parityApp.sleeper', [], {}, { queue });
  expect(await excType(r)).toBe('SoftTimeLimitExceededError');
  const key = `${app.config.keyPrefix}signals`;
  const records = async () => (await redis.lrange(key, 0, -1)).map((s) => JSON.parse(s));
  await eventually(async () =>
    expect((await records()).filter((s) => s.signal === 'workerProcessInit')).toHaveLength(2),
  );
  const inits = (await records()).filter((s) => s.signal === 'workerProcessInit');
  expect(new Set(inits.map((s) => s.threadId)).size).toBe(2);
  expect(inits[0]).toMatchObject({ hostname: 'cli@parity', pid: child.pid });
  expect((await records()).find((s) => s.signal === 'workerInit')).toMatchObject({
    name: 'cli@parity',
    pool: 'threads',
  });
  // ctx.updateState from a thread reaches the task's row; the call's own soft limit comes before the worker's.
  const inState = await app.sendTask('parityApp.waitInState', [], {}, { queue, softTimeLimit: 60 });
  await eventually(async () => expect(await inState.status()).toBe('IN_CHILD'), 15_000);
  expect(await inState.result).toEqual({ threadId: expect.any(Number) });
  await inState.revoke({ terminate: true });
  await eventually(async () => expect(await inState.status()).toBe('REVOKED'), 15_000);
  await stopAll([child]);
  expect((await records()).some((s) => s.signal === 'workerShuttingDown')).toBe(true);
});

test('celeriac worker --pool processes: workerProcessInit in the child process, --time-limit ends the child, updateState reaches the row', async () => {
  const queue = 'cli-proc';
  const child = parityWorker([
    'worker',
    '-Q',
    queue,
    '-n',
    'proc@parity',
    '--pool',
    'processes',
    '-c',
    '1',
    '--time-limit',
    '0.5',
  ]);
  children.push(child);
  await ready(child);
  const key = `${app.config.keyPrefix}signals`;
  const inits = async () =>
    (await redis.lrange(key, 0, -1))
      .map((s) => JSON.parse(s))
      .filter((s) => s.signal === 'workerProcessInit' && s.hostname === 'proc@parity');
  await eventually(async () => expect(await inits()).toHaveLength(1), 15_000);
  const [first] = await inits();
  expect(first.pid).not.toBe(child.pid);
  const r = await app.sendTask('parityApp.sleeper', [], {}, { queue });
  expect(await excType(r)).toBe('TimeLimitExceededError');
  // The killed child is replaced, and the new one announces itself too.
  await eventually(async () => expect((await inits()).length).toBeGreaterThanOrEqual(2), 15_000);
  const inState = await app.sendTask('parityApp.waitInState', [], {}, { queue, timeLimit: 60 });
  await eventually(async () => expect(await inState.status()).toBe('IN_CHILD'), 15_000);
  await inState.revoke({ terminate: true });
  await eventually(async () => expect(await inState.status()).toBe('REVOKED'), 15_000);
  await stopAll([child]);
});
