import { join } from 'node:path';
import type { Celeriac } from '../../src';
import { cleanup, makeApp } from '../helpers';

/**
 * Found from outside (session 8) with `celery control pool_grow 99999999999999999999` (and
 * Celeriac's own CLI): the worker answered "pool will grow" and took a concurrency of 1e20 and a
 * prefetch of 5e20 (a processes pool would fork without end); `control autoscale` took a max of
 * 1e20 likewise. The admin already capped a step at 1,000 threads; the worker itself now refuses
 * more, whoever sends the command, and keeps its concurrency.
 */
const FIXED = 'probe-pool@test';
const SCALED = 'probe-pool-auto@test';
let app: Celeriac;
beforeAll(async () => {
  app = await makeApp('probe_pool_step', {
    brokerUrl: 'memory://probe-pool',
    apps: [join(__dirname, '../fixtures/apps/math')],
  });
  await app.worker({ name: FIXED, concurrency: 2 }).start();
  await app.worker({ name: SCALED, autoscale: { max: 4, min: 1 } }).start();
});
afterAll(() => cleanup(app));

const only = (name: string) => ({ destination: [name], timeoutMs: 3000 });
const concurrency = async (name: string) =>
  ((await app.control.inspect(only(name)).stats())[name] as { pool: { 'max-concurrency': number } }).pool[
    'max-concurrency'
  ];

test.each([1e20, 1001])('pool_grow %p is refused and the concurrency stays', async (n) => {
  expect((await app.control.poolGrow(n, only(FIXED)))[FIXED]).toEqual({ error: expect.stringMatching(/1000/) });
  expect((await app.control.poolShrink(n, only(FIXED)))[FIXED]).toEqual({ error: expect.stringMatching(/1000/) });
  expect(await concurrency(FIXED)).toBe(2);
});

test('autoscale with a max past 1,000 is refused and the range stays', async () => {
  expect((await app.control.autoscale(1e20, 1, only(SCALED)))[SCALED]).toEqual({
    error: expect.stringMatching(/1000/),
  });
  expect(await app.control.autoscale(3, 1, only(SCALED))).toEqual({ [SCALED]: { ok: 'autoscale now max=3 min=1' } });
});

test('a step of up to 1,000 still grows and shrinks', async () => {
  expect(await app.control.poolGrow(1000, only(FIXED))).toEqual({ [FIXED]: { ok: 'pool will grow' } });
  expect(await concurrency(FIXED)).toBe(1002);
  expect(await app.control.poolShrink(1000, only(FIXED))).toEqual({ [FIXED]: { ok: 'pool will shrink' } });
  expect(await concurrency(FIXED)).toBe(2);
});
