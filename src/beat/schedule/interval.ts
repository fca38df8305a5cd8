/**
 * Interval schedules: django-celery-beat's IntervalSchedule (`every` × `period`).
 *
 * Precision is the millisecond, because that is what a Date holds and what the beat tables
 * store. `microseconds` stays accepted for rows written by Python, but only in whole
 * milliseconds (every = 1000, 2000, …): anything else would have to be rounded, and a
 * silently rounded period drifts (1500 µs run as 2 ms is a third fewer runs). Sub-millisecond
 * periods are rejected for the same reason; no beat loop wakes that often anyway.
 */
import type { FieldError, IntervalPeriod } from './types';
import { INTERVAL_PERIODS } from './types';
import { closest } from '../../errors';
import { describeType } from './quote-value';

const PERIOD_MS: Readonly<Record<Exclude<IntervalPeriod, 'microseconds'>, number>> = {
  days: 86_400_000,
  hours: 3_600_000,
  minutes: 60_000,
  seconds: 1_000,
};

export { MAX_DATE_MS } from '../../db/limits';

/**
 * The longest period accepted: 10,000 years. A Date ends 8.64e15 ms from the epoch, and beat
 * adds a period to now, to a start time or to the last run; a period that reaches past the end
 * from today would plan an Invalid Date. No one means a period that long; a typo does.
 */
export const MAX_PERIOD_MS = 10_000 * 365.25 * 86_400_000;

/** The period in ms. Assumes a spec that validateInterval accepted. */
export function intervalMs(every: number, period: IntervalPeriod): number {
  return period === 'microseconds' ? every / 1000 : every * PERIOD_MS[period];
}

export function validateInterval(every: unknown, period: unknown): FieldError[] {
  const errors: FieldError[] = [];
  const periodOk = typeof period === 'string' && (INTERVAL_PERIODS as readonly string[]).includes(period);
  if (!periodOk) {
    const hint = typeof period === 'string' ? closest(period.toLowerCase(), INTERVAL_PERIODS) : undefined;
    errors.push({
      field: 'period',
      message:
        `${describeType(period)} is not a period${hint ? ` (did you mean '${hint}'?)` : ''}: ` +
        `use one of ${INTERVAL_PERIODS.join(', ')}`,
    });
  }
  if (typeof every !== 'number' || !Number.isSafeInteger(every) || every < 1) {
    errors.push({
      field: 'every',
      message: `${describeType(every)} is not a whole number of at least 1: use e.g. every: 5 with period: 'minutes'`,
    });
  } else if (periodOk) {
    const p = period as IntervalPeriod;
    if (p === 'microseconds' && every % 1000 !== 0) {
      errors.push({
        field: 'every',
        message:
          `${every} microseconds is not a whole number of milliseconds, and beat keeps millisecond precision: ` +
          `use a multiple of 1000 (e.g. ${Math.max(1000, Math.round(every / 1000) * 1000)}) or period 'seconds'`,
      });
    } else if (intervalMs(every, p) > MAX_PERIOD_MS) {
      errors.push({
        field: 'every',
        message: `${every} ${p} is longer than 10,000 years, the longest period beat plans (from now, 273,790 years is longer than a Date can reach): use a smaller number`,
      });
    }
  }
  return errors;
}
