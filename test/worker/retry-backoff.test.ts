/**
 * autoretryFor with retryBackoff: Celery's exponential backoff, capped at retryBackoffMax, with
 * full jitter (a draw in [0, the capped countdown]). Checked on the rule itself for any settings,
 * and on a real worker whose delays reach the cap, where each next attempt waits for its eta.
 */
import { join } from 'node:path';
import type { Celeriac, Logger } from '../../src';
import { TaskFailedError } from '../../src';
import { resolveTaskOptions } from '../../src/plugin/options';
import type { Worker } from '../../src/worker/worker';
import { retryDelayMs } from '../../src/worker/retry';
import { attempts, capped, jittered, StillDown } from '../fixtures/backoff/tasks';
import { cleanup, eventually, makeApp } from '../helpers';
import { fc, propertyOptions } from '../property';

describe('the backoff rule', () => {
  const options = (retryBackoff: number, retryBackoffMax: number, retryJitter: boolean) =>
    resolveTaskOptions('t', { autoretryFor: [StillDown], retryBackoff, retryBackoffMax, retryJitter });

  test('no jitter: factor · 2^retries seconds, never more than retryBackoffMax', () => {
    fc.assert(
      fc.property(
        fc.double({ min: 0.001, max: 100, noNaN: true }),
        fc.double({ min: 0.001, max: 3600, noNaN: true }),
        fc.nat({ max: 80 }),
        (factor, cap, retries) => {
          const delay = retryDelayMs(options(factor, cap, false), retries, -1, true);
          expect(delay).toBe(Math.min(cap, factor * 2 ** retries) * 1000);
        },
      ),
      propertyOptions(1000),
    );
  });

  test('full jitter: a draw in [0, the capped countdown]', () => {
    fc.assert(
      fc.property(
        fc.double({ min: 0.001, max: 100, noNaN: true }),
        fc.double({ min: 0.001, max: 3600, noNaN: true }),
        fc.nat({ max: 80 }),
        (factor, cap, retries) => {
          const delay = retryDelayMs(options(factor, cap, true), retries, -1, true);
          expect(delay).toBeGreaterThanOrEqual(0);
          expect(delay).toBeLessThanOrEqual(Math.min(cap, factor * 2 ** retries) * 1000);
        },
      ),
      propertyOptions(1000),
    );
  });

  test('jitter spreads the draws over the whole range, at the cap too', () => {
    const draws = Array.from({ length: 400 }, () => retryDelayMs(options(1, 10, true), 30, -1, true));
    // 400 uniform draws in [0, 10 s]: each half holds some (a miss has odds 2^-400).
    expect(Math.min(...draws)).toBeLessThan(5000);
    expect(Math.max(...draws)).toBeGreaterThan(5000);
    expect(Math.max(...draws)).toBeLessThanOrEqual(10_000);
  });

  test('a countdown asked for wins; ctx.retry() without one, or no backoff, waits defaultRetryDelay', () => {
    expect(retryDelayMs(options(1, 10, true), 5, 1234, true)).toBe(1234);
    expect(retryDelayMs(options(1, 10, true), 5, 0, false)).toBe(0);
    expect(retryDelayMs(options(1, 10, false), 5, -1, false)).toBe(180_000);
    const noBackoff = resolveTaskOptions('t', { autoretryFor: [StillDown], defaultRetryDelay: 7 });
    expect(retryDelayMs(noBackoff, 5, -1, true)).toBe(7000);
  });
});

describe('on a worker', () => {
  let app: Celeriac;
  let worker: Worker;
  const lines: string[] = [];
  const logger: Logger = { log: (_level, message) => void lines.push(message) };

  beforeAll(async () => {
    app = await makeApp('retry_backoff', { apps: [join(__dirname, '../fixtures/backoff')], logger });
    worker = app.worker({ name: 'backoff@test', concurrency: 2 });
    await worker.start();
  });
  afterAll(() => cleanup(app));

  /** The delays the worker chose, in seconds, from its "retry N in X.XXXs" lines (one per retry, in order). */
  const delays = (name: string, id: string) =>
    lines
      .map((l) => new RegExp(`^task ${name}\\[${id}\\] retry (\\d+) in ([\\d.]+)s`).exec(l))
      .filter((m) => m !== null)
      .map((m) => Number(m[2]));

  /** Every attempt after the first started at or after the eta its message carried (5 ms is intake's tolerance). */
  const expectEachAttemptWaitedForItsEta = (id: string) => {
    for (const a of attempts[id].slice(1)) expect(a.at).toBeGreaterThanOrEqual(Date.parse(a.eta!) - 5);
  };

  test('the delays double until retryBackoffMax, then stay at it; each attempt waits for its eta', async () => {
    const r = await capped.delay();
    await expect(r.get({ timeout: 30 })).rejects.toBeInstanceOf(TaskFailedError);
    expect(await r.info()).toMatchObject({ status: 'FAILURE', retries: 6, result: { exc_type: 'StillDown' } });
    await eventually(() => expect(delays('backoff.capped', r.id)).toHaveLength(6));
    expect(delays('backoff.capped', r.id)).toEqual([0.05, 0.1, 0.2, 0.2, 0.2, 0.2]);
    expect(attempts[r.id].map((a) => a.retries)).toEqual([0, 1, 2, 3, 4, 5, 6]);
    expectEachAttemptWaitedForItsEta(r.id);
  });

  test('with jitter each delay is a draw in [0, the capped countdown], not the countdown itself', async () => {
    const r = await jittered.delay();
    await expect(r.get({ timeout: 30 })).rejects.toBeInstanceOf(TaskFailedError);
    await eventually(() => expect(delays('backoff.jittered', r.id)).toHaveLength(12));
    const chosen = delays('backoff.jittered', r.id);
    const countdowns = chosen.map((_, retries) => Math.min(0.2, 0.05 * 2 ** retries));
    chosen.forEach((d, i) => {
      expect(d).toBeGreaterThanOrEqual(0);
      expect(d).toBeLessThanOrEqual(countdowns[i]);
    });
    // Twelve draws all within 10% of their countdown would have odds 10^-12: jitter is applied.
    expect(chosen.some((d, i) => d < 0.9 * countdowns[i])).toBe(true);
    expectEachAttemptWaitedForItsEta(r.id);
  });
});
