/**
 * `beatSchedule`: periodic tasks declared in code, as Celery's beat_schedule. Checked once when
 * the app is constructed (a typo fails at boot, naming the entry and field), synced into the
 * tables when a beat starts (./sync.ts).
 */
import { ConfigError, closest } from '../errors';
import type { ScheduleInput } from './schedule-input';
import { isPlainObject } from './row';
import { PERIODIC_TASK_FIELD_NAMES, PERIODIC_TASK_FIELDS, type FieldSpec, type PeriodicTaskField } from './fields';
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

export type ResolvedBeatEntry = ValidPeriodicTask & {
  /** The fields the entry gives: sync sets a 'declared' field (enabled, description) only then. */
  declared: ReadonlySet<PeriodicTaskField>;
};

/** Where each field sits in an entry, from the field table: `task`, or `options.queue`. */
const BEAT_KEYS = PERIODIC_TASK_FIELD_NAMES.flatMap((field) => {
  const spec = PERIODIC_TASK_FIELDS[field] as FieldSpec<unknown>;
  return spec.beatKey ? [{ field, key: spec.beatKey, when: spec.beatWhen }] : [];
});
const ENTRY_KEYS: ReadonlySet<string> = new Set([
  'schedule',
  'options',
  ...BEAT_KEYS.filter((b) => !b.key.startsWith('options.')).map((b) => b.key),
]);
const OPTION_KEYS: ReadonlySet<string> = new Set(
  BEAT_KEYS.filter((b) => b.key.startsWith('options.')).map((b) => b.key.slice('options.'.length)),
);

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
      throw new ConfigError(`${key}.options`, `expected { ${[...OPTION_KEYS].map((k) => `${k}?`).join(', ')} }`);
    for (const k of Object.keys(options)) {
      if (!OPTION_KEYS.has(k)) {
        const hint = closest(k, OPTION_KEYS);
        throw new ConfigError(`${key}.options.${k}`, `unknown option${hint ? ` (did you mean '${hint}'?)` : ''}`);
      }
    }
    const input: Record<string, unknown> = { name, schedule: entry.schedule };
    const declared = new Set<PeriodicTaskField>();
    for (const b of BEAT_KEYS) {
      const value = b.key.startsWith('options.') ? options[b.key.slice('options.'.length)] : entry[b.key];
      if (value === undefined || (b.when && !b.when(value))) continue;
      input[b.field] = value;
      declared.add(b.field);
    }
    const { value, errors } = validatePeriodicTask(input, { defaultTimezone });
    if (!value) {
      const [first, ...rest] = errors.map((e) => ({
        field: BEAT_KEYS.find((b) => b.field === e.field)?.key ?? e.field,
        message: e.message,
      }));
      throw new ConfigError(
        `${key}.${first.field}`,
        first.message + rest.map((e) => `; ${e.field}: ${e.message}`).join(''),
      );
    }
    out.push({ ...value, declared });
  }
  return out;
}
