import type { Channel } from 'amqplib';
import { randomBytes } from 'node:crypto';
import { ConfigError, MessageNotHeldError } from '../../errors';
import type {
  Broker,
  Channels,
  DeadLetter,
  Delivery,
  HeldMessage,
  OutgoingMessage,
  PushedConsumers,
  QueueAdmin,
} from '../broker';
import type { AmqpAddress } from '../url';
import { AmqpConnection } from './connection';
import { AmqpConsumer } from './consumer';
import type { Coordination } from './coordination';
import { fromAmqp, toAmqp } from './envelope';
import { AmqpPublisher, type Publication } from './publisher';
import { AmqpQueueAdmin } from './queue-admin';
import { AmqpSubscriptions } from './subscriptions';
import {
  DEAD_LETTER_QUEUE,
  EVENT_EXCHANGE,
  NOTIFY_EXCHANGE,
  PIDBOX_EXCHANGE,
  declareDeadLetterQueue,
  declareEventExchange,
  declareNotifyExchange,
  declarePidboxExchange,
  declareReplyQueue,
  declareTaskQueue,
  taskQueueArguments,
  validateQueueArgs,
  type QueueArgs,
} from './topology';

export interface AmqpBrokerOptions extends Partial<QueueArgs> {
  /** Shared atomic state (Postgres); without it chords, revoked ids and the registry are unavailable. */
  coordination?: () => Promise<Coordination | undefined>;
}

/**
 * Celery's AMQP layout on RabbitMQ (kombu's pyamqp transport), so Python Celery workers and
 * senders share the vhost with Celeriac in both directions. Delivery is RabbitMQ's own: manual
 * acks, and whatever a dead consumer held goes back to its queue the moment its connection
 * closes. Countdown/ETA messages sit in the queue with their `eta` header, as Celery sends them,
 * and the worker that takes one defers it: its consumer holds it unacked until due (consumer.ts).
 */
export class AmqpBroker implements Broker {
  readonly kind = 'amqp';
  readonly description: string;
  /**
   * Celery's exchanges for pidbox broadcasts and events (`celeryev/<routing key>`), and
   * Celeriac's own notices on a topic exchange of its own, under the key prefix.
   */
  readonly channels: Channels;
  readonly pushed: PushedConsumers = {
    setPrefetch: (consumer, count) => this.consumer(consumer).setPrefetch(count),
    deferredBy: (consumer) => this.consumers.get(consumer)?.deferredRaws() ?? [],
  };
  readonly queueAdmin: QueueAdmin;
  private readonly conn: AmqpConnection;
  private readonly publisher: AmqpPublisher;
  private readonly subs: AmqpSubscriptions;
  private readonly consumers = new Map<string, AmqpConsumer>();
  private readonly queueArgs: QueueArgs;
  /** Queues declared on the current connection generation (a restarted RabbitMQ may have lost non-durable ones). */
  private declared = new Set<string>();
  private declaredGeneration = -1;
  private coordinationCache: Promise<Coordination | undefined> | undefined;

  constructor(
    address: AmqpAddress,
    keyPrefix: string,
    private readonly options: AmqpBrokerOptions = {},
  ) {
    this.description = address.description;
    this.channels = {
      pidbox: PIDBOX_EXCHANGE,
      events: (routingKey) => `${EVENT_EXCHANGE}/${routingKey}`,
      resultsChannel: `${keyPrefix}celeriac.results`,
    };
    this.queueArgs = validateQueueArgs({
      maxPriority: options.maxPriority ?? null,
      queueType: options.queueType ?? 'classic',
    });
    const name = `celeriac${keyPrefix ? ':' + keyPrefix : ''} pid ${process.pid}`;
    this.conn = new AmqpConnection(address.url, this.description, name);
    this.publisher = new AmqpPublisher(this.conn);
    this.subs = new AmqpSubscriptions(this.conn);
    this.queueAdmin = new AmqpQueueAdmin(this.conn, (queue, priority, raw) => this.send([{ queue, priority, raw }]));
  }

  async connect(): Promise<void> {
    await this.conn.connect();
  }

  async close(): Promise<void> {
    for (const c of this.consumers.values()) await c.close();
    this.consumers.clear();
    await this.subs.close();
    await this.conn.close();
  }

  private coordination(): Promise<Coordination | undefined> {
    this.coordinationCache ??= (this.options.coordination?.() ?? Promise.resolve(undefined)).catch((err) => {
      this.coordinationCache = undefined;
      throw err;
    });
    return this.coordinationCache;
  }

  private async requireCoordination(what: string): Promise<Coordination> {
    const c = await this.coordination();
    if (!c)
      throw new ConfigError(
        'databaseUrl',
        `${what} on RabbitMQ keeps its shared state in Postgres (RabbitMQ has no atomic counters): set DATABASE_URL or pass databaseUrl`,
      );
    return c;
  }

  /** Declare a task queue once per connection, with kombu's flags; a mismatch names both sides' arguments. */
  private async declareQueue(ch: Channel | undefined, queue: string): Promise<void> {
    if (this.declaredGeneration !== this.conn.generation) {
      this.declared = new Set();
      this.declaredGeneration = this.conn.generation;
    }
    if (this.declared.has(queue)) return;
    // Declarations run on a channel of their own: a refused one closes its channel (AMQP's rule).
    const channel = ch ?? (await this.conn.channel('declare'));
    try {
      await declareTaskQueue(channel, queue, this.queueArgs);
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      if (/PRECONDITION_FAILED/.test(message))
        throw new ConfigError(
          'queueMaxPriority',
          `RabbitMQ refused to declare queue '${queue}' with arguments ${JSON.stringify(taskQueueArguments(this.queueArgs))}: ${message}. ` +
            `The queue exists with other arguments (set by another Celery or Celeriac app): use the same ` +
            `queueMaxPriority / queueType on every app sharing it (Celery: task_queue_max_priority), or delete the queue.`,
        );
      throw err;
    }
    this.declared.add(queue);
  }

  private publication(m: OutgoingMessage): Publication {
    const { content, options } = toAmqp(m.raw);
    // Celeriac senders are told the queue, and send through the default exchange by its name, as Celery does.
    return { exchange: '', routingKey: m.queue, content, options: { ...options, priority: m.priority } };
  }

  async send(messages: OutgoingMessage[]): Promise<void> {
    if (messages.length === 0) return;
    const items = messages.map((m) => this.publication(m));
    const queues = [...new Set(messages.map((m) => m.queue))];
    await this.publisher.publish(items, async () => {
      for (const q of queues) await this.declareQueue(undefined, q);
    });
  }

  // ---- consuming

  private consumer(consumer: string): AmqpConsumer {
    let c = this.consumers.get(consumer);
    if (!c) {
      c = new AmqpConsumer(this.conn, (queue) => this.declareQueue(undefined, queue));
      this.consumers.set(consumer, c);
    }
    return c;
  }

  async registerConsumer(consumer: string): Promise<void> {
    this.consumer(consumer);
  }

  async unregisterConsumer(consumer: string): Promise<void> {
    const c = this.consumers.get(consumer);
    this.consumers.delete(consumer);
    await c?.close();
  }

  async fetch(consumer: string, queues: string[], max: number, blockMs: number): Promise<Delivery[]> {
    let taken;
    try {
      taken = await this.consumer(consumer).take(queues, max, blockMs);
    } catch (err) {
      if (err instanceof ConfigError) throw err;
      throw this.conn.unavailable(err);
    }
    return taken.map((d) => ({ raw: d.raw, queue: d.queue, redeliveries: d.redelivered ? 1 : 0 }));
  }

  interruptFetch(consumer: string): void {
    this.consumers.get(consumer)?.interrupt();
  }

  async ack(consumer: string, held: HeldMessage[]): Promise<void> {
    const c = this.consumers.get(consumer);
    for (const d of held) c?.ack(d.raw, d.deliveryTag);
  }

  /** Held unacked in the consumer until due, the qos raised by one (Celery's way on RabbitMQ). */
  async defer(consumer: string, raw: string, message: OutgoingMessage & { dueAtMs: number }): Promise<void> {
    this.consumers.get(consumer)?.defer(raw, message.queue, message.dueAtMs);
  }

  /** Confirmed first, acked second: a crash between the two sends the follow-ups twice, never loses them. */
  async ackAndSend(consumer: string, raw: string, next: OutgoingMessage[]): Promise<void> {
    await this.send(next);
    this.consumers.get(consumer)?.ack(raw);
  }

  /**
   * Only the consumer's name for the delivery changes: RabbitMQ cannot rewrite a message it holds,
   * and giving one back returns it to the queue it was delivered from, which is what the worker's
   * rewrite (delivery_info naming that queue) asks for anyway.
   */
  async replaceHeld(consumer: string, oldRaw: string, newRaw: string): Promise<void> {
    if (!this.consumers.get(consumer)?.replace(oldRaw, newRaw))
      throw new MessageNotHeldError(
        `could not rewrite a message: consumer ${consumer} no longer holds it (acked, given back, or its channel closed and RabbitMQ requeued it); nothing was changed`,
      );
  }

  /** What the consumer's channel holds unacked (not the deferred ones); empty after its channel closed. */
  async heldBy(consumer: string): Promise<string[]> {
    return this.consumers.get(consumer)?.heldRaws() ?? [];
  }

  async requeue(consumer: string, raws: string[]): Promise<void> {
    const c = this.consumers.get(consumer);
    for (const raw of raws) c?.nackOne(raw, true);
  }

  async deadLetter(consumer: string, raw: string, reason: string): Promise<void> {
    const entry: DeadLetter = { reason, raw, consumer, at: new Date().toISOString() };
    await this.publisher.publish(
      [
        {
          exchange: '',
          routingKey: DEAD_LETTER_QUEUE,
          content: Buffer.from(JSON.stringify(entry)),
          options: { contentType: 'application/json', deliveryMode: 2 },
        },
      ],
      (ch) => declareDeadLetterQueue(ch),
    );
    this.consumers.get(consumer)?.ack(raw);
  }

  async listDeadLetters(limit: number): Promise<DeadLetter[]> {
    // Peek: take without acking on a channel of its own, then close it, which requeues them in order.
    const ch = await this.conn.ownChannel(0).catch((err) => {
      throw this.conn.unavailable(err);
    });
    const out: DeadLetter[] = [];
    try {
      await declareDeadLetterQueue(ch);
      while (out.length < limit) {
        const msg = await ch.get(DEAD_LETTER_QUEUE, { noAck: false });
        if (!msg) break;
        out.push(JSON.parse(msg.content.toString('utf8')) as DeadLetter);
      }
    } finally {
      await ch.close().catch(() => {});
    }
    return out;
  }

  async queueLength(queue: string): Promise<number> {
    const ch = await this.conn.channel('inspect', 0).catch((err) => {
      throw this.conn.unavailable(err);
    });
    try {
      return (await ch.checkQueue(queue)).messageCount;
    } catch {
      return 0; // not declared yet (the failed check closed only the inspect channel)
    }
  }

  /** Nothing waits outside the queues on RabbitMQ; this counts what this process's consumers hold deferred. */
  async delayedCount(): Promise<number> {
    let n = 0;
    for (const c of this.consumers.values()) n += c.deferredRaws().length;
    return n;
  }

  async addRevoked(ids: string[], untilMs: number): Promise<void> {
    // Without a database a revoke is only broadcast (as in Celery): workers started later do not know it.
    await (await this.coordination())?.addRevoked(ids, untilMs);
  }

  async listRevoked(nowMs: number): Promise<string[]> {
    return (await (await this.coordination())?.listRevoked(nowMs)) ?? [];
  }

  async chordJoin(groupId: string, memberId: string, failed: boolean): Promise<{ finished: number; failed: number }> {
    return (await this.requireCoordination('A chord')).chordJoin(groupId, memberId, failed);
  }

  /** What the completed chord sets off, sent (confirmed) inside the fire-once marker's transaction. */
  async chordFire(groupId: string, messages: OutgoingMessage[], ttlMs: number): Promise<boolean> {
    return (await this.requireCoordination('A chord')).once(`chord:${groupId}`, ttlMs, () => this.send(messages));
  }

  /**
   * Beat's batch, once: a Postgres marker row inserted in a transaction that stays open while the
   * batch is published with confirms, committed only after every confirm (Coordination.once). A
   * second beat re-sending the batch waits on that row, then finds it and sends nothing. The gap
   * the Redis script does not have: a beat killed after RabbitMQ confirmed and before Postgres
   * committed (one round trip) leaves the batch sent and unmarked, and it is sent again, with the
   * same deterministic task ids.
   */
  async sendOnce(batchId: string, messages: OutgoingMessage[], markerTtlMs: number): Promise<boolean> {
    if (messages.length === 0) return false;
    const now = messages.map((m) => ({ ...m, dueAtMs: undefined }));
    return (await this.requireCoordination('Beat')).once(`beat:${batchId}`, markerTtlMs, () => this.send(now));
  }

  // ---- remote control replies (kombu's Mailbox reply queues)

  async bindReplyQueue(oid: string): Promise<void> {
    await this.subs.consumeQueue(oid, (ch) => declareReplyQueue(ch, oid));
  }

  async pushReply(exchange: string, routingKey: string, raw: string): Promise<number> {
    const { content, options } = toAmqp(raw);
    await (await this.conn.channel('declare')).assertExchange(exchange, 'direct', { durable: false });
    return (await this.publisher.publishRouted({ exchange, routingKey, content, options })) ? 1 : 0;
  }

  async popReply(oid: string, timeoutMs: number): Promise<string | null> {
    return this.subs.pop(oid, timeoutMs);
  }

  async unbindReplyQueue(oid: string): Promise<void> {
    await this.subs.cancel(oid, true);
  }

  // ---- broadcast channels

  /**
   * Where a channel's messages go. Pidbox and event messages are kombu envelopes, mapped to AMQP
   * properties as Celery sends them; Celeriac's own notices are plain text, sent as they are.
   */
  private target(channel: string): {
    exchange: string;
    routingKey: string;
    envelope: boolean;
    declare: (ch: Channel) => Promise<void>;
  } {
    if (channel === PIDBOX_EXCHANGE)
      return { exchange: PIDBOX_EXCHANGE, routingKey: '', envelope: true, declare: declarePidboxExchange };
    if (channel.startsWith(EVENT_EXCHANGE + '/'))
      return {
        exchange: EVENT_EXCHANGE,
        routingKey: channel.slice(EVENT_EXCHANGE.length + 1),
        envelope: true,
        declare: declareEventExchange,
      };
    return { exchange: NOTIFY_EXCHANGE, routingKey: channel, envelope: false, declare: declareNotifyExchange };
  }

  private readonly declaredExchanges = new Map<string, number>();

  private async declareExchange(exchange: string, declare: (ch: Channel) => Promise<void>): Promise<void> {
    if (this.declaredExchanges.get(exchange) === this.conn.generation) return;
    await declare(await this.conn.channel('declare'));
    this.declaredExchanges.set(exchange, this.conn.generation);
  }

  /** Resolves to 1 when some queue took the message, 0 when nobody is bound (RabbitMQ returned it). */
  async publish(channel: string, message: string): Promise<number> {
    const { exchange, routingKey, envelope, declare } = this.target(channel);
    try {
      await this.declareExchange(exchange, declare);
      const { content, options } = envelope
        ? toAmqp(message)
        : { content: Buffer.from(message, 'utf8'), options: { deliveryMode: 1 } };
      return (await this.publisher.publishRouted({ exchange, routingKey, content, options })) ? 1 : 0;
    } catch (err) {
      throw this.conn.unavailable(err);
    }
  }

  async subscribe(channel: string, handler: (message: string, channel: string) => void): Promise<() => Promise<void>> {
    const { exchange, routingKey, envelope, declare } = this.target(channel);
    const id = 'sub.' + randomBytes(6).toString('hex');
    await this.subs.consumeQueue(
      id,
      async (ch) => {
        await declare(ch);
        const { queue } = await ch.assertQueue('', { exclusive: true, autoDelete: true, durable: false });
        await ch.bindQueue(queue, exchange, routingKey);
        return queue;
      },
      (msg) => handler(envelope ? fromAmqp(msg, '') : msg.content.toString('utf8'), channel),
    );
    return () => this.subs.cancel(id, false);
  }

  /** AMQP cannot count another client's queues; monitors are found through returned publishes instead. */
  async subscriberCount(): Promise<number> {
    return 0;
  }

  async putWorkerInfo(name: string, info: string): Promise<void> {
    await (await this.coordination())?.putWorker(name, info);
  }

  async removeWorkerInfo(name: string): Promise<void> {
    await (await this.coordination())?.removeWorker(name);
  }

  async listWorkerInfo(): Promise<Record<string, string>> {
    return (await (await this.coordination())?.listWorkers()) ?? {};
  }
}
