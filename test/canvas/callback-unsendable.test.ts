import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import Redis from 'ioredis';
import { chain, chord, type Celeriac } from '../../src';
import { allHeld, cleanup, eventually, makeApp, REDIS_URL } from '../helpers';
import { add, record, total } from '../fixtures/canvas/tasks';

/**
 * A task that succeeded, whose link callback or next chain step cannot be sent (a priority a
 * send refuses, as a Python signature may carry): the step is recorded FAILURE with the reason,
 * the steps after it as ChainBroken, the other callbacks run, and the task's message is acked.
 * The follow-ups threw, and the finisher left the message held by the worker ("could not
 * complete; it will be redelivered"), to run again after every restart and wedge the same way.
 */
let app: Celeriac;
let redis: Redis;
beforeAll(async () => {
  app = await makeApp('callback_unsendable', { apps: [join(__dirname, '../fixtures/canvas')] });
  redis = new Redis(REDIS_URL);
  await app.worker({ name: 'callback-unsendable@test', concurrency: 2 }).start();
}, 60_000);
afterAll(async () => {
  redis.disconnect();
  await cleanup(app);
});

const status = async (id: string) => (await app.asyncResult(id).info())?.status;

test('a link callback that cannot be sent is recorded FAILURE, the others run, the task is acked', async () => {
  const bad = record.s('bad').set({ priority: 300, taskId: randomUUID() });
  const good = record.s('good').set({ taskId: randomUUID() });
  const r = await add.s(1, 2).link(bad).link(good).applyAsync();
  await eventually(async () => expect(await status(good.id!)).toBe('SUCCESS'), 20_000);
  const badRow = await app.asyncResult(bad.id!).info();
  expect({ status: badRow?.status, exc: badRow?.result, first: await status(r.id) }).toEqual({
    status: 'FAILURE',
    exc: expect.objectContaining({ exc_type: 'ConfigError' }),
    first: 'SUCCESS',
  });
  await eventually(async () => expect(await allHeld(redis, app.config.keyPrefix)).toEqual({}));
});

test("a chain's next step that cannot be sent is recorded FAILURE, the steps after it ChainBroken", async () => {
  const bad = add.s(10).set({ priority: 300, taskId: randomUUID() });
  const after = add.s(100).set({ taskId: randomUUID() });
  const r = await chain(add.s(1, 2), bad, after).applyAsync();
  await eventually(async () => expect(await status(after.id!)).toBe('FAILURE'), 20_000);
  expect({
    bad: (await app.asyncResult(bad.id!).info())?.result,
    after: (await app.asyncResult(after.id!).info())?.result,
  }).toEqual({
    bad: expect.objectContaining({ exc_type: 'ConfigError' }),
    after: expect.objectContaining({ exc_type: 'ChainBroken' }),
  });
  expect(r.id).toBeDefined();
  await eventually(async () => expect(await allHeld(redis, app.config.keyPrefix)).toEqual({}));
});

test('a chord callback that cannot be sent is recorded FAILURE, and nothing stays held', async () => {
  const body = total.s().set({ priority: 300, taskId: randomUUID() });
  const members = [add.s(1, 1).set({ taskId: randomUUID() }), add.s(2, 2).set({ taskId: randomUUID() })];
  await chord(members, body).applyAsync();
  await eventually(async () => expect(await status(body.id!)).toBe('FAILURE'), 20_000);
  expect({
    body: (await app.asyncResult(body.id!).info())?.result,
    members: await Promise.all(members.map((m) => status(m.id!))),
  }).toEqual({
    body: expect.objectContaining({ exc_type: 'ConfigError' }),
    members: ['SUCCESS', 'SUCCESS'],
  });
  await eventually(async () => expect(await allHeld(redis, app.config.keyPrefix)).toEqual({}));
});
