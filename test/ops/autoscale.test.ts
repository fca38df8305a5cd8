import Redis from 'ioredis';
import type { Celeriac } from '../../src';
import { ConfigError } from '../../src';
import { Autoscaler, parseAutoscale, type Scalable } from '../../src/worker/autoscale';
import { cleanup, eventually, makeApp, REDIS_URL } from '../helpers';
import { exited } from '../worker/child';
import { RC_JOBS, spawnRcWorker, stopAll, type Child } from './rc-workers';

/** A worker stand-in whose backlog the test sets; the clock is passed to tick(). */
function fakeWorker(concurrency: number) {
  const w = {
    concurrency,
    queues: ['q'],
    running: 0,
    held: 0,
    queued: 0,
    setConcurrency(n: number) {
      w.concurrency = n;
    },
    activeTasks: () => Array.from({ length: w.running }),
    reservedTasks: () => Array.from({ length: w.held }),
  };
  return w satisfies Scalable;
}

describe('Autoscaler (clock driven)', () => {
  test('grows at once to meet the backlog, never past max', async () => {
    const w = fakeWorker(1);
    const scaler = new Autoscaler(w, async () => w.queued, { max: 6, min: 1, keepaliveMs: 1000 });
    w.running = 1;
    w.held = 2;
    await scaler.tick(0);
    expect(w.concurrency).toBe(3);
    w.queued = 50;
    await scaler.tick(100);
    expect(w.concurrency).toBe(6);
  });

  test('shrinks only after keepaliveMs below capacity, and never below min', async () => {
    const w = fakeWorker(1);
    const scaled: [number, number][] = [];
    const scaler = new Autoscaler(w, async () => w.queued, { max: 8, min: 2, keepaliveMs: 1000 });
    scaler.on('scaled', (from, to) => scaled.push([from, to]));
    w.queued = 8;
    await scaler.tick(0);
    expect(w.concurrency).toBe(8);
    w.queued = 0;
    w.running = 1;
    await scaler.tick(500); // idle for 500 ms: kept
    expect(w.concurrency).toBe(8);
    await scaler.tick(999);
    expect(w.concurrency).toBe(8);
    await scaler.tick(1000); // a whole keepalive since the backlog last filled the slots
    expect(w.concurrency).toBe(2); // demand 1, floor min 2
    w.running = 0;
    await scaler.tick(5000);
    expect(w.concurrency).toBe(2);
    expect(scaled).toEqual([
      [1, 8],
      [8, 2],
    ]);
  });

  test('a busy moment restarts the keepalive', async () => {
    const w = fakeWorker(4);
    const scaler = new Autoscaler(w, async () => w.queued, { max: 4, min: 1, keepaliveMs: 1000 });
    w.running = 4;
    await scaler.tick(0);
    w.running = 1;
    await scaler.tick(800);
    w.running = 4; // full again at 900
    await scaler.tick(900);
    w.running = 0;
    await scaler.tick(1500); // 600 ms since busy: kept
    expect(w.concurrency).toBe(4);
    await scaler.tick(1900);
    expect(w.concurrency).toBe(1);
  });

  test('update() changes the range and moves the concurrency into it', () => {
    const w = fakeWorker(5);
    const scaler = new Autoscaler(w, async () => 0, { max: 10, min: 1 });
    expect(scaler.update(3, null)).toEqual({ max: 3, min: 1 });
    expect(w.concurrency).toBe(3);
    expect(scaler.update(8, 6)).toEqual({ max: 8, min: 6 });
    expect(w.concurrency).toBe(6);
    expect(() => scaler.update(2, 4)).toThrow(ConfigError);
  });

  test('--autoscale parsing and validation name the flag', () => {
    expect(parseAutoscale('10,3')).toEqual({ max: 10, min: 3 });
    expect(parseAutoscale('4')).toEqual({ max: 4, min: 1 });
    expect(Autoscaler.initialConcurrency({ max: 10, min: 0 })).toBe(1);
    expect(() => parseAutoscale('ten')).toThrow(/autoscale.*'ten'/);
    expect(() => Autoscaler.initialConcurrency({ max: 2, min: 5 })).toThrow(/min \(5\) is above max \(2\)/);
  });
});

describe('a worker process started with --autoscale', () => {
  let app: Celeriac;
  let redis: Redis;
  let worker: Child;
  const NAME = 'auto@test';

  beforeAll(async () => {
    app = await makeApp('autoscale', { apps: [RC_JOBS] });
    redis = new Redis(REDIS_URL);
    worker = spawnRcWorker(app, ['-n', NAME, '-Q', 'burst', '--autoscale', '4,1', '--autoscale-keepalive-ms', '300']);
    await eventually(
      async () =>
        expect(await app.control.ping({ destination: [NAME], timeoutMs: 500 })).toEqual({ [NAME]: { ok: 'pong' } }),
      40_000,
      100,
    );
  }, 60_000);

  afterAll(async () => {
    await stopAll([worker].filter(Boolean));
    await redis?.quit();
    if (app) await cleanup(app);
  });

  const stats = async () => (await app.control.inspect({ destination: [NAME], timeoutMs: 3000 }).stats())[NAME];

  test('grows under a burst, then shrinks back to min once idle', async () => {
    expect((await stats()).pool).toMatchObject({ 'max-concurrency': 1, autoscaler: { max: 4, min: 1, qty: 1 } });
    const burst = await Promise.all(
      Array.from({ length: 10 }, () => app.sendTask('rc.block', ['burst'], {}, { queue: 'burst' })),
    );
    // Growth observed from outside: the pool reaches max and runs that many at once.
    await eventually(
      async () => {
        const s = await stats();
        expect(s.pool['max-concurrency']).toBe(4);
        expect(s.celeriac.active).toBe(4);
      },
      20_000,
      100,
    );
    // Autoscale owns the pool size: manual grow/shrink are refused, as in Celery.
    expect((await app.control.poolGrow(1, { destination: [NAME], timeoutMs: 3000 }))[NAME]).toEqual({
      error: expect.stringMatching(/not supported with autoscale/),
    });

    await redis.set(`${app.config.keyPrefix}gate:burst`, '1');
    for (const r of burst) expect(await r.get({ timeout: 20 })).toBe(NAME);
    await eventually(async () => expect((await stats()).pool['max-concurrency']).toBe(1), 20_000, 100);
    expect(worker.output()).toMatch(/autoscale: concurrency 1 → \d/);
    expect(worker.output()).toMatch(/autoscale: concurrency 4 → 1/);
  });

  test('control autoscale changes the range at run time', async () => {
    expect(await app.control.autoscale(6, 2, { destination: [NAME], timeoutMs: 3000 })).toEqual({
      [NAME]: { ok: 'autoscale now max=6 min=2' },
    });
    expect((await stats()).pool).toMatchObject({ 'max-concurrency': 2, autoscaler: { max: 6, min: 2, qty: 2 } });
    await app.control.shutdown({ destination: [NAME], timeoutMs: 3000 });
    expect(await exited(worker)).toEqual({ code: 0, signal: null });
  });
});
