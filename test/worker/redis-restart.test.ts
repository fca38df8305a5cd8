import { join } from 'node:path';
import { Celeriac } from '../../src';
import type { Logger } from '../../src/log';
import type { Worker } from '../../src/worker/worker';
import { cleanup, DATABASE_URL, eventually, isolation } from '../helpers';
import { PrivateRedis } from '../private-servers';
import { runs, running, work } from '../fixtures/outage/tasks';

/**
 * Issue 15 item 7: a Redis restart longer than the lease, under load, with one live worker. Redis
 * is a private persistent instance (AOF, fsync always) on a port of its own, never the shared one.
 */
const redis = new PrivateRedis(7101);
const lines: { level: string; message: string }[] = [];
const logger: Logger = { log: (level, message) => void lines.push({ level, message }) };
let app: Celeriac;
let worker: Worker;

beforeAll(async () => {
  await redis.start();
  app = new Celeriac({
    apps: [join(__dirname, '../fixtures/outage')],
    databaseUrl: DATABASE_URL,
    brokerUrl: redis.url,
    leaseMs: 2000,
    logger,
    ...isolation('redis_restart'),
  });
  await app.migrate();
});
afterAll(async () => {
  await worker?.stop();
  await cleanup(app).catch(() => {});
  await redis.remove();
});

test('Redis stopped for longer than the lease mid-load: nothing lost, no running task runs twice, the outage logged', async () => {
  const N = 2000;
  worker = app.worker({ name: 'restart@test', concurrency: 10, prefetchMultiplier: 4 });
  worker.on('error', () => {});
  await worker.start();
  const sent: { id: string }[] = [];
  for (let i = 0; i < N; i += 200) {
    const batch = await Promise.all(Array.from({ length: Math.min(200, N - i) }, () => work.delay(5)));
    sent.push(...batch);
  }
  await eventually(() => expect(worker.info().processed).toBeGreaterThanOrEqual(500), 60_000, 5);
  const runningAtStop = new Set(running);
  await redis.stop();
  // The outage must outlast the lease (2 s): time is the point here.
  await new Promise((r) => setTimeout(r, 3500));
  await redis.start();
  const store = await app.results();
  await eventually(
    async () => {
      const rows = await store.getMany(sent.map((r) => r.id));
      expect(rows.filter((r) => r.status === 'SUCCESS')).toHaveLength(N);
    },
    120_000,
    250,
  );
  const twice = [...runs].filter(([, n]) => n > 1).map(([id]) => id);
  expect(sent.filter((r) => !runs.has(r.id))).toEqual([]);
  expect(twice.filter((id) => runningAtStop.has(id))).toEqual([]);
  // Bounded by what the worker held (concurrency × (1 + prefetch multiplier)); goal 0.
  expect(twice.length).toBeLessThanOrEqual(50);
  console.log(`redis restart: ${twice.length} of ${N} ran twice; running at stop ${runningAtStop.size}`);
  expect(lines.some((l) => /gave back \d+ messages held by a worker whose lease lapsed/.test(l.message))).toBe(false);
  expect(lines.find((l) => /^Redis unavailable/.test(l.message))).toBeDefined();
  expect(lines.find((l) => /^Redis available again after \d+\.\d s/.test(l.message))).toBeDefined();
}, 180_000);
