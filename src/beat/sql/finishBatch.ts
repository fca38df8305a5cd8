/**
 * Removes a batch once Redis has its messages. Only the beat that holds the batch may: if
 * another beat took it over meanwhile, this deletes nothing and the new owner finishes it
 * (its re-send is a no-op under the batch's marker).
 *
 * $1 batch id, $2 beat id.
 */
export function finishBatch(schema: string): string {
  return `DELETE FROM "${schema}".celeriac_beat_outbox WHERE batch_id = $1 AND claimed_by = $2`;
}
