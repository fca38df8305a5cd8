import { noParams, statement, type Statement } from './statement';

export interface Wake {
  next_run_at: Date | null;
  oldest_claim: Date | null;
  stale: boolean;
}

/**
 * When the beat must next look: the earliest slot of an enabled task, the earliest outbox
 * claim (another beat's batch becomes ours once its lease lapses), and whether any row waits
 * to be planned. Each part is one index probe (due index, outbox claimed_at index, stale
 * partial index), so an idle beat with 100,000 rows does three index lookups per wake-up.
 */
export function nextWake(schema: string): Statement<void, Wake> {
  return statement(
    'wake',
    schema,
    `
    SELECT (SELECT min(next_run_at) FROM "${schema}".celeriac_periodic_task WHERE enabled) AS next_run_at,
           (SELECT min(claimed_at) FROM "${schema}".celeriac_beat_outbox) AS oldest_claim,
           EXISTS (SELECT 1 FROM "${schema}".celeriac_periodic_task WHERE next_run_stale) AS stale`,
    noParams,
  );
}
