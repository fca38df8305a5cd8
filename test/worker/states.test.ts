import { join } from 'node:path';
import Redis from 'ioredis';
import type { Celeriac } from '../../src';
import { TaskFailedError, TaskRevokedError } from '../../src';
import type { StateUpdate } from '../../src/results/store';
import type { Worker } from '../../src/worker/worker';
import { TEST_BROKERS, testBroker, type TestBroker } from '../brokers';
import { cleanup, eventually, makeApp, REDIS_URL } from '../helpers';
import {
  alwaysFlaky,
  flaky,
  hang,
  ignored,
  lateSignal,
  limited,
  progress,
  quick,
  sized,
  slow,
  waitForAbort,
} from '../fixtures/behave/tasks';

/**
 * The worker's core behaviour, one test body per transport (TEST_BROKERS): what differs on
 * RabbitMQ (countdown and retry backoff held unacked by the worker instead of Celeriac's delayed
 * set) is checked where it shows.
 */
describe.each(TEST_BROKERS)('on %s', (kind) => {
  let app: Celeriac;
  let worker: Worker;
  let redis: Redis;
  let broker: TestBroker;
  beforeAll(async () => {
    broker = await testBroker(kind, 'states');
    app = await makeApp('states', { apps: [join(__dirname, '../fixtures/behave')], brokerUrl: broker.brokerUrl });
    worker = app.worker({ name: 'w1@test', concurrency: 4 });
    await worker.start();
    redis = new Redis(REDIS_URL);
  }, 60_000);
  afterAll(async () => {
    await redis.quit();
    await cleanup(app);
    await broker.dispose();
  }, 60_000);

  test('success records worker, timestamps and the result', async () => {
    const r = await quick.delay(7);
    expect(await r.get({ timeout: 10 })).toMatchObject({ n: 7, worker: 'w1@test' });
    const row = (await r.info())!;
    expect(row).toMatchObject({
      status: 'SUCCESS',
      worker: 'w1@test',
      taskName: 'behave.quick',
      args: [7],
      retries: 0,
    });
    expect(row.dateDone!.getTime()).toBeGreaterThanOrEqual(row.dateCreated.getTime());
  });

  test('STARTED (trackStarted) and PROGRESS are visible while it runs', async () => {
    const r = await progress.delay(8);
    const seen = new Set<string>();
    let lastMeta: any;
    await eventually(
      async () => {
        const row = (await r.info())!;
        seen.add(row.status);
        if (row.status === 'PROGRESS') lastMeta = row.meta;
        expect(row.status).toBe('SUCCESS');
      },
      10_000,
      5,
    );
    expect(seen.has('PROGRESS')).toBe(true);
    expect(lastMeta).toMatchObject({ total: 8, stage: expect.stringMatching(/^step \d$/) });
    expect((await r.info())!.dateStarted).not.toBeNull();
  });

  test('failure keeps the class, message and stack; get() throws it', async () => {
    const r = await app.sendTask('behave.alwaysFlaky', [], {}, { taskId: 'always-flaky-1' });
    const err = (await r.get({ timeout: 20 }).catch((e) => e)) as TaskFailedError;
    expect(err).toBeInstanceOf(TaskFailedError);
    expect(err.excType).toBe('FlakyError');
    expect(err.excMessage).toBe('nope');
    expect(err.traceback).toMatch(/FlakyError: nope\n\s+at /);
    const row = (await r.info())!;
    // autoretryFor with maxRetries 2: the first try and two retries, then FAILURE.
    expect(row).toMatchObject({
      status: 'FAILURE',
      retries: 2,
      result: { exc_type: 'FlakyError', exc_message: ['nope'] },
    });
    void alwaysFlaky;
  });

  test('ctx.retry() runs the same id again until it succeeds', async () => {
    const r = await flaky.delay(2);
    expect(await r.get({ timeout: 20 })).toBe('ok after 2');
    expect((await r.info())!.retries).toBe(2);
  });

  test('retry backoff waits between attempts: the next one runs no earlier than the eta RETRY announced', async () => {
    // The RETRY state lasts one 50 ms backoff: seen as it commits, not by polling for it (a poll
    // on a busy machine can miss it and then wait its whole bound).
    const store = await app.results();
    const committed: StateUpdate[] = [];
    const onCommitted = (updates: StateUpdate[]) => committed.push(...updates);
    store.on('committed', onCommitted);
    try {
      const r = await flaky.delay(1);
      expect(await r.get({ timeout: 20 })).toBe('ok after 1');
      const states = committed.filter((u) => u.taskId === r.id);
      const retry = states.find((u) => u.status === 'RETRY');
      expect(retry?.meta).toMatchObject({ next_eta: expect.any(String) });
      // The next attempt ran no earlier than the eta the RETRY state announced (5 ms: intake's tolerance).
      const success = states.find((u) => u.status === 'SUCCESS');
      expect(success!.dateDone!.getTime()).toBeGreaterThanOrEqual(Date.parse(String(retry!.meta!.next_eta)) - 5);
      expect((await r.info())!.retries).toBe(1);
    } finally {
      store.off('committed', onCommitted);
    }
  });

  test('RECEIVED is written only for a task still unfinished a second after receipt', async () => {
    // Four slots: the quick task waits ~250 ms for one and goes from PENDING straight to SUCCESS;
    // the long one is still running a second after receipt, so its row says RECEIVED meanwhile.
    const store = await app.results();
    const committed: StateUpdate[] = [];
    const onCommitted = (updates: StateUpdate[]) => committed.push(...updates);
    store.on('committed', onCommitted);
    try {
      const long = await slow.delay(1600);
      const short = await Promise.all([1, 2, 3].map(() => slow.delay(250)));
      const waiting = await quick.delay(9);
      expect(await waiting.get({ timeout: 10 })).toMatchObject({ n: 9 });
      for (const r of short) expect(await r.get({ timeout: 10 })).toBe(250);
      expect(await long.get({ timeout: 10 })).toBe(1600);
      const states = (id: string) => committed.filter((u) => u.taskId === id).map((u) => u.status);
      expect(states(waiting.id)).not.toContain('RECEIVED');
      expect(states(long.id)).toContain('RECEIVED');
    } finally {
      store.off('committed', onCommitted);
    }
  });

  test('softTimeLimit aborts the signal with SoftTimeLimitExceededError', async () => {
    const r = await waitForAbort.delay();
    await expect(r.get({ timeout: 10 })).rejects.toMatchObject({ excType: 'SoftTimeLimitExceededError' });
  });

  test('a body that reads ctx.signal only after its soft limit finds it aborted', async () => {
    const r = await lateSignal.delay();
    expect(await r.get({ timeout: 10 })).toEqual({ aborted: true, reason: 'SoftTimeLimitExceededError' });
  });

  test('timeLimit fails the task and frees its slot', async () => {
    const hung = await Promise.all([1, 2, 3, 4, 5].map(() => hang.delay()));
    for (const r of hung)
      await expect(r.get({ timeout: 10 })).rejects.toMatchObject({ excType: 'TimeLimitExceededError' });
    // All four slots were taken by hung tasks; a quick task still runs, so the slots were freed.
    expect(await (await quick.delay(1)).get({ timeout: 10 })).toMatchObject({ n: 1 });
  });

  test('an expired task is REVOKED without running', async () => {
    const r = await quick.applyAsync([1], {}, { expires: new Date(Date.now() - 1000) });
    await expect(r.get({ timeout: 10 })).rejects.toBeInstanceOf(TaskRevokedError);
    expect((await r.info())!.meta).toMatchObject({ reason: 'expired' });
  });

  test('revoke: a task still waiting (countdown) never runs', async () => {
    // The revoke must come before the eta (time is the point): 3 s leaves room on a busy machine.
    const r = await quick.applyAsync([2], {}, { countdown: 3 });
    await app.control.revoke(r.id);
    expect(await r.status()).toBe('REVOKED');
    if (kind === 'redis')
      await eventually(
        async () => expect(await redis.zcard(app.config.keyPrefix + 'celeriac:delayed')).toBe(0),
        20_000,
      );
    // Promoted and received after its eta, it was dropped: still REVOKED, no result, no start.
    await eventually(async () => expect((await r.info())!.meta).toMatchObject({ reason: 'revoked' }), 20_000);
    expect((await r.info())!.result).toBeNull();
  });

  test('revoke with terminate stops a running task', async () => {
    const r = await slow.delay(60_000);
    await eventually(async () => expect(worker.info().active).toBeGreaterThan(0), 5000, 10);
    await app.control.revoke(r.id, { terminate: true });
    await expect(r.get({ timeout: 10 })).rejects.toBeInstanceOf(TaskRevokedError);
    await eventually(async () => expect((await r.info())!.meta).toMatchObject({ reason: 'terminated' }), 5000);
    await eventually(() => expect(worker.info().active).toBe(0), 5000);
  });

  test('rateLimit spaces starts per worker', async () => {
    const results = await Promise.all(Array.from({ length: 8 }, () => limited.delay()));
    const times = (await Promise.all(results.map((r) => r.get({ timeout: 20 }) as Promise<number>))).sort(
      (a, b) => a - b,
    );
    // 5/s with a full bucket of 5: the first five without waiting for a token, the rest one every
    // 200 ms. Five spaced by the rate would span 800 ms; the burst's own bound leaves room for a
    // busy machine's delays (they arrive over several fetches).
    expect(times[7] - times[0]).toBeGreaterThanOrEqual(550);
    expect(times[4] - times[0]).toBeLessThan(750);
  });

  test('ignoreResult tasks run but write nothing', async () => {
    const r = await ignored.delay();
    const marker = await quick.delay(99);
    await marker.get({ timeout: 10 });
    await eventually(async () => expect(worker.info().held).toBe(0), 5000);
    expect(await r.status()).toBe('UNKNOWN');
  });

  describe('get() and the finished notice (results channel)', () => {
    const finished = async (id: string) =>
      eventually(async () => expect((await app.asyncResult(id).info())?.status).toBe('SUCCESS'));

    test('a task this process sent after it listened is answered from its notice, even when get() comes after it finished', async () => {
      await (await quick.delay(0)).get({ timeout: 10 }); // the first wait subscribes
      const r = await sized.delay(10);
      await finished(r.id);
      // The row is gone, so only the notice kept for this id can answer.
      await app
        .dataSource()
        .then((ds) => ds.query(`DELETE FROM "${app.config.schema}".celeriac_task_result WHERE task_id = $1`, [r.id]));
      expect(await r.get({ timeout: 10 })).toBe('x'.repeat(10));
    });

    test('a result too big to ride in the notice is read from the table, before or after it finished', async () => {
      await (await quick.delay(0)).get({ timeout: 10 });
      const waiting = await sized.delay(20_000);
      expect(await waiting.get({ timeout: 10 })).toHaveLength(20_000);
      const late = await sized.delay(20_001);
      await finished(late.id);
      expect(await late.get({ timeout: 10 })).toHaveLength(20_001);
    });

    test('forget() drops the kept notice: get() then waits for a row that is gone', async () => {
      await (await quick.delay(0)).get({ timeout: 10 });
      const r = await sized.delay(3);
      await finished(r.id);
      // The row is visible before its notice reaches this process; a notice arriving after forget()
      // would answer the get() below. A later task's notice comes on the same channel after it.
      await (await quick.delay(0)).get({ timeout: 10 });
      await r.forget();
      await expect(r.get({ timeout: 0.3 })).rejects.toThrow(/did not finish/);
    });
  });
});
