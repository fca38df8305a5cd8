import { MAX_TIME_LIMIT_S } from './broker/headers';
import { ConfigError, shown } from './errors';

/** setTimeout's longest delay (2^31-1 ms, about 24.8 days): a longer one fires after 1 ms. */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * A time limit (app, worker or task option): a worker arms it with setTimeout, which fires at
 * once, with a TimeoutOverflowWarning, for Infinity or anything past 2^31-1 ms (about 24 days).
 * Its own module, not config.ts: a send's checks (runtime/send-options) run in a task's ctx.retry()
 * too, and a process pool's child, which never reads the app's config, loaded all of config.ts
 * for this one check (its young generation grew to 2 MiB semi-spaces while loading it).
 */
export function timeLimitSeconds(key: string, value: unknown): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0 || value > MAX_TIME_LIMIT_S)
    throw new ConfigError(
      key,
      `expected a number of seconds > 0 and at most ${Math.floor(MAX_TIME_LIMIT_S)} (about 24 days), got ${shown(value)}`,
    );
  return value;
}
