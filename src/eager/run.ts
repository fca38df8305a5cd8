import { hostname } from 'node:os';
import { decodeTask, type TaskMessage } from '../broker/message';
import type { PreparedMessage, Runtime } from '../runtime/runtime';
import { runFollowUps } from '../canvas/followups';
import { MaxRetriesExceededError, TaskFailedError, TaskNotRegisteredError } from '../errors';
import type { TaskInfo } from '../plugin/signals';
import type { TaskMiddleware } from '../plugin/middleware-chain';
import type { StateUpdate } from '../results/store';
import { executeTask } from '../worker/execute';
import { LazyAbort } from '../worker/lazy-abort';
import { abortListenerThrewMessage } from '../worker/abort-listeners';
import { thrownField } from '../contain';
import { serializeError, type Outcome } from '../worker/outcome';
import { emitTaskSignals } from '../worker/task-view';
import { excResult } from '../worker/state-writer';
import { MemoryResultBackend } from './memory-backend';

/** The worker name eager runs report (ctx.hostname, the row's worker). */
export const EAGER_HOSTNAME = `eager@${hostname()}`;

/**
 * Runs messages in this process, as Celery's `apply()` and `task_always_eager` do: each through
 * the worker's own task runner (executeTask: the same context, middleware and checks), and what
 * it sets off (callbacks, errbacks, a chain's next step, a chord's body) through the worker's own
 * follow-up code, until nothing is left. Countdown, eta and time limits do not apply (as in
 * Celery); a retry runs again at once, up to maxRetries. With `propagate`, the first failure is
 * thrown once everything it set off (its errbacks) has run.
 */
export class EagerRun {
  readonly backend: MemoryResultBackend;
  private readonly queue: PreparedMessage[] = [];
  private failure: { error: unknown } | undefined;
  /** Nothing aborts an eager run's signal (no time limits, no revoke) today; should something, a throw is logged as in a worker. */
  private readonly abortListenerThrew = (taskName: string, taskId: string, err: unknown) =>
    this.app.logger.log('error', abortListenerThrewMessage(taskName, taskId), thrownField(err));

  constructor(
    private readonly app: Runtime,
    private readonly propagate: boolean,
  ) {
    this.backend = new MemoryResultBackend((messages) => this.queue.push(...messages));
  }

  async run(messages: PreparedMessage[], groups: { groupId: string; taskIds: string[] }[] = []): Promise<void> {
    await this.backend.saveGroups(groups);
    this.queue.push(...messages);
    for (let next = this.queue.shift(); next; next = this.queue.shift()) await this.runOne(next);
    if (this.propagate && this.failure) throw this.failure.error;
  }

  private async runOne(prepared: PreparedMessage): Promise<void> {
    const msg = decodeTask(prepared.outgoing.raw);
    const base = describe(msg);
    const task = this.app.registry.get(msg.task);
    let outcome: Outcome;
    let thrown: unknown;
    let retries = msg.retries;
    if (!task) {
      thrown = new TaskNotRegisteredError(msg.task, this.app.registry.names());
      outcome = { kind: 'failure', exc: serializeError(thrown), runtimeMs: 0 };
    } else {
      let attempt = msg;
      for (;;) {
        const info = taskInfo(attempt);
        this.backend.write({ ...base, status: 'STARTED', retries: attempt.retries, dateStarted: new Date() });
        this.app.signals.emit('taskPrerun', info);
        const capture: TaskMiddleware = async (_ctx, next) => {
          try {
            return await next();
          } catch (err) {
            thrown = err;
            throw err;
          }
        };
        outcome = await executeTask(task, attempt, {
          hostname: EAGER_HOSTNAME,
          middleware: [...this.app.taskMiddleware, capture],
          abort: new LazyAbort(attempt, this.abortListenerThrew),
          updateState: async (state, meta) =>
            this.backend.write({ ...base, status: state, retries: attempt.retries, meta: meta ?? {} }),
        });
        if (outcome.kind === 'retry') {
          const max = outcome.maxRetries !== undefined ? outcome.maxRetries : task.options.maxRetries;
          if (max !== null && attempt.retries >= max) {
            const exc =
              outcome.exc ??
              serializeError(
                (thrown = new MaxRetriesExceededError(
                  `Task ${msg.task}[${msg.id}] still failing after ${attempt.retries} retries (maxRetries ${max}).`,
                )),
              );
            outcome = { kind: 'failure', exc, runtimeMs: outcome.runtimeMs };
          }
        }
        emitTaskSignals(this.app.signals, info, outcome, true);
        if (outcome.kind !== 'retry') break;
        this.backend.write({
          ...base,
          status: 'RETRY',
          retries: attempt.retries,
          result: outcome.exc ? excResult(outcome.exc) : null,
          traceback: outcome.exc?.traceback ?? null,
        });
        attempt = { ...attempt, retries: ++retries };
      }
    }
    const final = this.record({ ...base, retries }, outcome!);
    if (final.status === 'FAILURE' && !this.failure) {
      const exc = (outcome! as Extract<Outcome, { kind: 'failure' }>).exc;
      this.failure = {
        error: thrown ?? new TaskFailedError(msg.id, exc.exc_type, exc.exc_message.join(' '), exc.traceback),
      };
    }
    const prepare: Parameters<typeof runFollowUps>[0] = (...a) => this.app.prepare(...a);
    const state = final.status as 'SUCCESS' | 'FAILURE';
    this.queue.push(...(await runFollowUps(prepare, this.backend, msg, state, final.result)));
  }

  private record(base: StateUpdate, outcome: Outcome): StateUpdate {
    const done = { ...base, dateDone: new Date() };
    const u: StateUpdate =
      outcome.kind === 'success'
        ? { ...done, status: 'SUCCESS', result: outcome.result }
        : outcome.kind === 'failure'
          ? { ...done, status: 'FAILURE', result: excResult(outcome.exc), traceback: outcome.exc.traceback }
          : { ...done, status: 'FAILURE', result: { exc_type: 'Error', exc_message: ['stopped'], exc_module: 'js' } };
    this.backend.write(u);
    return u;
  }
}

function describe(msg: TaskMessage): StateUpdate {
  return {
    taskId: msg.id,
    status: 'PENDING',
    retries: msg.retries,
    taskName: msg.task,
    args: msg.args,
    kwargs: msg.kwargs,
    worker: EAGER_HOSTNAME,
    queue: msg.queue,
    parentId: msg.parentId,
    rootId: msg.rootId,
    groupId: msg.groupId,
    dateCreated: new Date(),
  };
}

function taskInfo(msg: TaskMessage): TaskInfo {
  const { id, task: name, args, kwargs, retries, queue } = msg;
  return { id, name, args, kwargs, retries, queue, hostname: EAGER_HOSTNAME };
}
