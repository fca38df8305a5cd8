import type { Keys } from './keys';

/** A message as fetched by a consumer: the raw envelope (kept verbatim for acking) and its history. */
export interface Delivery {
  raw: string;
  /**
   * The queue it was taken from. Celery routed through a named exchange may give a routing key
   * that is not the queue name; the worker then rewrites delivery_info so retries, eta parking
   * and crash recovery put it back here, not on a list named after the routing key.
   */
  queue: string;
  /** How many times a dead worker's lease lapsed while it held this message. */
  redeliveries: number;
}

export interface OutgoingMessage {
  queue: string;
  priority: number;
  raw: string;
  /** When set in the future, the message waits in the delayed set until then. */
  dueAtMs?: number;
  /** Delivery tag, needed to clear a redelivery count; optional. */
  deliveryTag?: string;
}

export interface DeadLetter {
  reason: string;
  raw: string;
  consumer: string;
  at: string;
}

/**
 * What producers, workers and beat need from a transport. Redis is the real one; memory:// gives
 * the same semantics in one process for tests and the embedded demo (no leases: nothing can die
 * without taking the whole process with it).
 */
export interface Broker {
  readonly kind: 'redis' | 'memory';
  /** Key and channel names, shared with the layers above (events, results, control). */
  readonly keys: Keys;
  /** Host and port for messages, never the password. */
  readonly description: string;
  connect(): Promise<void>;
  close(): Promise<void>;

  send(messages: OutgoingMessage[]): Promise<void>;

  /** Announce a consumer and take its lease, so its messages come back if it dies. */
  registerConsumer(consumer: string, leaseMs: number): Promise<void>;
  renewLease(consumer: string, leaseMs: number): Promise<void>;
  unregisterConsumer(consumer: string): Promise<void>;
  /**
   * Move up to `max` messages from `queues` into the consumer's processing list. When none are
   * ready, block up to `blockMs` for one.
   */
  fetch(consumer: string, queues: string[], max: number, blockMs: number): Promise<Delivery[]>;
  /** Wake a blocked fetch (used at shutdown). */
  interruptFetch(consumer: string): void;
  ack(consumer: string, deliveries: { raw: string; deliveryTag?: string; redeliveries?: number }[]): Promise<void>;
  /** Atomically ack `raw` and send `next` (a retry, a deferred eta message, a chain's next link, callbacks). */
  ackAndSend(consumer: string, raw: string, next: OutgoingMessage[]): Promise<void>;
  /** Record a finished chord member; returns how many members (and how many failed ones) have finished. */
  chordJoin(
    groupId: string,
    memberId: string,
    failed: boolean,
    ttlMs: number,
  ): Promise<{ finished: number; failed: number }>;
  /** Send the chord's callback (or, with null, only mark it done) unless already fired; true if this call fired it. */
  chordFire(groupId: string, callback: OutgoingMessage | null, ttlMs: number): Promise<boolean>;
  /** Swap a held message for a rewritten copy of it (same message, corrected delivery_info). */
  replaceHeld(consumer: string, oldRaw: string, newRaw: string): Promise<void>;
  /** Everything in the consumer's processing list, whether or not the consumer knows it holds it. */
  heldBy(consumer: string): Promise<string[]>;
  /** Put held messages back at the front of their queues (graceful shutdown). */
  requeue(consumer: string, raws: string[]): Promise<void>;
  /** Atomically ack and keep the message for inspection with the reason it could not run. */
  deadLetter(consumer: string, raw: string, reason: string): Promise<void>;
  listDeadLetters(limit: number): Promise<DeadLetter[]>;

  /** Move due delayed messages to their queues; returns the next due time or null. */
  promoteDue(nowMs: number, limit: number): Promise<{ moved: number; nextDueMs: number | null }>;
  /**
   * Give back the messages of consumers whose lease lapsed. A consumer passing `self` renews its
   * own lease first, in the same step, and is never recovered itself.
   */
  recoverLapsed(self?: { consumer: string; leaseMs: number }): Promise<number>;
  queueLength(queue: string): Promise<number>;
  delayedCount(): Promise<number>;

  /** Revoked ids persist with an expiry, so workers that start later honour them too. */
  addRevoked(ids: string[], untilMs: number): Promise<void>;
  listRevoked(nowMs: number): Promise<string[]>;

  /**
   * Remote-control replies, in kombu's layout so Python clients and workers share them: the client
   * binds its reply queue `<oid>.reply.celery.pidbox` to the direct exchange `reply.celery.pidbox`
   * (routing key = oid), each node delivers through the binding table, the client pops, then unbinds.
   */
  bindReplyQueue(oid: string): Promise<void>;
  /** Deliver to every queue bound to `exchange` under `routingKey`; none bound (nobody waiting): dropped. Returns how many got it. */
  pushReply(exchange: string, routingKey: string, raw: string): Promise<number>;
  /** The next reply on oid's queue, waiting up to `timeoutMs`; null when none came. */
  popReply(oid: string, timeoutMs: number): Promise<string | null>;
  /** Remove the binding and the queue (kombu's after_reply_message_received). */
  unbindReplyQueue(oid: string): Promise<void>;

  /** Resolves to how many subscribers received it (Redis PUBLISH's reply). */
  publish(channel: string, message: string): Promise<number>;
  subscribe(channel: string, handler: (message: string, channel: string) => void): Promise<() => Promise<void>>;
  /** Clients subscribed to exactly this channel (PUBSUB NUMSUB; pattern subscribers are not counted). */
  subscriberCount(channel: string): Promise<number>;
  /** Shared worker registry: name → JSON info, written with each heartbeat. */
  putWorkerInfo(name: string, info: string): Promise<void>;
  removeWorkerInfo(name: string): Promise<void>;
  listWorkerInfo(): Promise<Record<string, string>>;
  /** Names of consumers whose lease is live. */
  liveConsumers(): Promise<string[]>;
}
