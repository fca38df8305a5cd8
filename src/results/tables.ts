/**
 * Which tables the result store reads and writes: Celeriac's own (celeriac_task_result, typed
 * columns) or a Django project's django-celery-results tables (django-tables.ts). The store and its
 * batch writer only ever see this set of statements and the row decoder, so a table layout is an
 * adapter here, not a second store.
 */
import type { TaskResultRow } from './rows';
import {
  deleteExpiredBatch,
  deleteExpiredGroups,
  deleteGroup,
  deleteResult,
  deleteStaleBatch,
  insertGroup,
  markRevoked,
  selectChildren,
  selectGroup,
  selectResults,
  updateKnownResults,
  upsertResults,
} from './sql';

export interface ResultTables {
  /** Prepared-statement names start with this, so two layouts in one process never share a name. */
  readonly key: string;
  /** Takes upsertResults' JSON records (batch-write.ts toRecord); a later state wins, never an earlier one. */
  readonly upsert: string;
  /** Takes the narrow finish records; returns one row { n } counting the rows it changed. */
  readonly updateKnown: string;
  /** $1 text[] of task ids; rows decoded by toRow. */
  readonly select: string;
  readonly deleteResult: string;
  readonly markRevoked: string;
  /** $1 group id, $2 the member ids as a JSON array. */
  readonly insertGroup: string;
  /** One row { task_ids: string[] }. */
  readonly selectGroup: string;
  readonly deleteGroup: string;
  readonly deleteExpiredBatch: string;
  readonly deleteStaleBatch: string;
  readonly deleteExpiredGroups: string;
  readonly selectChildren: string;
  /** django-celery-results' chord counter (django mode only): Celeriac chords join through it as Python's do. */
  readonly chordCounter?: ChordCounterSql;
  toRow(r: any): TaskResultRow;
  /** What to run when the tables are missing. */
  readonly createdBy: string;
}

/** Statements on django_celery_results_chordcounter (chord-counter.ts runs them). */
export interface ChordCounterSql {
  /** $1 group id, $2 the header's result ids as a JSON array, $3 the count; a repeat changes nothing. */
  readonly insert: string;
  /** $1 group id: one row { sub_tasks, count } locked FOR UPDATE, or none. */
  readonly lock: string;
  /** $1 group id, $2 the new count. */
  readonly setCount: string;
  /** $1 group id. */
  readonly remove: string;
}

export function celeriacResultTables(schema: string): ResultTables {
  return {
    key: `celeriac_${schema}`,
    upsert: upsertResults(schema),
    updateKnown: updateKnownResults(schema),
    select: selectResults(schema),
    deleteResult: deleteResult(schema),
    markRevoked: markRevoked(schema),
    insertGroup: insertGroup(schema),
    selectGroup: selectGroup(schema),
    deleteGroup: deleteGroup(schema),
    deleteExpiredBatch: deleteExpiredBatch(schema),
    deleteStaleBatch: deleteStaleBatch(schema),
    deleteExpiredGroups: deleteExpiredGroups(schema),
    selectChildren: selectChildren(schema),
    toRow: typedRow,
    createdBy: 'Run `celeriac migrate --app <module>` (or celeriac.migrate())',
  };
}

/** A row of celeriac_task_result, or of a select that names its columns the same way. */
export function typedRow(r: any): TaskResultRow {
  return {
    taskId: r.task_id,
    taskName: r.task_name,
    periodicTaskName: r.periodic_task_name,
    status: r.status,
    args: r.args,
    kwargs: r.kwargs,
    result: r.result,
    traceback: r.traceback,
    meta: r.meta,
    worker: r.worker,
    queue: r.queue,
    retries: r.retries,
    parentId: r.parent_id,
    rootId: r.root_id,
    groupId: r.group_id,
    dateCreated: new Date(r.date_created),
    dateStarted: r.date_started ? new Date(r.date_started) : null,
    dateDone: r.date_done ? new Date(r.date_done) : null,
    dateChanged: new Date(r.date_changed),
  };
}
