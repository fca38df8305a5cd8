import { scheduleJoins, scheduledRowColumns, type ScheduledRow } from '../row';
import { statement, type Statement } from './statement';

/**
 * Rows whose next run an edit invalidated (the triggers in migrations/0002-beat.ts set
 * next_run_stale and clear next_run_at). Only these are re-planned: an edit to one of 100,000
 * tasks costs one row, not a reload (django-celery-beat #14-#16 in our notes).
 *
 * Read in id order from after the last id of the previous round (the stale index is on id), so
 * that a beat can read the next round while it writes this one without reading the same rows.
 */
export function selectStaleRows(schema: string): Statement<{ limit: number; afterId: number }, ScheduledRow> {
  return statement(
    'stale',
    schema,
    `
    SELECT ${scheduledRowColumns('pt')}
      FROM "${schema}".celeriac_periodic_task pt
      ${scheduleJoins(schema, 'pt')}
     WHERE pt.next_run_stale AND pt.id > $2
     ORDER BY pt.id
     LIMIT $1`,
    (i) => [i.limit, i.afterId],
  );
}

/** A row's first slot after an edit (null: none, or a disabled row). */
export interface PlannedRow {
  id: number;
  revision: string;
  nextMs: number | null;
  note: string | null;
}

/**
 * Writes the planned first slots. Guarded by revision and by the stale flag still being set,
 * so two beats planning the same row at once write it once (the second finds it no longer
 * stale), and an edit made meanwhile is planned again rather than overwritten.
 */
export function writePlannedRows(schema: string): Statement<readonly PlannedRow[], { id: number }> {
  return statement(
    'plan',
    schema,
    `
    UPDATE "${schema}".celeriac_periodic_task pt
       SET next_run_at = u.next_run_at, next_run_stale = false,
           -- a disabled row keeps its note (e.g. "removed from beatSchedule"); an enabled one gets the plan's
           last_error = CASE WHEN pt.enabled THEN u.note ELSE pt.last_error END
      FROM unnest($1::int[], $2::bigint[], $3::timestamptz[], $4::text[]) AS u(id, revision, next_run_at, note)
     WHERE pt.id = u.id AND pt.revision = u.revision AND pt.next_run_stale
    RETURNING pt.id`,
    (rows) => [
      rows.map((r) => r.id),
      rows.map((r) => r.revision),
      rows.map((r) => (r.nextMs === null ? null : new Date(r.nextMs))),
      rows.map((r) => r.note),
    ],
  );
}
