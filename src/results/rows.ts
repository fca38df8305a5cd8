/**
 * The shapes a task's result row travels in: a state change as the sender or a worker writes it,
 * and the row as it is read. Types only, so the store and its batch writer share them without
 * importing each other.
 */
import type { TaskStatus } from './states';

/** One state change of one task, as the sender or a worker knows it. */
export interface StateUpdate {
  taskId: string;
  status: TaskStatus;
  retries: number;
  taskName?: string | null;
  periodicTaskName?: string | null;
  args?: unknown[] | null;
  kwargs?: Record<string, unknown> | null;
  result?: unknown;
  traceback?: string | null;
  meta?: Record<string, unknown> | null;
  worker?: string | null;
  queue?: string | null;
  parentId?: string | null;
  rootId?: string | null;
  groupId?: string | null;
  dateCreated?: Date | null;
  dateStarted?: Date | null;
  dateDone?: Date | null;
  /**
   * A hint that the row already exists with its descriptive columns (name, args, queue, …), so
   * only the changing ones need writing. A wrong hint costs one more statement, never a wrong row.
   */
  rowExists?: boolean;
}

export interface TaskResultRow {
  taskId: string;
  taskName: string | null;
  periodicTaskName: string | null;
  status: TaskStatus;
  args: unknown[] | null;
  kwargs: Record<string, unknown> | null;
  result: unknown;
  traceback: string | null;
  meta: Record<string, unknown> | null;
  worker: string | null;
  queue: string | null;
  retries: number;
  parentId: string | null;
  rootId: string | null;
  groupId: string | null;
  dateCreated: Date;
  dateStarted: Date | null;
  dateDone: Date | null;
  dateChanged: Date;
}

/** Two states of one task as one: fields of `later` win; fields it leaves undefined keep `earlier`'s. */
export function mergeStates(earlier: StateUpdate, later: StateUpdate): StateUpdate {
  const out: StateUpdate = { ...earlier };
  for (const [k, v] of Object.entries(later)) if (v !== undefined) (out as any)[k] = v;
  return out;
}
