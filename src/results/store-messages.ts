import type { WriteResult } from './batch-write';
import type { StateUpdate } from './rows';

/** What the result store says: to callers it gives up on, in its log, and when a table is missing. */

/** Logged when a callback or listener of the store threw; the batch goes on. */
export const CALLBACK_THREW = 'a callback waiting on the result store threw; ignored (its state is stored as reported)';

/** The result a write gets when the store closed before Postgres took it. */
export function abandoned(u: StateUpdate): WriteResult {
  return {
    stored: 'abandoned',
    reason: `the result store closed before Postgres accepted ${u.taskId}'s ${u.status}; a worker does not ack it, so it runs again`,
  };
}

/** Postgres' own words, plus what to do when the cause is ours to name. */
export function explain(err: Error, schema: string, createdBy: string): Error {
  const code = (err as { code?: string }).code;
  if (code === '42P01' || code === '3F000') {
    return new Error(`${err.message}: the result table is missing in schema '${schema}'. ${createdBy}`);
  }
  return err;
}
