import { currentApp } from '../plugin/current-app';
import { AsyncResult, valueOf, type GetOptions } from '../results/async-result';
import type { ResultBackend, RevokeOptions } from '../results/backend';
import { READY_STATES } from '../results/states';
import { TaskFailedError, TaskRevokedError } from '../errors';

export interface JoinOptions extends GetOptions {
  /** false: a failed member's error (TaskFailedError, TaskRevokedError) takes its place instead of being thrown. Default true. */
  propagate?: boolean;
}

/** The results of a group's members, in the order they were given (Celery's GroupResult). */
export class GroupResult<R = unknown> {
  /** As AsyncResult.parent: what ran before this group in its work-flow, when known. */
  parent: AsyncResult | GroupResult | null = null;

  constructor(
    readonly id: string,
    readonly results: AsyncResult<R>[],
    /** @internal */
    readonly backend: ResultBackend,
  ) {}

  /** Celery's GroupResult.restore: a group's results by id, or null if it was never saved (or forgotten). */
  static async restore<R = unknown>(groupId: string): Promise<GroupResult<R> | null> {
    return currentApp().groupResult<R>(groupId);
  }

  get ids(): string[] {
    return this.results.map((r) => r.id);
  }

  /** Celery's `.children`: the members' results. */
  get children(): AsyncResult<R>[] {
    return this.results;
  }

  private async rows() {
    const byId = new Map((await this.backend.readResults(this.ids)).map((r) => [r.taskId, r]));
    return this.ids.map((id) => byId.get(id) ?? null);
  }

  /** True when every member has finished (SUCCESS, FAILURE, REVOKED or REJECTED). */
  async ready(): Promise<boolean> {
    return (await this.rows()).every((r) => r !== null && READY_STATES.has(r.status));
  }

  /** Celery's `waiting()`: true while any member has not finished. */
  async waiting(): Promise<boolean> {
    return !(await this.ready());
  }

  /** How many members succeeded (Celery's completed_count). */
  async completedCount(): Promise<number> {
    return (await this.rows()).filter((r) => r?.status === 'SUCCESS').length;
  }

  async successful(): Promise<boolean> {
    return (await this.completedCount()) === this.results.length;
  }

  async failed(): Promise<boolean> {
    return (await this.rows()).some((r) => r?.status === 'FAILURE' || r?.status === 'REVOKED');
  }

  /** Every member's result, in order; throws the first failure met. `timeout` in seconds for the whole group. */
  get(options: GetOptions = {}): Promise<R[]> {
    return this.join(options) as Promise<R[]>;
  }

  /**
   * Celery's join: waits for the members in order and returns their results; with
   * `propagate: false` a failed member's error is returned in its place. `timeout` (seconds)
   * bounds the whole call.
   */
  async join(options: JoinOptions = {}): Promise<(R | TaskFailedError | TaskRevokedError)[]> {
    const deadline = options.timeout === undefined ? Infinity : Date.now() + options.timeout * 1000;
    const out: (R | TaskFailedError | TaskRevokedError)[] = [];
    for (const r of this.results) {
      const left = deadline === Infinity ? undefined : Math.max(0.001, (deadline - Date.now()) / 1000);
      if (options.propagate === false) {
        try {
          out.push(await r.get({ timeout: left }));
        } catch (err) {
          if (!(err instanceof TaskFailedError || err instanceof TaskRevokedError)) throw err;
          out.push(err);
        }
      } else out.push(await r.get({ timeout: left }));
    }
    return out;
  }

  /** Each member's value now (Celery's `.results` read through `.result`): result, error or meta. */
  async values(): Promise<unknown[]> {
    return (await this.rows()).map((row) => (row ? valueOf(row) : null));
  }

  /** Save the member list under the group id, so `GroupResult.restore(id)` finds it. Sending a group saves it already. */
  async save(): Promise<this> {
    await this.backend.saveGroup(this.id, this.ids);
    return this;
  }

  /** Delete the saved member list (not the members' results: call forget() on them for that). */
  async delete(): Promise<void> {
    await this.backend.forgetGroup(this.id);
  }

  /** Delete the group and every member's result (Celery's forget). */
  async forget(): Promise<void> {
    await this.backend.forgetGroup(this.id);
    for (const r of this.results) await r.forget();
  }

  revoke(options: RevokeOptions = {}): Promise<void> {
    return this.backend.revoke(this.ids, options);
  }
}
