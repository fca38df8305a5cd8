import { SCHEDULE_TABLES, type ScheduleKind } from '../schedule-tables';
import { statement, type Statement } from './statement';

/**
 * Finds or creates the schedule rows of many tasks in one statement per kind, reusing an
 * identical row when there is one (django-celery-beat's from_schedule), so neither code sync
 * nor a bulk create piles up duplicate schedules. One statement instead of a SELECT and an
 * INSERT per schedule: 10,000 distinct schedules took 20,000 round trips that way.
 *
 * Rows are matched on their values as the columns store them (each input value is cast to its
 * column's type first, so a latitude is compared at numeric(9,6)); the lowest id wins where
 * several match. Only the solar table has a unique key; a concurrent insert of the same solar
 * schedule makes ON CONFLICT skip it and its id come back null, and the caller runs the
 * statement again, which then finds it.
 *
 * Takes the schedules as rows { k, <column>: value, … }, k being the caller's index for each;
 * returns { k, id } for every k.
 */
export function findOrCreateSchedules(
  schema: string,
  kind: ScheduleKind,
): Statement<Record<string, unknown>[], { k: number; id: number | null }> {
  const { table, columns } = SCHEDULE_TABLES[kind];
  const names = columns.map((c) => c.column);
  const same = (a: string, b: string) => names.map((c) => `${a}.${c} = ${b}.${c}`).join(' AND ');
  const text = `
    WITH input AS (
      SELECT r.k, ${columns.map((c) => `r.${c.column}::${c.sqlType} AS ${c.column}`).join(', ')}
        FROM jsonb_to_recordset($1::jsonb) AS r(k integer, ${columns.map((c) => `${c.column} ${c.sqlType}`).join(', ')})
    ), found AS (
      SELECT DISTINCT ON (input.k) input.*, s.id
        FROM input LEFT JOIN "${schema}".${table} s ON ${same('s', 'input')}
       ORDER BY input.k, s.id
    ), made AS (
      INSERT INTO "${schema}".${table} (${names.join(', ')})
      SELECT DISTINCT ${names.join(', ')} FROM found WHERE id IS NULL
      ON CONFLICT DO NOTHING
      RETURNING id, ${names.join(', ')}
    )
    SELECT found.k, coalesce(found.id, made.id) AS id
      FROM found LEFT JOIN made ON found.id IS NULL AND ${same('made', 'found')}`;
  return statement(`schedules_${kind}`, schema, text, (rows) => [JSON.stringify(rows)]);
}
