import { join } from 'node:path';
import { ConfigError, type Celeriac } from '../../src';
import { cleanup, makeApp } from '../helpers';

/**
 * Found from outside (session 8): worker.stop(graceMs) took any value. stop(NaN) (a grace read
 * from an unset env variable) made the grace loop's deadline NaN, so running tasks were given
 * back at once instead of being let finish; a grace past setTimeout's ceiling (3e9, Infinity)
 * made the store's final flush give up after 1 ms. A bad grace is a ConfigError naming it, and
 * the worker goes on running (a stop that cannot say how long to wait stops nothing).
 */
let app: Celeriac;
beforeAll(async () => {
  app = await makeApp('probe_stop_grace', { apps: [join(__dirname, '../fixtures/apps/math')] });
});
afterAll(() => cleanup(app));

test.each([NaN, -1, 1.5, Infinity, 3e9, '1000', null])(
  'stop(%p): a ConfigError naming graceMs, the worker still running',
  async (grace) => {
    const worker = app.worker({ name: 'stop-grace@test', concurrency: 2 });
    await worker.start();
    try {
      await expect(worker.stop(grace as never)).rejects.toThrow(ConfigError);
      await expect(worker.stop(grace as never)).rejects.toThrow(/'graceMs'.*whole number of ms from 0/);
      const r = await app.sendTask('math.add', [2, 3]);
      await expect(r.get({ timeout: 30 })).resolves.toBe(5);
    } finally {
      await worker.stop();
    }
  },
);

test('stop() and stop(0) still stop', async () => {
  for (const grace of [undefined, 0]) {
    const worker = app.worker({ name: 'stop-grace-ok@test', concurrency: 2 });
    await worker.start();
    await expect(worker.stop(grace)).resolves.toBeUndefined();
  }
});
