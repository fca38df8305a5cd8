/**
 * Claims due runs, advances their periodic tasks and records the runs to send, in one
 * statement and so one transaction. This is where "never twice" is decided.
 *
 * - `claimed` locks each planned row with FOR UPDATE SKIP LOCKED and keeps it only if its
 *   next_run_at still holds the slot that was planned and its revision is unchanged. A row
 *   another beat is claiming right now is skipped, not waited for; a row another beat already
 *   claimed has a later next_run_at and no longer matches; a row someone edited since it was
 *   read has a new revision. So each (task, slot) is claimed by exactly one statement.
 *   The slot is compared to the millisecond (a range, not `=`), because next_run_at written by
 *   hand may carry microseconds that a JavaScript Date drops.
 * - `advanced` moves next_run_at to the planned next slot and, for runs that are sent, sets
 *   last_run_at (when), last_slot_at (which slot) and total_run_count; one-offs disable
 *   themselves here, in the same step, so a restart cannot run them again (django-celery-beat
 *   #828).
 * - `recorded` writes the batch's messages to the outbox in the same transaction. If the
 *   beat dies after this commits and before Redis has the messages, another beat finds the
 *   batch there and sends it; if it dies after Redis has them, the batch's send marker makes
 *   the second send a no-op (src/beat/lua/send-once.lua).
 *
 * Arrays are one element per planned row (unnest keeps the statement's shape fixed, so it is
 * prepared once whatever the batch size):
 * $1 now, $2 beat id, $3 batch id, $4 ids, $5 planned slots, $6 revisions, $7 next slots,
 * $8 send?, $9 disable?, $10 notes; $11 the run records as one JSON array in the same order
 * (null for runs not sent). One JSON document, not a text[]: node-postgres escapes array
 * elements in JavaScript, which took ~280 ms for a batch of 1,000 encoded messages.
 * Returns the ids this statement claimed.
 */
export function claimDueRuns(schema: string): string {
  const pt = `"${schema}".celeriac_periodic_task`;
  return `
    WITH input AS (
      SELECT * FROM unnest($4::int[], $5::timestamptz[], $6::bigint[], $7::timestamptz[], $8::boolean[], $9::boolean[], $10::text[])
        WITH ORDINALITY AS i(id, slot, revision, next_run_at, send, disable, note, ord)
    ),
    runs AS (
      SELECT r.run, r.ord FROM json_array_elements_text($11::json) WITH ORDINALITY AS r(run, ord)
    ),
    claimed AS (
      SELECT pt.id
        FROM ${pt} pt JOIN input i ON i.id = pt.id
       WHERE pt.enabled
         AND pt.next_run_at >= i.slot AND pt.next_run_at < i.slot + interval '1 millisecond'
         AND pt.revision = i.revision
         FOR UPDATE OF pt SKIP LOCKED
    ),
    advanced AS (
      UPDATE ${pt} pt
         SET next_run_at     = i.next_run_at,
             last_run_at     = CASE WHEN i.send THEN $1::timestamptz ELSE pt.last_run_at END,
             last_slot_at    = CASE WHEN i.send THEN i.slot ELSE pt.last_slot_at END,
             total_run_count = pt.total_run_count + CASE WHEN i.send THEN 1 ELSE 0 END,
             enabled         = pt.enabled AND NOT i.disable,
             last_error      = i.note
        FROM claimed c JOIN input i ON i.id = c.id
       WHERE pt.id = c.id
      RETURNING pt.id
    ),
    recorded AS (
      INSERT INTO "${schema}".celeriac_beat_outbox (batch_id, claimed_by, claimed_at, first_claimed_at, run_count, runs)
      SELECT $3::uuid, $2, $1::timestamptz, $1::timestamptz, count(*), '[' || string_agg(r.run, ',' ORDER BY i.ord) || ']'
        FROM advanced a JOIN input i ON i.id = a.id JOIN runs r ON r.ord = i.ord
       WHERE i.send
      HAVING count(*) > 0
      RETURNING batch_id
    )
    SELECT a.id, (SELECT count(*) FROM recorded)::int AS batches FROM advanced a`;
}
