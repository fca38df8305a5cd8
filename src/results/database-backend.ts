import type { ResultBackend, RevokeOptions } from './backend';
import type { ResultStore, TaskResultRow } from './store';
import type { ResultWaiter } from './waiter';

/** Results in Postgres, for handles made by an app (`celeriac.asyncResult(id)`, work-flows). */
export class DatabaseResultBackend implements ResultBackend {
  constructor(
    /** Rejects with a clear error when the app has no database. */
    private readonly store: () => Promise<ResultStore>,
    private readonly waiter: ResultWaiter,
    private readonly revokeIds: (ids: string[], options: RevokeOptions) => Promise<void>,
  ) {}

  /** A store whose own writes (a PENDING still in its batch) are committed, so we never say UNKNOWN for our own send. */
  private async flushed(): Promise<ResultStore> {
    const store = await this.store();
    if (store.backlog > 0) await store.flush();
    return store;
  }

  async readResult(taskId: string): Promise<TaskResultRow | null> {
    return (await this.flushed()).get(taskId);
  }

  async readResults(taskIds: string[]): Promise<TaskResultRow[]> {
    return (await this.flushed()).getMany(taskIds);
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
    return (await this.flushed()).childIds(taskId);
  }

  async saveGroup(groupId: string, taskIds: string[]): Promise<void> {
    await (await this.store()).saveGroup(groupId, taskIds);
  }

  async groupTaskIds(groupId: string): Promise<string[] | null> {
    return (await this.store()).groupTaskIds(groupId);
  }

  async forgetGroup(groupId: string): Promise<void> {
    await (await this.store()).forgetGroup(groupId);
  }
}
