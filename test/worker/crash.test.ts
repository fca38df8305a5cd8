import { join } from 'node:path';
import Redis from 'ioredis';
import type { Celeriac } from '../../src';
import { cleanup, eventually, makeApp, REDIS_URL } from '../helpers';
import { exited, spawnWorker } from './child';

let app: Celeriac;
let redis: Redis;
const children: ReturnType<typeof spawnWorker>[] = [];
beforeAll(async () => {
  app = await makeApp('crash', { apps: [join(__dirname, '../fixtures/worker-app/jobs')] });
  redis = new Redis(REDIS_URL);
});
afterAll(async () => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  await redis.quit();
  await cleanup(app);
});

async function statuses(ids: string[]): Promise<Record<string, number>> {
  const rows = await (await app.results()).getMany(ids);
  const count: Record<string, number> = {};
  for (const r of rows) count[r.status] = (count[r.status] ?? 0) + 1;
  return count;
}

async function executionsPerTask(): Promise<Map<string, number>> {
  const runs = await redis.lrange(app.config.keyPrefix + 'executions', 0, -1);
  const per = new Map<string, number>();
  for (const id of runs) per.set(id, (per.get(id) ?? 0) + 1);
  return per;
}

test('SIGKILL loses nothing: another worker takes over within the lease, only running tasks run twice', async () => {
  const sent = await Promise.all(Array.from({ length: 300 }, () => app.sendTask('jobs.sleepy', [50])));
  const ids = sent.map((r) => r.id);
  const first = spawnWorker(app, ['-c', '10', '-n', 'victim@test']);
  children.push(first);
  await eventually(async () => expect((await statuses(ids)).SUCCESS ?? 0).toBeGreaterThanOrEqual(80), 30_000, 20);
  first.kill('SIGKILL');
  await exited(first);
  const killedAt = Date.now();
  const second = spawnWorker(app, ['-c', '10', '-n', 'rescuer@test']);
  children.push(second);
  await eventually(async () => expect((await statuses(ids)).SUCCESS).toBe(300), 60_000, 50);
  const recoverySeconds = (Date.now() - killedAt) / 1000;
  const per = await executionsPerTask();
  expect(ids.every((id) => per.has(id))).toBe(true);
  const twice = [...per.values()].filter((n) => n > 1).length;
  // Only tasks running at the kill (concurrency 10), or finished but not yet committed and acked
  // (a few ms of group commit; more under load), may run again; prefetched ones never started.
  expect(twice).toBeLessThanOrEqual(20);
  expect([...per.values()].every((n) => n <= 2)).toBe(true);
  // lease 3 s (TEST_LEASE_MS) + reaper 1 s + 300 tasks at 10 × 50 ms: well under the 10 s bound plus work.
  expect(recoverySeconds).toBeLessThan(30);
  second.kill('SIGTERM');
  expect(await exited(second)).toEqual({ code: 0, signal: null });
}, 120_000);

test('SIGTERM: running tasks finish, the rest go back to the queue, exit 0', async () => {
  await redis.del(app.config.keyPrefix + 'executions');
  const sent = await Promise.all(Array.from({ length: 40 }, () => app.sendTask('jobs.sleepy', [400])));
  const ids = sent.map((r) => r.id);
  const worker = spawnWorker(app, ['-c', '4', '--prefetch-multiplier', '4', '-n', 'graceful@test']);
  children.push(worker);
  await eventually(async () => expect((await executionsPerTask()).size).toBeGreaterThanOrEqual(4), 20_000, 10);
  worker.kill('SIGTERM');
  expect(await exited(worker)).toEqual({ code: 0, signal: null });
  const counts = await statuses(ids);
  // The ones that had started finished (SUCCESS); none is left half-done as STARTED/RECEIVED-and-lost.
  const startedBeforeStop = (await executionsPerTask()).size;
  expect(counts.SUCCESS).toBe(startedBeforeStop);
  const queued = await redis.llen(app.config.keyPrefix + 'celery');
  expect(queued).toBe(40 - startedBeforeStop);
  expect(await redis.exists(app.config.keyPrefix + 'celeriac:lease:graceful@test')).toBe(0);
  // And they run on the next worker.
  const next = spawnWorker(app, ['-c', '8']);
  children.push(next);
  await eventually(async () => expect((await statuses(ids)).SUCCESS).toBe(40), 30_000, 50);
  expect([...(await executionsPerTask()).values()].every((n) => n === 1)).toBe(true);
  next.kill('SIGTERM');
  await exited(next);
}, 90_000);

test('threads pool: CPU-bound work keeps the event loop free; a hard time limit ends the thread', async () => {
  const worker = spawnWorker(app, ['-c', '2', '--pool', 'threads', '-Q', 'cpu', '-n', 'threads@test']);
  children.push(worker);
  const spin = await app.sendTask('jobs.spin', [3000], {}, { queue: 'cpu' });
  const forever = await app.sendTask('jobs.spinForever', [], {}, { queue: 'cpu' });
  // While a thread spins for 3 s, the worker keeps its heartbeat (the registry entry refreshes).
  const beats = new Set<number>();
  await eventually(
    async () => {
      const info = JSON.parse((await redis.hget(app.config.keyPrefix + 'celeriac:workers', 'threads@test')) ?? '{}');
      if (info.heartbeatAt) beats.add(info.heartbeatAt);
      expect(beats.size).toBeGreaterThanOrEqual(3);
    },
    20_000,
    100,
  );
  await expect(forever.get({ timeout: 20 })).rejects.toMatchObject({ excType: 'TimeLimitExceededError' });
  expect(await spin.get({ timeout: 20 })).toBe(true);
  // The killed thread was replaced: the pool still runs two at once.
  const again = await Promise.all([1, 2].map(() => app.sendTask('jobs.spin', [10], {}, { queue: 'cpu' })));
  for (const r of again) expect(await r.get({ timeout: 20 })).toBe(true);
  worker.kill('SIGTERM');
  expect((await exited(worker)).code).toBe(0);
}, 60_000);
