/**
 * Syncs `beatSchedule` (tasks declared in code) into the tables when a beat starts, as
 * django-celery-beat's setup_schedule does, with one rule for rows people also edit:
 *
 *   CODE WINS FOR WHAT CODE DECLARES. Each entry's row (matched by name) gets source = 'code',
 *   and its task, schedule, args, kwargs, queue/exchange/routing key, priority, headers,
 *   expiry, one_off, start_time and catch_up are set from code on every beat start (fields the
 *   entry leaves out get their defaults). `enabled` and `description` are set only when the
 *   entry declares them, so an admin who pauses a code-declared task keeps it paused across
 *   restarts. Run history (last_run_at, total_run_count) is never touched. An admin edit of a
 *   code row therefore lasts until the next beat start; the admin shows such rows as
 *   "declared in code".
 *
 *   Entries removed from code are disabled, not deleted (their history stays), with a note in
 *   last_error. A row created in the admin under a name code later declares is taken over by
 *   code.
 *
 * An unchanged entry writes nothing the triggers see as a change, so restarting beat does not
 * re-plan (or delay) code-declared tasks. Beats starting together serialise on an advisory
 * lock, so two of them never create the same schedule row twice.
 */
import type { ResolvedBeatEntry } from './config';
import type { TxQuery } from './db';
import { periodicTaskDefaults } from './fields';
import { findOrCreateScheduleRows, writePeriodicTasks } from './write';

export interface SyncResult {
  upserted: number;
  disabled: string[];
}

/**
 * `declared` is the app's beatSchedule, or undefined when the app gives none: then rows declared
 * by other deploys are left alone (a beat started from a module without beatSchedule must not
 * disable them). `builtins` are always upserted and never count as removed.
 */
export async function syncBeatSchedule(
  transaction: <T>(fn: (q: TxQuery) => Promise<T>) => Promise<T>,
  schema: string,
  declared: ResolvedBeatEntry[] | undefined,
  builtins: ResolvedBeatEntry[] = [],
): Promise<SyncResult> {
  const pt = `"${schema}".celeriac_periodic_task`;
  const entries = [...builtins.filter((b) => !declared?.some((d) => d.name === b.name)), ...(declared ?? [])];
  if (entries.length === 0 && declared === undefined) return { upserted: 0, disabled: [] };
  return transaction(async (q) => {
    await q(`SELECT pg_advisory_xact_lock(hashtext($1))`, [`${schema}.celeriac_beat_sync`]);
    const fks = await findOrCreateScheduleRows(
      q,
      schema,
      entries.map((e) => e.schedule),
    );
    await writePeriodicTasks(q, schema, entries, fks, 'sync', (field) =>
      entries.filter((e) => e.declared.has(field)).map((e) => e.name),
    );
    if (declared === undefined) return { upserted: entries.length, disabled: [] };
    const disabled = await q(
      `UPDATE ${pt} SET enabled = false, last_error = 'removed from beatSchedule: disabled at beat start (delete the row to remove it)'
        WHERE source = 'code' AND enabled AND NOT (name = ANY($1::text[]))
       RETURNING name`,
      [entries.map((e) => e.name)],
    );
    return { upserted: entries.length, disabled: disabled.map((r: { name: string }) => r.name) };
  });
}

/**
 * What django-celery-beat installs by itself: `celery.backend_cleanup` daily at 04:00 UTC,
 * expiring after 12 hours, when results expire (src/results/cleanup.ts defines the task).
 * Declared like a code entry without `enabled`, so an admin can switch it off for good.
 */
export function builtinEntries(app: {
  registry: { get(name: string): unknown };
  config: { resultExpires: number };
}): ResolvedBeatEntry[] {
  if (!app.registry.get('celery.backend_cleanup') || !(app.config.resultExpires > 0)) return [];
  return [
    {
      schedule: {
        kind: 'crontab',
        minute: '0',
        hour: '4',
        dayOfWeek: '*',
        dayOfMonth: '*',
        monthOfYear: '*',
        timezone: 'UTC',
      },
      ...periodicTaskDefaults(),
      name: 'celery.backend_cleanup',
      task: 'celery.backend_cleanup',
      expireSeconds: 12 * 3600,
      description: 'Deletes results older than resultExpires (installed by beat, as django-celery-beat does).',
      declared: new Set(['description']),
    },
  ];
}
