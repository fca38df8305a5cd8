import { MessageDecodeError } from '../errors';
import { columnProblem, COLUMN_LIMITS, realDay, storableTime } from '../storable';
import { showValue as show } from './shown-value';

/**
 * Every header a worker acts on, checked as it arrives. Another producer (Python Celery, a
 * script, a hand-edited message) can put anything there, and a value taken on trust used to fail
 * far from the message: `Number("x")` as retries made a result batch fail on a null seq, an eta
 * of year 300000 one Postgres could not store, a 30-day time limit overflowed setTimeout and fired
 * at once. Here each bad header is named, with what would be right, and the worker dead-letters
 * the message (src/worker/intake.ts) instead of holding it.
 */

/**
 * The protocol v2 headers and properties a task message carries both ways: what a sender sets
 * (OutgoingTask, message.ts) and what a worker reads back checked (CheckedHeaders).
 */
export interface TaskHeaderFields {
  id: string;
  task: string;
  priority: number;
  eta: Date | null;
  expires: Date | null;
  retries: number;
  timeLimit: number | null;
  softTimeLimit: number | null;
  parentId: string | null;
  groupId: string | null;
  groupIndex: number | null;
}

/** The headers and properties a worker reads, as values it can trust. */
export interface CheckedHeaders extends TaskHeaderFields {
  /** The message's own id when the sender left root_id out. */
  rootId: string;
  origin: string | null;
}

/** The largest retries count the result table's integer column holds. */
const MAX_INT32 = 2 ** 31 - 1;
/** setTimeout's ceiling: a longer time limit would fire at once (Node clamps it to 1 ms). */
export const MAX_TIME_LIMIT_S = MAX_INT32 / 1000;
/** Kombu's Redis transport and RabbitMQ both take priorities 0–255 at most. */
const MAX_PRIORITY = 255;

/**
 * A bad header or body of a message whose id and task name are themselves readable: the worker
 * can then record why the task never ran on the task's own row, for whoever waits on it.
 */
export class MessageFieldError extends MessageDecodeError {
  constructor(
    message: string,
    readonly taskId: string,
    readonly taskName: string,
  ) {
    super(message);
  }
}

/**
 * Reads and checks the headers of a protocol v2 message into `into`; throws MessageDecodeError
 * naming the first bad one. Into the caller's object rather than a fresh one: decodeTask passes
 * the task message it returns, so a message's checked headers are not an object of their own,
 * copied field by field and dropped, for every message a worker takes (issue 21).
 */
export function checkHeaders(
  headers: Record<string, unknown>,
  properties: Record<string, unknown>,
  into: CheckedHeaders,
): void {
  const id = identity(headers.id, 'id', 'taskId');
  const task = identity(headers.task, 'task', 'taskName');
  // The readers below are module functions given (id, task), not closures: this runs for every
  // message a worker takes, and five closures a message were a measurable share of its garbage.
  const limits = timeLimits(headers.timelimit, id, task);
  const hard = limits && timeLimit(limits[0], limits, id, task);
  const soft = limits && timeLimit(limits[1], limits, id, task);
  // Read from the headers by the state writer, not kept: checked here so a bad one cannot reach
  // the row, as a time value (a Date made only to be checked was garbage for every message).
  dateMs('sent_at', headers.sent_at, id, task);
  shortText('periodic_task_name', 'periodicTaskName', headers.periodic_task_name, id, task);
  // Read in the order they were before, when this built an object: the first bad one is named.
  // A throw leaves `into` half-filled, which is fine: decodeTask drops the message with it.
  into.id = id;
  into.task = task;
  into.priority = count('priority (property)', properties.priority, MAX_PRIORITY, id, task) ?? 0;
  into.eta = date('eta', headers.eta, id, task);
  into.expires = date('expires', headers.expires, id, task);
  into.retries = count('retries', headers.retries, MAX_INT32, id, task) ?? 0;
  into.timeLimit = hard;
  into.softTimeLimit = soft;
  into.rootId = shortText('root_id', 'rootId', headers.root_id, id, task) ?? id;
  into.parentId = shortText('parent_id', 'parentId', headers.parent_id, id, task);
  into.groupId = shortText('group', 'groupId', headers.group, id, task);
  into.groupIndex = count('group_index', headers.group_index, MAX_INT32, id, task);
  into.origin = typeof headers.origin === 'string' ? headers.origin : null;
}

function bad(field: string, value: unknown, want: string, id: string, task: string): MessageFieldError {
  return new MessageFieldError(
    `Task ${task}[${id}] has a bad '${field}' header ${show(value)}: expected ${want}.`,
    id,
    task,
  );
}

function shortText(
  field: string,
  column: keyof typeof COLUMN_LIMITS,
  value: unknown,
  id: string,
  task: string,
): string | null {
  if (value === null || value === undefined) return null;
  if (typeof value !== 'string') throw bad(field, value, `a string or null`, id, task);
  const problem = columnProblem(column, value);
  if (problem) throw bad(field, value, `text of at most ${COLUMN_LIMITS[column]} characters (it ${problem})`, id, task);
  return value;
}

function date(field: string, value: unknown, id: string, task: string): Date | null {
  const t = dateMs(field, value, id, task);
  return t === null ? null : new Date(t);
}

/** A date header as its time value, checked as `date` checks it (null for none). */
function dateMs(field: string, value: unknown, id: string, task: string): number | null {
  if (value === null || value === undefined) return null;
  const t = typeof value === 'string' ? parseIsoMs(value) : NaN;
  if (Number.isNaN(t)) throw bad(field, value, 'an ISO-8601 date-time string or null', id, task);
  if (!storableTime(t)) throw bad(field, value, 'a date between the years 0001 and 9999', id, task);
  return t;
}

function count(field: string, value: unknown, max: number, id: string, task: string): number | null {
  if (value === null || value === undefined) return null;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > max)
    throw bad(field, value, `an integer from 0 to ${max}, or null`, id, task);
  return value;
}

/** The id or task name: without a readable one there is no row to write, only a dead letter. */
function identity(value: unknown, field: 'id' | 'task', column: 'taskId' | 'taskName'): string {
  if (typeof value !== 'string' || value === '')
    throw new MessageDecodeError(
      `The message's '${field}' header is ${show(value)}: a Celery protocol v2 task message has a non-empty string there.`,
    );
  const problem = columnProblem(column, value);
  if (problem)
    throw new MessageDecodeError(
      `The message's '${field}' header ${show(value)} ${problem}: a task ${field === 'id' ? 'id' : 'name'} must be text of at most ${COLUMN_LIMITS[column]} characters.`,
    );
  return value;
}

/**
 * Celery's `timelimit`: [hard, soft] in seconds, each a positive number or null; 0 or null is no
 * limit. The list itself when it has that shape (each entry is read by timeLimit), null for none:
 * a fresh [hard, soft] a message was garbage for every task.
 */
function timeLimits(value: unknown, id: string, task: string): unknown[] | null {
  if (value === null || value === undefined) return null;
  if (!Array.isArray(value) || value.length > 2) throw badTimeLimit(value, id, task);
  return value;
}

function timeLimit(v: unknown, value: unknown, id: string, task: string): number | null {
  if (v === null || v === undefined) return null;
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0 || v > MAX_TIME_LIMIT_S)
    throw badTimeLimit(value, id, task);
  return v === 0 ? null : v;
}

function badTimeLimit(value: unknown, id: string, task: string): MessageFieldError {
  const want = `[hard, soft]: two numbers of seconds from 0 to ${Math.floor(MAX_TIME_LIMIT_S)} (about 24 days), or nulls`;
  return bad('timelimit', value, want, id, task);
}

/**
 * An ISO-8601 string as a time value (ms since the epoch), NaN when it is not one. Celery sends
 * naive strings when its timezone is UTC-naive; they are UTC, as Celery reads them.
 */
function parseIsoMs(value: string): number {
  const text = value.trim();
  const day = ISO_DATE.exec(text);
  // Date reads 30 February as 2 March; Python's fromisoformat, and so a Celery worker, refuses it.
  if (!day || !realDay(Number(day[1]), Number(day[2]), Number(day[3]))) return NaN;
  const zoned = ZONED.test(text) || !HAS_TIME.test(text) ? text : text + 'Z';
  return Date.parse(zoned.replace(' ', 'T'));
}

/**
 * A date-time a message or a work-flow step carries, read as the headers' eta and expires are: a
 * naive one is UTC (as Celery reads it), never the process's local time, which `new Date()` takes
 * it as (a chain's next step ran hours off on a worker whose TZ is not UTC). A day no calendar has
 * (30 February) is an Invalid Date, not the day Date rolls it over to. Anything else is read by
 * Date as before; an Invalid Date when nothing reads it.
 */
export function isoDate(value: string): Date {
  // Celeriac's own (toISOString) end in 'Z': read without the regexes, the day checked by what Date made of it.
  if (value.endsWith('Z') && value.charCodeAt(4) === 45 /* '-' */) {
    const d = new Date(value);
    return d.getUTCDate() === Number(value.slice(8, 10)) ? d : new Date(NaN);
  }
  const t = parseIsoMs(value);
  if (!Number.isNaN(t)) return new Date(t);
  return ISO_DATE.test(value.trim()) ? new Date(NaN) : new Date(Date.parse(value));
}

// Module constants, not literals in parseIsoMs: a regex literal is a new RegExp each time it runs.
const ZONED = /([zZ]|[+-]\d\d:?\d\d)$/;
const HAS_TIME = /[T ]/;

const ISO_DATE = /^([+-]?\d{4,6})-(\d\d)-(\d\d)([T ]\d\d:\d\d(:\d\d(\.\d+)?)?([zZ]|[+-]\d\d:?\d\d)?)?$/;
