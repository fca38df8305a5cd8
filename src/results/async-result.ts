import { TaskFailedError, TaskRevokedError, TimeoutError } from '../errors';
import { READY_STATES, type TaskState } from './states';
import type { TaskResultRow } from './store';

/** What an AsyncResult needs from the app; kept narrow so results can be read without a broker. */
export interface ResultBackend {
  readResult(taskId: string): Promise<TaskResultRow | null>;
  waitForResult(taskId: string, timeoutMs: number): Promise<TaskResultRow | null>;
  forgetResult(taskId: string): Promise<void>;
}

/**
 * A handle on one task's result, read from the result table. Unlike Celery, an id nobody has
 * seen is 'UNKNOWN', not PENDING: a sent task is recorded as PENDING when it is sent.
 */
export class AsyncResult<R = unknown> {
  constructor(
    readonly id: string,
    private readonly backend: ResultBackend,
  ) {}

  async status(): Promise<TaskState | 'UNKNOWN'> {
    return (await this.backend.readResult(this.id))?.status ?? 'UNKNOWN';
  }

  async ready(): Promise<boolean> {
    return READY_STATES.has(await this.status());
  }

  /** The whole row: state, result, traceback, progress meta, timestamps. */
  info(): Promise<TaskResultRow | null> {
    return this.backend.readResult(this.id);
  }

  /**
   * Wait for the task to finish and return its result. Throws TaskFailedError (with the remote
   * class, message and stack) on FAILURE, TaskRevokedError on REVOKED, TimeoutError after
   * `timeout` seconds (default: wait forever).
   */
  async get(options: { timeout?: number } = {}): Promise<R> {
    const timeoutMs = options.timeout === undefined ? Infinity : options.timeout * 1000;
    const row = await this.backend.waitForResult(this.id, timeoutMs);
    if (!row || !READY_STATES.has(row.status)) {
      throw new TimeoutError(
        `Task ${this.id} did not finish within ${options.timeout}s (state ${row?.status ?? 'UNKNOWN'}).`,
      );
    }
    if (row.status === 'SUCCESS') return row.result as R;
    if (row.status === 'FAILURE') {
      const exc = (row.result ?? {}) as { exc_type?: string; exc_message?: unknown };
      const message = Array.isArray(exc.exc_message) ? exc.exc_message.join(' ') : String(exc.exc_message ?? '');
      throw new TaskFailedError(this.id, exc.exc_type ?? 'Error', message, row.traceback);
    }
    throw new TaskRevokedError(this.id);
  }

  /** Delete the stored result (Celery's forget). */
  forget(): Promise<void> {
    return this.backend.forgetResult(this.id);
  }
}
