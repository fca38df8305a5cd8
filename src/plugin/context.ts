/**
 * What a running task knows about itself. Every task receives it as its first parameter, whether
 * it is a function (`task('add', (ctx, a, b) => a + b)`) or a decorated method
 * (`@task() async build(ctx, id)`): one way, in both forms, in both pools.
 *
 * Its members are its own, so a body may take them off (`const { progress } = ctx`) or hand a
 * spread on (`helper({ ...ctx, extra })`), except `signal`: it is made on first read (one
 * AbortController a run would cost more than the rest of the context), a getter a spread does not
 * copy. Pass ctx itself where a helper needs the signal, or spread
 * `{ ...ctx, signal: ctx.signal }`.
 */
export interface TaskContext {
  readonly id: string;
  readonly name: string;
  /** Retries so far: 0 on the first attempt. */
  readonly retries: number;
  readonly args: unknown[];
  readonly kwargs: Record<string, unknown>;
  /** The worker's name (Celery's request.hostname). */
  readonly hostname: string;
  readonly queue: string;
  readonly parentId: string | null;
  readonly rootId: string;
  readonly groupId: string | null;
  readonly headers: Record<string, unknown>;
  /**
   * For a run sent by beat, the instant it was scheduled for (its slot, from the `scheduled_at`
   * header), which a late or caught-up run can differ from now by: report for the day it was
   * due, not the day it ran. null for tasks not sent by beat.
   */
  readonly scheduledAt: Date | null;
  /** Aborted at softTimeLimit, at timeLimit, on revoke with terminate, and at worker shutdown past its grace period. */
  readonly signal: AbortSignal;
  /**
   * Schedule another attempt of this task (same id, same arguments) and stop this one.
   * `countdown` is in seconds, as in Celery. Throws; call it as `throw ctx.retry()` or `return ctx.retry()`.
   */
  retry(options?: RetryOptions): never;
  /** Record PROGRESS with done/total and optional extra data; readable through AsyncResult and the status API. */
  progress(done: number, total?: number, meta?: Record<string, unknown>): Promise<void>;
  /**
   * Celery's `update_state(state=…, meta=…)`: record a custom state ('DOWNLOADING': 1–50 upper-case
   * letters, digits or _), PROGRESS or STARTED with its meta, readable through AsyncResult's
   * status(), info() and `.result`, the status API and the admin. The final states come from how the
   * task ends (return, throw, ctx.retry()), so a task cannot set them; a row never moves back (a
   * custom state ranks with PROGRESS, above STARTED).
   */
  updateState(state: string, meta?: Record<string, unknown>): Promise<void>;
  /** Fresh per run: where task middleware leaves data for the task (a tenant, a span). */
  readonly locals: Record<string, unknown>;
}

export interface RetryOptions {
  /** Seconds until the next attempt. Default: the task's backoff rule, else defaultRetryDelay. */
  countdown?: number;
  eta?: Date;
  /** The error that caused the retry, recorded with the RETRY state. */
  exc?: unknown;
  /** Overrides the task's maxRetries for this call. */
  maxRetries?: number;
}
