import { noParams, statement, type Statement } from './statement';

/**
 * A bulk insert or edit (a full batch of rows to plan) usually means a table Postgres has no
 * statistics for yet: autovacuum analyzes it up to a minute later. Until then it plans the
 * per-batch UPDATEs as a hash over every stale row (100 ms a round instead of 14 ms, measured
 * on 100,000 new rows: ten seconds of start-up), so beat analyzes the tables a plan reads itself,
 * once. Needs the tables' owner; without that the statements are only slower.
 */
export function analyzeTables(schema: string): Statement<void> {
  return statement(
    'analyze',
    schema,
    `ANALYZE "${schema}".celeriac_periodic_task, "${schema}".celeriac_interval_schedule, "${schema}".celeriac_crontab_schedule`,
    noParams,
  );
}
