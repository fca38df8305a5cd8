import type { ResultBackend, RevokeOptions } from './backend';
import { stateSeq } from './state-rules';
import type { ResultStore, StateUpdate, TaskResultRow } from './store';
import type { ResultWaiter } from './waiter';

/** Results in Postgres, for handles made by an app (`celeriac.asyncResult(id)`, work-flows). */
export class DatabaseResultBackend implements ResultBackend {
  constructor(
    /** Rejects with a clear error when the app has no database. */
    private readonly store: () => Promise<ResultStore>,
    private readonly waiter: ResultWaiter,
    private readonly revokeIds: (ids: string[], options: RevokeOptions) => Promise<void>,
  ) {}

  /**
   * A store whose own writes (a PENDING still in its batch) are committed, so we never say UNKNOWN
   * for our own send; or, with Postgres away, the store after READ_FLUSH_MS, and false.
   */
  private async flushed(): Promise<[ResultStore, boolean]> {
    const store = await this.store();
    return [store, store.backlog === 0 || (await store.flush(READ_FLUSH_MS))];
  }

  async readResult(taskId: string): Promise<TaskResultRow | null> {
    const [store, flushed] = await this.flushed();
    // Not flushed in time: this process's own unwritten state answers for the task, if it has one.
    const own = flushed ? undefined : store.unwritten(taskId);
    if (!own) return store.get(taskId);
    // Postgres is slow or away: a read blocked behind it would add its own 10 s timeout to the wait.
    let timer: NodeJS.Timeout | undefined;
    const row = await Promise.race([
      store.get(taskId).catch(() => null),
      new Promise<null>((r) => (timer = setTimeout(() => r(null), READ_FLUSH_MS))),
    ]);
    clearTimeout(timer);
    return row && stateSeq(row.status, row.retries) >= stateSeq(own.status, own.retries) ? row : unwrittenRow(own);
  }

  async readResults(taskIds: string[]): Promise<TaskResultRow[]> {
    return (await this.flushed())[0].getMany(taskIds);
  }

  async waitForResult(taskId: string, timeoutMs: number): Promise<TaskResultRow | null> {
    // No flush of our own PENDING writes here: waiting only cares about the final state.
    await this.store();
    return this.waiter.wait(taskId, timeoutMs);
  }

  async forgetResult(taskId: string): Promise<void> {
    this.waiter.forget(taskId);
    await (await this.store()).forget(taskId);
  }

  revoke(taskIds: string[], options: RevokeOptions): Promise<void> {
    return this.revokeIds(taskIds, options);
  }

  async childIds(taskId: string): Promise<string[]> {
    return (await this.flushed())[0].childIds(taskId);
  }

  async saveGroup(groupId: string, taskIds: string[], chordSize?: number): Promise<void> {
    await (await this.store()).saveGroup(groupId, taskIds, chordSize);
  }

  async groupTaskIds(groupId: string): Promise<string[] | null> {
    return (await this.store()).groupTaskIds(groupId);
  }

  async forgetGroup(groupId: string): Promise<void> {
    await (await this.store()).forgetGroup(groupId);
  }
}

/** How long status() and info() wait for this process's own queued writes, and then for a read, before answering from them. */
const READ_FLUSH_MS = 2_000;

/** A state this process has not managed to write yet, shaped as the row it will become. */
function unwrittenRow(u: StateUpdate): TaskResultRow {
  return {
    taskId: u.taskId,
    taskName: u.taskName ?? null,
    periodicTaskName: u.periodicTaskName ?? null,
    status: u.status,
    args: u.args ?? null,
    kwargs: u.kwargs ?? null,
    result: u.result ?? null,
    traceback: u.traceback ?? null,
    meta: u.meta ?? null,
    worker: u.worker ?? null,
    queue: u.queue ?? null,
    retries: u.retries,
    parentId: u.parentId ?? null,
    rootId: u.rootId ?? null,
    groupId: u.groupId ?? null,
    dateCreated: u.dateCreated ?? new Date(),
    dateStarted: u.dateStarted ?? null,
    dateDone: u.dateDone ?? null,
    dateChanged: new Date(),
  };
}
