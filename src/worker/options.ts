import { availableParallelism, hostname } from 'node:os';
import { closest, ConfigError, quoted, shown } from '../errors';
import { requireName } from '../config';
import { MAX_TIMER_MS, timeLimitSeconds } from '../time-limit';
import { COLUMN_LIMITS } from '../storable';
import { Autoscaler, type AutoscaleOptions } from './autoscale';
import type { PoolKind } from './pool';

export interface WorkerOptions {
  /** Shown in the registry, events and results. Default celeriac@<hostname>. */
  name?: string;
  queues?: string[];
  /** Tasks running at once. Default 10 (async) or the CPU count (threads, processes). */
  concurrency?: number;
  pool?: PoolKind;
  /** Messages held per running slot, beyond those running. Default 4, as Celery. */
  prefetchMultiplier?: number;
  /** The module exporting the app, loaded by each thread or child process of the threads and processes pools. */
  appModule?: string;
  /** How long SIGTERM waits for running tasks before giving them back. Default 30 s. */
  shutdownGraceMs?: number;
  /** A message whose holder died this many times goes to the dead-letter list instead of killing more workers. Default 5. */
  maxRedeliveries?: number;
  /** Longest a fetch blocks on an empty queue. Default 1000 ms. */
  blockMs?: number;
  /** Grow and shrink the concurrency with the backlog between min and max (`--autoscale max,min`); the worker starts at min. */
  autoscale?: AutoscaleOptions;
  /** Threads and processes pools: replace a child after it ran this many tasks (between tasks, never during one). */
  maxTasksPerChild?: number;
  /** Threads and processes pools: replace a child past this many KiB after a task (a process's resident set, as Celery; a thread's V8 heap). */
  maxMemoryPerChild?: number;
  /**
   * Hard time limit in seconds for tasks that set none (`--time-limit`, Celery's worker flag): a
   * task's own timeLimit and a call's come first; this comes before the app's taskTimeLimit.
   */
  timeLimit?: number;
  /** Soft time limit in seconds for tasks that set none (`--soft-time-limit`), before the app's taskSoftTimeLimit. */
  softTimeLimit?: number;
}

/**
 * A misspelt option would otherwise be ignored, and a test's crash hooks are no option
 * (fault-hooks.ts). A Record over WorkerOptions' keys, so a new option that is not listed here
 * fails to compile rather than being refused at run time.
 */
const knownKeys: ReadonlySet<string> = new Set(
  Object.keys({
    name: true,
    queues: true,
    concurrency: true,
    pool: true,
    prefetchMultiplier: true,
    appModule: true,
    shutdownGraceMs: true,
    maxRedeliveries: true,
    blockMs: true,
    autoscale: true,
    maxTasksPerChild: true,
    maxMemoryPerChild: true,
    timeLimit: true,
    softTimeLimit: true,
  } satisfies Record<keyof WorkerOptions, true>),
);

export type ResolvedWorkerOptions = Required<
  Omit<
    WorkerOptions,
    'appModule' | 'autoscale' | 'maxTasksPerChild' | 'maxMemoryPerChild' | 'timeLimit' | 'softTimeLimit'
  >
>;

/**
 * Defaults filled in and every value checked once, when the Worker is constructed: a bad option
 * fails there, naming its key, rather than when start() has already connected.
 */
export function resolveWorkerOptions(options: WorkerOptions, defaultQueue: string): ResolvedWorkerOptions {
  for (const key of Object.keys(options)) {
    if (knownKeys.has(key) || (options as Record<string, unknown>)[key] === undefined) continue;
    const hint = closest(key, knownKeys);
    throw new ConfigError(`worker.${key}`, `unknown option${hint ? ` (did you mean '${hint}'?)` : ''}`);
  }
  const pool = options.pool ?? 'async';
  if (pool !== 'async' && pool !== 'threads' && pool !== 'processes')
    throw new ConfigError('pool', `${quoted(pool)}: use 'async', 'threads' or 'processes'`);
  const concurrency = options.autoscale
    ? Autoscaler.initialConcurrency(options.autoscale)
    : (options.concurrency ?? (pool === 'async' ? 10 : availableParallelism()));
  for (const key of ['maxTasksPerChild', 'maxMemoryPerChild'] as const) {
    const v = options[key];
    if (v === undefined) continue;
    if (pool === 'async')
      throw new ConfigError(
        key,
        `applies to the threads and processes pools only (this worker's pool is 'async'): add pool: 'processes' (--pool processes) or 'threads'`,
      );
    if (!Number.isInteger(v) || v < 1) throw new ConfigError(key, `expected an integer >= 1, got ${shown(v)}`);
  }
  for (const key of ['timeLimit', 'softTimeLimit'] as const) timeLimitSeconds(key, options[key]);
  // Whole numbers from `min`; the delays are armed with setTimeout, which fires after 1 ms past 2^31-1.
  const whole = (key: 'prefetchMultiplier' | 'shutdownGraceMs' | 'maxRedeliveries' | 'blockMs', min: number) => {
    const v = options[key];
    if (v !== undefined && (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > MAX_TIMER_MS))
      throw new ConfigError(key, `expected a whole number from ${min} to ${MAX_TIMER_MS}, got ${shown(v)}`);
  };
  whole('prefetchMultiplier', 0);
  whole('shutdownGraceMs', 0);
  whole('maxRedeliveries', 1);
  whole('blockMs', 1);
  if (options.queues !== undefined && !Array.isArray(options.queues))
    throw new ConfigError(
      'queues',
      `expected an array of queue names such as ['celery', 'mail'], got ${typeof options.queues}`,
    );
  options.queues?.forEach((queue, i) => requireName(`queues[${i}]`, queue));
  // The name is the pidbox destination and each result row's worker (a 100-character column: a
  // longer one was recorded as null); a number or an object became '42' or '[object Object]'.
  const name: unknown = options.name;
  if (name !== undefined && (typeof name !== 'string' || name.trim() === '' || name.length > COLUMN_LIMITS.worker))
    throw new ConfigError(
      'name',
      `expected 1-${COLUMN_LIMITS.worker} characters such as 'mail@host' (Celery's -n), got ${typeof name === 'string' ? `${name.length} characters` : typeof name}`,
    );
  if (!Number.isInteger(concurrency) || concurrency < 1)
    throw new ConfigError('concurrency', `expected an integer >= 1, got ${shown(concurrency)}`);
  return {
    name: options.name ?? `celeriac@${hostname()}`,
    queues: options.queues?.length ? options.queues : [defaultQueue],
    pool,
    concurrency,
    prefetchMultiplier: options.prefetchMultiplier ?? 4,
    shutdownGraceMs: options.shutdownGraceMs ?? 30_000,
    maxRedeliveries: options.maxRedeliveries ?? 5,
    blockMs: options.blockMs ?? 1000,
  };
}
