/**
 * The admin's reads of the result table. Every list is bounded (LIMIT, a capped count) and
 * ordered on an indexed column, so the admin stays cheap on a table with millions of rows:
 * - the list sorts on date_changed / date_created and pages by keyset (no OFFSET scan);
 * - a count stops at COUNT_CAP rows instead of scanning everything;
 * - the dashboard counts and buckets only a recent window, through the date indexes.
 */

export const COUNT_CAP = 10_000;

/** Columns a list row needs: previews instead of full jsonb, so 200 rows never carry megabytes. */
export const LIST_COLUMNS = `id, task_id, task_name, periodic_task_name, status, worker, queue, retries, parent_id, root_id,
  left(args::text, 201) AS args_preview, left(kwargs::text, 201) AS kwargs_preview, left(result::text, 201) AS result_preview,
  meta, date_created, date_started, date_done, date_changed`;

export const DETAIL_COLUMNS = `id, task_id, task_name, periodic_task_name, status, args, kwargs, result, traceback, meta, worker, queue,
  retries, parent_id, root_id, group_id, date_created, date_started, date_done, date_changed`;

export const SORTABLE = [
  'date_changed',
  'date_created',
  'date_started',
  'date_done',
  'task_name',
  'status',
  'worker',
  'runtime',
] as const;
export type SortColumn = (typeof SORTABLE)[number];
/** NOT NULL columns can page by keyset; the others page by (capped) offset. */
export const KEYSET_SORTS: readonly SortColumn[] = ['date_changed', 'date_created'];

/** A finished row's runtime; NULL while unfinished. No index: combine it with a state or a date range on big tables. */
const RUNTIME = '(date_done - date_started)';
const sortExpression = (sort: SortColumn) => (sort === 'runtime' ? RUNTIME : sort);

export const DATE_FIELDS = ['date_created', 'date_started', 'date_done', 'date_changed'] as const;
export type DateField = (typeof DATE_FIELDS)[number];

export interface ListFilter {
  states?: string[];
  task?: string;
  periodicTask?: string;
  worker?: string;
  queue?: string;
  parentId?: string;
  rootId?: string;
  groupId?: string;
  search?: string;
  dateField: DateField;
  since?: Date;
  until?: Date;
  /** Finished tasks whose runtime (date_done - date_started) is at least / at most this many ms. */
  minRuntimeMs?: number;
  maxRuntimeMs?: number;
}

export interface ListQuery extends ListFilter {
  sort: SortColumn;
  descending: boolean;
  limit: number;
  offset: number;
  /** Keyset position: the sort value (as Postgres text, exact to the microsecond) and row id of the last row seen. */
  after?: { value: string; id: string };
}

function where(f: ListFilter, params: unknown[]): string[] {
  const clauses: string[] = [];
  const p = (v: unknown) => `$${params.push(v)}`;
  // One state as `=`: the planner walks (status, date_changed) in order; ANY() would make it sort.
  if (f.states?.length === 1) clauses.push(`status = ${p(f.states[0])}`);
  else if (f.states?.length) clauses.push(`status = ANY(${p(f.states)}::text[])`);
  if (f.task) {
    // "reports.*" lists a family of tasks; other LIKE characters in a name are taken literally.
    if (f.task.endsWith('*')) clauses.push(`task_name LIKE ${p(likeEscape(f.task.slice(0, -1)) + '%')}`);
    else clauses.push(`task_name = ${p(f.task)}`);
  }
  if (f.periodicTask) clauses.push(`periodic_task_name = ${p(f.periodicTask)}`);
  if (f.worker) clauses.push(`worker = ${p(f.worker)}`);
  if (f.queue) clauses.push(`queue = ${p(f.queue)}`);
  if (f.parentId) clauses.push(`parent_id = ${p(f.parentId)}`);
  if (f.rootId) clauses.push(`root_id = ${p(f.rootId)}`);
  if (f.groupId) clauses.push(`group_id = ${p(f.groupId)}`);
  if (f.search) {
    const like = p('%' + likeEscape(f.search) + '%');
    clauses.push(`(task_id = ${p(f.search)} OR task_name ILIKE ${like} OR periodic_task_name ILIKE ${like})`);
  }
  if (f.since) clauses.push(`${f.dateField} >= ${p(f.since.toISOString())}`);
  if (f.until) clauses.push(`${f.dateField} < ${p(f.until.toISOString())}`);
  if (f.minRuntimeMs !== undefined) clauses.push(`${RUNTIME} >= ${p(f.minRuntimeMs)} * interval '1 millisecond'`);
  if (f.maxRuntimeMs !== undefined) clauses.push(`${RUNTIME} <= ${p(f.maxRuntimeMs)} * interval '1 millisecond'`);
  return clauses;
}

/**
 * Whether the listed rows have no NULL in the sort column: a NOT NULL column, or the date
 * column the list is range-filtered on. Those sort without a NULLS clause (which would stop
 * Postgres walking the column's index: a 10M-row sort, measured in bench W6) and page by keyset.
 */
export function sortsWithoutNulls(q: Pick<ListQuery, 'sort' | 'dateField' | 'since' | 'until'>): boolean {
  return KEYSET_SORTS.includes(q.sort) || (q.sort === q.dateField && Boolean(q.since || q.until));
}

export function listResults(results: string, q: ListQuery): { text: string; params: unknown[] } {
  const params: unknown[] = [];
  const clauses = where(q, params);
  const dir = q.descending ? 'DESC' : 'ASC';
  if (q.after) {
    const op = q.descending ? '<' : '>';
    clauses.push(
      `(${q.sort}, id) ${op} ($${params.push(q.after.value)}::timestamptz, $${params.push(q.after.id)}::bigint)`,
    );
  }
  // Where the column may hold NULLs (unfinished rows), they rank as oldest: last newest-first, first oldest-first.
  const nulls = sortsWithoutNulls(q) ? '' : q.descending ? 'NULLS LAST' : 'NULLS FIRST';
  const text = `SELECT ${LIST_COLUMNS}, ${sortExpression(q.sort)}::text AS sort_key
      FROM ${results}
     ${clauses.length ? 'WHERE ' + clauses.join(' AND ') : ''}
     ORDER BY ${sortExpression(q.sort)} ${dir} ${nulls}, id ${dir}
     LIMIT $${params.push(q.limit + 1)} OFFSET $${params.push(q.after ? 0 : q.offset)}`;
  return { text, params };
}

/** How many rows match, counting at most COUNT_CAP + 1 (so "10,000+" costs what 10,001 rows cost). */
export function countResults(results: string, f: ListFilter): { text: string; params: unknown[] } {
  const params: unknown[] = [];
  const clauses = where(f, params);
  const text = `SELECT count(*)::int AS n FROM (SELECT 1 FROM ${results}
     ${clauses.length ? 'WHERE ' + clauses.join(' AND ') : ''} LIMIT ${COUNT_CAP + 1}) AS capped`;
  return { text, params };
}

export function resultDetail(results: string): string {
  return `SELECT ${DETAIL_COLUMNS} FROM ${results} WHERE task_id = $1`;
}

/** Children through the partial parent_id index; a fan-out bigger than the limit is shown as "first N". */
export function resultChildren(results: string): string {
  return `SELECT task_id, task_name, status, date_created, date_done FROM ${results}
           WHERE parent_id = $1 ORDER BY date_created, id LIMIT $2`;
}

/** States of rows changed in the window, through the (status, date_changed) index. */
export function countsByState(results: string): string {
  return `SELECT status, count(*)::int AS n FROM ${results} WHERE date_changed >= $1 GROUP BY status`;
}

/** Finished tasks per minute, through the date_done index. */
export function throughputPerMinute(results: string): string {
  return `SELECT date_trunc('minute', date_done) AS minute,
                 count(*) FILTER (WHERE status = 'SUCCESS')::int AS succeeded,
                 count(*) FILTER (WHERE status = 'FAILURE')::int AS failed,
                 count(*)::int AS total
            FROM ${results}
           WHERE date_done >= $1 AND date_done < $2
           GROUP BY 1 ORDER BY 1`;
}

/** Distinct task and periodic task names seen recently, for the filter drop-downs. */
export function recentNames(results: string): string {
  return `SELECT DISTINCT task_name FROM (SELECT task_name FROM ${results}
            WHERE task_name IS NOT NULL ORDER BY date_changed DESC LIMIT 2000) AS recent ORDER BY task_name LIMIT 200`;
}

function likeEscape(s: string): string {
  return s.replace(/[\\%_]/g, (c) => '\\' + c);
}
