import { join } from 'node:path';
import Redis from 'ioredis';
import { chord, signature } from '../../src';
import type { Celeriac } from '../../src';
import { cleanup, makeApp, REDIS_URL } from '../helpers';
import { exited, ready, spawnWorker } from '../worker/child';

let app: Celeriac;
let redis: Redis;
const children: ReturnType<typeof spawnWorker>[] = [];
beforeAll(async () => {
  app = await makeApp('canvasproc', { apps: [join(__dirname, '../fixtures/worker-app/jobs')] });
  redis = new Redis(REDIS_URL);
});
afterAll(async () => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  await redis.quit();
  await cleanup(app);
});

const callbacks = () => redis.lrange(app.config.keyPrefix + 'callbacks', 0, -1);

test('chord members finishing together on two worker processes: one callback', async () => {
  const pair = [spawnWorker(app, ['-c', '20', '-n', 'a@test']), spawnWorker(app, ['-c', '20', '-n', 'b@test'])];
  children.push(...pair);
  // Both consuming before the first chord, or the quicker one could take every member.
  await Promise.all(pair.map((c) => ready(c)));
  const results = [];
  for (let round = 0; round < 5; round++) {
    results.push(
      await chord(
        Array.from({ length: 200 }, () => signature('jobs.sleepy', [0])),
        signature('jobs.sum'),
      ).applyAsync(),
    );
  }
  for (const r of results) expect(await r.get({ timeout: 60 })).toBe(200);
  const ran = await callbacks();
  expect(ran.sort()).toEqual(results.map((r) => r.id).sort());
  // The members really were shared by both processes, so joins raced across them.
  const workers = await (
    await app.dataSource()
  ).query(`SELECT DISTINCT worker FROM "${app.config.schema}".celeriac_task_result WHERE task_name = 'jobs.sleepy'`);
  expect(workers.map((w: { worker: string }) => w.worker).sort()).toEqual(['a@test', 'b@test']);
  for (const c of children.splice(0)) {
    c.kill('SIGTERM');
    await exited(c);
  }
}, 120_000);

test('a worker killed mid-chord: every member still finishes and the callback runs once', async () => {
  await redis.del(app.config.keyPrefix + 'callbacks', app.config.keyPrefix + 'executions');
  const victim = spawnWorker(app, ['-c', '10', '-n', 'victim@test']);
  children.push(victim);
  const r = await chord(
    Array.from({ length: 300 }, () => signature('jobs.sleepy', [30])),
    signature('jobs.sum'),
  ).applyAsync();
  // Kill once some members ran, while others are running and prefetched.
  for (let i = 0; i < 400 && (await redis.llen(app.config.keyPrefix + 'executions')) < 60; i++)
    await new Promise((res) => setTimeout(res, 25));
  victim.kill('SIGKILL');
  await exited(victim);
  const rescuer = spawnWorker(app, ['-c', '20', '-n', 'rescuer@test']);
  children.push(rescuer);
  expect(await r.get({ timeout: 90 })).toBe(300);
  expect(await callbacks()).toEqual([r.id]);
  rescuer.kill('SIGTERM');
  expect({ exit: await exited(rescuer), output: rescuer.output().slice(-2000) }).toMatchObject({ exit: { code: 0 } });
}, 120_000);
