import { TaskFailedError, TaskRevokedError, TimeoutError } from '../errors';
import type { ResultBackend, RevokeOptions } from './backend';
import type { GroupResult } from '../canvas/group-result';
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
    const timeoutMs = options.timeout === undefined ? Infinity : options.timeout * 1000;
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
