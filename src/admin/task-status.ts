import type { TaskResultRow } from '../results/store';
import { toStatus } from './serialize';
import type { TaskStatusJson } from './types';

/**
 * The admin's task-status JSON for a row your own route read (`await asyncResult(id).info()`),
 * so an app's public status route answers in the same shape celeriac-status.js expects.
 * Stacks are left out unless `withStack` is true.
 */
export function taskStatusJson(row: TaskResultRow, options: { withStack?: boolean } = {}): TaskStatusJson {
  return toStatus(
    {
      task_id: row.taskId,
      task_name: row.taskName,
      status: row.status,
      result: row.result,
      traceback: row.traceback,
      meta: row.meta,
      retries: row.retries,
      date_created: row.dateCreated,
      date_started: row.dateStarted,
      date_done: row.dateDone,
      date_changed: row.dateChanged,
    },
    options.withStack === true,
  );
}
