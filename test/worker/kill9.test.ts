import { join } from 'node:path';
import Redis from 'ioredis';
import type { Celeriac } from '../../src';
import { testBroker, TEST_BROKERS, type TestBroker } from '../brokers';
import { cleanup, eventually, makeApp, REDIS_URL } from '../helpers';
import { exited, ready, spawnWorker } from './child';

/**
 * The crash check on every transport: 1,000 tasks, the worker SIGKILLed when about 300
 * are done, a second worker started at once. Nothing may be lost and nothing may run more than
 * twice. On RabbitMQ the broker requeues the dead connection's unacked messages the moment its
 * socket closes; on Redis the rescuer gives them back once the lease (3 s here) lapses. The
 * recovery time is printed, not asserted (a timing, and this machine is shared): the benchmark's
 * W4 holds it to its target.
 */
describe.each(TEST_BROKERS)('on %s', (kind) => {
  let app: Celeriac;
  let broker: TestBroker;
  let redis: Redis;
  const children: ReturnType<typeof spawnWorker>[] = [];
  beforeAll(async () => {
    broker = await testBroker(kind, 'kill9');
    app = await makeApp('kill9', {
      apps: [join(__dirname, '../fixtures/worker-app/jobs')],
      brokerUrl: broker.brokerUrl,
    });
    redis = new Redis(REDIS_URL);
  }, 60_000);
  afterAll(async () => {
    for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
    await redis.del(app.config.keyPrefix + 'executions');
    await redis.quit();
    await cleanup(app);
    await broker.dispose();
  }, 60_000);

  const spawn = (name: string) => {
    // Run counts go to the test's Redis (fixtureEnv, in spawnWorker) whatever the broker is.
    const child = spawnWorker(app, ['-c', '10', '-n', name], { CELERIAC_BROKER_URL: broker.brokerUrl });
    children.push(child);
    return child;
  };

  async function succeeded(ids: string[]): Promise<number> {
    const rows = await (await app.results()).getMany(ids);
    return rows.filter((r) => r.status === 'SUCCESS').length;
  }

  test('SIGKILL at ~300 of 1,000: none lost, none run more than twice', async () => {
    const sent = await Promise.all(Array.from({ length: 1000 }, () => app.sendTask('jobs.sleepy', [20])));
    const ids = sent.map((r) => r.id);
    const victim = spawn('victim@test');
    await ready(victim);
    await eventually(async () => expect(await succeeded(ids)).toBeGreaterThanOrEqual(300), 60_000, 10);
    victim.kill('SIGKILL');
    await exited(victim);
    const killedAt = Date.now();
    const rescuer = spawn('rescuer@test');
    await eventually(async () => expect(await succeeded(ids)).toBe(1000), 90_000, 50);
    const recoveryS = (Date.now() - killedAt) / 1000;
    const per = new Map<string, number>();
    for (const id of await redis.lrange(app.config.keyPrefix + 'executions', 0, -1))
      per.set(id, (per.get(id) ?? 0) + 1);
    expect(ids.every((id) => per.has(id))).toBe(true);
    expect([...per.values()].every((n) => n <= 2)).toBe(true);
    const twice = [...per.values()].filter((n) => n === 2).length;
    // Only what the victim had started (10 running, or finished but not yet acked) can run again.
    expect(twice).toBeLessThanOrEqual(60);
    console.log(
      `[${kind}] kill -9 at ~300/1000: recovery (kill → all done) ${recoveryS.toFixed(1)} s, ${twice} ran twice`,
    );
    rescuer.kill('SIGTERM');
    expect(await exited(rescuer)).toEqual({ code: 0, signal: null });
  }, 180_000);
});
