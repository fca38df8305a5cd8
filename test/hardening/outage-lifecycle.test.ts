/**
 * A worker's lifecycle as whole objects (issue 15, item 4): start() closes everything it built
 * when a later step fails, and stop() may be called any number of times, at once or during
 * start, each call resolving only when the worker is down.
 *
 * The failing step is real: a private Redis (its own port, never the shared one) whose ACL
 * refuses SADD, so registering the consumer fails after the threads pool was spawned. A thread
 * or timer left open fails this file through the suite's leak guard (test/leak-guard.ts).
 */
import { join } from 'node:path';
import Redis from 'ioredis';
import { Celeriac } from '../../src';
import { silentLogger } from '../../src/log';
import { cleanup, DATABASE_URL, isolation } from '../helpers';
import { PrivateRedis } from '../private-servers';

const redis = new PrivateRedis(7810);
let app: Celeriac;
let admin: Redis;
const appModule = join(__dirname, '../fixtures/outage/tasks.ts');

beforeAll(async () => {
  await redis.start();
  admin = new Redis(redis.url);
  app = new Celeriac({
    apps: [join(__dirname, '../fixtures/outage')],
    databaseUrl: DATABASE_URL,
    brokerUrl: redis.url,
    logger: silentLogger,
    ...isolation('outage_lifecycle'),
  });
  await app.migrate();
  await app.broker();
});
afterAll(async () => {
  await admin.quit();
  await cleanup(app).catch(() => {});
  await redis.remove();
});

async function registered(): Promise<{ consumers: string[]; workers: string[] }> {
  const prefix = app.config.keyPrefix;
  return {
    consumers: await admin.smembers(prefix + 'celeriac:holders'),
    workers: await admin.hkeys(prefix + 'celeriac:workers'),
  };
}

test('start() fails after its threads were spawned: they, its timers and its registration are closed', async () => {
  await admin.acl('SETUSER', 'default', '-sadd');
  try {
    const worker = app.worker({ name: 'doomed@test', pool: 'threads', concurrency: 2, appModule });
    await expect(worker.start()).rejects.toThrow(/EXECABORT|NOPERM/);
    expect(worker.info().active).toBe(0);
    await expect(worker.start()).rejects.toThrow(/already started; create a new Worker/);
    await worker.stop(); // after a failed start: resolves at once, closes nothing twice
    await worker.stop();
  } finally {
    await admin.acl('SETUSER', 'default', '+sadd');
  }
  expect(await registered()).toEqual({ consumers: [], workers: [] });
});

test('stop() is idempotent: calls made together, and one made during start, all resolve once the worker is down', async () => {
  const worker = app.worker({ name: 'twice@test', concurrency: 2 });
  const starting = worker.start();
  const duringStart = worker.stop();
  await starting;
  await duringStart;
  expect(await registered()).toEqual({ consumers: [], workers: [] });

  const again = app.worker({ name: 'again@test', concurrency: 2 });
  await again.start();
  expect((await registered()).workers).toEqual(['again@test']);
  const calls = [again.stop(), again.stop(), again.stop()];
  await Promise.all(calls);
  expect(await registered()).toEqual({ consumers: [], workers: [] });
  await again.stop();
});

test('stop() before start() resolves and does not prevent a later start', async () => {
  const worker = app.worker({ name: 'early@test', concurrency: 1 });
  await worker.stop();
  await worker.start();
  expect((await registered()).workers).toEqual(['early@test']);
  await worker.stop();
  expect(await registered()).toEqual({ consumers: [], workers: [] });
});
