import { InvalidStateError, States, type TaskState } from './states';

/**
 * The rules Celeriac keeps for states beyond Celery's module (states.ts): how a stored row orders
 * the writes it receives, and which states a task may set itself with ctx.updateState().
 */

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
/** Custom states rank with PROGRESS: after STARTED, before RETRY and the final states. */
const CUSTOM_PHASE = phase.PROGRESS;

/**
 * The ordering guard stored with each row: writes arrive out of order (the sender's batched
 * PENDING can land after the worker's SUCCESS; a retry's STARTED follows the first try's RETRY),
 * so a row only moves forward in (attempt, phase). Celery's event precedence cannot serve here:
 * it ranks RETRY below STARTED, which would freeze a retried task at STARTED. Equal ranks may
 * follow each other, so a task moves freely between PROGRESS and its custom states.
 */
export function stateSeq(state: string, retries: number): number {
  return retries * 10 + (phase[state as TaskState] ?? CUSTOM_PHASE);
}

/** The result column's width (varchar(50)), and Celery's convention of upper-case state names. */
const CUSTOM_STATE = /^[A-Z][A-Z0-9_]{0,49}$/;

/** True for a name a task may give a custom state (it may also be one of Celery's). */
export function isCustomStateName(state: string): boolean {
  return CUSTOM_STATE.test(state);
}

const SETTABLE: ReadonlySet<string> = new Set([States.PROGRESS, States.STARTED]);

/** Refuses a state a task may not set itself: the final ones, RETRY, and names the table cannot hold. */
export function assertSettableState(state: unknown): asserts state is string {
  if (typeof state !== 'string')
    throw new InvalidStateError(
      `updateState(state, meta): state must be a string like 'DOWNLOADING', got ${typeof state}.`,
    );
  if (SETTABLE.has(state)) return;
  if (state in phase) {
    const how =
      state === 'RETRY'
        ? 'call ctx.retry()'
        : state === 'SUCCESS'
          ? 'return from the task'
          : state === 'FAILURE'
            ? 'throw an error'
            : 'leave it to the worker';
    throw new InvalidStateError(`updateState('${state}'): a task cannot set ${state} itself; ${how} instead.`);
  }
  if (!CUSTOM_STATE.test(state))
    throw new InvalidStateError(
      `updateState('${state.slice(0, 60)}'): a custom state is 1–50 upper-case letters, digits or _, starting with a letter (e.g. 'DOWNLOADING').`,
    );
}
