/** Celery's task states (celery/states.py), plus PROGRESS, which Celeriac tasks report with ctx.progress(). */
export const States = {
  PENDING: 'PENDING',
  RECEIVED: 'RECEIVED',
  STARTED: 'STARTED',
  PROGRESS: 'PROGRESS',
  RETRY: 'RETRY',
  SUCCESS: 'SUCCESS',
  FAILURE: 'FAILURE',
  REVOKED: 'REVOKED',
  REJECTED: 'REJECTED',
} as const;
export type TaskState = (typeof States)[keyof typeof States];

export const READY_STATES: ReadonlySet<string> = new Set([
  States.SUCCESS,
  States.FAILURE,
  States.REVOKED,
  States.REJECTED,
]);

const phase: Record<TaskState, number> = {
  PENDING: 0,
  RECEIVED: 1,
  STARTED: 2,
  PROGRESS: 3,
  RETRY: 4,
  SUCCESS: 5,
  FAILURE: 5,
  REVOKED: 5,
  REJECTED: 5,
};

/**
 * The ordering guard stored with each row: writes arrive out of order (the sender's batched
 * PENDING can land after the worker's SUCCESS; a retry's STARTED follows the first try's RETRY),
 * so a row only moves forward in (attempt, phase). Celery's event precedence cannot serve here:
 * it ranks RETRY below STARTED, which would freeze a retried task at STARTED.
 */
export function stateSeq(state: TaskState, retries: number): number {
  return retries * 10 + phase[state];
}
