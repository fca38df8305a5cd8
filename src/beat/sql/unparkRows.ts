import { noParams, statement, type Statement } from './statement';

/**
 * Run once when a beat starts: rows parked as bad by an earlier beat (markRowErrors.ts) get
 * another look, because this deploy may have fixed them (registered their task, shipped a newer
 * zone database). Marking them stale hands them to the re-planner, which parks them again,
 * with the current reason, if they still cannot run.
 */
export function unparkRows(schema: string): Statement<void> {
  return statement(
    'unpark',
    schema,
    `
    UPDATE "${schema}".celeriac_periodic_task SET next_run_stale = true
     WHERE enabled AND next_run_at IS NULL AND last_error IS NOT NULL AND NOT next_run_stale`,
    noParams,
  );
}
