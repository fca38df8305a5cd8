import Redis from 'ioredis';
import type { Celeriac } from '../../src';
import { TaskFailedError } from '../../src';
import { TEST_BROKERS, testBroker, type TestBroker } from '../brokers';
import { cleanup, eventually, makeApp, REDIS_URL } from '../helpers';
import { exited } from '../worker/child';
import { RC_JOBS, runCli, spawnRcWorker, stopAll, type Child } from './rc-workers';

/**
 * Remote control end to end: two real worker processes (`celeriac worker`), commands broadcast by
 * this process through the pidbox channel, replies collected from kombu's reply queue.
 */

/** Every case on each transport (TEST_BROKERS): the pidbox on Redis pub/sub and on RabbitMQ's celery.pidbox exchange. */
describe.each(TEST_BROKERS)('on %s', (kind) => {
  let app: Celeriac;
  let redis: Redis;
  let broker: TestBroker;
  let alpha: Child;
  let beta: Child;
  const ALPHA = 'alpha@test';
  const BETA = 'beta@test';

  beforeAll(async () => {
    broker = await testBroker(kind, 'remote_control');
    app = await makeApp('remote_control', { apps: [RC_JOBS], brokerUrl: broker.brokerUrl });
    redis = new Redis(REDIS_URL);
    alpha = spawnRcWorker(app, ['-n', ALPHA, '-Q', 'rc-a', '-c', '2']);
    beta = spawnRcWorker(app, ['-n', BETA, '-Q', 'rc-b', '-c', '2']);
    await eventually(
      async () =>
        expect(Object.keys(await app.control.ping({ destination: [ALPHA, BETA], timeoutMs: 500 })).sort()).toEqual([
          ALPHA,
          BETA,
        ]),
      40_000,
      100,
    );
  }, 60_000);

  afterAll(async () => {
    await stopAll([alpha, beta].filter(Boolean));
    await redis?.quit();
    if (app) await cleanup(app);
    await broker?.dispose();
  }, 60_000);

  const gate = (name: string) => redis.set(`${app.config.keyPrefix}gate:${name}`, '1');
  const only = (name: string, timeoutMs = 3000) => ({ destination: [name], timeoutMs });

  test("ping reaches both workers and answers in Celery's format", async () => {
    const replies = await app.control.inspect({ timeoutMs: 1000 }).ping();
    expect(replies).toEqual({ [ALPHA]: { ok: 'pong' }, [BETA]: { ok: 'pong' } });
  });

  test('a destination list addresses only those workers, and the call ends once they have answered', async () => {
    const started = Date.now();
    const replies = await app.control.inspect({ destination: [BETA], timeoutMs: 10_000 }).ping();
    expect(replies).toEqual({ [BETA]: { ok: 'pong' } });
    expect(Date.now() - started).toBeLessThan(5000);
    // A name no worker has: nobody answers within the timeout.
    expect(await app.control.ping({ destination: ['nobody@test'], timeoutMs: 300 })).toEqual({});
  });

  // Redis keeps reply queues as lists and bindings as a set; RabbitMQ's reply queues expire by themselves (x-expires).
  (kind === 'redis' ? test : test.skip)('the reply queue and its binding are gone after the call', async () => {
    await app.control.ping({ timeoutMs: 200 });
    expect(await redis.smembers(`${app.config.keyPrefix}_kombu.binding.reply.celery.pidbox`)).toEqual([]);
    expect(await redis.keys(`${app.config.keyPrefix}*.reply.celery.pidbox`)).toEqual([]);
  });

  test('active and reserved show the tasks a worker runs and holds', async () => {
    const sent = await Promise.all([1, 2, 3].map(() => app.sendTask('rc.block', ['held'], {}, { queue: 'rc-a' })));
    const ids = sent.map((r) => r.id);
    const inspect = app.control.inspect(only(ALPHA));
    await eventually(
      async () => {
        const active = (await inspect.active())[ALPHA];
        const reserved = (await inspect.reserved())[ALPHA];
        expect(active).toHaveLength(2);
        expect(reserved).toHaveLength(1);
        expect([...active, ...reserved].map((t) => t.id).sort()).toEqual([...ids].sort());
      },
      15_000,
      50,
    );
    const [running] = (await inspect.active())[ALPHA];
    expect(running).toMatchObject({
      name: 'rc.block',
      args: ['held'],
      hostname: ALPHA,
      acknowledged: false,
      delivery_info: { routing_key: 'rc-a' },
    });
    expect(running.time_start).toBeGreaterThan(Date.now() / 1000 - 60);
    const queried = (await inspect.queryTask(running.id))[ALPHA];
    expect(queried[running.id][0]).toBe('active');
    // The other worker holds none of them.
    expect((await app.control.inspect(only(BETA)).active())[BETA]).toEqual([]);
    await gate('held');
    for (const r of sent) expect(await r.get({ timeout: 15 })).toBe(ALPHA);
    expect((await inspect.active())[ALPHA]).toEqual([]);
  });

  test("registered lists the app's tasks without the built-ins", async () => {
    const replies = await app.control.inspect({ timeoutMs: 1000 }).registered();
    for (const name of [ALPHA, BETA]) {
      expect(replies[name]).toEqual(expect.arrayContaining(['rc.block', 'rc.tick', 'rc.whoami', 'rc.hog']));
      expect(replies[name].filter((n) => n.startsWith('celery.'))).toEqual([]);
    }
  });

  test('revoked lists revoked ids; scheduled is empty with no eta task in its queues', async () => {
    await app.control.revoke('never-sent-1');
    await eventually(async () => {
      const replies = await app.control.inspect({ timeoutMs: 1000 }).revoked();
      expect(replies[ALPHA]).toContain('never-sent-1');
      expect(replies[BETA]).toContain('never-sent-1');
    });
    expect(await app.control.inspect(only(ALPHA)).scheduled()).toEqual({ [ALPHA]: [] });
  });

  test('rate-limit changes how fast a worker starts that task, and 0 lifts it', async () => {
    expect(await app.control.rateLimit('rc.tick', '2/s', only(BETA))).toEqual({
      [BETA]: { ok: 'new rate limit set successfully' },
    });
    const spread = async () => {
      const results = await Promise.all(
        Array.from({ length: 5 }, () => app.sendTask('rc.tick', [], {}, { queue: 'rc-b' })),
      );
      const times = (await Promise.all(results.map((r) => r.get({ timeout: 20 }) as Promise<{ at: number }>)))
        .map((t) => t.at)
        .sort((a, b) => a - b);
      return times[4] - times[0];
    };
    // 2/s with a full bucket of 2: two at once, then one every 500 ms.
    expect(await spread()).toBeGreaterThanOrEqual(1400);
    expect(await app.control.rateLimit('rc.tick', '0', only(BETA))).toEqual({
      [BETA]: { ok: 'rate limit disabled successfully' },
    });
    // Still limited, five would span at least 1,500 ms: below that, with room for a busy machine.
    expect(await spread()).toBeLessThan(1400);

    expect(await app.control.rateLimit('rc.nope', '1/s', only(BETA))).toEqual({ [BETA]: { error: 'unknown task' } });
    expect((await app.control.rateLimit('rc.tick', 'fast', only(BETA)))[BETA]).toEqual({
      error: expect.stringMatching(/^Invalid rate limit string/),
    });
  });

  test('time-limit applies to the next runs of that task on that worker', async () => {
    expect(await app.control.timeLimit('rc.block', null, 0.3, only(ALPHA))).toEqual({
      [ALPHA]: { ok: 'time limits set successfully' },
    });
    const hard = await app.sendTask('rc.block', ['never-opened'], {}, { queue: 'rc-a' });
    await expect(hard.get({ timeout: 15 })).rejects.toBeInstanceOf(TaskFailedError);
    expect((await hard.info())!.result).toMatchObject({ exc_type: 'TimeLimitExceededError' });
    await app.control.timeLimit('rc.block', 0.2, 5, only(ALPHA));
    const soft = await app.sendTask('rc.block', ['never-opened'], {}, { queue: 'rc-a' });
    await expect(soft.get({ timeout: 15 })).rejects.toBeInstanceOf(TaskFailedError);
    expect((await soft.info())!.result).toMatchObject({ exc_type: 'SoftTimeLimitExceededError' });
    expect(await app.control.timeLimit('rc.block', null, null, only(ALPHA))).toEqual({
      [ALPHA]: { ok: 'time limits set successfully' },
    });
  });

  test('pool-grow and pool-shrink change the concurrency stats report', async () => {
    const concurrency = async () => (await app.control.inspect(only(ALPHA)).stats())[ALPHA].pool['max-concurrency'];
    expect(await concurrency()).toBe(2);
    expect(await app.control.poolGrow(3, only(ALPHA))).toEqual({ [ALPHA]: { ok: 'pool will grow' } });
    expect(await concurrency()).toBe(5);
    // Five slots now run five tasks at once.
    const sent = await Promise.all(
      Array.from({ length: 5 }, () => app.sendTask('rc.block', ['grown'], {}, { queue: 'rc-a' })),
    );
    await eventually(
      async () => expect((await app.control.inspect(only(ALPHA)).active())[ALPHA]).toHaveLength(5),
      15_000,
      50,
    );
    await gate('grown');
    for (const r of sent) await r.get({ timeout: 15 });

    expect(await app.control.poolShrink(4, only(ALPHA))).toEqual({ [ALPHA]: { ok: 'pool will shrink' } });
    expect(await concurrency()).toBe(1);
    expect((await app.control.poolShrink(1, only(ALPHA)))[ALPHA]).toEqual({ error: expect.stringMatching(/below 1/) });
    await app.control.poolGrow(1, only(ALPHA));
    const stats = (await app.control.inspect(only(ALPHA)).stats())[ALPHA];
    expect(stats).toMatchObject({
      pid: alpha.pid,
      pool: { 'max-concurrency': 2, implementation: 'celeriac:async' },
      celeriac: { name: ALPHA, concurrency: 2 },
    });
    expect(stats.uptime).toBeGreaterThanOrEqual(0);
  });

  test('add-consumer and cancel-consumer change which queues a worker takes from', async () => {
    const first = await app.sendTask('rc.tick', [], {}, { queue: 'rc-extra' });
    const broker = await app.broker();
    expect(await broker.queueLength('rc-extra')).toBe(1); // nobody consumes it yet

    expect(await app.control.addConsumer('rc-extra', only(BETA))).toEqual({ [BETA]: { ok: 'add consumer rc-extra' } });
    expect(((await first.get({ timeout: 15 })) as { worker: string }).worker).toBe(BETA);
    expect((await app.control.inspect(only(BETA)).activeQueues())[BETA].map((q) => q.name)).toEqual([
      'rc-b',
      'rc-extra',
    ]);

    expect(await app.control.cancelConsumer('rc-extra', only(BETA))).toEqual({
      [BETA]: { ok: 'no longer consuming from rc-extra' },
    });
    expect((await app.control.inspect(only(BETA)).activeQueues())[BETA].map((q) => q.name)).toEqual(['rc-b']);
    const second = await app.sendTask('rc.tick', [], {}, { queue: 'rc-extra' });
    // Beta may still have had a fetch in flight on rc-extra: it gives such a message back, so only
    // the worker that now consumes the queue can run it.
    await app.control.addConsumer('rc-extra', only(ALPHA));
    expect(((await second.get({ timeout: 15 })) as { worker: string }).worker).toBe(ALPHA);
    await app.control.cancelConsumer('rc-extra', only(ALPHA));

    // A worker keeps at least one queue.
    expect((await app.control.cancelConsumer('rc-b', only(BETA)))[BETA]).toEqual({
      error: expect.stringMatching(/only queue/),
    });
  });

  test('an unknown command is answered with an error, not silence', async () => {
    expect(await app.control.broadcast('no_such_command', {}, { timeoutMs: 1000 })).toEqual({
      [ALPHA]: { error: 'No such control command: no_such_command' },
      [BETA]: { error: 'No such control command: no_such_command' },
    });
  });

  test('a hostile command name or argument is quoted short in the error reply', async () => {
    const huge = 'x'.repeat(100_000);
    const replies = {
      method: (await app.control.broadcast(huge, {}, only(ALPHA)))[ALPHA],
      grow: (await app.control.broadcast('pool_grow', { n: huge }, only(ALPHA)))[ALPHA],
      rate: (await app.control.rateLimit('rc.tick', huge, only(ALPHA)))[ALPHA],
      limit: (await app.control.timeLimit('rc.tick', huge as unknown as number, null, only(ALPHA)))[ALPHA],
    };
    expect(replies).toEqual({
      method: { error: expect.stringMatching(/^No such control command: "x{50,}…$/) },
      grow: { error: expect.stringMatching(/^n must be an integer from 1 to 1000, got "x{50,}…$/) },
      rate: { error: expect.stringMatching(/^Invalid rate limit string: "x{50,}… is not a rate/) },
      limit: { error: expect.stringMatching(/^time limits are seconds .* got "x{50,}…$/) },
    });
    for (const reply of Object.values(replies)) expect(JSON.stringify(reply).length).toBeLessThan(200);
  });

  test("the CLI: inspect ping as JSON and as Celery's table; control rate-limit; exit 69 when nobody answers", async () => {
    const json = await runCli(app, ['inspect', 'ping', '--json', '-t', '2', '-d', `${ALPHA},${BETA}`]);
    expect(json.code).toBe(0);
    expect(JSON.parse(json.stdout.trim().split('\n').pop()!)).toEqual({
      [ALPHA]: { ok: 'pong' },
      [BETA]: { ok: 'pong' },
    });

    const table = await runCli(app, ['inspect', 'active-queues', '-d', ALPHA]);
    expect(table.code).toBe(0);
    expect(table.stdout).toContain(`->  ${ALPHA}: OK`);
    expect(table.stdout).toMatch(/\* \{\n\s+"alias": null,[^]*"name": "rc-a"/);
    expect(table.stdout).toContain('1 node online.');

    const limit = await runCli(app, ['control', 'rate-limit', 'rc.tick', '100/s', '-d', BETA]);
    expect(limit.code).toBe(0);
    expect(limit.stdout).toContain(`->  ${BETA}: OK`);
    expect(limit.stdout).toContain('new rate limit set successfully');

    const none = await runCli(app, ['inspect', 'ping', '-d', 'nobody@test', '--timeout', '0.3']);
    expect(none.code).toBe(69);
    expect(none.output).toContain('No nodes replied within time constraint');

    const bad = await runCli(app, ['control', 'launch-rockets']);
    expect(bad.code).toBe(1);
    expect(bad.output).toMatch(/Unknown control action 'launch-rockets': use one of shutdown, pool-restart, pool-grow/);
  });

  test('shutdown stops a worker gracefully: the process exits 0 and the other keeps answering', async () => {
    expect(await app.control.shutdown(only(BETA))).toEqual({ [BETA]: { ok: 'shutting down' } });
    expect(await exited(beta)).toEqual({ code: 0, signal: null });
    expect(beta.output()).toContain('remote control shutdown received');
    expect(await app.control.ping({ timeoutMs: 1000 })).toEqual({ [ALPHA]: { ok: 'pong' } });

    expect(await app.control.shutdown(only(ALPHA))).toEqual({ [ALPHA]: { ok: 'shutting down' } });
    expect(await exited(alpha)).toEqual({ code: 0, signal: null });
  });
});

describe('over memory://', () => {
  let mem: Celeriac;
  afterAll(async () => {
    if (mem) await cleanup(mem);
  });

  test('an in-process worker answers inspect and control through the memory broker', async () => {
    mem = await makeApp('remote_control_memory', { apps: [RC_JOBS], brokerUrl: 'memory://' });
    const w = mem.worker({ name: 'mem@test', queues: ['mem'], concurrency: 3 });
    await w.start();
    expect(await mem.control.inspect({ timeoutMs: 200 }).ping()).toEqual({ 'mem@test': { ok: 'pong' } });
    expect(await mem.control.poolGrow(2, { destination: ['mem@test'] })).toEqual({
      'mem@test': { ok: 'pool will grow' },
    });
    expect((await mem.control.inspect({ destination: ['mem@test'] }).stats())['mem@test'].pool['max-concurrency']).toBe(
      5,
    );
    // Nobody bound to another oid's queue gets its replies.
    const broker = await mem.broker();
    expect(await broker.pushReply('reply.celery.pidbox', 'nobody-waits', '{}')).toBe(0);
    await w.stop();
  });
});
