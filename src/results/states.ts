import { CeleriacError } from '../errors';

/**
 * Celery's `celery.states`: every export here is public (src/index.ts re-exports the module).
 * The rules for storing and setting states (ordering guard, custom names) are in state-rules.ts.
 */

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

/** ctx.updateState() was given a state a task may not set itself (state-rules.ts says which). */
export class InvalidStateError extends CeleriacError {}

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
