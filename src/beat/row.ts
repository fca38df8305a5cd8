import { validateSchedule, type FieldError, type ScheduleSpec, type SolarEvent, type IntervalPeriod } from './schedule';

/** A periodic_task row joined with its schedule, as ./sql/selectDueRuns.ts returns it. */
export interface ScheduledRow {
  id: number;
  name: string;
  task: string;
  args: unknown;
  kwargs: unknown;
  queue: string | null;
  routing_key: string | null;
  headers: unknown;
  priority: number | null;
  expires: Date | null;
  expire_seconds: number | null;
  one_off: boolean;
  start_time: Date | null;
  enabled: boolean;
  catch_up: string;
  next_run_at: Date | null;
  last_slot_at: Date | null;
  total_run_count: number;
  /** bigint, kept as the string pg returns so it round-trips exactly. */
  revision: string;
  every: number | null;
  period: string | null;
  minute: string | null;
  hour: string | null;
  day_of_week: string | null;
  day_of_month: string | null;
  month_of_year: string | null;
  timezone: string | null;
  event: string | null;
  latitude: string | number | null;
  longitude: string | number | null;
  clocked_time: Date | null;
  interval_id: number | null;
  crontab_id: number | null;
  solar_id: number | null;
  clocked_id: number | null;
}

/** The columns every beat query selects, aliased as ScheduledRow expects. */
export function scheduledRowColumns(pt = 'pt'): string {
  return `${pt}.id, ${pt}.name, ${pt}.task, ${pt}.args, ${pt}.kwargs, ${pt}.queue, ${pt}.routing_key, ${pt}.headers, ${pt}.priority,
          ${pt}.expires, ${pt}.expire_seconds, ${pt}.one_off, ${pt}.start_time, ${pt}.enabled, ${pt}.catch_up, ${pt}.next_run_at,
          ${pt}.last_slot_at, ${pt}.total_run_count, ${pt}.revision::text AS revision,
          ${pt}.interval_id, ${pt}.crontab_id, ${pt}.solar_id, ${pt}.clocked_id,
          i.every, i.period, c.minute, c.hour, c.day_of_week, c.day_of_month, c.month_of_year, c.timezone,
          so.event, so.latitude, so.longitude, k.clocked_time`;
}

/**
 * Each schedule looked up per row by primary key (LATERAL, with OFFSET 0 so Postgres cannot turn
 * it back into a plain join). With plain joins and no statistics yet (a table just bulk-filled,
 * before autovacuum analyzes it) the planner hashed every due or stale row with its schedule and
 * sorted them all to return the first 1,000: 50-300 ms a batch at 100,000 new rows, each round of
 * a start-up. This shape reads the index in order, stops at the limit, and probes 4 keys a row
 * (3 ms a batch) whatever the statistics say.
 */
export function scheduleJoins(schema: string, pt = 'pt'): string {
  return `LEFT JOIN LATERAL (SELECT every, period FROM "${schema}".celeriac_interval_schedule WHERE id = ${pt}.interval_id OFFSET 0) i ON true
          LEFT JOIN LATERAL (SELECT minute, hour, day_of_week, day_of_month, month_of_year, timezone
                               FROM "${schema}".celeriac_crontab_schedule WHERE id = ${pt}.crontab_id OFFSET 0) c ON true
          LEFT JOIN LATERAL (SELECT event, latitude, longitude FROM "${schema}".celeriac_solar_schedule WHERE id = ${pt}.solar_id OFFSET 0) so ON true
          LEFT JOIN LATERAL (SELECT clocked_time FROM "${schema}".celeriac_clocked_schedule WHERE id = ${pt}.clocked_id OFFSET 0) k ON true`;
}

/**
 * The row's schedule, or the reasons it has none usable. Rows are checked here as well as
 * before saving, because plain SQL and older versions can write what validation would refuse
 * (an unknown zone, `minute = '61'`), and one such row must not stop the others.
 */
export function specOf(row: ScheduledRow): { spec: ScheduleSpec; errors: [] } | { spec: null; errors: FieldError[] } {
  let spec: ScheduleSpec;
  if (row.interval_id !== null) {
    spec = { kind: 'interval', every: row.every as number, period: row.period as IntervalPeriod };
  } else if (row.crontab_id !== null) {
    spec = {
      kind: 'crontab',
      minute: row.minute as string,
      hour: row.hour as string,
      dayOfWeek: row.day_of_week as string,
      dayOfMonth: row.day_of_month as string,
      monthOfYear: row.month_of_year as string,
      timezone: row.timezone as string,
    };
  } else if (row.solar_id !== null) {
    spec = {
      kind: 'solar',
      event: row.event as SolarEvent,
      latitude: Number(row.latitude),
      longitude: Number(row.longitude),
    };
  } else if (row.clocked_id !== null) {
    spec = { kind: 'clocked', clockedTime: row.clocked_time as Date };
  } else {
    return {
      spec: null,
      errors: [
        {
          field: 'schedule',
          message: 'the row has no schedule: set exactly one of interval, crontab, solar or clocked',
        },
      ],
    };
  }
  const errors = validationFor(spec);
  return errors.length ? { spec: null, errors } : { spec, errors: [] };
}

/**
 * validateSchedule costs about 0.3 ms for a crontab (zone lookup, field parsing), and 10,000
 * tasks due in the same minute usually share a handful of schedules: remember the verdict per
 * distinct schedule. Keyed by the schedule's values, so an edited row is checked afresh.
 */
const verdicts = new Map<string, FieldError[]>();
const VERDICT_LIMIT = 10_000;

function validationFor(spec: ScheduleSpec): FieldError[] {
  const key = scheduleKey(spec);
  let errors = verdicts.get(key);
  if (!errors) {
    errors = validateSchedule(spec);
    if (verdicts.size >= VERDICT_LIMIT) verdicts.clear();
    verdicts.set(key, errors);
  }
  return errors;
}

/** A string identifying a schedule by its values. */
export function scheduleKey(spec: ScheduleSpec): string {
  switch (spec.kind) {
    case 'interval':
      return `i|${spec.every}|${spec.period}`;
    case 'crontab':
      return `c|${spec.minute}|${spec.hour}|${spec.dayOfWeek}|${spec.dayOfMonth}|${spec.monthOfYear}|${spec.timezone}`;
    case 'solar':
      return `s|${spec.event}|${spec.latitude}|${spec.longitude}`;
    case 'clocked':
      return `k|${spec.clockedTime instanceof Date ? spec.clockedTime.getTime() : String(spec.clockedTime)}`;
  }
}

/** Header names the Celery protocol owns: a row may not replace the task id or name. */
export const RESERVED_HEADERS: ReadonlySet<string> = new Set([
  'lang',
  'task',
  'id',
  'shadow',
  'eta',
  'expires',
  'group',
  'group_index',
  'retries',
  'timelimit',
  'root_id',
  'parent_id',
  'argsrepr',
  'kwargsrepr',
  'origin',
  'ignore_result',
  'periodic_task_name',
  'scheduled_at',
]);

/** Problems with the message a row would produce, for rows written around validation. */
export function messageErrors(row: Pick<ScheduledRow, 'args' | 'kwargs' | 'headers'>): FieldError[] {
  const errors: FieldError[] = [];
  if (!Array.isArray(row.args)) errors.push({ field: 'args', message: 'must be a JSON array, e.g. [1, "a"]' });
  if (!isPlainObject(row.kwargs))
    errors.push({ field: 'kwargs', message: 'must be a JSON object, e.g. {"to": "a@b.c"}' });
  if (!isPlainObject(row.headers)) errors.push({ field: 'headers', message: 'must be a JSON object' });
  else {
    const reserved = Object.keys(row.headers).filter((k) => RESERVED_HEADERS.has(k));
    if (reserved.length) {
      errors.push({
        field: 'headers',
        message: `may not set ${reserved.map((k) => `'${k}'`).join(', ')}: the Celery protocol (and beat) own those headers`,
      });
    }
  }
  return errors;
}

export function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function formatErrors(errors: FieldError[]): string {
  return errors.map((e) => `${e.field}: ${e.message}`).join('; ');
}
