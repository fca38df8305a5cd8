import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import Redis from 'ioredis';
import { task, type Celeriac } from '../../src';
import { allHeld, cleanup, eventually, makeApp, REDIS_URL } from '../helpers';
import { calls, record } from '../fixtures/canvas/tasks';

/**
 * A failed task's errback that cannot be sent (here a priority a send refuses since 7c76de4, as
 * a Python signature may carry) is recorded FAILURE with the reason, the task's other errbacks
 * run, and the failed task's message is acked: the follow-ups threw, and the finisher left the
 * message held by the worker ("could not complete; it will be redelivered"), to run again.
 */
let runs = 0;
const failing = task('errback_unsendable.failing', () => {
  runs++;
  throw new Error('boom');
});

let app: Celeriac;
let redis: Redis;
beforeAll(async () => {
  app = await makeApp('errback_unsendable', { apps: [join(__dirname, '../fixtures/canvas')] });
  redis = new Redis(REDIS_URL);
  await app.worker({ name: 'errback-unsendable@test', concurrency: 2 }).start();
}, 60_000);
afterAll(async () => {
  redis.disconnect();
  await cleanup(app);
});

test('an errback that cannot be sent is recorded FAILURE, the others run, the failed task is acked', async () => {
  const bad = record.s('bad').set({ priority: 300, taskId: randomUUID() });
  const good = record.s('good').set({ taskId: randomUUID() });
  const r = await failing.s().linkError(bad).linkError(good).applyAsync();
  await eventually(async () => expect((await app.asyncResult(good.id!).info())?.status).toBe('SUCCESS'), 20_000);
  const badRow = await app.asyncResult(bad.id!).info();
  expect({
    status: badRow?.status,
    result: badRow?.result,
    failed: (await r.info())?.status,
    runs,
    recorded: calls.record,
  }).toEqual({
    status: 'FAILURE',
    result: expect.objectContaining({
      exc_type: 'ConfigError',
      exc_message: [expect.stringMatching(/errback of errback_unsendable\.failing.*options\.priority/)],
    }),
    failed: 'FAILURE',
    runs: 1,
    recorded: 1,
  });
  await eventually(async () => expect(await allHeld(redis, app.config.keyPrefix)).toEqual({}));
});
