import { isoDate } from '../broker/headers';
import type { TaskMessage } from '../broker/message';
import type { ResultStore, StateUpdate, WriteResult } from '../results/store';
import type { TaskStatus } from '../results/states';
import type { SerializedError } from './outcome';
import type { Job } from './pool';

/**
 * A task still unfinished this long after the worker received it gets a RECEIVED row (see
 * noteReceived). Celery stores no RECEIVED state at all (its task-received event is sent at once,
 * here too); a second is where the row starts to tell a person something (a task held behind
 * long ones, or by a rate limit). At 20 ms, a burst of 1,000 due at one minute wrote it for every
 * task waiting its turn for a slot: 315–850 extra row writes per burst, each overwritten by the
 * SUCCESS a few hundred ms later, on a worker and a Postgres that the burst keeps CPU-bound
 * (bench/ANALYSIS.md, seventh round, "burst").
 */
export const RECEIVED_DELAY_MS = 1000;
/** How often the jobs noted as received are looked at (finished ones are let go of then). */
const RECEIVED_SWEEP_MS = 20;
/**
 * A state written this long after its task was sent almost always finds the task's row there: the
 * sender's PENDING (batched up to 100 ms after the send) has been committed by then. Such a write
 * is hinted as `rowExists` and sends only what the state changes (ResultStore.writeBatch). A
 * Python sender records no PENDING and its task is dated at receipt: its hint is wrong until
 * RECEIVED_DELAY_MS, and a wrong hint costs one narrow update before the upsert (BatchWriter
 * .writeHinted, which then ignores hints for a while), never a state.
 */
const ROW_EXISTS_AFTER_MS = 250;

/**
 * The worker writes a task's row from several places (receipt, start, progress, the outcome, a
 * rejection): going through one writer keeps every row describing its message the same way, and
 * gives the one deferred write (RECEIVED) a single owner for its batch and timer.
 */
export class StateWriter {
  /** Jobs noted as received and not yet finished or written RECEIVED, in receipt order, and when. */
  private noted: Job[] = [];
  private notedAt: number[] = [];
  private sweepTimer: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(
    readonly store: ResultStore,
    private readonly workerName: string,
  ) {}

  describe(msg: TaskMessage): StateUpdate {
    // A naive sent_at (another producer's) is UTC, as the header check read it.
    const sentAt = typeof msg.headers.sent_at === 'string' ? isoDate(msg.headers.sent_at) : null;
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
   *
   * The noted jobs are swept every RECEIVED_SWEEP_MS rather than kept until their delay is up:
   * a finished one is let go of at the next sweep, so a draining worker (10,000 tasks a second)
   * does not keep a second's worth of finished jobs alive for the garbage collector to copy.
   */
  noteReceived(job: Job): void {
    if (this.stopped) return;
    this.noted.push(job);
    this.notedAt.push(Date.now());
    this.sweepTimer ??= this.armSweep();
  }

  /** Notes no more receipts and forgets the noted ones (shutdown: waiting jobs go back to the queue). */
  stop(): void {
    this.stopped = true;
    clearTimeout(this.sweepTimer);
    this.sweepTimer = undefined;
    this.noted = [];
    this.notedAt = [];
  }

  private armSweep(): NodeJS.Timeout {
    // A RECEIVED row is never a reason to keep the process alive.
    return setTimeout(this.sweep, RECEIVED_SWEEP_MS).unref();
  }

  private readonly sweep = (): void => {
    this.sweepTimer = undefined;
    const { noted, notedAt } = this;
    const dueBy = Date.now() - RECEIVED_DELAY_MS;
    let kept = 0;
    for (let i = 0; i < noted.length; i++) {
      const job = noted[i];
      // A STARTED row (trackStarted) already says more than RECEIVED would.
      if (job.finished || (job.started && job.task.options.trackStarted)) continue;
      if (notedAt[i] <= dueBy) {
        void this.write(job, 'RECEIVED', {});
        continue;
      }
      noted[kept] = job;
      notedAt[kept++] = notedAt[i];
    }
    noted.length = kept;
    notedAt.length = kept;
    if (kept > 0) this.sweepTimer = this.armSweep();
  };

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
