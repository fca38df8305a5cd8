import { statement, type Statement } from './statement';

export interface RowFault {
  id: number;
  revision: string;
  error: string;
}

/**
 * Parks rows beat cannot run (a crontab field that does not parse, an unknown zone, args that
 * are not an array, a task nobody registered): next_run_at NULL so no tick reads them again,
 * and the reason in last_error for the admin. Not next_run_stale, so they stay parked until
 * someone edits them, which marks them stale and gets them planned afresh (or a beat starts:
 * see unparkRows.ts).
 * Guarded by revision: an edit that raced the check is planned, not parked.
 */
export function markRowErrors(schema: string): Statement<readonly RowFault[]> {
  return statement(
    'errors',
    schema,
    `
    UPDATE "${schema}".celeriac_periodic_task pt
       SET next_run_at = NULL, next_run_stale = false, last_error = u.error
      FROM unnest($1::int[], $2::bigint[], $3::text[]) AS u(id, revision, error)
     WHERE pt.id = u.id AND pt.revision = u.revision`,
    (faults) => [faults.map((f) => f.id), faults.map((f) => f.revision), faults.map((f) => f.error)],
  );
}
