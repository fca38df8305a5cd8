import type { TaskResultRow } from './store';

export interface RevokeOptions {
  /** Also stop it if it is running now (its AbortSignal aborts; in the threads pool the thread is ended). */
  terminate?: boolean;
  signal?: string;
}

/**
 * What result handles (AsyncResult, GroupResult) need to read and act on results. The app gives
 * them Postgres (DatabaseResultBackend); eager runs give them memory, so an EagerResult is an
 * AsyncResult over another backend, with the same API.
 */
export interface ResultBackend {
  readResult(taskId: string): Promise<TaskResultRow | null>;
  readResults(taskIds: string[]): Promise<TaskResultRow[]>;
  /** The row once it is final, or the row as it stands after `timeoutMs` (null if none). */
  waitForResult(taskId: string, timeoutMs: number): Promise<TaskResultRow | null>;
  forgetResult(taskId: string): Promise<void>;
  revoke(taskIds: string[], options: RevokeOptions): Promise<void>;
  /** Ids of the tasks sent with this one as parent (callbacks, the chain's next step, subtasks), oldest first. */
  childIds(taskId: string): Promise<string[]>;
  /** `chordSize` when the group is a chord's header (django mode registers its chord counter). */
  saveGroup(groupId: string, taskIds: string[], chordSize?: number): Promise<void>;
  groupTaskIds(groupId: string): Promise<string[] | null>;
  forgetGroup(groupId: string): Promise<void>;
}
