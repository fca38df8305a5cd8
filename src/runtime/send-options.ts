import { timeLimitSeconds } from '../time-limit';
import { ConfigError, shown } from '../errors';
import { storableDate, storableTime } from '../storable';
import type { ApplyOptions } from '../plugin/options';

/**
 * A send's own timing and priority options, checked before the message is built: a NaN
 * countdown or an invalid Date threw a bare RangeError from toISOString, an eta that is not a
 * Date a TypeError; a priority or time limit out of range was sent, and the worker refused the
 * message's headers (dead-lettered, the row REJECTED), far from the call that made it.
 */
export function checkSendOptions(
  options: Pick<ApplyOptions, 'countdown' | 'eta' | 'expires' | 'priority' | 'timeLimit' | 'softTimeLimit'>,
): void {
  const { countdown, eta, expires, priority } = options as Record<string, unknown>;
  if (countdown != null && !seconds(countdown))
    bad('countdown', 'a finite number of seconds that ends between the years 0001 and 9999', countdown);
  if (eta != null && !validDate(eta)) bad('eta', 'a valid Date between the years 0001 and 9999', eta);
  if (expires != null && !seconds(expires) && !validDate(expires))
    bad('expires', 'a finite number of seconds or a valid Date between the years 0001 and 9999', expires);
  if (priority != null && !(Number.isInteger(priority) && (priority as number) >= 0 && (priority as number) <= 255))
    bad('priority', 'an integer from 0 to 255 (0-9 on Redis)', priority);
  // 0 is Celery's "no limit" (a Python signature's time_limit=0 reaches here through a work-flow).
  if (options.timeLimit != null && options.timeLimit !== 0) timeLimitSeconds('options.timeLimit', options.timeLimit);
  if (options.softTimeLimit != null && options.softTimeLimit !== 0)
    timeLimitSeconds('options.softTimeLimit', options.softTimeLimit);
}

/**
 * Seconds from now whose instant a header can carry: past the year 9999 the ISO text is one no
 * worker accepts (3e11 s was sent, then refused), and past a Date's range toISOString throws.
 */
function seconds(v: unknown): boolean {
  return typeof v === 'number' && Number.isFinite(v) && storableTime(Date.now() + v * 1000);
}

function validDate(v: unknown): boolean {
  return v instanceof Date && !Number.isNaN(v.getTime()) && storableDate(v);
}

function bad(key: string, want: string, got: unknown): never {
  const gotText =
    got instanceof Date
      ? `Date(${Number.isNaN(got.getTime()) ? 'invalid' : got.toISOString()})`
      : typeof got === 'string'
        ? `the string ${JSON.stringify(got.slice(0, 40))}`
        : shown(got);
  throw new ConfigError(`options.${key}`, `expected ${want}, got ${gotText}`);
}
