/**
 * Checks a periodic task before it is saved, reporting every problem at once with the field it
 * belongs to, so the admin can mark each bad input and the config can name each bad key.
 * The database checks the structural rules again (one schedule, one expiry, JSON shapes);
 * the beat checks rows once more when it reads them, for rows written around both.
 */
import { closest } from '../errors';
import {
  PERIODIC_TASK_FIELD_NAMES,
  PERIODIC_TASK_FIELDS,
  type CatchUp,
  type FieldSpec,
  type PeriodicTaskField,
  type PeriodicTaskValues,
} from './fields';
import type { FieldError, ScheduleSpec } from './schedule';
import { normalizeSchedule, type ScheduleInput } from './schedule-input';
import { isPlainObject } from './row';

export type { CatchUp } from './fields';
export { periodicTaskDefaults } from './fields';

/** A periodic task as a person writes it (the admin, the service, `beatSchedule`). */
export interface PeriodicTaskInput {
  /** Unique name: the row's identity, shown as periodic_task_name on results. */
  name: string;
  /** The registered task name to send. */
  task: string;
  schedule: ScheduleInput;
  args?: unknown[];
  kwargs?: Record<string, unknown>;
  queue?: string | null;
  /** Stored for django-celery-beat parity; the Redis transport routes by queue only. */
  exchange?: string | null;
  /** Used as the queue when `queue` is not set (a direct exchange routes by queue name). */
  routingKey?: string | null;
  headers?: Record<string, unknown>;
  /** 0-255 as in django-celery-beat; the Redis transport uses buckets 0-9, 0 first. */
  priority?: number | null;
  /** The message expires at this instant. Exclusive with expireSeconds. */
  expires?: Date | string | null;
  /** The message expires this many seconds after beat sends it. */
  expireSeconds?: number | null;
  /** Run once, then disable. Clocked schedules are always one-off. */
  oneOff?: boolean;
  /** Not before this instant. */
  startTime?: Date | string | null;
  enabled?: boolean;
  description?: string;
  /** After downtime: run missed slots once ('once', the default) or not at all ('skip'). */
  catchUp?: CatchUp;
}

/** A validated task, in the shape the tables hold (the types come from ./fields.ts). */
export type ValidPeriodicTask = PeriodicTaskValues & { schedule: ScheduleSpec };

/** PeriodicTaskInput documents the table's fields for users; the compiler keeps the two the same. */
type SameKeys<A, B> = [Exclude<keyof A, keyof B>, Exclude<keyof B, keyof A>] extends [never, never] ? true : never;
const inputMatchesTable: SameKeys<PeriodicTaskInput, PeriodicTaskValues & { schedule: unknown }> = true;
void inputMatchesTable;

export interface ValidationOptions {
  /** Zone for cron strings and crontabs given without one. */
  defaultTimezone: string;
  /** When given, `task` must be a name it accepts (registered, or routed to another service). */
  isKnownTask?: (name: string) => boolean;
  knownTaskNames?: () => Iterable<string>;
}

const KNOWN_FIELDS: ReadonlySet<string> = new Set([...PERIODIC_TASK_FIELD_NAMES, 'schedule']);

export function validatePeriodicTask(
  input: unknown,
  options: ValidationOptions,
): { value: ValidPeriodicTask; errors: [] } | { value: null; errors: FieldError[] } {
  if (!isPlainObject(input)) {
    return {
      value: null,
      errors: [
        { field: 'task', message: `expected a periodic task object, got ${input === null ? 'null' : typeof input}` },
      ],
    };
  }
  const errors: FieldError[] = [];
  const err = (field: string, message: string) => errors.push({ field, message });
  for (const key of Object.keys(input)) {
    if (!KNOWN_FIELDS.has(key)) {
      const hint = closest(key, KNOWN_FIELDS);
      err(key, `unknown field${hint ? ` (did you mean '${hint}'?)` : ''}`);
    }
  }
  const values = {} as Record<PeriodicTaskField, unknown>;
  let schedule: ScheduleSpec | null = null;
  for (const field of PERIODIC_TASK_FIELD_NAMES) {
    const spec = PERIODIC_TASK_FIELDS[field] as FieldSpec<unknown>;
    const raw = input[field];
    // name and task have no default worth saving: their parse reports them as required.
    const required = field === 'name' || field === 'task';
    const parsed = raw === undefined && !required ? { value: spec.default() } : spec.parse(raw);
    if ('error' in parsed) err(field, parsed.error);
    else values[field] = parsed.value;
    if (field !== 'task') continue;
    // The task's two checks that need more than the value: is it known, and its schedule (so
    // errors come in the order a form shows the fields).
    if (typeof values.task === 'string' && options.isKnownTask && !options.isKnownTask(values.task)) {
      const hint = options.knownTaskNames ? closest(values.task, options.knownTaskNames()) : undefined;
      err(
        'task',
        `no task named '${values.task}' is registered${hint ? ` (did you mean '${hint}'?)` : ''}: define it, or add a route for it to send it to another service`,
      );
    }
    if (input.schedule === undefined || input.schedule === null) {
      err('schedule', "required: e.g. { kind: 'interval', every: 5, period: 'minutes' } or '0 3 * * *'");
    } else {
      const s = normalizeSchedule(input.schedule, options.defaultTimezone);
      if (s.spec) schedule = s.spec;
      else for (const e of s.errors) err(`schedule.${e.field}`, e.message);
    }
  }
  if (values.expires && values.expireSeconds !== null && values.expireSeconds !== undefined) {
    err('expireSeconds', 'set either expires (an instant) or expireSeconds (relative to each send), not both');
  }

  if (errors.length || !schedule) return { value: null, errors };
  const value = { ...(values as PeriodicTaskValues), schedule };
  // django-celery-beat refuses a clocked schedule without one_off; it can only mean one run.
  if (schedule.kind === 'clocked') value.oneOff = true;
  return { value, errors: [] };
}
