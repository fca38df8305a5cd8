import { noParams, statement, type Statement } from './statement';

/**
 * Run before anything else when beat opens its connections: the newest beat table present
 * means the schema was migrated this far. Without it every tick would fail with "relation does
 * not exist"; with it, start() fails at once with BeatNotMigratedError, which says what to run.
 */
export function probeTables(schema: string): Statement<void> {
  return statement('probe', schema, `SELECT 1 FROM "${schema}".celeriac_beat_outbox LIMIT 0`, noParams);
}
