import { join } from 'node:path';
import Redis from 'ioredis';
import { Client } from 'pg';
import { BrokerUnavailableError, Celeriac, PayloadTooLargeError, TaskNotRegisteredError, EncodeError } from '../../src';
import { decodeTask } from '../../src/broker/message';
import { silentLogger } from '../../src/log';
import { cleanup, DATABASE_URL, makeApp, REDIS_URL } from '../helpers';
import { add } from '../fixtures/apps/math/tasks';

let app: Celeriac;
let redis: Redis;
beforeAll(async () => {
  app = await makeApp('send', {
    apps: [join(__dirname, '../fixtures/apps/math')],
    routes: { 'billing.*': { queue: 'billing', priority: 6 } },
    maxPayloadBytes: 4096,
  });
  redis = new Redis(REDIS_URL);
});
afterAll(async () => {
  await redis.quit();
  await cleanup(app);
});
const key = (k: string) => app.config.keyPrefix + k;

test('a sent task lands on the kombu list and is PENDING at once', async () => {
  const r = await add.applyAsync([2, 3], {}, { taskId: 'known-id-1' });
  expect(r.id).toBe('known-id-1');
  const raw = await redis.lindex(key('celery'), 0);
  const msg = decodeTask(raw!);
  expect(msg).toMatchObject({ id: 'known-id-1', task: 'math.add', args: [2, 3], queue: 'celery' });
  expect(await r.status()).toBe('PENDING');
  const info = await r.info();
  expect(info).toMatchObject({ taskName: 'math.add', args: [2, 3], kwargs: {}, queue: 'celery', status: 'PENDING' });
  expect(await r.ready()).toBe(false);
});

test('PENDING rows reach Postgres on their own, batched behind the sends, with no read in the sending process', async () => {
  const sent = await app.sendMany([
    { name: 'math.add', args: [1, 1] },
    { name: 'math.add', args: [2, 2] },
  ]);
  const single = await add.delay(3, 3);
  const ids = [...sent.map((r) => r.id), single.id];
  const pg = new Client({ connectionString: DATABASE_URL });
  await pg.connect();
  try {
    // Another connection, as the admin or another service reads: the sender's own reads would flush.
    const rows = async () =>
      (
        await pg.query(
          `SELECT task_id, status, args FROM "${app.config.schema}".celeriac_task_result WHERE task_id = ANY($1) ORDER BY args::text`,
          [ids],
        )
      ).rows;
    const deadline = Date.now() + 30_000;
    while ((await rows()).length < ids.length && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expect(await rows()).toEqual([
      { task_id: ids[0], status: 'PENDING', args: [1, 1] },
      { task_id: ids[1], status: 'PENDING', args: [2, 2] },
      { task_id: ids[2], status: 'PENDING', args: [3, 3] },
    ]);
  } finally {
    await pg.end();
  }
});

test('an id nobody sent is UNKNOWN, not PENDING', async () => {
  expect(await app.asyncResult('never-sent').status()).toBe('UNKNOWN');
});

test("priority goes to kombu's bucket key; queue and routes apply", async () => {
  await add.applyAsync([1, 1], {}, { priority: 5, queue: 'fast' });
  expect(await redis.llen(key('fast\x06\x163'))).toBe(1);
  await app.sendTask('billing.charge', [10], { currency: 'EUR' });
  const raw = await redis.lindex(key('billing\x06\x166'), 0);
  expect(decodeTask(raw!)).toMatchObject({
    task: 'billing.charge',
    args: [10],
    kwargs: { currency: 'EUR' },
    priority: 6,
  });
});

test('countdown and eta wait in the delayed set, not on the queue', async () => {
  const before = await redis.llen(key('later'));
  const r = await add.applyAsync([1, 2], {}, { countdown: 60, queue: 'later' });
  expect(await redis.llen(key('later'))).toBe(before);
  const [member, score] = await redis.zrange(key('celeriac:delayed'), '0', '-1', 'WITHSCORES');
  expect(decodeTask(member).id).toBe(r.id);
  expect(Number(score)).toBeGreaterThan(Date.now() + 55_000);
  expect(decodeTask(member).eta!.getTime()).toBe(Number(score));
});

test('bad input fails before anything is sent or recorded', async () => {
  const len = async () => (await redis.llen(key('celery'))) + (await redis.zcard(key('celeriac:delayed')));
  const before = await len();
  await expect(app.sendTask('nope.missing', [])).rejects.toThrow(TaskNotRegisteredError);
  await expect(app.sendTask('math.ad', [])).rejects.toThrow(/did you mean 'math.add'/);
  await expect(add.applyAsync([1, undefined as any])).rejects.toThrow(EncodeError);
  await expect(app.sendTask('math.add', 'x' as any)).rejects.toThrow(/args of 'math.add' must be an array/);
  await expect(add.applyAsync([1, 2], { blob: 'x'.repeat(5000) }, { taskId: 'too-big' })).rejects.toThrow(
    PayloadTooLargeError,
  );
  await expect(add.applyAsync([1, 2], { blob: 'x'.repeat(5000) })).rejects.toThrow(/over the 4096-byte limit/);
  expect(await len()).toBe(before);
  await app.results().then((s) => s.flush());
  expect(await app.asyncResult('too-big').status()).toBe('UNKNOWN');
});

test('forget deletes the stored result', async () => {
  const r = await add.delay(4, 4);
  expect(await r.status()).toBe('PENDING');
  await r.forget();
  expect(await r.status()).toBe('UNKNOWN');
});

test('forget right after a send: the PENDING row still held back to be batched is not written after the delete', async () => {
  const r = await add.delay(5, 5);
  await r.forget();
  // status() flushes this process's queued writes first, so a PENDING kept past forget() lands here.
  expect(await r.status()).toBe('UNKNOWN');
});

test('a broker that is down gives an error naming the host, never the password', async () => {
  const down = new Celeriac({ brokerUrl: 'redis://:hunter2@127.0.0.1:6390/0', logger: silentLogger });
  const err = await down.sendTask('math.add', [1, 2]).catch((e) => e);
  expect(err).toBeInstanceOf(BrokerUnavailableError);
  expect(err.message).toMatch(/127\.0\.0\.1:6390/);
  expect(err.message).not.toMatch(/hunter2/);
  await down.close();
});

test('migrating twice is harmless and the tables exist', async () => {
  expect(await app.migrate()).toEqual([]);
  const pg = new Client({ connectionString: DATABASE_URL });
  await pg.connect();
  const { rows } = await pg.query(
    `SELECT table_name FROM information_schema.tables WHERE table_schema = $1 ORDER BY 1`,
    [app.config.schema],
  );
  await pg.end();
  expect(rows.map((r) => r.table_name)).toEqual(
    expect.arrayContaining(['celeriac_task_result', 'celeriac_group_result', 'celeriac_migrations']),
  );
});
