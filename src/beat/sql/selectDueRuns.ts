import { scheduleJoins, scheduledRowColumns, type ScheduledRow } from '../row';
import { statement, type Statement } from './statement';

/**
 * The due rows, oldest slot first, with their schedules: the tick's only read of the table.
 *
 * Why unlocked: beat plans each run in TypeScript (the schedule math, the DST rule and the
 * message encoding live there), and holding row locks across that work would make every other
 * beat wait. Instead claimDueRuns re-checks each row under FOR UPDATE SKIP LOCKED and claims it
 * only if it is still exactly what was read here (same slot, same revision).
 * Served by celeriac_periodic_task_due_idx (next_run_at WHERE enabled), so 100,000 idle rows
 * cost nothing; rows with next_run_at NULL (stale, finished, bad) never match.
 *
 * `dueBy`: a running beat passes now + claimAheadMs. `excluding`: the batch whose claim is still
 * running while this one is read.
 */
export function selectDueRuns(
  schema: string,
): Statement<{ dueByMs: number; limit: number; excluding: number[] }, ScheduledRow> {
  return statement(
    'due',
    schema,
    `
    SELECT ${scheduledRowColumns('pt')}
      FROM "${schema}".celeriac_periodic_task pt
      ${scheduleJoins(schema, 'pt')}
     WHERE pt.enabled AND pt.next_run_at <= $1 AND pt.id <> ALL ($3::int[])
     ORDER BY pt.next_run_at
     LIMIT $2`,
    (i) => [new Date(i.dueByMs), i.limit, i.excluding],
  );
}
