import type { Signals, TaskInfo } from '../plugin/signals';
import { decodeTask } from '../broker/message';
import type { Outcome } from './outcome';
import type { Job } from './pool';

/** How a held task is seen from outside the worker: by inspect commands and by signal handlers. */

/** A held task as inspect commands report it (Celery's request info). */
export interface TaskSummary {
  id: string;
  name: string;
  args: unknown[];
  kwargs: Record<string, unknown>;
  hostname: string;
  time_start: number | null;
  acknowledged: boolean;
  delivery_info: { routing_key: string; priority: number; redelivered: boolean };
}

export function summary(job: Job, hostname: string): TaskSummary {
  return {
    id: job.msg.id,
    name: job.msg.task,
    args: job.msg.args,
    kwargs: job.msg.kwargs,
    hostname,
    time_start: job.startedAt ? job.startedAt / 1000 : null,
    acknowledged: job.acked,
    delivery_info: { routing_key: job.msg.queue, priority: job.msg.priority, redelivered: job.redeliveries > 0 },
  };
}

/** What signal handlers get: the same in every pool, with no handle on the worker's internals. */
export function taskInfo(job: Job, hostname: string): TaskInfo {
  const { msg } = job;
  return {
    id: msg.id,
    name: msg.task,
    args: msg.args,
    kwargs: msg.kwargs,
    retries: msg.retries,
    queue: msg.queue,
    hostname,
  };
}

/** The signal an outcome sends (emitTaskSignals). */
const OUTCOME_SIGNALS = {
  success: 'taskSuccess',
  failure: 'taskFailure',
  retry: 'taskRetry',
  revoked: 'taskRevoked',
} as const;

/**
 * Whether emitTaskSignals would reach a handler: most workers connect none, and the TaskInfo a
 * task's signals are given was then made and dropped for every task (issue 21).
 */
export function taskSignalsWanted(s: Signals, outcome: Outcome, started: boolean): boolean {
  return s.has(OUTCOME_SIGNALS[outcome.kind]) || (started && s.has('taskPostrun'));
}

/** Celery's task_success/failure/retry/revoked, then task_postrun for tasks that started. */
export function emitTaskSignals(s: Signals, info: TaskInfo, outcome: Outcome, started: boolean): void {
  if (outcome.kind === 'success') s.emit('taskSuccess', info, outcome.result);
  else if (outcome.kind === 'failure')
    s.emit('taskFailure', info, {
      type: outcome.exc.exc_type,
      message: outcome.exc.exc_message.join(' '),
      traceback: outcome.exc.traceback,
    });
  else if (outcome.kind === 'retry')
    s.emit('taskRetry', info, outcome.exc ? `${outcome.exc.exc_type}: ${outcome.exc.exc_message.join(' ')}` : null);
  else s.emit('taskRevoked', info, outcome.reason);
  const state = { success: 'SUCCESS', failure: 'FAILURE', retry: 'RETRY', revoked: 'REVOKED' }[outcome.kind];
  if (started) s.emit('taskPostrun', info, state);
}

/** Raw messages held until their eta, as inspect scheduled lists them; one that does not decode is left out. */
export function scheduledSummaries(
  raws: string[],
  hostname: string,
): { eta: string | null; priority: number; request: TaskSummary }[] {
  return raws.flatMap((raw) => {
    try {
      const msg = decodeTask(raw);
      const job = { msg, redeliveries: 0, acked: false, started: false } as Job;
      return [{ eta: msg.eta?.toISOString() ?? null, priority: msg.priority, request: summary(job, hostname) }];
    } catch {
      return [];
    }
  });
}
