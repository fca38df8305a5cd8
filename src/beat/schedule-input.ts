/**
 * The shorthands people write schedules in, turned into the ScheduleSpec the schedule module
 * evaluates: a number of seconds (Celery's `schedule: 30.0`), a five-field cron string
 * (`'*\/5 9-17 * * 1-5'`, in the usual cron order), an `@daily`-style macro, or a spec whose
 * crontab fields may be left out (they default to `*`, the zone to the app's `timezone`).
 */
import { cronMacro, validateSchedule, type FieldError, type ScheduleSpec } from './schedule';
import { isPlainObject } from './row';
import { closest } from '../errors';
import { properZoneName } from './schedule/zone-name';
import { columnLimitErrors, SCHEDULE_TABLES, type ScheduleKind } from './schedule-tables';

export type CrontabInput = {
  kind: 'crontab';
  minute?: string;
  hour?: string;
  dayOfWeek?: string;
  dayOfMonth?: string;
  monthOfYear?: string;
  timezone?: string;
};

export type ScheduleInput =
  | number
  | string
  | CrontabInput
  | Exclude<ScheduleSpec, { kind: 'crontab' } | { kind: 'clocked' }>
  | { kind: 'clocked'; clockedTime: Date | string };

/** The spec, or every problem with the input (fields as in ScheduleSpec: `minute`, `every`, …). */
export function normalizeSchedule(
  input: unknown,
  defaultTimezone: string,
): { spec: ScheduleSpec; errors: [] } | { spec: null; errors: FieldError[] } {
  let candidate: unknown = input;
  if (typeof input === 'number') {
    if (!Number.isFinite(input) || input <= 0) {
      return fail('every', `${input} seconds is not a period: use a positive number of seconds, e.g. 30`);
    }
    candidate = Number.isInteger(input)
      ? { kind: 'interval', every: input, period: 'seconds' }
      : { kind: 'interval', every: Math.round(input * 1e6), period: 'microseconds' };
  } else if (typeof input === 'string') {
    const expr = cronMacro(input) ?? input.trim();
    const parts = expr.split(/\s+/);
    if (parts.length !== 5) {
      return fail(
        'kind',
        `'${input}' is not a cron expression: use five fields 'minute hour day-of-month month day-of-week' (e.g. '30 2 * * *') or @hourly/@daily/@weekly/@monthly/@yearly/@weekdays/@weekends`,
      );
    }
    const [minute, hour, dayOfMonth, monthOfYear, dayOfWeek] = parts;
    candidate = { kind: 'crontab', minute, hour, dayOfMonth, monthOfYear, dayOfWeek, timezone: defaultTimezone };
  } else if (isPlainObject(input) && input.kind === 'crontab') {
    candidate = {
      kind: 'crontab',
      minute: input.minute ?? '*',
      hour: input.hour ?? '*',
      dayOfWeek: input.dayOfWeek ?? '*',
      dayOfMonth: input.dayOfMonth ?? '*',
      monthOfYear: input.monthOfYear ?? '*',
      timezone: input.timezone ?? defaultTimezone,
    };
  } else if (isPlainObject(input) && input.kind === 'clocked' && typeof input.clockedTime === 'string') {
    candidate = { kind: 'clocked', clockedTime: new Date(input.clockedTime) };
  }
  const errors = validateSchedule(candidate);
  if (!errors.length) errors.push(...columnLimitErrors(candidate as ScheduleSpec));
  if (isPlainObject(input)) errors.push(...unknownKeyErrors(input));
  if (errors.length) return { spec: null, errors };
  const spec = candidate as ScheduleSpec;
  return { spec: spec.kind === 'crontab' ? { ...spec, timezone: properZoneName(spec.timezone) } : spec, errors: [] };
}

/** Keys a schedule of that kind does not have: a typo (`minutes`) would otherwise be dropped unseen. */
function unknownKeyErrors(input: Record<string, unknown>): FieldError[] {
  const table = SCHEDULE_TABLES[input.kind as ScheduleKind];
  if (!table || !Object.hasOwn(SCHEDULE_TABLES, input.kind as string)) return [];
  const known = ['kind', ...table.columns.map((c) => c.key)];
  return Object.keys(input)
    .filter((k) => !known.includes(k))
    .map((k) => {
      const hint = closest(k, known);
      return {
        field: k,
        message: `not a field of a ${String(input.kind)} schedule${hint ? ` (did you mean '${hint}'?)` : ''}; it has ${known.join(', ')}`,
      };
    });
}

function fail(field: string, message: string): { spec: null; errors: FieldError[] } {
  return { spec: null, errors: [{ field, message }] };
}
