import { TaskFailedError, TaskRevokedError, TimeoutError } from '../errors';
import { currentApp } from '../plugin/current-app';
import type { ResultBackend, RevokeOptions } from './backend';
import { READY_STATES, type TaskStatus } from './states';
import type { TaskResultRow } from './store';

export type { ResultBackend } from './backend';

export interface GetOptions {
  /** Seconds to wait; default forever. */
  timeout?: number;
}

/**
 * A handle on one task's result, read from the result table. Unlike Celery, an id nobody has
 * seen is 'UNKNOWN', not PENDING: a sent task is recorded as PENDING when it is sent.
 */
export class AsyncResult<R = unknown> {
  /**
   * The result before this one in its work-flow (a chain's previous step, a chord's header),
   * known when the work-flow was sent from this process, as Celery's `.parent`; otherwise null
   * (the row's `parentId`, from `info()`, names the task that sent it).
   */
  parent: AsyncResult | GroupResult | null = null;

  constructor(
    readonly id: string,
    /** @internal */
    readonly backend: ResultBackend,
  ) {}

  /** The state: one of Celery's, a custom one the task set, or 'UNKNOWN' for an id never seen. */
  async status(): Promise<TaskStatus | 'UNKNOWN'> {
    return (await this.backend.readResult(this.id))?.status ?? 'UNKNOWN';
  }

  /** Celery's `.state`, the same as status(). */
  state(): Promise<TaskStatus | 'UNKNOWN'> {
    return this.status();
  }

  async ready(): Promise<boolean> {
    return READY_STATES.has(await this.status());
  }

  async successful(): Promise<boolean> {
    return (await this.status()) === 'SUCCESS';
  }

  async failed(): Promise<boolean> {
    return (await this.status()) === 'FAILURE';
  }

  /** The whole row: state, result, traceback, progress or custom-state meta, timestamps. */
  info(): Promise<TaskResultRow | null> {
    return this.backend.readResult(this.id);
  }

  /**
   * Celery's `.result`, now: the return value after SUCCESS, the error (a TaskFailedError or
   * TaskRevokedError, not thrown) after FAILURE or REVOKED, the meta of PROGRESS or a custom state
   * while it runs, else null.
   */
  get result(): Promise<unknown> {
    return this.backend.readResult(this.id).then((row) => (row ? valueOf(row) : null));
  }

  /** The failed task's stack (Celery's `.traceback`), else null. */
  get traceback(): Promise<string | null> {
    return this.backend.readResult(this.id).then((row) => (row?.status === 'FAILURE' ? row.traceback : null));
  }

  /** The tasks this one sent or set off (callbacks, a chain's next step, subtasks), oldest first. */
  get children(): Promise<AsyncResult[]> {
    return this.backend.childIds(this.id).then((ids) => ids.map((id) => new AsyncResult(id, this.backend)));
  }

  /**
   * Wait for the task to finish and return its result. Throws TaskFailedError (with the remote
   * class, message and stack) on FAILURE, TaskRevokedError on REVOKED, TimeoutError after
   * `timeout` seconds (default: wait forever).
   */
  async get(options: GetOptions = {}): Promise<R> {
    const { timeout } = options;
    // A NaN or negative timeout would end the wait at once as if the task were late.
    if (timeout !== undefined && !(typeof timeout === 'number' && timeout >= 0)) {
      throw new RangeError(
        `get({ timeout }) takes seconds as a number >= 0 (or no timeout to wait until the task ends); got ${String(timeout)}.`,
      );
    }
    const timeoutMs = timeout === undefined ? Infinity : timeout * 1000;
    const row = await this.backend.waitForResult(this.id, timeoutMs);
    if (!row || !READY_STATES.has(row.status)) {
      throw new TimeoutError(
        `Task ${this.id} did not finish within ${options.timeout}s (state ${row?.status ?? 'UNKNOWN'}).`,
      );
    }
    const value = valueOf(row);
    if (value instanceof TaskFailedError || value instanceof TaskRevokedError) throw value;
    return value as R;
  }

  /** Celery's `wait()`, the same as get(). */
  wait(options: GetOptions = {}): Promise<R> {
    return this.get(options);
  }

  /** Revoke the task (Celery's `AsyncResult.revoke`): see `celeriac.control.revoke`. */
  revoke(options: RevokeOptions = {}): Promise<void> {
    return this.backend.revoke([this.id], options);
  }

  /** Delete the stored result (Celery's forget). */
  forget(): Promise<void> {
    return this.backend.forgetResult(this.id);
  }
}

/** A row's value as Celery's `.result` gives it: the return value, the error, or the running task's meta. */
export function valueOf(row: TaskResultRow): unknown {
  switch (row.status) {
    case 'SUCCESS':
      return row.result;
    case 'FAILURE': {
      const exc = (row.result ?? {}) as { exc_type?: string; exc_message?: unknown };
      const message = Array.isArray(exc.exc_message) ? exc.exc_message.join(' ') : String(exc.exc_message ?? '');
      return new TaskFailedError(row.taskId, exc.exc_type ?? 'Error', message, row.traceback);
    }
    case 'REVOKED':
    case 'REJECTED':
      return new TaskRevokedError(row.taskId);
    default:
      return row.meta ?? null;
  }
}

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
    const backend = currentApp<{ resultBackend: ResultBackend }>().resultBackend;
    const ids = await backend.groupTaskIds(groupId);
    return ids
      ? new GroupResult<R>(
          groupId,
          ids.map((id) => new AsyncResult<R>(id, backend)),
          backend,
        )
      : null;
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
