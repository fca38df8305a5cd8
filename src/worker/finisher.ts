import { workerCanvasBackend } from '../canvas/backend';
import { runFollowUps } from '../canvas/followups';
import { BrokerUnavailableError, CeleriacError, MaxRetriesExceededError } from '../errors';
import type { StateUpdate, WriteResult } from '../results/store';
import type { TaskState } from '../results/states';
import { serializeError, type Outcome } from './outcome';
import type { Job } from './pool';
import type { WorkerParts } from './parts';
import { nextAttempt, retryDelayMs } from './retry';
import { faultHooksOf, withFaultPoints, type WorkerFaultHooks } from './fault-hooks';
import { thrownField } from '../contain';
import { excResult } from './state-writer';
import { recordThenDeadLetter } from './dead-letter';
import { logs } from '../log';
import { emitTaskSignals, taskInfo, taskSignalsWanted } from './task-view';

/**
 * The delivery guarantee is kept here, apart from fetching and slot accounting: each outcome
 * becomes a committed state first and only then the broker step that lets go of the message (an
 * ack, the retry's next attempt, a canvas follow-up), so with acksLate (the default) a crash
 * between the two runs the task again rather than losing it.
 */
export class Finisher {
  constructor(
    private readonly parts: WorkerParts,
    /** The worker's own, so its stats read them before start too. */
    private readonly counters: { processed: number; succeeded: number; failed: number; retried: number },
    /** The message is acked or handed on: the worker stops holding it. */
    private readonly release: (job: Job) => void,
    /** The state is committed and the message acked or handed on (the worker's 'task-finished'). */
    private readonly finished: (taskId: string, state: TaskState) => void,
    /** Tasks processed per task name (Celery's `inspect stats` total). */
    private readonly totals: Map<string, number> = new Map(),
  ) {
    this.faults = faultHooksOf(parts.owner);
  }

  /** Fault points for crash tests (fault-hooks.ts), read once: none in production. */
  private readonly faults: WorkerFaultHooks | undefined;
  /** Ids this worker gave back once after finishing them threw (giveBack), bounded. */
  private readonly givenBack = new Set<string>();

  /**
   * Never throws. The worker calls it from a pool's promise or a timer's microtask (a hard time
   * limit): a throw escaping it ended the process (an unhandled rejection, an uncaught exception)
   * with every task it held. A throw before the state went to the store gives the message back
   * (giveBack); one after leaves the commit path, which acks once the state is committed.
   */
  finish(job: Job, outcome: Outcome): void {
    // done() counts the task first thing, before handing its state to the store: unchanged, the
    // throw came before anything was written or acked. One read a task, no closure.
    const processed = this.counters.processed;
    try {
      this.finishOrThrow(job, outcome);
    } catch (err) {
      if (this.counters.processed === processed) this.giveBack(job, err);
      else
        this.parts.fail(
          `task ${job.msg.task}[${job.msg.id}]: finishing it threw after its state went to the store; unless that state was committed and acked, it runs again once this worker stops`,
          err,
        );
    }
  }

  /**
   * Finishing a task threw before its state went to the store. As Celery with acks_late, a task
   * whose outcome could not be recorded goes back to the broker and runs again: before, its
   * message stayed held (its slot among the finishing ones taken) and its row RECEIVED/STARTED
   * until the worker stopped. Given back once per worker: a second throw for the same task would
   * make a loop that keeps the queue's front busy, so it is dead-lettered instead (one bad
   * message must not hold back good ones), as the intake does with a message that keeps killing
   * workers. With acksLate off the message was acked before the task ran: nothing to give back.
   */
  private giveBack(job: Job, err: unknown): void {
    const { msg } = job;
    const { broker, consumer } = this.parts;
    const what = `task ${msg.task}[${msg.id}]: finishing it threw before its state was stored`;
    const letGo = () => {
      job.acked = true;
      this.release(job);
    };
    const stuck = (e: unknown) =>
      this.parts.fail(`could not let go of ${msg.id}'s message; it stays held until this worker stops`, e);
    if (job.acked) {
      this.parts.fail(
        `${what}; acksLate is off, so its message was acked before it ran and it does not run again`,
        err,
      );
      this.release(job);
    } else if (this.givenBack.has(msg.id)) {
      this.parts.fail(`${what}, again after it was given back once; dead-lettered so it cannot run in a loop`, err);
      const reason = `finishing the task threw twice before its state was stored: ${thrownField(err).error}`;
      // Its row says why first, as intake's refusals do; a store that closed first leaves the
      // message held, to run again later.
      recordThenDeadLetter(this.parts, this.parts.states.describe(msg), msg.raw, reason, 'FinishError', 'FAILURE')
        .then((deadLettered) => {
          if (deadLettered) letGo();
        })
        .catch(stuck);
    } else {
      if (this.givenBack.size >= GIVEN_BACK_KEPT) this.givenBack.delete(this.givenBack.values().next().value!);
      this.givenBack.add(msg.id);
      this.parts.fail(`${what}; its message goes back to the queue and it runs again (acksLate)`, err);
      broker.requeue(consumer, [msg.raw]).then(letGo, stuck);
    }
  }

  private finishOrThrow(job: Job, outcome: Outcome): void {
    const { msg, task } = job;
    const { app, events, log } = this.parts;
    this.faults?.beforeCommit?.(msg.id);
    if (outcome.kind === 'retry') {
      const max = outcome.maxRetries !== undefined ? outcome.maxRetries : task.options.maxRetries;
      if (max !== null && msg.retries >= max) {
        const exc =
          outcome.exc ??
          serializeError(
            new MaxRetriesExceededError(
              `Task ${msg.task}[${msg.id}] still failing after ${msg.retries} retries (maxRetries ${max}).`,
            ),
          );
        outcome = { kind: 'failure', exc, runtimeMs: outcome.runtimeMs };
      }
    }
    if (taskSignalsWanted(app.signals, outcome, job.started))
      emitTaskSignals(app.signals, taskInfo(job, this.parts.workerName), outcome, job.started);
    const ignore = task.options.ignoreResult || msg.ignoreResult;
    // Nothing follows it (no callbacks, chain or chord): whatever state is stored, an ack lets go.
    const plain = !msg.embed.callbacks && !msg.embed.errbacks && !msg.embed.chain && !msg.embed.chord;
    // A line a task, built only for a logger that writes its level (most drains drop info).
    const logger = app.logger;
    switch (outcome.kind) {
      case 'success':
        this.counters.succeeded++;
        if (logs(logger, 'info')) log('info', `task ${msg.task}[${msg.id}] succeeded in ${seconds(outcome)}s`);
        // Every event names its task (Celery's carry it on task-received only): a monitor that
        // joined after a task was received still knows what finished. Receivers merge extra fields.
        if (events.wanted)
          events.task('task-succeeded', {
            uuid: msg.id,
            name: msg.task,
            result: truncate(outcome.result),
            runtime: outcome.runtimeMs / 1000,
          });
        return this.done(
          job,
          outcome,
          'SUCCESS',
          // With ignoreResult a SUCCESS is never written (done()): no update, no dates to make.
          ignore ? NOTHING_TO_WRITE : finalUpdate(outcome.result, outcome.runtimeMs),
          ignore,
          plain,
          // Made only for a task something follows: a plain one is acked without it (issue 21).
          plain
            ? undefined
            : (stored) =>
                stored === 'SUCCESS' ? this.settle(job, 'SUCCESS', outcome.result) : this.settle(job, 'FAILURE', null),
        );
      case 'failure':
        this.counters.failed++;
        if (logs(logger, 'error'))
          log(
            'error',
            `task ${msg.task}[${msg.id}] failed in ${seconds(outcome)}s: ${outcome.exc.exc_type}: ${outcome.exc.exc_message.join(' ')}`,
          );
        events.task('task-failed', {
          uuid: msg.id,
          name: msg.task,
          exception: `${outcome.exc.exc_type}(${JSON.stringify(outcome.exc.exc_message[0])})`,
          traceback: outcome.exc.traceback,
        });
        return this.done(
          job,
          outcome,
          'FAILURE',
          { result: excResult(outcome.exc), traceback: outcome.exc.traceback, ...ranUntilNow(outcome.runtimeMs) },
          ignore,
          plain,
          () => this.settle(job, 'FAILURE', null),
        );
      case 'revoked':
        if (logs(logger, 'info')) log('info', `task ${msg.task}[${msg.id}] revoked (${outcome.reason})`);
        events.task('task-revoked', {
          uuid: msg.id,
          name: msg.task,
          terminated: outcome.reason === 'terminated',
          expired: outcome.reason === 'expired',
        });
        return this.done(
          job,
          outcome,
          'REVOKED',
          { meta: { reason: outcome.reason }, dateDone: new Date() },
          ignore,
          plain,
          () => this.settle(job, 'REVOKED', null),
        );
      case 'retry': {
        const delayMs = retryDelayMs(task.options, msg.retries, outcome.countdownMs, outcome.auto);
        const etaMs = Date.now() + delayMs;
        this.counters.retried++;
        if (logs(logger, 'info'))
          log(
            'info',
            `task ${msg.task}[${msg.id}] retry ${msg.retries + 1} in ${(delayMs / 1000).toFixed(3)}s${outcome.exc ? `: ${outcome.exc.exc_type}: ${outcome.exc.exc_message.join(' ')}` : ''}`,
          );
        events.task('task-retried', { uuid: msg.id, name: msg.task, exception: outcome.exc?.exc_type ?? null });
        const next = nextAttempt(msg.raw, etaMs, app.signer?.canSign ? app.signer : undefined);
        return this.done(
          job,
          outcome,
          'RETRY',
          {
            result: outcome.exc ? excResult(outcome.exc) : null,
            traceback: outcome.exc?.traceback ?? null,
            meta: { next_eta: new Date(etaMs).toISOString() },
          },
          ignore,
          plain,
          async () => {
            const { broker, consumer } = this.parts;
            if (!job.acked)
              await broker.ackAndSend(consumer, msg.raw, [
                { queue: msg.queue, priority: msg.priority, raw: next, dueAtMs: etaMs },
              ]);
            else await broker.send([{ queue: msg.queue, priority: msg.priority, raw: next, dueAtMs: etaMs }]);
            job.acked = true;
            this.release(job);
            this.parts.promoter.promoteBy(etaMs);
          },
        );
      }
    }
  }

  /**
   * Commit the state, then let go of the message with `after` (an ack when none is given), told
   * the state as stored: a SUCCESS whose result Postgres refused was stored as FAILURE
   * (replacement.ts), and what it sets off (errbacks, a broken chain, a failed chord member)
   * follows the stored state. A method, not a closure made in finish(): one a task was garbage.
   */
  private done(
    job: Job,
    outcome: Outcome,
    state: TaskState,
    update: Partial<StateUpdate>,
    ignore: boolean,
    plain: boolean,
    after?: (stored: TaskState) => Promise<void> | void,
  ): void {
    const { msg } = job;
    this.counters.processed++;
    this.totals.set(msg.task, (this.totals.get(msg.task) ?? 0) + 1);
    if (plain && outcome.kind !== 'retry') return this.commitThenAck(job, state, update, ignore);
    const committed: Promise<WriteResult> =
      ignore && state === 'SUCCESS'
        ? Promise.resolve({ stored: 'as-is' })
        : this.parts.states.write(job, state, update);
    let stored = state;
    committed
      .then((result) => {
        if (result.stored === 'abandoned') throw new CeleriacError(result.reason);
        if (result.stored === 'replaced') stored = result.update.status as TaskState; // a replacement is FAILURE
        return this.handOn(job, () => (after ? after(stored) : this.parts.acker.ack(job)));
      })
      .then(
        () => this.announce(msg.id, stored),
        (err) => this.cannotComplete(job, err),
      );
  }

  /**
   * done()'s path for a job nothing follows, in callbacks rather than a chain of promises: the
   * same steps (commit, then ack, then 'task-finished') without ~6 promises and their microtasks
   * a task, most of the drain's per-task garbage after the message itself (issue 21). An ack
   * never fails (the acker retries until Redis is back), so handOn's retry has nothing to do here.
   */
  private commitThenAck(job: Job, state: TaskState, update: Partial<StateUpdate>, ignore: boolean): void {
    // Called from the store's and the acker's loops over a batch, which contain a throw too (contain.ts).
    if (ignore && state === 'SUCCESS') return this.ackThenAnnounce(job, state);
    this.parts.states.writeThen(job, state, update, (result) => {
      if (result.stored === 'abandoned') return this.cannotComplete(job, new CeleriacError(result.reason));
      this.ackThenAnnounce(job, result.stored === 'replaced' ? (result.update.status as TaskState) : state);
    });
  }

  private ackThenAnnounce(job: Job, stored: TaskState): void {
    this.parts.acker.ackThen(job, () => this.announce(job.msg.id, stored));
  }

  private cannotComplete(job: Job, err: unknown): void {
    this.parts.fail(`could not complete ${job.msg.id}; it will be redelivered`, err);
  }

  /**
   * The worker's 'task-finished', once the state is committed and the message acked or handed on.
   * A listener that throws changes neither, so it is reported as what it is: before, it was logged
   * as "could not complete; it will be redelivered", which was not true (nothing runs again).
   */
  private announce(taskId: string, stored: TaskState): void {
    try {
      this.finished(taskId, stored);
    } catch (err) {
      this.parts.fail(
        `task ${taskId} finished (${stored}) and its message was acked, so nothing runs again; a 'task-finished' listener threw`,
        err,
      );
    }
  }

  /**
   * Runs the broker step that lets go of a finished job (an ack, or an ack sent with the retry's
   * next attempt or the follow-ups) until it succeeds: while Redis is away the job stays held.
   * Giving up left the message held, held forever by a live worker. A step
   * whose reply was lost may have run: it let go of the message in the
   * same MULTI, so it is run again only while the message is still there, never sending twice.
   */
  private async handOn(job: Job, step: () => Promise<void> | void): Promise<void> {
    const { broker, consumer } = this.parts;
    for (let waitMs = 100; ; waitMs = Math.min(waitMs * 2, 2000)) {
      try {
        return await step();
      } catch (err) {
        if (!(err instanceof BrokerUnavailableError) || this.parts.stopping()) throw err;
        this.parts.fail(`could not hand on ${job.msg.id}; trying again`, err);
      }
      await new Promise((r) => setTimeout(r, waitMs));
      try {
        if (!(await broker.heldBy(consumer)).includes(job.msg.raw)) {
          job.acked = true;
          this.release(job);
          return;
        }
      } catch (err) {
        this.parts.fail(`could not hand on ${job.msg.id}; trying again`, err);
      }
    }
  }

  /**
   * After a final state is committed: what it sets off (callbacks, the chain's next link, a
   * chord's join) goes out in the same atomic step as the ack, so a crash sends it either never
   * (and the redelivered task sends it) or once.
   */
  private async settle(job: Job, state: 'SUCCESS' | 'FAILURE' | 'REVOKED', result: unknown): Promise<void> {
    const { msg } = job;
    const { app, broker, states } = this.parts;
    if (!msg.embed.callbacks && !msg.embed.errbacks && !msg.embed.chain && !msg.embed.chord)
      return this.parts.acker.ack(job);
    const run = (as: 'SUCCESS' | 'FAILURE' | 'REVOKED', value: unknown) =>
      runFollowUps(
        (...a) => app.prepare(...a),
        withFaultPoints(this.parts.owner, workerCanvasBackend(app, broker, states.store)),
        msg,
        as,
        value,
      );
    let messages;
    try {
      messages = await run(state, result);
    } catch (err) {
      // A follow-up that cannot be sent (the result makes the next step's message too large, say)
      // would fail here on every redelivery and hold the message forever: the work-flow goes on
      // as if this task had failed (what ran before the throw is idempotent, see runFollowUps).
      if (!(err instanceof CeleriacError) || state !== 'SUCCESS') throw err;
      this.parts.log(
        'error',
        `task ${msg.task}[${msg.id}]: its follow-ups cannot be sent (${err.message}); its error callbacks run instead`,
      );
      messages = await run('FAILURE', null);
    }
    if (messages.length === 0) return this.parts.acker.ack(job);
    const outgoing = messages.map((m) => m.outgoing);
    if (job.acked) await broker.send(outgoing);
    else await broker.ackAndSend(this.parts.consumer, msg.raw, outgoing);
    job.acked = true;
    this.release(job);
    app.recordPending(messages);
  }
}

/** How many given-back ids a worker remembers: far more than throw at once, a few kB at most. */
const GIVEN_BACK_KEPT = 1000;

/** How long the body ran, as the per-task lines print it. */
function seconds(outcome: Outcome): string {
  return (outcome.runtimeMs / 1000).toFixed(3);
}

function truncate(value: unknown): string {
  const text = JSON.stringify(value) ?? 'null';
  return text.length > 256 ? text.slice(0, 253) + '...' : text;
}

const NOTHING_TO_WRITE: Partial<StateUpdate> = Object.freeze({});

/** A SUCCESS's update: its result and ranUntilNow's two dates, in one object rather than a spread of a second. */
function finalUpdate(result: unknown, runtimeMs: number): Partial<StateUpdate> {
  const dateDone = new Date();
  return { result, dateDone, dateStarted: startedBefore(dateDone, runtimeMs) };
}

/**
 * dateDone, and dateStarted counted back from the measured runtime, so every finished row has a
 * runtime (the admin's column and percentiles), not only tasks with trackStarted; a STARTED row
 * written earlier is overwritten by the same instant give or take a millisecond.
 */
function ranUntilNow(runtimeMs: number): { dateDone: Date; dateStarted: Date } {
  const dateDone = new Date();
  return { dateDone, dateStarted: startedBefore(dateDone, runtimeMs) };
}

function startedBefore(dateDone: Date, runtimeMs: number): Date {
  return new Date(dateDone.getTime() - Math.max(0, Math.round(runtimeMs)));
}
