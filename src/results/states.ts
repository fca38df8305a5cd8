import { CeleriacError } from '../errors';

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
/** A state as stored and read: one of Celery's, or a custom one a task set with ctx.updateState(). */
export type TaskStatus = TaskState | (string & {});

export const READY_STATES: ReadonlySet<string> = new Set([
  States.SUCCESS,
  States.FAILURE,
  States.REVOKED,
  States.REJECTED,
]);
/** Celery's EXCEPTION_STATES: states whose result is an exception. */
export const EXCEPTION_STATES: ReadonlySet<string> = new Set([States.RETRY, States.FAILURE, States.REVOKED]);
/** Celery's PROPAGATE_STATES: states get() raises for. */
export const PROPAGATE_STATES: ReadonlySet<string> = new Set([States.FAILURE, States.REVOKED]);

/**
 * Celery's state precedence (celery.states.PRECEDENCE): lower index ranks higher; `null` stands
 * for every state Celery does not know, custom ones included (above STARTED, below FAILURE).
 */
export const PRECEDENCE: readonly (string | null)[] = [
  'SUCCESS',
  'FAILURE',
  null,
  'REVOKED',
  'STARTED',
  'RECEIVED',
  'REJECTED',
  'RETRY',
  'PENDING',
];

/** Celery's `states.precedence(state)`: the state's index in PRECEDENCE, lower ranking higher. */
export function precedence(state: string): number {
  const i = PRECEDENCE.indexOf(state);
  return i >= 0 ? i : PRECEDENCE.indexOf(null);
}

/** Celery's `state(a) > state(b)`: true when `a` ranks above `b` in Celery's precedence. */
export function isHigherState(a: string, b: string): boolean {
  return precedence(a) < precedence(b);
}

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

export class InvalidStateError extends CeleriacError {}

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

/** Celery's `celery.states` module in one object: `states.SUCCESS`, `states.READY_STATES`, `states.precedence(s)`. */
export const states = {
  ...States,
  READY_STATES,
  EXCEPTION_STATES,
  PROPAGATE_STATES,
  PRECEDENCE,
  precedence,
  isHigherState,
} as const;
