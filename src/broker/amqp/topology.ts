import type { Channel, Options } from 'amqplib';
import { ConfigError, quoted, shown } from '../../errors';

/**
 * Celery 5.2's exchanges and queues on RabbitMQ, declared with exactly the flags and arguments
 * kombu uses (captured in shared/reference/celery-amqp.md; kombu/pidbox.py, celery/events/,
 * celery/app/amqp.py). RabbitMQ refuses a second declaration that differs in any flag or argument
 * (PRECONDITION_FAILED, and the channel closes), so every value here must match what a Python
 * worker or sender on the same vhost declares.
 */

/** Celery's `task_queue_max_priority` and RabbitMQ's queue type, the two queue arguments users choose. */
export interface QueueArgs {
  /** `x-max-priority`; null (Celery's default) declares no priority queue. */
  maxPriority: number | null;
  /** `x-queue-type`: 'classic' (kombu's default) or 'quorum' (replicated; no priorities). */
  queueType: 'classic' | 'quorum';
}

export const TASK_EXCHANGE_TYPE = 'direct';
export const PIDBOX_EXCHANGE = 'celery.pidbox';
export const REPLY_EXCHANGE = 'reply.celery.pidbox';
export const EVENT_EXCHANGE = 'celeryev';
/** Celeriac's own exchanges, which Python never declares. */
export const NOTIFY_EXCHANGE = 'celeriac.notify';
export const DEAD_LETTER_QUEUE = 'celeriac.dead';

/** Celery's control_queue_ttl (300 s) and control_queue_expires (10 s): pidbox and reply queues. */
const CONTROL_QUEUE_ARGS = { 'x-message-ttl': 300_000, 'x-expires': 10_000 };
/** Celery's event_queue_ttl (5 s) and event_queue_expires (60 s): monitors' event queues. */
export const EVENT_QUEUE_ARGS = { 'x-message-ttl': 5_000, 'x-expires': 60_000 };

export function validateQueueArgs(args: QueueArgs): QueueArgs {
  const { maxPriority, queueType } = args;
  if (maxPriority !== null && (!Number.isInteger(maxPriority) || maxPriority < 1 || maxPriority > 255))
    throw new ConfigError(
      'queueMaxPriority',
      `expected an integer 1-255 (RabbitMQ's x-max-priority), got ${shown(maxPriority)}`,
    );
  if (queueType !== 'classic' && queueType !== 'quorum')
    throw new ConfigError('queueType', `expected 'classic' or 'quorum', got ${quoted(queueType)}`);
  if (queueType === 'quorum' && maxPriority !== null)
    throw new ConfigError(
      'queueMaxPriority',
      'quorum queues do not support x-max-priority on RabbitMQ 3.x: leave queueMaxPriority unset, or use classic queues',
    );
  return args;
}

/** The arguments of a task queue (`celery` and every routed queue), as kombu's Queue declares them. */
export function taskQueueArguments(args: QueueArgs): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (args.maxPriority !== null) out['x-max-priority'] = args.maxPriority;
  if (args.queueType === 'quorum') out['x-queue-type'] = 'quorum';
  return out;
}

/**
 * A task queue with its own direct exchange of the same name and a binding under its name,
 * as Celery's `task_create_missing_queues` makes them. Sends go through the default exchange by
 * queue name (as captured from Celery), so the named exchange is there for routed senders.
 */
export async function declareTaskQueue(ch: Channel, queue: string, args: QueueArgs): Promise<void> {
  await ch.assertExchange(queue, TASK_EXCHANGE_TYPE, { durable: true, autoDelete: false });
  await ch.assertQueue(queue, {
    durable: true,
    autoDelete: false,
    exclusive: false,
    arguments: taskQueueArguments(args),
  });
  await ch.bindQueue(queue, queue, queue);
}

export async function declarePidboxExchange(ch: Channel): Promise<void> {
  await ch.assertExchange(PIDBOX_EXCHANGE, 'fanout', { durable: false, autoDelete: false });
}

export async function declareReplyExchange(ch: Channel): Promise<void> {
  await ch.assertExchange(REPLY_EXCHANGE, 'direct', { durable: false, autoDelete: false });
}

/** kombu's Mailbox.get_reply_queue: `<oid>.reply.celery.pidbox`, bound under the oid. */
export async function declareReplyQueue(ch: Channel, oid: string): Promise<string> {
  const name = `${oid}.${REPLY_EXCHANGE}`;
  await declareReplyExchange(ch);
  await ch.assertQueue(name, { durable: false, autoDelete: true, arguments: CONTROL_QUEUE_ARGS });
  await ch.bindQueue(name, REPLY_EXCHANGE, oid);
  return name;
}

/** kombu's Mailbox.get_queue: `<node>.celery.pidbox`, bound to the fanout exchange. */
export async function declarePidboxQueue(ch: Channel, node: string): Promise<string> {
  const name = `${node}.${PIDBOX_EXCHANGE}`;
  await declarePidboxExchange(ch);
  await ch.assertQueue(name, { durable: false, autoDelete: true, arguments: CONTROL_QUEUE_ARGS });
  await ch.bindQueue(name, PIDBOX_EXCHANGE, '');
  return name;
}

/** celery.events.event_exchange: topic, durable (kombu's Exchange defaults). */
export async function declareEventExchange(ch: Channel): Promise<void> {
  await ch.assertExchange(EVENT_EXCHANGE, 'topic', { durable: true, autoDelete: false });
}

export async function declareNotifyExchange(ch: Channel): Promise<void> {
  await ch.assertExchange(NOTIFY_EXCHANGE, 'topic', { durable: false, autoDelete: false });
}

export async function declareDeadLetterQueue(ch: Channel): Promise<void> {
  await ch.assertQueue(DEAD_LETTER_QUEUE, { durable: true, autoDelete: false });
}

/**
 * An exclusive, server-named queue for one subscriber (events, pidbox, notices). Exclusive
 * queues vanish with their connection, so a subscriber that dies leaves nothing behind.
 */
export async function declareSubscriberQueue(
  ch: Channel,
  exchange: string,
  routingKey: string,
  options: Options.AssertQueue = {},
): Promise<string> {
  const { queue } = await ch.assertQueue('', { exclusive: true, autoDelete: true, durable: false, ...options });
  await ch.bindQueue(queue, exchange, routingKey);
  return queue;
}
