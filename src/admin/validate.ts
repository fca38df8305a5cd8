import type { Request } from 'express';
import { reservedQueueProblem } from '../broker/keys';
import type { Runtime } from '../runtime/runtime';
import { closest } from '../errors';
import type { ApplyOptions } from '../plugin/options';
import { isCustomStateName } from '../results/state-rules';
import { States } from '../results/states';
import {
  parseInstant,
  queryDate,
  queryInt,
  queryString,
  validationFailed,
  fieldErrors,
  type FieldErrors,
  type QueryHolder,
} from './http';
import { onCalendar } from '../storable';
import {
  DATE_FIELDS,
  KEYSET_SORTS,
  SORTABLE,
  sortsWithoutNulls,
  type DateField,
  type ListQuery,
  type SortColumn,
} from './sql';

/**
 * Request validation: each check reports into a FieldErrors map instead of throwing at the first
 * problem, so one 400 names every bad field, and nothing is sent or written until all pass.
 */

export interface JobRequest {
  task: string;
  args: unknown[];
  kwargs: Record<string, unknown>;
  options: ApplyOptions;
}

const JOB_KEYS = ['task', 'args', 'kwargs', 'options'];
const OPTION_KEYS = ['queue', 'countdown', 'eta', 'priority', 'expires'];
/** A countdown beyond a year is almost certainly milliseconds passed as seconds. */
const MAX_COUNTDOWN_S = 366 * 24 * 3600;

export function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && Object.getPrototypeOf(v) === Object.prototype;
}

export function requireObjectBody(req: Request): Record<string, unknown> {
  if (!isPlainObject(req.body)) throw validationFailed({ body: 'expected a JSON object' });
  return req.body;
}

/** Actions take no options: a body with fields is a client bug worth hearing about. No body, or {}, is fine. */
export function noBody(req: Request): void {
  if (req.body !== undefined && !(isPlainObject(req.body) && Object.keys(req.body).length === 0)) {
    const errors = fieldErrors();
    if (isPlainObject(req.body)) unknownKeys(req.body, [], errors);
    else errors.body = 'send {} or no body';
    throw validationFailed(errors);
  }
}

export function unknownKeys(
  body: Record<string, unknown>,
  known: readonly string[],
  errors: FieldErrors,
  prefix = '',
): void {
  for (const key of Object.keys(body)) {
    if (known.includes(key)) continue;
    const hint = closest(key, known);
    errors[prefix + key] =
      `unknown field${hint ? ` (did you mean '${prefix}${hint}'?)` : ''}; known: ${known.join(', ')}`;
  }
}

export function taskNameError(app: Runtime, name: unknown): string | undefined {
  if (typeof name !== 'string' || name.trim() === '') return 'give the name of a registered task, e.g. "reports.build"';
  if (app.registry.has(name) || app.route(name)) return undefined;
  const hint = closest(name, app.registry.names());
  return `no task named '${name}' is registered or routed${hint ? ` (did you mean '${hint}'?)` : ''}`;
}

export function parseJob(app: Runtime, body: Record<string, unknown>): JobRequest {
  const errors = fieldErrors();
  unknownKeys(body, JOB_KEYS, errors);
  const taskError = taskNameError(app, body.task);
  if (taskError) errors.task = taskError;
  const args = body.args ?? [];
  if (!Array.isArray(args))
    errors.args = `expected a JSON array of positional arguments, e.g. [1, "two"], got ${describe(args)}`;
  const kwargs = body.kwargs ?? {};
  if (!isPlainObject(kwargs))
    errors.kwargs = `expected a JSON object of keyword arguments, e.g. {"verbose": true}, got ${describe(kwargs)}`;
  const options = parseApplyOptions(body.options, errors);
  if (Object.keys(errors).length) throw validationFailed(errors);
  return { task: body.task as string, args: args as unknown[], kwargs: kwargs as Record<string, unknown>, options };
}

export function parseApplyOptions(raw: unknown, errors: FieldErrors): ApplyOptions {
  const out: ApplyOptions = {};
  if (raw === undefined || raw === null) return out;
  if (!isPlainObject(raw)) {
    errors.options = `expected an object like {"queue": "celery", "countdown": 10}, got ${describe(raw)}`;
    return out;
  }
  unknownKeys(raw, OPTION_KEYS, errors, 'options.');
  const { queue, countdown, eta, priority, expires } = raw;
  if (queue !== undefined && queue !== null && queue !== '') {
    if (typeof queue !== 'string' || !/^[\w.:@-]{1,200}$/.test(queue)) {
      errors['options.queue'] = "expected a queue name: 1-200 letters, digits, '.', '_', '-', ':' or '@'";
    } else if (reservedQueueProblem(queue)) {
      errors['options.queue'] = reservedQueueProblem(queue)!;
    } else out.queue = queue;
  }
  if (countdown !== undefined && countdown !== null && countdown !== '') {
    if (typeof countdown !== 'number' || !Number.isFinite(countdown) || countdown < 0 || countdown > MAX_COUNTDOWN_S) {
      errors['options.countdown'] = `expected seconds from 0 to ${MAX_COUNTDOWN_S}, got ${describe(countdown)}`;
    } else out.countdown = countdown;
  }
  if (eta !== undefined && eta !== null && eta !== '') {
    const d = typeof eta === 'string' ? parseInstant(eta) : null;
    if (!d) errors['options.eta'] = `expected an ISO 8601 instant like 2026-11-22T09:30:00Z, got ${describe(eta)}`;
    else if (out.countdown !== undefined) errors['options.eta'] = 'give countdown or eta, not both';
    else out.eta = d;
  }
  if (priority !== undefined && priority !== null && priority !== '') {
    if (typeof priority !== 'number' || !Number.isInteger(priority) || priority < 0 || priority > 9) {
      errors['options.priority'] = `expected an integer 0-9 (0 runs first), got ${describe(priority)}`;
    } else out.priority = priority;
  }
  if (expires !== undefined && expires !== null && expires !== '') {
    if (typeof expires === 'number') {
      if (!Number.isFinite(expires) || expires <= 0)
        errors['options.expires'] = `expected seconds > 0 or an ISO instant, got ${describe(expires)}`;
      else out.expires = expires;
    } else {
      const d = typeof expires === 'string' ? parseInstant(expires) : null;
      if (!d) errors['options.expires'] = `expected seconds > 0 or an ISO 8601 instant, got ${describe(expires)}`;
      else out.expires = d;
    }
  }
  return out;
}

const STATE_NAMES = Object.values(States) as string[];

/** The task list's query string → a bounded query; a bad parameter is a 400 naming it. */
export function parseListQuery(req: QueryHolder, defaults: { limit?: number } = {}): ListQuery {
  const errors = fieldErrors();
  const stateRaw = queryString(req, 'state', errors);
  const states = stateRaw
    ?.split(',')
    .map((s) => s.trim().toUpperCase())
    .filter(Boolean);
  // A custom state (ctx.updateState) is any name a task could have set.
  const badState = states?.find((s) => !STATE_NAMES.includes(s) && !isCustomStateName(s));
  if (badState)
    errors.state = `'${badState.slice(0, 60)}' is not a state; use ${STATE_NAMES.join(', ')} or a custom state's name (comma-separated for several)`;
  const dateField = (queryString(req, 'dateField', errors) ?? 'date_created') as DateField;
  if (!DATE_FIELDS.includes(dateField)) errors.dateField = `use one of ${DATE_FIELDS.join(', ')}`;
  const since = queryDate(req, 'since', errors);
  const until = queryDate(req, 'until', errors);
  if (since && until && since >= until) errors.until = 'must be after since';
  // A date range lists newest first on its own column by default: walking date_changed for
  // rows finished 20 h ago read half of a 10M-row table (1.5 s, bench W6); its index reads 50.
  const sortRaw = queryString(req, 'sort', errors) ?? (since || until ? `-${dateField}` : '-date_changed');
  const descending = sortRaw.startsWith('-');
  const sort = sortRaw.replace(/^[-+]/, '') as SortColumn;
  if (!SORTABLE.includes(sort))
    errors.sort = `'${sortRaw}' cannot be sorted on; use one of ${SORTABLE.join(', ')}, with '-' for newest/largest first`;
  const limit = queryInt(req, 'limit', errors, 1, 200, defaults.limit ?? 50);
  const offset = queryInt(req, 'offset', errors, 0, 10_000, 0);
  const cursorRaw = queryString(req, 'cursor', errors);
  let after: ListQuery['after'];
  if (cursorRaw !== undefined) {
    after = decodeCursor(cursorRaw);
    if (!after) errors.cursor = 'not a cursor this API issued; start again without it';
    else if (!sortsWithoutNulls({ sort, dateField, since, until }))
      errors.cursor = `cursors page only the ${KEYSET_SORTS.join(' and ')} sorts, or the date field a since/until range is on; use offset`;
  }
  const text = (name: string, max = 255) => {
    const v = queryString(req, name, errors);
    if (v !== undefined && v.length > max) errors[name] = `at most ${max} characters`;
    return v;
  };
  const runtime = (name: string) => {
    const raw = queryString(req, name, errors);
    if (raw === undefined) return undefined;
    const n = Number(raw);
    if (!/^\d+(\.\d+)?$/.test(raw) || n > 31 * 24 * 3600 * 1000) {
      errors[name] = `expected milliseconds from 0 to ${31 * 24 * 3600 * 1000}, got '${raw.slice(0, 40)}'`;
      return undefined;
    }
    return n;
  };
  const minRuntimeMs = runtime('minRuntimeMs');
  const maxRuntimeMs = runtime('maxRuntimeMs');
  if (minRuntimeMs !== undefined && maxRuntimeMs !== undefined && minRuntimeMs > maxRuntimeMs)
    errors.maxRuntimeMs = 'must be at least minRuntimeMs';
  const query: ListQuery = {
    states,
    minRuntimeMs,
    maxRuntimeMs,
    task: text('task'),
    periodicTask: text('periodicTask'),
    worker: text('worker', 100),
    queue: text('queue', 200),
    parentId: text('parent'),
    rootId: text('root'),
    groupId: text('group'),
    search: text('q', 200),
    dateField,
    since,
    until,
    sort,
    descending,
    limit,
    offset,
    after,
  };
  if (Object.keys(errors).length) throw validationFailed(errors);
  return query;
}

export function encodeCursor(value: string, id: string): string {
  return Buffer.from(JSON.stringify([value, id])).toString('base64url');
}

/** A cursor's id is a bigint column's value: 19 digits can still be past what the column holds. */
const MAX_BIGINT = 9223372036854775807n;

function decodeCursor(raw: string): ListQuery['after'] | undefined {
  try {
    const [value, id] = JSON.parse(Buffer.from(raw, 'base64url').toString('utf8'));
    if (typeof value !== 'string' || typeof id !== 'string' || !/^\d{1,19}$/.test(id)) return undefined;
    if (BigInt(id) > MAX_BIGINT) return undefined;
    // Postgres's own text for a timestamptz (microseconds and offset kept), which it casts back
    // exactly; each field in range, since a forged one Postgres refuses would be a 500.
    const m = /^(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2}):(\d{2})(\.\d{1,6})?(?:[+-](\d{2})(?::?(\d{2}))?|Z)?$/.exec(
      value,
    );
    if (!m || !onCalendar(Number(m[1]), Number(m[2]), Number(m[3]))) return undefined;
    const [hour, minute, second, offsetHours, offsetMinutes] = [m[4], m[5], m[6], m[8] ?? '0', m[9] ?? '0'].map(Number);
    if (hour > 23 || minute > 59 || second > 59 || offsetHours > 15 || offsetMinutes > 59) return undefined;
    return { value, id };
  } catch {
    return undefined;
  }
}

export function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'string') return `the string ${JSON.stringify(v.length > 40 ? v.slice(0, 40) + '…' : v)}`;
  if (typeof v === 'object') return 'an object';
  return `${typeof v} ${String(v)}`;
}
