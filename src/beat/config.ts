/**
 * `beatSchedule`: periodic tasks declared in code, as Celery's beat_schedule. Checked once when
 * the app is constructed (a typo fails at boot, naming the entry and field), synced into the
 * tables when a beat starts (./sync.ts).
 */
import { ConfigError, closest } from '../errors';
import type { ScheduleInput } from './schedule-input';
import { isPlainObject } from './row';
import { validatePeriodicTask, type CatchUp, type ValidPeriodicTask } from './validation';

/** Celery's per-entry `options`. */
export interface BeatEntryOptions {
  queue?: string;
  exchange?: string;
  routingKey?: string;
  priority?: number;
  headers?: Record<string, unknown>;
  /** Seconds after each send (Celery's number form), or an instant. */
  expires?: number | Date | string;
}

export interface BeatScheduleEntry {
  task: string;
  /** Seconds, a cron string ('0 3 * * *'), or a schedule spec. */
  schedule: ScheduleInput;
  args?: unknown[];
  kwargs?: Record<string, unknown>;
  options?: BeatEntryOptions;
  /** When set, each beat start applies it; when left out, an admin's enable/disable is kept. */
  enabled?: boolean;
  oneOff?: boolean;
  startTime?: Date | string;
  /** When set, each beat start applies it; when left out, an admin's text is kept. */
  description?: string;
  catchUp?: CatchUp;
}

/** Periodic tasks by name. */
export type BeatSchedule = Record<string, BeatScheduleEntry>;

export interface ResolvedBeatEntry extends ValidPeriodicTask {
  declaresEnabled: boolean;
  declaresDescription: boolean;
}

const ENTRY_KEYS: ReadonlySet<string> = new Set<keyof BeatScheduleEntry>([
  'task',
  'schedule',
  'args',
  'kwargs',
  'options',
  'enabled',
  'oneOff',
  'startTime',
  'description',
  'catchUp',
]);
const OPTION_KEYS: ReadonlySet<string> = new Set<keyof BeatEntryOptions>([
  'queue',
  'exchange',
  'routingKey',
  'priority',
  'headers',
  'expires',
]);

export function resolveBeatSchedule(raw: unknown, defaultTimezone: string): ResolvedBeatEntry[] {
  if (raw === undefined) return [];
  if (!isPlainObject(raw))
    throw new ConfigError(
      'beatSchedule',
      "expected an object of entries by name, e.g. { 'nightly report': { task: 'reports.nightly', schedule: '0 3 * * *' } }",
    );
  const out: ResolvedBeatEntry[] = [];
  for (const [name, entry] of Object.entries(raw)) {
    const key = `beatSchedule['${name}']`;
    if (!isPlainObject(entry)) throw new ConfigError(key, 'expected { task, schedule, args?, kwargs?, options? }');
    for (const k of Object.keys(entry)) {
      if (!ENTRY_KEYS.has(k)) {
        const hint = closest(k, ENTRY_KEYS);
        throw new ConfigError(`${key}.${k}`, `unknown field${hint ? ` (did you mean '${hint}'?)` : ''}`);
      }
    }
    const options = entry.options ?? {};
    if (!isPlainObject(options))
      throw new ConfigError(
        `${key}.options`,
        'expected { queue?, priority?, expires?, headers?, exchange?, routingKey? }',
      );
    for (const k of Object.keys(options)) {
      if (!OPTION_KEYS.has(k)) {
        const hint = closest(k, OPTION_KEYS);
        throw new ConfigError(`${key}.options.${k}`, `unknown option${hint ? ` (did you mean '${hint}'?)` : ''}`);
      }
    }
    const expires = options.expires;
    const { value, errors } = validatePeriodicTask(
      {
        name,
        task: entry.task,
        schedule: entry.schedule,
        args: entry.args,
        kwargs: entry.kwargs,
        queue: options.queue,
        exchange: options.exchange,
        routingKey: options.routingKey,
        priority: options.priority,
        headers: options.headers,
        expires: typeof expires === 'number' ? undefined : expires,
        expireSeconds: typeof expires === 'number' ? expires : undefined,
        oneOff: entry.oneOff,
        startTime: entry.startTime,
        enabled: entry.enabled,
        description: entry.description,
        catchUp: entry.catchUp,
      },
      { defaultTimezone },
    );
    if (!value) {
      const optionFields: Record<string, string> = {
        queue: 'options.queue',
        exchange: 'options.exchange',
        routingKey: 'options.routingKey',
        priority: 'options.priority',
        headers: 'options.headers',
        expires: 'options.expires',
        expireSeconds: 'options.expires',
      };
      const [first, ...rest] = errors.map((e) => ({ field: optionFields[e.field] ?? e.field, message: e.message }));
      throw new ConfigError(
        `${key}.${first.field}`,
        first.message + rest.map((e) => `; ${e.field}: ${e.message}`).join(''),
      );
    }
    out.push({
      ...value,
      declaresEnabled: entry.enabled !== undefined,
      declaresDescription: entry.description !== undefined,
    });
  }
  return out;
}
