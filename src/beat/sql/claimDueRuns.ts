import type { OutboxRun } from '../send-once';
import { statement, type Statement } from './statement';

/** One planned run of a claim: the row as it was read, and what claiming it does. */
export interface ClaimRun {
  id: number;
  /** The row's revision when it was read; an edit since then makes the claim skip it. */
  revision: string;
  /** The slot this run is for: the row's next_run_at when it was read. */
  slotMs: number;
  /** The row's next slot after this run, or null when there is none. */
  nextMs: number | null;
  /** Set enabled = false in the same step (a one-off's only run). */
  disable: boolean;
  /** Shown in last_error (why there is no next run, or why this run was skipped). */
  note: string | null;
  /** For a run to send: its send group and its outbox record. Null for a run skipped (catch_up = 'skip'). */
  send: { group: number; run: OutboxRun } | null;
}

/** Runs sent together, at one instant, under one outbox row and one Redis marker. */
export interface ClaimGroup {
  batchId: string;
  sendAtMs: number;
}

export interface Claim {
  nowMs: number;
  beat: string;
  runs: readonly ClaimRun[];
  /** Indexed by ClaimRun.send.group (0-based). */
  groups: readonly ClaimGroup[];
}

/** Between the run records of a claim: JSON escapes it, so no record contains it. */
const RUN_SEPARATOR = '\x1e';

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
 * - `recorded` writes the batch's messages to the outbox in the same transaction, one outbox row
 *   per send group (runs due within the same few milliseconds, sent together at the group's
 *   instant). If the beat dies after this commits and before Redis has the messages, another
 *   beat finds the groups there and sends them; if it dies after Redis has them, each group's
 *   send marker makes the second send a no-op (Broker.sendOnce; on Redis src/broker/lua/send-once-n.lua).
 *
 * Claiming ahead: a running beat claims runs up to claimAheadMs before their slot, so that the
 * statement's cost is paid before the instant and the messages go out at it. A group's
 * claimed_at is its send instant, not the claim time: the outbox lease (takeOverBatches) then
 * runs from the moment the group was due to be sent, so no other beat takes over a group its
 * owner is still waiting to send. last_run_at is that instant too (when the run is sent).
 *
 * Arrays are one element per planned run (unnest keeps the statement's shape fixed, so it is
 * prepared once whatever the batch size):
 * $1 now, $2 beat id, $3 ids, $4 planned slots, $5 revisions, $6 next slots, $7 send?,
 * $8 disable?, $9 notes, $10 send group (1-based index into $11/$12, null for runs not sent);
 * per send group: $11 batch ids, $12 send instants; $13 the run records, each as JSON, in row
 * order, joined by the ASCII record separator (chr(30), which JSON always escapes; empty for
 * runs not sent). One text, not a text[]: node-postgres escapes array elements in JavaScript,
 * which took ~280 ms for a batch of 1,000 encoded messages; and not a JSON array, which
 * Postgres had to parse whole (~1 MB a batch) only to cut it into elements: splitting on the
 * separator takes half the time.
 * Returns the ids this statement claimed.
 */
export function claimDueRuns(schema: string): Statement<Claim, { id: number }> {
  const pt = `"${schema}".celeriac_periodic_task`;
  return statement('claim', schema, claimText(schema, pt), (c: Claim) => [
    new Date(c.nowMs),
    c.beat,
    c.runs.map((r) => r.id),
    c.runs.map((r) => new Date(r.slotMs)),
    c.runs.map((r) => r.revision),
    c.runs.map((r) => (r.nextMs === null ? null : new Date(r.nextMs))),
    c.runs.map((r) => r.send !== null),
    c.runs.map((r) => r.disable),
    c.runs.map((r) => r.note),
    c.runs.map((r) => (r.send ? r.send.group + 1 : null)),
    c.groups.map((g) => g.batchId),
    c.groups.map((g) => new Date(g.sendAtMs)),
    c.runs.map((r) => (r.send ? JSON.stringify(r.send.run) : '')).join(RUN_SEPARATOR),
  ]);
}

function claimText(schema: string, pt: string): string {
  return `
    WITH input AS (
      SELECT * FROM unnest($3::int[], $4::timestamptz[], $5::bigint[], $6::timestamptz[], $7::boolean[], $8::boolean[], $9::text[], $10::int[])
        WITH ORDINALITY AS i(id, slot, revision, next_run_at, send, disable, note, grp, ord)
    ),
    runs AS (
      SELECT r.run, r.ord FROM unnest(string_to_array($13::text, chr(30))) WITH ORDINALITY AS r(run, ord)
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
             last_run_at     = CASE WHEN i.send THEN ($12::timestamptz[])[i.grp] ELSE pt.last_run_at END,
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
      SELECT ($11::uuid[])[i.grp], $2, ($12::timestamptz[])[i.grp], $1::timestamptz, count(*), '[' || string_agg(r.run, ',' ORDER BY i.ord) || ']'
        FROM advanced a JOIN input i ON i.id = a.id JOIN runs r ON r.ord = i.ord
       WHERE i.send
       GROUP BY i.grp
      RETURNING batch_id
    )
    SELECT a.id, (SELECT count(*) FROM recorded)::int AS batches FROM advanced a`;
}
