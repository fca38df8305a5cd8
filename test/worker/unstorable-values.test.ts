import { join } from 'node:path';
import Redis from 'ioredis';
import { NotStorableError, task, type Celeriac } from '../../src';
import { encodeTask } from '../../src/broker/message';
import type { Worker } from '../../src/worker/worker';
import { cleanup, eventually, makeApp, REDIS_URL, heldCount } from '../helpers';
import { build, echo, raise, size } from '../fixtures/values/tasks';
import { outgoingTask } from '../outgoing';

/**
 * Issue 15 item 1 end to end: each value here used to stop all result writing for good (every
 * later task PENDING, its message never acked, and the same again after a restart).
 */
let app: Celeriac;
let worker: Worker;
let redis: Redis;
beforeAll(async () => {
  app = await makeApp('unstorable_values', { apps: [join(__dirname, '../fixtures/values')] });
  worker = app.worker({ name: 'values@test', concurrency: 4 });
  await worker.start();
  redis = new Redis(REDIS_URL);
});
afterAll(async () => {
  await redis.quit();
  await cleanup(app);
});

const longName = task('n'.repeat(256), () => null);

test('sent through Celeriac: NUL, lone surrogates, and over-long ids and names are refused at send, naming the path', async () => {
  await expect(echo.delay('a\u0000b')).rejects.toThrow(NotStorableError);
  await expect(echo.delay('a\u0000b')).rejects.toThrow(
    /^args\[0\] contains U\+0000 \(NUL\) at index 1, which Postgres text and jsonb cannot hold: remove it/,
  );
  await expect(echo.delay({ list: [1, 'x\ud83d'] })).rejects.toThrow(
    /^args\[0\]\.list\[1\] contains a lone surrogate U\+D83D at index 1/,
  );
  await expect(app.sendTask('values.echo', [], { 'bad\u0000key': 1 })).rejects.toThrow(
    /^kwargs has a key that contains U\+0000/,
  );
  await expect(echo.applyAsync([1], {}, { taskId: 'i'.repeat(256) })).rejects.toThrow(
    /^taskId "i{40}"… is 256 characters long, over the 255 its column holds/,
  );
  await expect(echo.applyAsync([1], {}, { parentId: 'p\u0000' })).rejects.toThrow(
    /^parentId "p\\u0000" contains U\+0000/,
  );
  await expect(longName.delay()).rejects.toThrow(/^the task name "n{40}"… is 256 characters long/);
  // Paired surrogates (emoji) are text, and go through.
  expect(await (await echo.delay('ok 😀')).get({ timeout: 20 })).toBe('ok 😀');
  expect(await app.asyncResult('i'.repeat(256)).status()).toBe('UNKNOWN');
});

test('a task returning text Postgres cannot hold ends FAILURE with NotStorableError; an error message with it is kept, scrubbed', async () => {
  const returned = await build.delay([0x61, 0, 0x62]);
  await expect(returned.get({ timeout: 20 })).rejects.toMatchObject({
    excType: 'NotStorableError',
    excMessage: expect.stringMatching(/^the return value\.text contains U\+0000 \(NUL\) at index 1/),
  });
  const lone = await build.delay([0xdc00]);
  await expect(lone.get({ timeout: 20 })).rejects.toMatchObject({ excType: 'NotStorableError' });
  const raised = await raise.delay([0, 0xd800]);
  await expect(raised.get({ timeout: 20 })).rejects.toMatchObject({
    excType: 'Error',
    excMessage: 'bad \ufffd\ufffd message',
  });
});

/** A message as another producer (Python Celery, a script) would put it on the queue, unchecked. */
function foreignMessage(args: unknown[], kwargs: Record<string, unknown> = {}): { raw: string; id: string } {
  const id = `foreign-${Math.random().toString(36).slice(2)}`;
  const envelope = JSON.parse(encodeTask(outgoingTask({ id, task: 'values.size' })));
  envelope.body = Buffer.from(JSON.stringify([args, kwargs, {}])).toString('base64');
  return { raw: JSON.stringify(envelope), id };
}

test('the same values from another producer: FAILURE without running, the message kept in the dead-letter list; later tasks run', async () => {
  const executedBefore = worker.info().processed;
  const msgs = [
    foreignMessage(['a\u0000b']),
    foreignMessage([], { k: ['\ud800'] }),
    foreignMessage([{ ['k\u0000']: 1 }]),
  ];
  await redis.lpush(app.config.keyPrefix + 'celery', ...msgs.map((m) => m.raw));
  const later = await Promise.all(Array.from({ length: 20 }, (_, i) => size.delay({ i })));
  for (const r of later) expect(await r.get({ timeout: 30 })).toBeGreaterThan(0);
  for (const m of msgs) {
    await eventually(async () => expect(await app.asyncResult(m.id).status()).toBe('FAILURE'), 20_000);
    expect(await app.asyncResult(m.id).info()).toMatchObject({
      args: null,
      kwargs: null,
      result: {
        exc_type: 'NotStorableError',
        exc_message: [expect.stringMatching(/contains .*; the task was not run$/)],
      },
    });
  }
  const dead = await (await app.broker()).listDeadLetters(100);
  for (const m of msgs) expect(dead.some((d) => d.raw === m.raw && /NotStorable|contains/.test(d.reason))).toBe(true);
  // Acked: nothing is left held for the worker in Redis.
  await eventually(async () => expect(await heldCount(app, worker.consumer)).toBe(0));
  expect(worker.info().processed - executedBefore).toBe(20);
});

test('the worker health shows the store: backlog, refused states, and Postgres up', async () => {
  expect(worker.info().store).toMatchObject({ backlog: expect.any(Number), postgres: { down: false } });
  expect(worker.info().redis).toMatchObject({ down: false });
});
