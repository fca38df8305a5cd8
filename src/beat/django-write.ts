/**
 * In django table mode, a schedule edited through PeriodicTaskService (Celeriac's admin, or code)
 * is written to Django's django-celery-beat tables in the same transaction, so Django's admin and
 * Python's beat see it, and Django stays the source of truth the mirror (django-mirror.ts) reads
 * back. It writes what Django's ORM would: the schedule row found by its values or created
 * (as get_or_create), the periodic task by name (args, kwargs and headers as JSON text,
 * date_changed now), and periodic_tasks.last_update bumped (PeriodicTasks.update_changed), which
 * is what every beat, Python's or Celeriac's, polls. last_run_at and total_run_count of an
 * existing row are left to the beat that runs it. Django has no column for catchUp: it is not kept.
 */
import type { TxQuery } from './db';
import { DJANGO_FIELD_COLUMNS } from './fields';
import { SCHEDULE_KINDS, SCHEDULE_TABLES, type ScheduleKind } from './schedule-tables';

export interface DjangoChange {
  /** Tasks (by their name in Celeriac's table) to write to Django's. */
  names?: string[];
  /** Renames, old name to new, applied before the write so the Django row keeps its id. */
  renamed?: [string, string][];
  /** Tasks to delete from Django's table. */
  deleted?: string[];
}

/** Every column written but name, the schedule keys and the run history (left to the beat that runs it). */
const FIELD_COLUMNS = [...DJANGO_FIELD_COLUMNS.filter((c) => c !== 'name'), 'date_changed'];
const PERIODIC_COLUMNS = [...FIELD_COLUMNS, ...SCHEDULE_KINDS.map((k) => SCHEDULE_TABLES[k].fk)];
/** Each column's value from Celeriac's row `pt` (Django keeps JSON as text). */
const valueOf = (c: string) =>
  c === 'date_changed' ? 'now()' : ['args', 'kwargs', 'headers'].includes(c) ? `pt.${c}::text` : `pt.${c}`;

export async function writeToDjango(q: TxQuery, schema: string, change: DjangoChange): Promise<void> {
  const t = (table: string) => `"${schema}".${table}`;
  const django = t('django_celery_beat_periodictask');
  for (const [from, to] of change.renamed ?? [])
    if (from !== to) await q(`UPDATE ${django} SET name = $2 WHERE name = $1`, [from, to]);
  if (change.deleted?.length) await q(`DELETE FROM ${django} WHERE name = ANY($1::text[])`, [change.deleted]);
  const names = change.names ?? [];
  if (names.length) {
    for (const kind of SCHEDULE_KINDS) await q(insertMissingSchedules(t, kind), [names]);
    const fkOf = (k: ScheduleKind) => {
      const same = SCHEDULE_TABLES[k].columns.map((c) => `d.${c.column} IS NOT DISTINCT FROM s_${k}.${c.column}`);
      return `(SELECT min(d.id) FROM ${t(djangoScheduleTable(k))} AS d WHERE ${same.join(' AND ')})`;
    };
    await q(
      `INSERT INTO ${django} AS dj (name, last_run_at, total_run_count, ${PERIODIC_COLUMNS.join(', ')})
       SELECT pt.name, pt.last_run_at, pt.total_run_count,
              ${[...FIELD_COLUMNS.map(valueOf), ...SCHEDULE_KINDS.map(fkOf)].join(', ')}
         FROM ${t('celeriac_periodic_task')} AS pt
         ${SCHEDULE_KINDS.map((k) => `LEFT JOIN ${t(SCHEDULE_TABLES[k].table)} AS s_${k} ON s_${k}.id = pt.${SCHEDULE_TABLES[k].fk}`).join('\n')}
        WHERE pt.name = ANY($1::text[])
       ON CONFLICT (name) DO UPDATE SET ${PERIODIC_COLUMNS.map((c) => (c === 'date_changed' ? NEWER_DATE_CHANGED : `${c} = EXCLUDED.${c}`)).join(', ')}`,
      [names],
    );
  }
  if (names.length || change.deleted?.length)
    await q(
      `INSERT INTO ${t('django_celery_beat_periodictasks')} AS m (ident, last_update) VALUES (1, now())
       ON CONFLICT (ident) DO UPDATE SET last_update = GREATEST(now(), m.last_update + interval '1 microsecond')`,
    );
}

/**
 * Every write moves the Django row's date_changed forward, never back to a value it held: the
 * mirror's memory of a row includes date_changed (django-mirror.ts), so a Django edit made after
 * this write, even one back to the values the mirror last saw, differs from that memory and is
 * mirrored over what this write put in Celeriac's row.
 */
const NEWER_DATE_CHANGED = `date_changed = GREATEST(EXCLUDED.date_changed, dj.date_changed + interval '1 microsecond')`;

const djangoScheduleTable = (kind: ScheduleKind) => `django_celery_beat_${kind}schedule`;

/** The schedules of the named tasks that Django's table lacks, inserted once each (get_or_create). */
function insertMissingSchedules(t: (table: string) => string, kind: ScheduleKind): string {
  const { table, fk, columns } = SCHEDULE_TABLES[kind];
  const cols = columns.map((c) => c.column);
  const same = cols.map((c) => `d.${c} IS NOT DISTINCT FROM s.${c}`).join(' AND ');
  return `INSERT INTO ${t(djangoScheduleTable(kind))} (${cols.join(', ')})
          SELECT DISTINCT ${cols.map((c) => `s.${c}`).join(', ')}
            FROM ${t(table)} AS s JOIN ${t('celeriac_periodic_task')} AS pt ON pt.${fk} = s.id
           WHERE pt.name = ANY($1::text[])
             AND NOT EXISTS (SELECT 1 FROM ${t(djangoScheduleTable(kind))} AS d WHERE ${same})
          ON CONFLICT DO NOTHING`;
}
