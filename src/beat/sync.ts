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
import { periodicTaskDefaults } from './validation';
import type { TxQuery } from './db';
import type { ResolvedBeatEntry } from './config';
import type { ScheduleSpec } from './schedule';

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
    for (const e of entries) {
      const fk = await findOrCreateSchedule(q, schema, e.schedule);
      await q(
        `INSERT INTO ${pt} AS pt (name, task, interval_id, crontab_id, solar_id, clocked_id, args, kwargs, queue, exchange, routing_key,
                                  headers, priority, expires, expire_seconds, one_off, start_time, enabled, description, catch_up, source)
         VALUES ($1, $2, $3, $4, $5, $6, $7::jsonb, $8::jsonb, $9, $10, $11, $12::jsonb, $13, $14, $15, $16, $17, $18, $19, $20, 'code')
         ON CONFLICT (name) DO UPDATE SET
           task = EXCLUDED.task, interval_id = EXCLUDED.interval_id, crontab_id = EXCLUDED.crontab_id,
           solar_id = EXCLUDED.solar_id, clocked_id = EXCLUDED.clocked_id, args = EXCLUDED.args, kwargs = EXCLUDED.kwargs,
           queue = EXCLUDED.queue, exchange = EXCLUDED.exchange, routing_key = EXCLUDED.routing_key, headers = EXCLUDED.headers,
           priority = EXCLUDED.priority, expires = EXCLUDED.expires, expire_seconds = EXCLUDED.expire_seconds,
           one_off = EXCLUDED.one_off, start_time = EXCLUDED.start_time, catch_up = EXCLUDED.catch_up, source = 'code',
           enabled = CASE WHEN $21 THEN EXCLUDED.enabled ELSE pt.enabled END,
           description = CASE WHEN $22 THEN EXCLUDED.description ELSE pt.description END`,
        [
          e.name,
          e.task,
          fk.interval_id,
          fk.crontab_id,
          fk.solar_id,
          fk.clocked_id,
          JSON.stringify(e.args),
          JSON.stringify(e.kwargs),
          e.queue,
          e.exchange,
          e.routingKey,
          JSON.stringify(e.headers),
          e.priority,
          e.expires,
          e.expireSeconds,
          e.oneOff,
          e.startTime,
          e.enabled,
          e.description,
          e.catchUp,
          e.declaresEnabled,
          e.declaresDescription,
        ],
      );
    }
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
      name: 'celery.backend_cleanup',
      task: 'celery.backend_cleanup',
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
      expireSeconds: 12 * 3600,
      description: 'Deletes results older than resultExpires (installed by beat, as django-celery-beat does).',
      declaresEnabled: false,
      declaresDescription: true,
    },
  ];
}

type ScheduleFks = {
  interval_id: number | null;
  crontab_id: number | null;
  solar_id: number | null;
  clocked_id: number | null;
};

/**
 * Reuses an identical schedule row when there is one (django-celery-beat's from_schedule), so
 * code entries do not pile up duplicate schedules across restarts.
 */
export async function findOrCreateSchedule(q: TxQuery, schema: string, spec: ScheduleSpec): Promise<ScheduleFks> {
  const fks: ScheduleFks = { interval_id: null, crontab_id: null, solar_id: null, clocked_id: null };
  const one = async (select: string, insert: string, values: unknown[]) => {
    const [found] = await q(select, values);
    if (found) return found.id as number;
    const [made] = await q(insert, values);
    return made.id as number;
  };
  const t = (name: string) => `"${schema}".${name}`;
  switch (spec.kind) {
    case 'interval':
      fks.interval_id = await one(
        `SELECT id FROM ${t('celeriac_interval_schedule')} WHERE every = $1 AND period = $2 ORDER BY id LIMIT 1`,
        `INSERT INTO ${t('celeriac_interval_schedule')} (every, period) VALUES ($1, $2) RETURNING id`,
        [spec.every, spec.period],
      );
      break;
    case 'crontab':
      fks.crontab_id = await one(
        `SELECT id FROM ${t('celeriac_crontab_schedule')}
          WHERE minute = $1 AND hour = $2 AND day_of_week = $3 AND day_of_month = $4 AND month_of_year = $5 AND timezone = $6
          ORDER BY id LIMIT 1`,
        `INSERT INTO ${t('celeriac_crontab_schedule')} (minute, hour, day_of_week, day_of_month, month_of_year, timezone)
         VALUES ($1, $2, $3, $4, $5, $6) RETURNING id`,
        [spec.minute, spec.hour, spec.dayOfWeek, spec.dayOfMonth, spec.monthOfYear, spec.timezone],
      );
      break;
    case 'solar':
      fks.solar_id = await one(
        `SELECT id FROM ${t('celeriac_solar_schedule')} WHERE event = $1 AND latitude = $2::numeric(9,6) AND longitude = $3::numeric(9,6)`,
        `INSERT INTO ${t('celeriac_solar_schedule')} (event, latitude, longitude) VALUES ($1, $2, $3) RETURNING id`,
        [spec.event, spec.latitude, spec.longitude],
      );
      break;
    case 'clocked':
      fks.clocked_id = await one(
        `SELECT id FROM ${t('celeriac_clocked_schedule')} WHERE clocked_time = $1 ORDER BY id LIMIT 1`,
        `INSERT INTO ${t('celeriac_clocked_schedule')} (clocked_time) VALUES ($1) RETURNING id`,
        [spec.clockedTime],
      );
      break;
  }
  return fks;
}
