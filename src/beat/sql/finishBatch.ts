/**
 * Removes a batch once Redis has its messages. Only the beat that holds the batch may: if
 * another beat took it over meanwhile, this deletes nothing and the new owner finishes it
 * (its re-send is a no-op under the batch's marker).
 *
 * Batches sent within a few milliseconds of each other are removed by one statement (a beat
 * claiming ahead sends a group every few ms at 100,000 tasks a minute).
 *
 * $1 batch ids, $2 beat id.
 */
export function finishBatch(schema: string): string {
  return `DELETE FROM "${schema}".celeriac_beat_outbox WHERE batch_id = ANY ($1::uuid[]) AND claimed_by = $2`;
}
