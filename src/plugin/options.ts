import { ConfigError, shown } from '../errors';
import { requireName, requirePriority } from '../config';
import { timeLimitSeconds } from '../time-limit';
import { storableDate, storableTime } from '../storable';
import { parseRateLimit } from './rate-limit';
import { checkCompression, checkSerializer } from '../broker/serializers/options';
import type { CompressionName, SerializerName } from '../broker/serializers/codec';

type ErrorClass = abstract new (...args: any[]) => Error;

/** Options of one call, as Celery's apply_async (durations in seconds). */
export interface ApplyOptions {
  /** Seconds from now before the task may run. */
  countdown?: number;
  /** The instant before which the task may not run. */
  eta?: Date;
  /** Seconds from now, or an instant, after which it is REVOKED instead of run. */
  expires?: number | Date;
  queue?: string;
  priority?: number;
  taskId?: string;
  headers?: Record<string, unknown>;
  /** Set by work-flows and by tasks sending subtasks. */
  parentId?: string;
  rootId?: string;
  groupId?: string;
  groupIndex?: number;
  periodicTaskName?: string;
  timeLimit?: number;
  softTimeLimit?: number;
  ignoreResult?: boolean;
  /** Over the task's and the app's serializer: 'json' or 'msgpack'. */
  serializer?: SerializerName;
  /** Over the task's and the app's compression: 'zlib', 'gzip' (the same, as kombu), 'brotli', or null for none. */
  compression?: CompressionName | null;
}

/** Per-task options, named and measured as Celery's (durations in seconds). */
export interface TaskOptions {
  name?: string;
  queue?: string;
  /** 0-9; 0 runs first (Celery on Redis). */
  priority?: number;
  /** Retries after the first attempt before FAILURE. Default 3; null for no limit. */
  maxRetries?: number | null;
  /** Seconds before a retry when ctx.retry() names none and there is no backoff. Default 180. */
  defaultRetryDelay?: number;
  /** Retry automatically when the task throws one of these. */
  autoretryFor?: ErrorClass[];
  /** Exponential backoff for automatic retries: true (factor 1 s) or the factor in seconds. */
  retryBackoff?: boolean | number;
  /** Cap on the backoff, seconds. Default 600. */
  retryBackoffMax?: number;
  /** Full jitter on the backoff (a random delay up to it). Default true. */
  retryJitter?: boolean;
  /** Per worker: '10/s', '100/m', '1000/h'. */
  rateLimit?: string;
  /** Seconds; the task fails with TimeLimitExceededError and its slot is freed. */
  timeLimit?: number;
  /** Seconds; ctx.signal is aborted so the task can stop itself. */
  softTimeLimit?: number;
  /** Ack after the task finished (and its result is stored), so a crash redelivers it. Default true. */
  acksLate?: boolean;
  ignoreResult?: boolean;
  /** Record STARTED when the task starts. Default false, as Celery. */
  trackStarted?: boolean;
  /** Seconds after sending, or an instant, past which the task is REVOKED instead of run. */
  expires?: number | Date;
  /** How this task's messages are encoded, over the app's taskSerializer (Celery's serializer). */
  serializer?: SerializerName;
  /** Compression of this task's messages, over the app's taskCompression. */
  compression?: CompressionName | null;
}

export interface ResolvedTaskOptions {
  queue: string | undefined;
  priority: number | undefined;
  maxRetries: number | null;
  defaultRetryDelay: number;
  autoretryFor: ErrorClass[];
  retryBackoff: number;
  retryBackoffMax: number;
  retryJitter: boolean;
  rateLimit: { perMs: number; tokens: number; text: string } | undefined;
  timeLimit: number | undefined;
  softTimeLimit: number | undefined;
  acksLate: boolean;
  ignoreResult: boolean;
  trackStarted: boolean;
  expires: number | Date | undefined;
  serializer: SerializerName | undefined;
  compression: CompressionName | null | undefined;
}

const known = new Set([
  'name',
  'queue',
  'priority',
  'maxRetries',
  'defaultRetryDelay',
  'autoretryFor',
  'retryBackoff',
  'retryBackoffMax',
  'retryJitter',
  'rateLimit',
  'timeLimit',
  'softTimeLimit',
  'acksLate',
  'ignoreResult',
  'trackStarted',
  'expires',
  'serializer',
  'compression',
]);

export function resolveTaskOptions(name: string, o: TaskOptions): ResolvedTaskOptions {
  const key = (k: string) => `task '${name}' option ${k}`;
  for (const k of Object.keys(o))
    if (!known.has(k)) throw new ConfigError(key(k), `unknown option; known: ${[...known].join(', ')}`);
  if (o.queue !== undefined) requireName(key('queue'), o.queue);
  if (o.priority !== undefined) requirePriority(key('priority'), o.priority);
  const seconds = (k: keyof TaskOptions, v: unknown) => {
    if (v !== undefined && (typeof v !== 'number' || !Number.isFinite(v) || v <= 0))
      throw new ConfigError(key(k), `expected seconds > 0, got ${shown(v)}`);
    return v as number | undefined;
  };
  // By type, not truthiness: acksLate: 'false' (an environment variable's text) was true, and
  // acksLate: 0 acked every message before its task ran.
  const bool = (k: keyof TaskOptions, fallback: boolean) => {
    const v = o[k];
    if (v === undefined) return fallback;
    if (typeof v !== 'boolean') throw new ConfigError(key(k), `expected true or false, got ${shown(v)}`);
    return v;
  };
  const backoff = o.retryBackoff;
  if (
    backoff !== undefined &&
    typeof backoff !== 'boolean' &&
    !(typeof backoff === 'number' && Number.isFinite(backoff) && backoff >= 0)
  )
    throw new ConfigError(
      key('retryBackoff'),
      `expected true (a factor of 1 s), false, or the factor in seconds >= 0, got ${shown(backoff)}`,
    );
  if (o.maxRetries !== undefined && o.maxRetries !== null && !(Number.isInteger(o.maxRetries) && o.maxRetries >= 0)) {
    throw new ConfigError(key('maxRetries'), `expected an integer >= 0 or null, got ${shown(o.maxRetries)}`);
  }
  return {
    queue: o.queue,
    priority: o.priority,
    maxRetries: o.maxRetries === undefined ? 3 : o.maxRetries,
    defaultRetryDelay: seconds('defaultRetryDelay', o.defaultRetryDelay) ?? 180,
    autoretryFor: o.autoretryFor ?? [],
    retryBackoff: backoff === true ? 1 : typeof backoff === 'number' ? backoff : 0,
    retryBackoffMax: seconds('retryBackoffMax', o.retryBackoffMax) ?? 600,
    retryJitter: bool('retryJitter', true),
    rateLimit: o.rateLimit === undefined ? undefined : parseRateLimit(key('rateLimit'), o.rateLimit),
    timeLimit: timeLimitSeconds(key('timeLimit'), o.timeLimit),
    softTimeLimit: timeLimitSeconds(key('softTimeLimit'), o.softTimeLimit),
    acksLate: bool('acksLate', true),
    ignoreResult: bool('ignoreResult', false),
    trackStarted: bool('trackStarted', false),
    expires: expiresOption(key('expires'), o.expires),
    serializer: o.serializer === undefined ? undefined : checkSerializer(key('serializer'), o.serializer),
    compression: o.compression === undefined ? undefined : checkCompression(key('compression'), o.compression),
  };
}

/**
 * A task's own expires is added to every send's clock (prepare.ts): checked here, where it is
 * given, since a bad one made each send throw a bare RangeError or TypeError naming neither the
 * task nor the option. 0 or less would expire every message as it is sent; seconds that end past
 * the year 9999 give a header no worker accepts.
 */
function expiresOption(key: string, v: unknown): number | Date | undefined {
  if (v === undefined) return undefined;
  if (typeof v === 'number' && v > 0 && storableTime(Date.now() + v * 1000)) return v;
  if (v instanceof Date && !Number.isNaN(v.getTime()) && storableDate(v)) return v;
  const got = v instanceof Date ? `Date(${Number.isNaN(v.getTime()) ? 'invalid' : v.toISOString()})` : shown(v);
  throw new ConfigError(
    key,
    `expected seconds > 0 (ending before the year 10000) or a valid Date between the years 0001 and 9999, got ${got}`,
  );
}

export { parseRateLimit, type RateLimit } from './rate-limit';
