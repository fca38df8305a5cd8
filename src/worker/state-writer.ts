import type { TaskMessage } from '../broker/message';
import type { ResultStore, StateUpdate, WriteResult } from '../results/store';
import type { TaskStatus } from '../results/states';
import type { SerializedError } from './outcome';
import type { Job } from './pool';

const RECEIVED_DELAY_MS = 20;
/**
 * A state written this long after its task was sent almost always finds the task's row there: the
 * sender's PENDING (batched up to 100 ms after the send) or this worker's RECEIVED (RECEIVED_DELAY_MS
 * after receipt; a Python sender's task is dated at receipt) has been committed by then. Such a
 * write is hinted as `rowExists` and sends only what the state changes (ResultStore.writeBatch).
 */
const ROW_EXISTS_AFTER_MS = 250;

/**
 * The worker writes a task's row from several places (receipt, start, progress, the outcome, a
 * rejection): going through one writer keeps every row describing its message the same way, and
 * gives the one deferred write (RECEIVED) a single owner for its batch and timer.
 */
export class StateWriter {
  private receivedBatch: Job[] = [];
  private receivedTimer: NodeJS.Timeout | undefined;

  constructor(
    readonly store: ResultStore,
    private readonly workerName: string,
  ) {}

  describe(msg: TaskMessage): StateUpdate {
    const sentAt = typeof msg.headers.sent_at === 'string' ? new Date(msg.headers.sent_at) : null;
    return {
      dateCreated: sentAt && !Number.isNaN(sentAt.getTime()) ? sentAt : null,
      taskId: msg.id,
      status: 'RECEIVED',
      retries: msg.retries,
      taskName: msg.task,
      periodicTaskName: (msg.headers.periodic_task_name as string | undefined) ?? null,
      args: msg.args,
      kwargs: msg.kwargs,
      worker: this.workerName,
      queue: msg.queue,
      parentId: msg.parentId,
      rootId: msg.rootId,
      groupId: msg.groupId,
    };
  }

  /**
   * RECEIVED is written RECEIVED_DELAY_MS after receipt, and only for tasks not yet finished:
   * a task that finishes sooner goes straight to its final state in one write. Writing it at once
   * put a second Postgres round trip in front of every short task's result (measured: round trip
   * p50 5.3 ms → see BENCHMARKS.md), for a state nobody could have seen.
   */
  noteReceived(job: Job): void {
    this.receivedBatch.push(job);
    this.receivedTimer ??= setTimeout(() => {
      this.receivedTimer = undefined;
      const batch = this.receivedBatch;
      this.receivedBatch = [];
      for (const j of batch) if (!j.finished) void this.write(j, 'RECEIVED', {});
    }, RECEIVED_DELAY_MS);
  }

  write(job: Job, status: TaskStatus, update: Partial<StateUpdate>): Promise<WriteResult> {
    return this.store.write(this.row(job, status, update));
  }

  /** write() with a callback instead of a promise (ResultStore.writeThen). */
  writeThen(job: Job, status: TaskStatus, update: Partial<StateUpdate>, done: (result: WriteResult) => void): void {
    this.store.writeThen(this.row(job, status, update), done);
  }

  private row(job: Job, status: TaskStatus, update: Partial<StateUpdate>): StateUpdate {
    // Assigned into describe()'s fresh object rather than spread twice: one allocation per state.
    const u = Object.assign(this.describe(job.msg), update);
    u.status = status;
    u.rowExists = u.dateCreated != null && Date.now() - u.dateCreated.getTime() > ROW_EXISTS_AFTER_MS;
    return u;
  }
}

/** Celery's exception encoding for a row's result; the stack has its own column (traceback). */
export function excResult(exc: SerializedError): Record<string, unknown> {
  return { exc_type: exc.exc_type, exc_message: exc.exc_message, exc_module: exc.exc_module };
}
