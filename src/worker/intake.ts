import type { Delivery } from '../broker';
import { MessageFieldError } from '../broker/headers';
import { decodeTask, routeOf, type TaskMessage } from '../broker/message';
import { MessageDecodeError } from '../errors';
import type { StateUpdate } from '../results/store';
import { findUnstorable } from '../storable';
import type { WorkerParts } from './parts';
import { newJob, type Job } from './pool';
import { recordThenDeadLetter } from './dead-letter';
import { taskInfo } from './task-view';

/**
 * A fetched message the worker cannot or must not run (its queue was cancelled, it does not
 * decode, its signature fails, its task is unknown here, it has killed too many workers) is given
 * back or dead-lettered here, before the worker holds it: so the worker's prefetch accounting and
 * everything after it only ever see jobs it can run.
 */
export class Intake {
  constructor(
    private readonly parts: WorkerParts,
    private readonly maxRedeliveries: number,
  ) {}

  /** The job to hold, or undefined when the message was given back or dead-lettered. */
  admit(delivery: Delivery, queues: string[]): Job | undefined {
    const { app, broker, consumer } = this.parts;
    // Taken by a fetch that was in flight when its queue was cancelled (control cancel_consumer):
    // give it back to the workers still consuming that queue. A re-routed message (routing key ≠
    // queue) would go back to the wrong list, so that rare one runs here instead.
    if (!queues.includes(delivery.queue) && routeOf(delivery.raw).queue === delivery.queue) {
      void broker
        .requeue(consumer, [delivery.raw])
        .catch((e) => this.parts.fail('could not give back a message of a cancelled queue', e));
      return;
    }
    let msg: TaskMessage;
    try {
      msg = decodeTask(delivery.raw, app.config.acceptContent);
      if (msg.queue !== delivery.queue) msg = this.rehome(msg, delivery);
    } catch (err) {
      const reason = err instanceof MessageDecodeError ? err.message : `undecodable message: ${String(err)}`;
      // Its id and name are readable: whoever waits on the task learns why it never ran.
      if (err instanceof MessageFieldError) {
        this.refuse({ taskId: err.taskId, taskName: err.taskName, retries: 0 }, delivery, reason, 'MessageDecodeError');
        return;
      }
      this.parts.log('error', 'dead-lettered a message that cannot be decoded', { reason });
      app.signals.emit('taskRejected', { id: null, name: null, reason, state: 'REJECTED' });
      void broker.deadLetter(consumer, delivery.raw, reason).catch((e) => this.parts.fail('dead-letter failed', e));
      return;
    }
    const refusal = app.signer?.verify(delivery.raw);
    if (refusal) {
      this.reject(msg, delivery, `refused: ${refusal}`, 'REJECTED', 'SignatureError');
      return;
    }
    // Another producer (Python) can send text our own senders refuse (storable.ts): the task does
    // not run, since its row could never show what it ran with, and the message is kept.
    const unstorable = findUnstorable(msg.args, 'args') ?? findUnstorable(msg.kwargs, 'kwargs');
    if (unstorable) {
      this.reject(msg, delivery, `${unstorable}; the task was not run`, 'FAILURE', 'NotStorableError', {
        args: null,
        kwargs: null,
      });
      return;
    }
    const task = app.registry.get(msg.task);
    if (!task) {
      const reason = `no task named '${msg.task}' is registered on worker ${this.parts.workerName}; it knows: ${app.registry.names().join(', ') || '(none)'}`;
      app.signals.emit('taskUnknown', { id: msg.id, name: msg.task, reason });
      this.reject(msg, delivery, reason, 'REJECTED', 'NotRegistered');
      return;
    }
    if (delivery.redeliveries > this.maxRedeliveries) {
      const reason = `WorkerLostError: a worker died while holding this task ${delivery.redeliveries} times; kept out of the queue so it cannot kill more`;
      this.reject(msg, delivery, reason, 'FAILURE', 'WorkerLostError');
      return;
    }
    // Python senders give no sent_at: the receipt time is the best creation time we have.
    msg.headers.sent_at ??= new Date().toISOString();
    return newJob(msg, task, delivery.redeliveries);
  }

  /**
   * Not due yet (a Python sender puts eta tasks straight on the queue): hand it back to the
   * transport until then (on Redis the delayed set, rather than this process's memory, where
   * Celery keeps it and loses it on a crash).
   */
  defer(job: Job, eta: Date): void {
    const { broker, consumer, promoter, fail } = this.parts;
    const { msg } = job;
    void broker
      .defer(consumer, msg.raw, { queue: msg.queue, priority: msg.priority, raw: msg.raw, dueAtMs: eta.getTime() })
      .then(() => promoter.promoteBy(eta.getTime()))
      .catch((e) => fail('deferring an eta task failed; it will be redelivered', e));
  }

  /** A job the worker will run: its RECEIVED state, Celery's task_received signal and task-received event. */
  received(job: Job): void {
    const { app, states, events, workerName } = this.parts;
    const { msg, task } = job;
    if (!task.options.ignoreResult && !msg.ignoreResult) states.noteReceived(job);
    if (app.signals.has('taskReceived')) app.signals.emit('taskReceived', taskInfo(job, workerName));
    if (!events.wanted) return;
    events.task('task-received', {
      uuid: msg.id,
      name: msg.task,
      args: msg.headers.argsrepr,
      kwargs: msg.headers.kwargsrepr,
      retries: msg.retries,
      root_id: msg.rootId,
      parent_id: msg.parentId,
      eta: msg.eta?.toISOString() ?? null,
      expires: msg.expires?.toISOString() ?? null,
    });
  }

  /**
   * A message whose routing key is not the queue it sat on (Celery through a named exchange):
   * record the queue as its delivery_info, as kombu's anonymous-exchange sends do, so every later
   * re-queue (retry, eta parking, crash recovery, shutdown) puts it back where it came from.
   */
  private rehome(msg: TaskMessage, delivery: Delivery): TaskMessage {
    const envelope = JSON.parse(delivery.raw);
    envelope.properties = { ...envelope.properties, delivery_info: { exchange: '', routing_key: delivery.queue } };
    const raw = JSON.stringify(envelope);
    void this.parts.broker
      .replaceHeld(this.parts.consumer, delivery.raw, raw)
      .catch((e) => this.parts.fail('could not record the queue of a re-routed message', e));
    delivery.raw = raw;
    return decodeTask(raw);
  }

  private reject(
    msg: TaskMessage,
    delivery: Delivery,
    reason: string,
    state: 'REJECTED' | 'FAILURE',
    excType: string,
    row: Partial<StateUpdate> = {},
  ): void {
    this.refuse({ ...this.parts.states.describe(msg), ...row }, delivery, reason, excType, state);
  }

  /** Records why the task did not run on its row, then dead-letters its message. */
  private refuse(
    row: Omit<StateUpdate, 'status'>,
    delivery: Delivery,
    reason: string,
    excType: string,
    state: 'REJECTED' | 'FAILURE' = 'REJECTED',
  ): void {
    const name = `${row.taskName}[${row.taskId}]`;
    this.parts.log('error', `task ${name} ${state === 'REJECTED' ? 'rejected' : 'failed'}: ${reason}`);
    this.parts.events.task('task-rejected', { uuid: row.taskId, name: row.taskName, reason });
    this.parts.app.signals.emit('taskRejected', { id: row.taskId, name: row.taskName ?? null, reason, state });
    void recordThenDeadLetter(this.parts, row, delivery.raw, reason, excType, state).catch((e) =>
      this.parts.fail('dead-letter failed', e),
    );
  }
}
