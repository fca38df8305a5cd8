/**
 * Checks a periodic task before it is saved, reporting every problem at once with the field it
 * belongs to, so the admin can mark each bad input and the config can name each bad key.
 * The database checks the structural rules again (one schedule, one expiry, JSON shapes);
 * the beat checks rows once more when it reads them, for rows written around both.
 */
import { closest } from '../errors';
import { INT32_MAX, instantProblem, jsonProblems, textProblem } from '../db/limits';
import type { FieldError, ScheduleSpec } from './schedule';
import { normalizeSchedule, type ScheduleInput } from './schedule-input';
import { isPlainObject, RESERVED_HEADERS } from './row';

export type CatchUp = 'once' | 'skip';

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

/** A validated task, in the shape the tables hold. */
export interface ValidPeriodicTask {
  name: string;
  task: string;
  schedule: ScheduleSpec;
  args: unknown[];
  kwargs: Record<string, unknown>;
  queue: string | null;
  exchange: string | null;
  routingKey: string | null;
  headers: Record<string, unknown>;
  priority: number | null;
  expires: Date | null;
  expireSeconds: number | null;
  oneOff: boolean;
  startTime: Date | null;
  enabled: boolean;
  description: string;
  catchUp: CatchUp;
}

/**
 * What every optional field of a periodic task is when not given (django-celery-beat's model
 * defaults). A function, so each caller gets its own args/kwargs/headers objects.
 */
export function periodicTaskDefaults(): Omit<ValidPeriodicTask, 'name' | 'task' | 'schedule'> {
  return {
    args: [],
    kwargs: {},
    queue: null,
    exchange: null,
    routingKey: null,
    headers: {},
    priority: null,
    expires: null,
    expireSeconds: null,
    oneOff: false,
    startTime: null,
    enabled: true,
    description: '',
    catchUp: 'once',
  };
}

export interface ValidationOptions {
  /** Zone for cron strings and crontabs given without one. */
  defaultTimezone: string;
  /** When given, `task` must be a name it accepts (registered, or routed to another service). */
  isKnownTask?: (name: string) => boolean;
  knownTaskNames?: () => Iterable<string>;
}

const QUEUE_NAME = /^[\w.:@-]{1,200}$/;
const KNOWN_FIELDS: ReadonlySet<string> = new Set<keyof PeriodicTaskInput>([
  'name',
  'task',
  'schedule',
  'args',
  'kwargs',
  'queue',
  'exchange',
  'routingKey',
  'headers',
  'priority',
  'expires',
  'expireSeconds',
  'oneOff',
  'startTime',
  'enabled',
  'description',
  'catchUp',
]);

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
  const i = input as Partial<Record<keyof PeriodicTaskInput, unknown>>;

  if (typeof i.name !== 'string' || i.name.trim() === '' || i.name.length > 200) {
    err('name', 'required: a unique name of 1-200 characters, e.g. "nightly report"');
  } else if (textProblem(i.name)) err('name', `the name ${textProblem(i.name)}`);
  if (typeof i.task !== 'string' || !/^[^\s]{1,200}$/.test(i.task)) {
    err('task', 'required: the registered task name (1-200 characters, no spaces), e.g. "reports.nightly"');
  } else if (textProblem(i.task)) {
    err('task', `the task name ${textProblem(i.task)}`);
  } else if (options.isKnownTask && !options.isKnownTask(i.task)) {
    const hint = options.knownTaskNames ? closest(i.task, options.knownTaskNames()) : undefined;
    err(
      'task',
      `no task named '${i.task}' is registered${hint ? ` (did you mean '${hint}'?)` : ''}: define it, or add a route for it to send it to another service`,
    );
  }

  let schedule: ScheduleSpec | null = null;
  if (i.schedule === undefined || i.schedule === null) {
    err('schedule', "required: e.g. { kind: 'interval', every: 5, period: 'minutes' } or '0 3 * * *'");
  } else {
    const s = normalizeSchedule(i.schedule, options.defaultTimezone);
    if (s.spec) schedule = s.spec;
    else for (const e of s.errors) err(`schedule.${e.field}`, e.message);
  }

  const jsonError = (field: string, value: unknown) => {
    const [p] = jsonProblems(value, field);
    if (p) err(field, `must be plain JSON that Postgres can store: ${p.path} ${p.message}`);
    return !!p;
  };
  const args = i.args ?? [];
  if (!Array.isArray(args)) err('args', 'must be an array, e.g. [1, "a"]');
  else jsonError('args', args);
  const kwargs = i.kwargs ?? {};
  if (!isPlainObject(kwargs)) err('kwargs', 'must be an object, e.g. { to: "a@b.c" }');
  else jsonError('kwargs', kwargs);
  const headers = i.headers ?? {};
  if (!isPlainObject(headers)) err('headers', 'must be an object');
  else if (jsonError('headers', headers)) {
    // reported
  } else {
    const reserved = Object.keys(headers).filter((k) => RESERVED_HEADERS.has(k));
    if (reserved.length)
      err(
        'headers',
        `may not set ${reserved.map((k) => `'${k}'`).join(', ')}: the Celery protocol (and beat) own those headers`,
      );
  }

  for (const field of ['queue', 'exchange', 'routingKey'] as const) {
    const v = i[field];
    if (v !== undefined && v !== null && v !== '' && (typeof v !== 'string' || !QUEUE_NAME.test(v))) {
      err(field, `${JSON.stringify(v)} is not a valid name: use 1-200 letters, digits, '.', '_', '-', ':' or '@'`);
    }
  }
  const priority = i.priority ?? null;
  if (
    priority !== null &&
    (typeof priority !== 'number' || !Number.isInteger(priority) || priority < 0 || priority > 255)
  ) {
    err(
      'priority',
      `${JSON.stringify(priority)} is not a priority: use an integer 0-255 (on Redis 0 runs first; 0-9 are distinct)`,
    );
  }
  const expires = toDate(i.expires, 'expires', err);
  const expireSeconds = i.expireSeconds ?? null;
  if (
    expireSeconds !== null &&
    (typeof expireSeconds !== 'number' ||
      !Number.isInteger(expireSeconds) ||
      expireSeconds < 1 ||
      expireSeconds > INT32_MAX)
  ) {
    err(
      'expireSeconds',
      `${JSON.stringify(expireSeconds)} is not a whole number of seconds from 1 to ${INT32_MAX} (about 68 years)`,
    );
  }
  if (expires && expireSeconds !== null) {
    err('expireSeconds', 'set either expires (an instant) or expireSeconds (relative to each send), not both');
  }
  const startTime = toDate(i.startTime, 'startTime', err);
  for (const field of ['oneOff', 'enabled'] as const) {
    if (i[field] !== undefined && typeof i[field] !== 'boolean')
      err(field, `expected true or false, got ${JSON.stringify(i[field])}`);
  }
  if (i.description !== undefined && typeof i.description !== 'string') err('description', 'must be text');
  else if (typeof i.description === 'string' && textProblem(i.description))
    err('description', `the description ${textProblem(i.description)}`);
  const catchUp = i.catchUp ?? 'once';
  if (catchUp !== 'once' && catchUp !== 'skip') {
    err(
      'catchUp',
      `${JSON.stringify(catchUp)}: use 'once' (missed runs run once after downtime) or 'skip' (they do not run)`,
    );
  }

  if (errors.length || !schedule) return { value: null, errors };
  const blank = (v: unknown) => (v === undefined || v === null || v === '' ? null : (v as string));
  return {
    value: {
      name: (i.name as string).trim(),
      task: i.task as string,
      schedule,
      args: args as unknown[],
      kwargs: kwargs as Record<string, unknown>,
      queue: blank(i.queue),
      exchange: blank(i.exchange),
      routingKey: blank(i.routingKey),
      headers: headers as Record<string, unknown>,
      priority: priority as number | null,
      expires: expires ?? null,
      expireSeconds: expireSeconds as number | null,
      // django-celery-beat refuses a clocked schedule without one_off; it can only mean one run.
      oneOff: schedule.kind === 'clocked' ? true : ((i.oneOff as boolean | undefined) ?? false),
      startTime: startTime ?? null,
      enabled: (i.enabled as boolean | undefined) ?? true,
      description: (i.description as string | undefined) ?? '',
      catchUp: catchUp as CatchUp,
    },
    errors: [],
  };
}

/** The instant, null when not given, undefined (with the error reported) when not one Postgres can store. */
function toDate(v: unknown, field: string, err: (field: string, message: string) => void): Date | null | undefined {
  if (v === undefined || v === null || v === '') return null;
  const d = v instanceof Date ? v : typeof v === 'string' ? new Date(v) : new Date(NaN);
  const problem = instantProblem(d);
  if (!problem) return d;
  err(
    field,
    Number.isNaN(d.getTime())
      ? `${JSON.stringify(v)} is not an instant: use a Date or an ISO 8601 string`
      : `${JSON.stringify(v)} ${problem}`,
  );
  return undefined;
}
