import { join } from 'node:path';
import Redis from 'ioredis';
import type { Celeriac } from '../../src';
import { encodeTask, type OutgoingTask } from '../../src/broker/message';
import type { Worker } from '../../src/worker/worker';
import { cleanup, eventually, makeApp, REDIS_URL, heldCount } from '../helpers';
import { quick } from '../fixtures/behave/tasks';
import { outgoingTask } from '../outgoing';

let app: Celeriac;
let worker: Worker;
let redis: Redis;
beforeAll(async () => {
  app = await makeApp('poison', { apps: [join(__dirname, '../fixtures/behave')] });
  worker = app.worker({ name: 'poison@test' });
  await worker.start();
  redis = new Redis(REDIS_URL);
});
afterAll(async () => {
  await redis.quit();
  await cleanup(app);
});
const k = (s: string) => app.config.keyPrefix + s;

const message = (task: string, extra: Partial<OutgoingTask> = {}) =>
  encodeTask(outgoingTask({ id: `id-${task}-${Date.now()}`, task, args: [1], ...extra }));

test('undecodable messages go to the dead-letter list with the reason; the worker goes on', async () => {
  await redis.lpush(k('celery'), 'this is not json', JSON.stringify({ body: 'x' }));
  const r = await quick.delay(5);
  expect(await r.get({ timeout: 10 })).toMatchObject({ n: 5 });
  const dead = await eventually(async () => {
    const d = (await (await app.broker()).listDeadLetters(10)).filter((x) => x.consumer === worker.consumer);
    expect(d).toHaveLength(2);
    return d;
  });
  expect(dead.map((d) => d.reason).sort()).toEqual([
    expect.stringMatching(/no headers.*protocol v2/),
    expect.stringMatching(/not JSON/),
  ]);
  expect(dead.map((d) => d.raw)).toContain('this is not json');
  expect(await heldCount(app, worker.consumer)).toBe(0);
});

test('an unknown task is REJECTED with a clear reason and kept', async () => {
  const raw = message('nobody.knows');
  const id = JSON.parse(raw).headers.id;
  await redis.lpush(k('celery'), raw);
  await eventually(async () => expect(await app.asyncResult(id).status()).toBe('REJECTED'));
  const row = (await app.asyncResult(id).info())!;
  expect(row.meta).toMatchObject({ reason: expect.stringMatching(/no task named 'nobody.knows'.*behave\.quick/) });
  const dead = await (await app.broker()).listDeadLetters(10);
  expect(dead.some((d) => d.raw === raw)).toBe(true);
});

test('an eta message put straight on the queue (as Python Celery does) is parked in the delayed set', async () => {
  const eta = new Date(Date.now() + 800);
  const raw = message('behave.quick', { eta });
  const id = JSON.parse(raw).headers.id;
  await redis.lpush(k('celery'), raw);
  await eventually(
    async () => expect(await redis.zscore(k('celeriac:delayed'), raw)).toBe(String(eta.getTime())),
    5000,
    5,
  );
  expect(await app.asyncResult(id).status()).toBe('UNKNOWN');
  const result = (await app.asyncResult(id).get({ timeout: 10 })) as { at: number };
  expect(result.at).toBeGreaterThanOrEqual(eta.getTime());
});

test('a message whose holders keep dying is dead-lettered, not run again', async () => {
  const raw = message('behave.quick');
  const id = JSON.parse(raw).headers.id;
  const tag = JSON.parse(raw).properties.delivery_tag;
  // As recover-2.lua leaves it after the sixth dead holder: counted, and on the queue's redelivered list.
  await redis.hset(k('celeriac:redeliveries'), tag, '6');
  await redis.rpush(k('celeriac:redelivered:celery'), raw);
  await eventually(async () => expect(await app.asyncResult(id).status()).toBe('FAILURE'));
  expect((await app.asyncResult(id).info())!.result).toMatchObject({ exc_type: 'WorkerLostError' });
  expect(
    (await (await app.broker()).listDeadLetters(10)).some(
      (d) => d.raw === raw && /died while holding this task 6 times/.test(d.reason),
    ),
  ).toBe(true);
});

test("a dead consumer's messages are given back by the reaper (crashed state written directly)", async () => {
  const raws = [
    message('behave.quick', { id: `ghost-held-${Date.now()}` }),
    message('behave.quick', { id: `ghost-listed-${Date.now()}` }),
  ];
  const ids = raws.map((raw) => JSON.parse(raw).headers.id as string);
  const tag = JSON.parse(raws[0]).properties.delivery_tag as string;
  // A consumer that registered, took two messages (one by a fetch, one by a blocking fetch), and
  // died: its lease key is gone. In one step: the reaper must not see the consumer before its
  // messages (a real one registers first).
  await redis
    .multi()
    .hset(k('celeriac:held:ghost#1'), tag, raws[0])
    .lpush(k('celeriac:processing:ghost#1'), raws[1])
    .sadd(k('celeriac:holders'), 'ghost#1')
    .exec();
  for (const id of ids)
    await eventually(async () => expect(await app.asyncResult(id).status()).toBe('SUCCESS'), 10_000);
  expect(await redis.exists(k('celeriac:held:ghost#1'), k('celeriac:processing:ghost#1'))).toBe(0);
  expect(await redis.sismember(k('celeriac:holders'), 'ghost#1')).toBe(0);
});

test('messages a worker from before held hashes held when it died are given back (an upgrade mid-flight)', async () => {
  const raw = message('behave.quick');
  const id = JSON.parse(raw).headers.id;
  // 0.1.0's layout: every fetch into the processing list, the consumer in celeriac:consumers.
  await redis.multi().lpush(k('celeriac:processing:ghost#2'), raw).sadd(k('celeriac:consumers'), 'ghost#2').exec();
  await eventually(async () => expect(await app.asyncResult(id).status()).toBe('SUCCESS'), 10_000);
  expect(await redis.exists(k('celeriac:processing:ghost#2'))).toBe(0);
  expect(await redis.sismember(k('celeriac:consumers'), 'ghost#2')).toBe(0);
});

test("a message in a live worker's processing list with no task for it (a fetch whose reply was lost) is given back and runs", async () => {
  const raw = message('behave.quick');
  const id = JSON.parse(raw).headers.id;
  // What a fetch script leaves when its reply never arrives: the message moved, the worker unaware.
  // The worker's lease stays live, so only the stray check can give it back.
  await redis.hset(k(`celeriac:held:${worker.consumer}`), JSON.parse(raw).properties.delivery_tag, raw);
  await eventually(async () => expect(await app.asyncResult(id).status()).toBe('SUCCESS'), 20_000, 200);
  expect(await redis.hvals(k(`celeriac:held:${worker.consumer}`))).not.toContain(raw);
});
