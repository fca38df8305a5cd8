import { statement, type Statement } from './statement';

/**
 * Removes batches once Redis has their messages. Only the beat that holds a batch may: if
 * another beat took it over meanwhile, this deletes nothing and the new owner finishes it
 * (its re-send is a no-op under the batch's marker).
 *
 * Batches sent within a few milliseconds of each other are removed by one statement (a beat
 * claiming ahead sends a group every few ms at 100,000 tasks a minute).
 */
export function finishBatch(schema: string): Statement<{ batchIds: string[]; beat: string }> {
  return statement(
    'finish',
    schema,
    `DELETE FROM "${schema}".celeriac_beat_outbox WHERE batch_id = ANY ($1::uuid[]) AND claimed_by = $2`,
    (i) => [i.batchIds, i.beat],
  );
}
