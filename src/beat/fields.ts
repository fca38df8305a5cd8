/**
 * A periodic task's fields, declared once. Each entry says what the column is (migrations/
 * 0002-beat.ts is the schema's source of truth; the column types here must match it), how a
 * value is checked against the column's limits, its default, where it sits in a beatSchedule
 * entry, and whether code-declared sync always sets it. From this table come:
 *   - the TypeORM entity's columns (./entities.ts),
 *   - validation (./validation.ts) and the value types (ValidPeriodicTask),
 *   - the service's mapping between entity, view and input (./service.ts),
 *   - the admin's JSON (a view with its Dates as ISO text, src/admin/api/periodic.ts),
 *   - the bulk upsert that createMany, upsertMany and code-declared sync run (./sql/upsertPeriodicTasks.ts),
 *   - beatSchedule's entry and option keys (./config.ts).
 * The schedule is not a column here: it is a reference to one of four schedule tables
 * (./schedule-tables.ts), and is validated and stored apart.
 */
import type { ColumnOptions } from 'typeorm';
import { INT32_MAX, instantProblem, jsonProblems, textProblem } from '../db/limits';
import { isPlainObject, RESERVED_HEADERS } from './row';

export type CatchUp = 'once' | 'skip';

export type Parsed<T> = { value: T } | { error: string };

export interface FieldSpec<T> {
  /** The column in celeriac_periodic_task. */
  column: string;
  /** Its type as the migration declares it; bulk statements read JSON rows as this type. */
  sqlType: string;
  /** TypeORM's view of the column, less its name (the entity is for CRUD; the migration makes the table). */
  entity: ColumnOptions;
  /** The value when the input leaves the field out (undefined). */
  default: () => T;
  /** The value, or what is wrong with it and what would be right (never called with undefined). */
  parse(raw: unknown): Parsed<T>;
  /** Where a beatSchedule entry gives it: a key of the entry, or 'options.<key>'. */
  beatKey?: string;
  /** For two fields under one beatSchedule key: whether the key's value is this field's. */
  beatWhen?: (raw: unknown) => boolean;
  /**
   * Code-declared sync: 'always' sets the column from code at every beat start; 'declared' only
   * when the entry gives the field, so an admin's change survives restarts (see ./sync.ts).
   */
  sync: 'always' | 'declared';
}

const ok = <T>(value: T): Parsed<T> => ({ value });
const fail = (error: string): Parsed<never> => ({ error });
const show = (v: unknown) =>
  typeof v === 'string' && v.length > 60 ? JSON.stringify(v.slice(0, 60) + '…') : JSON.stringify(v);

function varchar(length: number, opts: { unique?: boolean; nullable?: boolean } = {}) {
  return { type: 'varchar' as const, length, ...opts };
}

/** Queue, exchange and routing key names: what Celery and the brokers accept, and the column holds. */
const NAME_200 = /^[\w.:@-]{1,200}$/;

function brokerName(column: string, beatKey: string): FieldSpec<string | null> {
  return {
    column,
    sqlType: 'varchar(200)',
    entity: varchar(200, { nullable: true }),
    default: () => null,
    parse: (v) =>
      v === null || v === ''
        ? ok(null)
        : typeof v === 'string' && NAME_200.test(v)
          ? ok(v)
          : fail(`${show(v)} is not a valid name: use 1-200 letters, digits, '.', '_', '-', ':' or '@'`),
    beatKey,
    sync: 'always',
  };
}

function json<T extends unknown[] | Record<string, unknown>>(
  column: string,
  shape: 'array' | 'object',
  example: string,
  extra?: (value: T) => string | undefined,
): FieldSpec<T> {
  const empty = () => (shape === 'array' ? [] : {}) as T;
  return {
    column,
    sqlType: 'jsonb',
    entity: { type: 'jsonb', default: shape === 'array' ? [] : {} },
    default: empty,
    parse: (v) => {
      if (v === null) return ok(empty());
      const isShape = shape === 'array' ? Array.isArray(v) : isPlainObject(v);
      if (!isShape) return fail(`must be ${shape === 'array' ? 'an array' : 'an object'}, e.g. ${example}`);
      const [p] = jsonProblems(v, column);
      if (p) return fail(`must be plain JSON that Postgres can store: ${p.path} ${p.message}`);
      const problem = extra?.(v as T);
      return problem ? fail(problem) : ok(v as T);
    },
    beatKey: column === 'headers' ? 'options.headers' : column,
    sync: 'always',
  };
}

/** A nullable integer column, within [min, max] (at most int32). */
function wholeNumber(
  column: string,
  min: number,
  max: number,
  problem: string,
  beatKey: string,
  beatWhen?: (raw: unknown) => boolean,
): FieldSpec<number | null> {
  return {
    column,
    sqlType: 'integer',
    entity: { type: 'integer', nullable: true },
    default: () => null,
    parse: (v) =>
      v === null
        ? ok(null)
        : typeof v === 'number' && Number.isInteger(v) && v >= min && v <= max
          ? ok(v)
          : fail(`${show(v)} ${problem}`),
    beatKey,
    beatWhen,
    sync: 'always',
  };
}

function instant(column: string, beatKey: string, beatWhen?: (raw: unknown) => boolean): FieldSpec<Date | null> {
  return {
    column,
    sqlType: 'timestamptz',
    entity: { type: 'timestamptz', nullable: true },
    default: () => null,
    parse: (v) => {
      if (v === null || v === '') return ok(null);
      const d = v instanceof Date ? v : typeof v === 'string' ? new Date(v) : new Date(NaN);
      if (Number.isNaN(d.getTime())) return fail(`${show(v)} is not an instant: use a Date or an ISO 8601 string`);
      const problem = instantProblem(d);
      return problem ? fail(`${show(v)} ${problem}`) : ok(d);
    },
    beatKey,
    beatWhen,
    sync: 'always',
  };
}

function flag(column: string, byDefault: boolean, sync: 'always' | 'declared'): FieldSpec<boolean> {
  return {
    column,
    sqlType: 'boolean',
    entity: { type: 'boolean', default: byDefault },
    default: () => byDefault,
    parse: (v) => (typeof v === 'boolean' ? ok(v) : fail(`expected true or false, got ${show(v)}`)),
    beatKey: column === 'one_off' ? 'oneOff' : column,
    sync,
  };
}

export function reservedHeaderProblem(headers: Record<string, unknown>): string | undefined {
  const reserved = Object.keys(headers).filter((k) => RESERVED_HEADERS.has(k));
  return reserved.length
    ? `may not set ${reserved.map((k) => `'${k}'`).join(', ')}: the Celery protocol (and beat) own those headers`
    : undefined;
}

/** The fields a person sets, in the migration's column order. */
export const PERIODIC_TASK_FIELDS = {
  name: {
    column: 'name',
    sqlType: 'varchar(200)',
    entity: varchar(200, { unique: true }),
    default: () => '',
    parse: (v: unknown): Parsed<string> => {
      if (typeof v !== 'string' || v.trim() === '' || v.length > 200)
        return fail('required: a unique name of 1-200 characters, e.g. "nightly report"');
      const problem = textProblem(v);
      return problem ? fail(`the name ${problem}`) : ok(v.trim());
    },
    sync: 'always',
  },
  task: {
    column: 'task',
    sqlType: 'varchar(200)',
    entity: varchar(200),
    default: () => '',
    parse: (v: unknown): Parsed<string> => {
      if (typeof v !== 'string' || !/^[^\s]{1,200}$/.test(v))
        return fail('required: the registered task name (1-200 characters, no spaces), e.g. "reports.nightly"');
      const problem = textProblem(v);
      return problem ? fail(`the task name ${problem}`) : ok(v);
    },
    beatKey: 'task',
    sync: 'always',
  },
  args: json<unknown[]>('args', 'array', '[1, "a"]'),
  kwargs: json<Record<string, unknown>>('kwargs', 'object', '{ to: "a@b.c" }'),
  queue: brokerName('queue', 'options.queue'),
  exchange: brokerName('exchange', 'options.exchange'),
  routingKey: brokerName('routing_key', 'options.routingKey'),
  headers: json<Record<string, unknown>>('headers', 'object', '{ "x-tenant": "acme" }', reservedHeaderProblem),
  priority: wholeNumber(
    'priority',
    0,
    255,
    'is not a priority: use an integer 0-255 (on Redis 0 runs first; 0-9 are distinct)',
    'options.priority',
  ),
  expires: instant('expires', 'options.expires', (v) => typeof v !== 'number'),
  expireSeconds: wholeNumber(
    'expire_seconds',
    1,
    INT32_MAX,
    `is not a whole number of seconds from 1 to ${INT32_MAX} (about 68 years)`,
    'options.expires',
    (v) => typeof v === 'number',
  ),
  oneOff: flag('one_off', false, 'always'),
  startTime: instant('start_time', 'startTime'),
  enabled: flag('enabled', true, 'declared'),
  description: {
    column: 'description',
    sqlType: 'text',
    entity: { type: 'text', default: '' },
    default: () => '',
    parse: (v: unknown): Parsed<string> => {
      if (typeof v !== 'string') return fail('must be text');
      const problem = textProblem(v);
      return problem ? fail(`the description ${problem}`) : ok(v);
    },
    beatKey: 'description',
    sync: 'declared',
  },
  catchUp: {
    column: 'catch_up',
    sqlType: 'varchar(8)',
    entity: { ...varchar(8), default: 'once' },
    default: (): CatchUp => 'once',
    parse: (v: unknown): Parsed<CatchUp> =>
      v === null
        ? ok('once')
        : v === 'once' || v === 'skip'
          ? ok(v)
          : fail(`${show(v)}: use 'once' (missed runs run once after downtime) or 'skip' (they do not run)`),
    beatKey: 'catchUp',
    sync: 'always',
  },
} satisfies Record<string, FieldSpec<any>>;

type Fields = typeof PERIODIC_TASK_FIELDS;
export type PeriodicTaskField = keyof Fields;
export const PERIODIC_TASK_FIELD_NAMES = Object.keys(PERIODIC_TASK_FIELDS) as PeriodicTaskField[];

/**
 * The fields' columns that django-celery-beat's periodictask table has too, under the same names
 * (django mode reads and writes them: django-mirror.ts, django-write.ts). Django has no catch_up.
 */
export const DJANGO_FIELD_COLUMNS = PERIODIC_TASK_FIELD_NAMES.filter((f) => f !== 'catchUp').map(
  (f) => PERIODIC_TASK_FIELDS[f].column,
);

/** The fields' values, typed from the table: what validation produces and the columns hold. */
export type PeriodicTaskValues = {
  -readonly [K in PeriodicTaskField]: Fields[K] extends { parse: (raw: unknown) => Parsed<infer T> } ? T : never;
};

/** Beat's record of a row, read by the admin: written by beats and triggers, never by a person. */
export const PERIODIC_TASK_STATE = {
  /** 'code': declared in beatSchedule; edits last until the next beat start (see ./sync.ts). */
  source: { column: 'source', entity: { ...varchar(8), default: 'db' } },
  lastRunAt: { column: 'last_run_at', entity: { type: 'timestamptz', nullable: true } },
  totalRunCount: { column: 'total_run_count', entity: { type: 'integer', default: 0 } },
  /** The run beat has planned; null while no beat has planned it yet, or when there is none. */
  nextRunAt: { column: 'next_run_at', entity: { type: 'timestamptz', nullable: true } },
  /** Why beat is not running this row (bad schedule, unknown task, schedule ended), or null. */
  lastError: { column: 'last_error', entity: { type: 'text', nullable: true } },
  dateChanged: { column: 'date_changed', entity: { type: 'timestamptz', default: () => 'now()' } },
} satisfies Record<string, { column: string; entity: ColumnOptions }>;

export interface PeriodicTaskState {
  source: 'db' | 'code';
  lastRunAt: Date | null;
  totalRunCount: number;
  nextRunAt: Date | null;
  lastError: string | null;
  dateChanged: Date;
}

export const PERIODIC_TASK_STATE_NAMES = Object.keys(PERIODIC_TASK_STATE) as (keyof PeriodicTaskState)[];

/** The defaults of every field: a new object each call, so callers never share args/kwargs/headers. */
export function periodicTaskDefaults(): PeriodicTaskValues {
  const out = {} as Record<string, unknown>;
  for (const k of PERIODIC_TASK_FIELD_NAMES) out[k] = PERIODIC_TASK_FIELDS[k].default();
  return out as PeriodicTaskValues;
}

/** The table's fields (and only those) of any object that has them: an entity, a view, a validated task. */
export function fieldValues(source: PeriodicTaskValues): PeriodicTaskValues {
  const out = {} as Record<string, unknown>;
  for (const k of PERIODIC_TASK_FIELD_NAMES) out[k] = source[k];
  return out as PeriodicTaskValues;
}

export function stateValues(source: PeriodicTaskState): PeriodicTaskState {
  const out = {} as Record<string, unknown>;
  for (const k of PERIODIC_TASK_STATE_NAMES) out[k] = source[k];
  return out as unknown as PeriodicTaskState;
}
