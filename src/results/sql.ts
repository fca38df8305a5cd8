/**
 * The result table's hot statements. Writes are one multi-row upsert per batch: the batch is one
 * JSON array parameter unpacked by json_to_recordset, so the statement has a fixed shape whatever
 * the batch size (Postgres plans it once) and the client serialises a batch with one native
 * JSON.stringify. Measured in the W1 drain, this replaced 19 text[] parameters whose element
 * escaping in pg's JS (escapeElement/arrayString/prepareValue) cost ~7 % of the worker's CPU.
 */

/**
 * The key of each column in a batch's JSON rows (toRecord and toFinishRecord, batch-write.ts),
 * and dates travel as epoch milliseconds: a 500-row finish batch went from 107 to 70 KB with
 * both, and unpacking it in Postgres (json_to_recordset, no write) from 3.05 to 2.37 ms, ISO text
 * through timestamptz_in being part of it; the worker no longer formats two dates a row either
 * (toISOString, ~1.7 % of its CPU in a W1 drain). Every byte of the parameter is also allocated
 * twice in the worker (JSON.stringify's parts, then the flat copy pg writes), all of it young.
 */
export const RECORD_KEY = {
  task_id: 'id',
  status: 'st',
  seq: 'sq',
  task_name: 'tn',
  periodic_task_name: 'pt',
  args: 'a',
  kwargs: 'kw',
  result: 'r',
  traceback: 'tb',
  meta: 'm',
  worker: 'w',
  queue: 'qu',
  retries: 're',
  parent_id: 'pa',
  root_id: 'ro',
  group_id: 'gr',
  date_created: 'dc',
  date_started: 'ds',
  date_done: 'dd',
} as const;

/**
 * `(…) AS u`: the batch's JSON rows ($1) as a relation with the columns' own names and types, so
 * the statements read `u.status`, `u.date_done` as if the rows carried them. A timestamptz column
 * arrives as epoch milliseconds (bigint), made whole seconds plus milliseconds: to_timestamp of
 * ms / 1000 as a float8 is inexact past ~year 2255 (a year 9999 instant came back 1 ms early, with
 * µs digits nobody wrote); whole seconds times 10^6 are exact in a float8 from year 0001 to 9999.
 */
export function recordset(columns: readonly (readonly [keyof typeof RECORD_KEY, string])[]): string {
  const declared = columns.map(([c, type]) => `${RECORD_KEY[c]} ${type === 'timestamptz' ? 'bigint' : type}`);
  const named = columns.map(([c, type]) => {
    const ms = `r.${RECORD_KEY[c]}`;
    // bigint / and % truncate toward zero, so a negative instant's parts add up too.
    return type === 'timestamptz'
      ? `to_timestamp(${ms} / 1000) + (${ms} % 1000) * interval '1 millisecond' AS ${c}`
      : `${ms} AS ${c}`;
  });
  return `(SELECT ${named.join(', ')} FROM json_to_recordset($1::json) AS r(${declared.join(', ')})) AS u`;
}

/** Columns of a state write and their types (the keys the JSON rows use: RECORD_KEY). */
const upsertColumns = [
  ['task_id', 'text'],
  ['status', 'text'],
  ['seq', 'int'],
  ['task_name', 'text'],
  ['periodic_task_name', 'text'],
  ['args', 'jsonb'],
  ['kwargs', 'jsonb'],
  ['result', 'jsonb'],
  ['traceback', 'text'],
  ['meta', 'jsonb'],
  ['worker', 'text'],
  ['queue', 'text'],
  ['retries', 'int'],
  ['parent_id', 'text'],
  ['root_id', 'text'],
  ['group_id', 'text'],
  ['date_created', 'timestamptz'],
  ['date_started', 'timestamptz'],
  ['date_done', 'timestamptz'],
] as const;

/**
 * Later states win, never earlier ones (`seq`, see states.ts). Descriptive columns keep the first
 * value anyone wrote: the sender knows args and the periodic task name, the worker knows more.
 *
 * Rows are inserted, and so locked, in task-id order (byte order, COLLATE "C", whatever the
 * database's collation): a sender's PENDING batch and a worker's batch holding some of the same
 * tasks in another order deadlocked (issue 15 item 3); with one order for every writer they queue.
 */
export function upsertResults(schema: string): string {
  const cols = upsertColumns.map(([c]) => c).join(', ');
  return `
    INSERT INTO "${schema}".celeriac_task_result AS t (${cols}, date_changed)
    SELECT ${cols}, now() FROM ${recordset(upsertColumns)} ORDER BY task_id COLLATE "C"
    ON CONFLICT (task_id) DO UPDATE SET
      status             = EXCLUDED.status,
      seq                = EXCLUDED.seq,
      task_name          = COALESCE(t.task_name, EXCLUDED.task_name),
      periodic_task_name = COALESCE(t.periodic_task_name, EXCLUDED.periodic_task_name),
      args               = COALESCE(t.args, EXCLUDED.args),
      kwargs             = COALESCE(t.kwargs, EXCLUDED.kwargs),
      result             = EXCLUDED.result,
      traceback          = EXCLUDED.traceback,
      meta               = COALESCE(EXCLUDED.meta, t.meta),
      worker             = COALESCE(EXCLUDED.worker, t.worker),
      queue              = COALESCE(t.queue, EXCLUDED.queue),
      retries            = EXCLUDED.retries,
      parent_id          = COALESCE(t.parent_id, EXCLUDED.parent_id),
      root_id            = COALESCE(t.root_id, EXCLUDED.root_id),
      group_id           = COALESCE(t.group_id, EXCLUDED.group_id),
      date_started       = COALESCE(EXCLUDED.date_started, t.date_started),
      date_done          = EXCLUDED.date_done,
      date_changed       = now()
    WHERE t.seq <= EXCLUDED.seq`;
}

/**
 * The same write for rows that already exist with their descriptive columns (a sender recorded
 * PENDING, or this task wrote an earlier state): only what a state changes is sent and set, which
 * costs Postgres about a quarter less per row than the upsert (bench/diag/result-write-cost.js)
 * and the worker a smaller JSON. The SET matches upsertResults' for an existing row. Returns how
 * many rows it changed; fewer than it was given means some were missing (or already later), and
 * the caller then writes its whole batch through upsertResults.
 */
const FINISH_COLUMNS: string[] = [
  'task_id',
  'status',
  'seq',
  'result',
  'traceback',
  'meta',
  'worker',
  'retries',
  'date_started',
  'date_done',
];
const finishColumns = upsertColumns.filter(([c]) => FINISH_COLUMNS.includes(c));

export function updateKnownResults(schema: string): string {
  // An UPDATE … FROM locks rows in whatever order its join plan visits them (a hash join over a
  // sequential scan: table order); locking them first, sorted as the upsert inserts, keeps one
  // order across both statements, so they cannot deadlock. The update then finds each locked row
  // by its primary key.
  return `
    WITH locked AS MATERIALIZED (
      SELECT t.id, u.* FROM "${schema}".celeriac_task_result AS t
        JOIN ${recordset(finishColumns)} ON t.task_id = u.task_id
       WHERE t.seq <= u.seq
       ORDER BY t.task_id COLLATE "C"
         FOR UPDATE OF t),
    changed AS (
      UPDATE "${schema}".celeriac_task_result AS t SET
        status       = u.status,
        seq          = u.seq,
        result       = u.result,
        traceback    = u.traceback,
        meta         = COALESCE(u.meta, t.meta),
        worker       = COALESCE(u.worker, t.worker),
        retries      = u.retries,
        date_started = COALESCE(u.date_started, t.date_started),
        date_done    = u.date_done,
        date_changed = now()
      FROM locked AS u
      WHERE t.id = u.id AND t.seq <= u.seq
      RETURNING 1)
    SELECT count(*)::int AS n FROM changed`;
}

export function selectResults(schema: string): string {
  return `SELECT task_id, task_name, periodic_task_name, status, args, kwargs, result, traceback, meta, worker, queue,
                 retries, parent_id, root_id, group_id, date_created, date_started, date_done, date_changed
            FROM "${schema}".celeriac_task_result WHERE task_id = ANY($1::text[])`;
}

export function deleteResult(schema: string): string {
  return `DELETE FROM "${schema}".celeriac_task_result WHERE task_id = $1`;
}

/** Revoke shows at once for tasks that have not finished; a running one that completes anyway overwrites it, as in Celery. */
export function markRevoked(schema: string): string {
  return `UPDATE "${schema}".celeriac_task_result
             SET status = 'REVOKED', seq = retries * 10 + 5, date_done = now(), date_changed = now()
           WHERE task_id = ANY($1::text[]) AND status NOT IN ('SUCCESS', 'FAILURE', 'REVOKED', 'REJECTED')`;
}

export function insertGroup(schema: string): string {
  return `INSERT INTO "${schema}".celeriac_group_result (group_id, task_ids) VALUES ($1, $2::jsonb) ON CONFLICT (group_id) DO NOTHING`;
}

export function selectGroup(schema: string): string {
  return `SELECT task_ids FROM "${schema}".celeriac_group_result WHERE group_id = $1`;
}

/**
 * One bounded batch of expired results: deleting millions of rows in one statement would hold
 * locks and bloat WAL for minutes, so cleanup loops over batches (by the date_done index).
 */
export function deleteExpiredBatch(schema: string): string {
  return `DELETE FROM "${schema}".celeriac_task_result
           WHERE id IN (SELECT id FROM "${schema}".celeriac_task_result WHERE date_done < $1 ORDER BY date_done LIMIT $2)`;
}

/**
 * One bounded batch of abandoned rows: never finished (no date_done) and unchanged since the
 * cutoff, e.g. PENDING rows of tasks sent to a queue nobody consumes, or purged. Without this they
 * stay forever (29,839 of them at 10M rows in bench W6). Read by the date_changed index from its
 * old end, which holds mostly such rows once the finished ones before the cutoff are gone.
 */
export function deleteStaleBatch(schema: string): string {
  return `DELETE FROM "${schema}".celeriac_task_result
           WHERE id IN (SELECT id FROM "${schema}".celeriac_task_result
                         WHERE date_done IS NULL AND date_changed < $1 ORDER BY date_changed LIMIT $2)`;
}

/** A task's children (callbacks, next chain steps, subtasks) through the partial parent_id index. */
export function selectChildren(schema: string): string {
  return `SELECT task_id FROM "${schema}".celeriac_task_result WHERE parent_id = $1 ORDER BY date_created, id LIMIT $2`;
}

export function deleteGroup(schema: string): string {
  return `DELETE FROM "${schema}".celeriac_group_result WHERE group_id = $1`;
}

export function deleteExpiredGroups(schema: string): string {
  return `DELETE FROM "${schema}".celeriac_group_result WHERE date_created < $1`;
}
