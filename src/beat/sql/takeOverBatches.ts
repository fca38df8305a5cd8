import { statement, type Statement } from './statement';

export interface TakeOver {
  beat: string;
  nowMs: number;
  /** Claims at or before this instant have lapsed (now − outboxLeaseMs). */
  leaseCutoffMs: number;
  limit: number;
  /** Batches this beat is sending itself (waiting for their instant, or in flight). */
  sending: string[];
}

export interface TakenBatch {
  batch_id: string;
  first_claimed_at: Date;
  attempts: number;
  /** The outbox records, a JSON array of OutboxRun. */
  runs: string;
  previous_owner: string;
}

/**
 * Takes over outbox batches whose sending was not confirmed: this beat's own (its send failed,
 * e.g. Redis was down) at once, another beat's once its claim is older than the lease (that
 * beat died, or is stuck). Whole batches only, because a batch's Redis send marker covers all
 * of its messages: sending half a batch under the marker would make the other half look sent.
 * SKIP LOCKED lets two rescuing beats split the work instead of queueing on each other.
 * The new claim (claimed_by, claimed_at) fences the previous owner: finishBatch only deletes
 * a batch for the beat that currently holds it.
 *
 * A batch's claimed_at is its send instant (see claimDueRuns: a running beat claims ahead), so
 * this beat's own batches are taken only once that instant has passed, and never one it still
 * holds in memory, waiting for its instant or being sent right now (`sending`): those are not
 * failed.
 */
export function takeOverBatches(schema: string): Statement<TakeOver, TakenBatch> {
  const outbox = `"${schema}".celeriac_beat_outbox`;
  return statement(
    'takeover',
    schema,
    `
    WITH picked AS (
      SELECT batch_id, claimed_by AS previous_owner
        FROM ${outbox}
       WHERE ((claimed_by = $1 AND claimed_at <= $2) OR claimed_at <= $3)
         AND batch_id <> ALL ($5::uuid[])
       ORDER BY claimed_at
       LIMIT $4
         FOR UPDATE SKIP LOCKED
    )
    UPDATE ${outbox} o
       SET claimed_by = $1, claimed_at = $2, attempts = o.attempts + 1
      FROM picked p
     WHERE o.batch_id = p.batch_id
    RETURNING o.batch_id, o.first_claimed_at, o.attempts, o.runs, p.previous_owner`,
    (t) => [t.beat, new Date(t.nowMs), new Date(t.leaseCutoffMs), t.limit, t.sending],
  );
}
