import { join } from 'node:path';
import type { Celeriac } from '../../src';
import { cleanup, makeApp } from '../helpers';
import { echo } from '../fixtures/values/tasks';

/**
 * A get() timeout past setTimeout's ceiling (2^31-1 ms, about 24.8 days) armed a timer Node
 * fires after 1 ms: the first read "timed out" and get() threw TimeoutError at once.
 */
let app: Celeriac;
beforeAll(async () => {
  app = await makeApp('long_timeout', { apps: [join(__dirname, '../fixtures/values')] });
});
afterAll(() => cleanup(app));

test('get() with a 30-day timeout waits for the task instead of timing out at once', async () => {
  const r = await echo.delay(1); // no worker yet: it stays PENDING
  const got = r.get({ timeout: 30 * 86_400 }).then(
    (v) => v,
    (e: Error) => `${e.name}: ${e.message}`,
  );
  const outcome = await Promise.race([
    got.then(() => 'ended'),
    // Time is the point here: it must still be waiting after a few reads.
    new Promise((done) => setTimeout(() => done('still waiting'), 1_500)),
  ]);
  expect(outcome).toBe('still waiting');
  const worker = app.worker({ name: 'long-timeout@test', concurrency: 1 });
  await worker.start();
  try {
    expect(await got).toBe(1);
  } finally {
    await worker.stop();
  }
});

test('get() refuses a timeout that is not a number of seconds >= 0, naming it', async () => {
  const r = await echo.delay(2);
  await expect(r.get({ timeout: -1 })).rejects.toThrow(/timeout.*>= 0.*got -1/);
  await expect(r.get({ timeout: NaN })).rejects.toThrow(/got NaN/);
  await expect(r.get({ timeout: '5' as unknown as number })).rejects.toThrow(/got 5/);
});
