/**
 * Schedule math for beat: validation, next run, previews and human text for the four
 * django-celery-beat schedule kinds. Pure functions: no database, no clock of its own.
 */
import { compileCrontab, nextCrontabRun } from './crontab';
import { InvalidInstantError, ScheduleValidationError } from './errors';
import { MAX_DATE_MS, intervalMs } from './interval';
import { nextSolarEvent } from './solar';
import type { ScheduleSpec } from './types';
import { validateSchedule } from './validate';

export { validateSchedule } from './validate';
export { describeSchedule } from './describe';
export { cronMacro } from './cron-macros';
export * from './types';
export * from './errors';

export function assertValidSchedule(spec: unknown): asserts spec is ScheduleSpec {
  const errors = validateSchedule(spec);
  if (errors.length) throw new ScheduleValidationError(errors);
}

/**
 * The first scheduled instant strictly after `after`, or null when there is none (a clocked
 * time already past, a solar event that does not happen within a year, a Date overflow).
 * - interval: after + period. Beat passes the last scheduled run, not "now", so runs stay on
 *   their grid.
 * - crontab: the DST rule in crontab.ts (gap slots run once at the transition instant,
 *   repeated slots once at their first occurrence), correct for any `after`.
 * - solar: the next occurrence of the event at the place.
 * - clocked: clockedTime if it is after `after`.
 * Throws ScheduleValidationError for crontab fields that do not parse; validate user input
 * with validateSchedule first, the rest of the spec is trusted here for speed.
 */
export function nextRunAfter(spec: ScheduleSpec, after: Date): Date | null {
  const afterMs = instantOf(after, 'after');
  const next = nextRunAfterMs(spec, afterMs);
  return next === null || next > MAX_DATE_MS ? null : new Date(next);
}

/** Up to `n` consecutive runs after `after`, for the admin's preview; fewer when the schedule ends. */
export function nextRuns(spec: ScheduleSpec, after: Date, n: number): Date[] {
  if (!Number.isSafeInteger(n) || n < 0) {
    throw new RangeError(`nextRuns: n must be a whole number of at least 0, got ${String(n)}: pass e.g. 5`);
  }
  const runs: Date[] = [];
  let cursor = instantOf(after, 'after');
  while (runs.length < n) {
    const next = nextRunAfterMs(spec, cursor);
    if (next === null || next > MAX_DATE_MS) break;
    runs.push(new Date(next));
    cursor = next;
  }
  return runs;
}

function nextRunAfterMs(spec: ScheduleSpec, after: number): number | null {
  switch (spec.kind) {
    case 'interval':
      return after + intervalMs(spec.every, spec.period);
    case 'crontab':
      return nextCrontabRun(compileCrontab(spec), after);
    case 'solar':
      return nextSolarEvent(spec.event, spec.latitude, spec.longitude, after);
    case 'clocked': {
      const at = instantOf(spec.clockedTime, 'clockedTime');
      return at > after ? at : null;
    }
  }
}

function instantOf(date: Date, argumentName: string): number {
  const ms = date instanceof Date ? date.getTime() : NaN;
  if (Number.isNaN(ms)) throw new InvalidInstantError(argumentName, date);
  return ms;
}
