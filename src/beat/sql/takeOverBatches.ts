/**
 * Takes over outbox batches whose sending was not confirmed: this beat's own (its send failed,
 * e.g. Redis was down) at once, another beat's once its claim is older than the lease (that
 * beat died, or is stuck). Whole batches only, because a batch's Redis send marker covers all
 * of its messages: sending half a batch under the marker would make the other half look sent.
 * SKIP LOCKED lets two rescuing beats split the work instead of queueing on each other.
 * The new claim (claimed_by, claimed_at) fences the previous owner: finishBatch only deletes
 * a batch for the beat that currently holds it.
 *
 * $1 beat id, $2 now, $3 lease cutoff (claims at or before it have lapsed), $4 limit.
 */
export function takeOverBatches(schema: string): string {
  const outbox = `"${schema}".celeriac_beat_outbox`;
  return `
    WITH picked AS (
      SELECT batch_id, claimed_by AS previous_owner
        FROM ${outbox}
       WHERE claimed_by = $1 OR claimed_at <= $3
       ORDER BY claimed_at
       LIMIT $4
         FOR UPDATE SKIP LOCKED
    )
    UPDATE ${outbox} o
       SET claimed_by = $1, claimed_at = $2, attempts = o.attempts + 1
      FROM picked p
     WHERE o.batch_id = p.batch_id
    RETURNING o.batch_id, o.first_claimed_at, o.attempts, o.runs, p.previous_owner`;
}
