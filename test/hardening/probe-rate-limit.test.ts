import { join } from 'node:path';
import { ConfigError, task } from '../../src';
import { parseRateLimit } from '../../src/plugin/rate-limit';
import { cleanup, makeApp } from '../helpers';

/**
 * Found from outside (session 8) with Python Celery 5.2 on the same broker: `celery control
 * rate_limit tasks.add 100` (or app.control.rate_limit(name, 100)) set 100 tasks a second on a
 * Celery worker, and a Celeriac worker answered "Invalid rate limit string". Celery's rate()
 * reads a number without a unit as per second ('100', 100, '2.5'); so do task options and
 * taskDefaultRateLimit now, as Celery's Task.rate_limit does.
 */

test.each([
  ['100', 100, 1000],
  ['2.5', 2.5, 1000],
  [' 7 ', 7, 1000],
  [100, 100, 1000],
  ['10/s', 10, 1000],
  ['100/m', 100, 60_000],
  ['1000/h', 1000, 3_600_000],
])('%p is %p per %p ms, as Celery reads it', (text, tokens, perMs) => {
  const rate = parseRateLimit('rateLimit', text as string);
  expect(rate.tokens).toBe(tokens);
  expect(rate.perMs).toBe(perMs);
  expect(rate.text).toBe(String(text));
});

test.each(['fast', '10 per second', '-1', '0', '0/s', '1/d', '', NaN, -5, Infinity])(
  '%p is still a ConfigError naming the option',
  (text) => {
    expect(() => parseRateLimit('rateLimit', text as string)).toThrow(ConfigError);
    expect(() => parseRateLimit('rateLimit', text as string)).toThrow(/'rateLimit'/);
  },
);

test("a task's rateLimit of '100' is 100 a second", () => {
  const t = task('probe.rate.bare', () => 1, { rateLimit: '100' });
  expect(t.options.rateLimit).toMatchObject({ tokens: 100, perMs: 1000 });
});

test("control rate_limit with a bare number (Python's `celery control rate_limit t 100`) is set, not refused", async () => {
  const app = await makeApp('probe_rate_limit', { apps: [join(__dirname, '../fixtures/apps/math')] });
  const name = 'probe-rate@test';
  try {
    await app.worker({ name }).start();
    for (const rate of ['100', 100 as unknown as string])
      expect(await app.control.rateLimit('math.add', rate, { destination: [name], timeoutMs: 3000 })).toEqual({
        [name]: { ok: 'new rate limit set successfully' },
      });
  } finally {
    await cleanup(app);
  }
});
