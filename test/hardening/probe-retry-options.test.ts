import { join } from 'node:path';
import { ConfigError, TaskFailedError, type Celeriac } from '../../src';
import { closeTestRedis, testKey, testRedis } from '../fixtures/test-redis';
import { cleanup, makeApp, REDIS_URL } from '../helpers';

/**
 * Found from outside (session 8) by retrying with option values of the wrong kind:
 * `ctx.retry({ countdown: Infinity })` (or 1e13 s) threw a RangeError in the worker's finish,
 * which ran the task's body a second time and then recorded "FinishError: finishing the task
 * threw twice … Invalid time value"; an eta in the year 20000 left the task RETRY for good, its
 * message parked with an eta header no worker accepts; a NaN countdown or an invalid Date was
 * dropped for the default delay unseen. Sending had the same hole for a finite countdown or
 * expires past the year 9999: 1e13 s threw a bare RangeError, 3e11 s sent a message the worker
 * refuses. Each is now a ConfigError naming options.<key>: at the send, or as the task's FAILURE
 * after one run.
 */
let app: Celeriac;
beforeAll(async () => {
  app = await makeApp('probe_retry_options', {
    apps: [join(__dirname, 'fixtures/retry-options'), join(__dirname, '../fixtures/apps/math')],
  });
  process.env.TEST_REDIS_URL = REDIS_URL;
  process.env.TEST_PREFIX = app.config.keyPrefix;
  await app.worker({ name: 'probe-retry@test' }).start();
});
afterAll(async () => {
  await closeTestRedis();
  await cleanup(app);
});

test.each([
  ['countdown', 'Infinity'],
  ['countdown', 1e13],
  ['countdown', 3e11],
  ['countdown', 'NaN'],
  ['eta', 'invalid'],
  ['eta', 'year 20000'],
])('ctx.retry({ %s: %p }) fails the task once with a ConfigError naming it', async (key, value) => {
  const r = await app.sendTask('probe.retry_with', [{ [key]: value }]);
  const err = await r.get({ timeout: 15 }).then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(TaskFailedError);
  expect((err as TaskFailedError).excType).toBe('ConfigError');
  expect((err as Error).message).toContain(`'options.${key}'`);
  expect(await testRedis().get(testKey(`runs:${r.id}`))).toBe('1');
});

test('a good retry still retries', async () => {
  const r = await app.sendTask('probe.retry_with', [{ countdown: 0.05 }]);
  expect(await r.get({ timeout: 15 })).toBe('retried');
});

test.each([
  ['countdown', 1e13],
  ['countdown', 3e11],
  ['expires', 1e13],
  ['expires', 3e11],
])('send with %s %p, past the year 9999, is a ConfigError naming it', async (key, value) => {
  const sent = app.sendTask('math.add', [1, 2], {}, { [key]: value });
  await expect(sent).rejects.toBeInstanceOf(ConfigError);
  await expect(sent).rejects.toThrow(`'options.${key}'`);
});
