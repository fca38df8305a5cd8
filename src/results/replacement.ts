import { COLUMN_LIMITS, columnProblem, findUnstorable, scrubText, storableDate, textProblem } from '../storable';
import { READY_STATES } from './states';
import type { StateUpdate } from './rows';
import { describeDbError } from '../db/db-errors';

/** The row written in place of one Postgres refused, and why. */
export interface Replacement {
  update: StateUpdate;
  reason: string;
}

const REASON_LIMIT = 2000;
const INT32_MAX = 2 ** 31 - 1;

/**
 * A state that failed alone is written again without what Postgres refused, so its task still
 * reaches a state and its message is acked instead of failing every batch it lands in:
 *
 * - a final state whose result cannot be stored becomes FAILURE with a NotStorableError naming
 *   the path (a result is never changed silently);
 * - args, kwargs, progress meta, ids and names that cannot be stored are left out (NULL), and a
 *   traceback has the offending characters replaced with U+FFFD;
 * - when none of these explains the refusal, the row keeps only its id, its state (FAILURE for a
 *   final one) and Postgres' own error as the reason.
 *
 * Returns null when the task id itself cannot be stored: no row can ever hold it.
 */
export function replacementFor(u: StateUpdate, err: unknown): Replacement | null {
  if (columnProblem('taskId', u.taskId)) return null;
  const found: string[] = [];
  const out: StateUpdate = { ...u, rowExists: false };
  for (const field of Object.keys(COLUMN_LIMITS) as (keyof typeof COLUMN_LIMITS)[]) {
    if (field === 'taskId') continue;
    const value = u[field];
    const problem = typeof value === 'string' ? columnProblem(field, value) : null;
    if (problem) {
      found.push(`${field} ${problem}`);
      out[field] = null;
    }
  }
  for (const field of ['args', 'kwargs', 'meta'] as const) {
    const problem = jsonProblem(u[field], field);
    if (problem) {
      found.push(problem);
      out[field] = null;
    }
  }
  if (typeof u.traceback === 'string' && textProblem(u.traceback)) {
    found.push(`traceback ${textProblem(u.traceback)} (replaced with U+FFFD)`);
    out.traceback = scrubText(u.traceback);
  }
  for (const field of ['dateCreated', 'dateStarted', 'dateDone'] as const) {
    if (!storableDate(u[field])) {
      found.push(`${field} is outside the dates Postgres stores`);
      out[field] = null;
    }
  }
  const resultProblem = jsonProblem(u.result, 'result');
  if (resultProblem) found.push(resultProblem);
  if (!Number.isInteger(u.retries) || u.retries < 0 || u.retries * 10 + 9 > INT32_MAX) {
    found.push(`retries ${u.retries} is not an integer Postgres' integer column holds`);
    out.retries = 0;
  }
  if (found.length === 0) return minimalReplacement(u, err);
  const reason = cap(`NotStorableError: ${found.join('; ')}`);
  if (resultProblem) {
    if (READY_STATES.has(u.status)) out.status = 'FAILURE';
    out.result = notStorable(reason);
  }
  out.meta = { ...(out.meta ?? {}), not_stored: reason };
  return { update: out, reason };
}

/** The last resort: nothing but the id, the state and Postgres' reason. */
export function minimalReplacement(u: StateUpdate, err: unknown): Replacement {
  const reason = cap(`NotStorableError: Postgres refused the row: ${scrubText(describeDbError(err))}`);
  const final = READY_STATES.has(u.status);
  return {
    reason,
    update: {
      taskId: u.taskId,
      status: final ? 'FAILURE' : u.status,
      retries: Number.isInteger(u.retries) && u.retries >= 0 && u.retries < 1e8 ? u.retries : 0,
      result: final ? notStorable(reason) : null,
      meta: { not_stored: reason },
      dateDone: final ? new Date() : null,
    },
  };
}

function notStorable(reason: string): Record<string, unknown> {
  return { exc_type: 'NotStorableError', exc_message: [reason], exc_module: 'celeriac' };
}

/** A JSON field Postgres cannot hold: text it refuses, or a value too deep to encode at all. */
function jsonProblem(value: unknown, path: string): string | null {
  if (value === undefined || value === null) return null;
  const problem = findUnstorable(value, path);
  if (problem) return problem;
  try {
    JSON.stringify(value);
    return null;
  } catch (err) {
    return `${path} cannot be encoded as JSON (${(err as Error).message})`;
  }
}

function cap(s: string): string {
  return s.length > REASON_LIMIT ? s.slice(0, REASON_LIMIT - 1) + '…' : s;
}
