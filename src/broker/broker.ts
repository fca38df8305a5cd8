/**
 * The broker contract: what producers, workers, beat and the admin need from a transport, split
 * by concern so that a transport implements small interfaces, each with the guarantees below.
 * The full contract, with how Redis and memory:// meet each guarantee and what an AMQP transport
 * would do, is in ./README.md; the comments here are the short form.
 *
 * Held messages are named by their raw envelope: the exact string fetch returned (or that
 * replaceHeld last set). A transport with delivery tags (AMQP, Redis's held hash) keeps a map
 * from raw to tag for the consumer. The worker never sees a transport's own handles.
 */

/** A message as fetched by a consumer: the raw envelope (kept verbatim for acking) and its history. */
export interface Delivery {
  raw: string;
  /**
   * The queue it was taken from. Celery routed through a named exchange may give a routing key
   * that is not the queue name; the worker then rewrites delivery_info so retries, eta parking
   * and crash recovery put it back here, not on a list named after the routing key.
   */
  queue: string;
  /** How many times a dead consumer held this message before (a lapsed lease; AMQP: redelivered). */
  redeliveries: number;
}

export interface OutgoingMessage {
  queue: string;
  priority: number;
  raw: string;
  /**
   * When set in the future, a transport with a DelayedStore keeps the message there until then;
   * one without delivers it now, and the consumer defers it by its eta header (as Celery does).
   */
  dueAtMs?: number;
  /** Delivery tag, needed to clear a redelivery count; optional. */
  deliveryTag?: string;
}

/** A message a consumer holds, as it names it when letting go. */
export interface HeldMessage {
  raw: string;
  /** The envelope's properties.delivery_tag when the caller decoded it: clears a redelivery count, and spares the transport finding it in `raw`. */
  deliveryTag?: string;
  redeliveries?: number;
}

export interface DeadLetter {
  reason: string;
  raw: string;
  consumer: string;
  at: string;
}

/** What every broker has: its name for `inspect stats`, where it is, and its lifecycle. */
export interface BrokerConnection {
  /** kombu's transport name: 'redis', 'sentinel', 'memory', 'amqp'. */
  readonly kind: string;
  /** Where messages go, never the password. */
  readonly description: string;
  /** Idempotent; rejects with BrokerUnavailableError when the server cannot be reached. */
  connect(): Promise<void>;
  close(): Promise<void>;
}

/**
 * Moving task messages. Guarantees (README.md § Transport):
 * - a send that resolved is in the broker (survives this process; with Sentinel, see README);
 * - a fetched message is held for its consumer until acked, requeued, dead-lettered or deferred,
 *   and a consumer that dies holding it gives it back (leases, or the AMQP channel closing);
 * - ackAndSend, deadLetter and defer let go of the held message and do their write as one step:
 *   never the one without the other (a transport that cannot do it atomically writes first, so
 *   a crash duplicates, never loses);
 * - sendOnce delivers a batch once however often it is called under the same batch id.
 */
export interface Transport {
  send(messages: OutgoingMessage[]): Promise<void>;
  /**
   * Send `messages` now (dueAtMs is ignored) unless a batch under `batchId` was already sent within
   * `markerTtlMs`; true if this call sent them. Beat's outbox re-sends a batch after a crash under
   * the same id (src/beat/README.md § Exactly once).
   */
  sendOnce(batchId: string, messages: OutgoingMessage[], markerTtlMs: number): Promise<boolean>;
  /** Announce a consumer before its first fetch (Redis: take its lease; AMQP: open its channel). */
  registerConsumer(consumer: string, leaseMs: number): Promise<void>;
  /** Stop consuming and give back everything still held: nothing held is ever deleted. */
  unregisterConsumer(consumer: string): Promise<void>;
  /** Take up to `max` messages from `queues` in priority order; when none are ready, wait up to `blockMs` for one. */
  fetch(consumer: string, queues: string[], max: number, blockMs: number): Promise<Delivery[]>;
  /** Wake a blocked fetch (used at shutdown). */
  interruptFetch(consumer: string): void;
  ack(consumer: string, held: HeldMessage[]): Promise<void>;
  /** Ack `raw` and send `next` (a retry, a chain's next link, callbacks) in one step. */
  ackAndSend(consumer: string, raw: string, next: OutgoingMessage[]): Promise<void>;
  /**
   * A held message whose eta is still ahead: stop counting it against the consumer and deliver it
   * again at `message.dueAtMs`, surviving a crash meanwhile (Redis: moved to the delayed set;
   * AMQP would keep it unacked in the consumer, with the prefetch raised, as Celery does).
   */
  defer(consumer: string, raw: string, message: OutgoingMessage & { dueAtMs: number }): Promise<void>;
  /** Swap a held message for a rewritten copy of it (same message, corrected delivery_info). */
  replaceHeld(consumer: string, oldRaw: string, newRaw: string): Promise<void>;
  /**
   * Everything the transport holds for the consumer, whether or not the consumer knows it holds it:
   * after an outage, whether a step whose reply was lost took effect (worker/finisher.ts); on a
   * lease transport, messages a fetch whose reply was lost left behind (worker/strays.ts). Not
   * deferred ones: those the transport holds by itself.
   */
  heldBy(consumer: string): Promise<string[]>;
  /** Put held messages back at the front of their queues (graceful shutdown, a cancelled queue). */
  requeue(consumer: string, raws: string[]): Promise<void>;
  /** Let go of the message and keep it for inspection with the reason it could not run. */
  deadLetter(consumer: string, raw: string, reason: string): Promise<void>;
  listDeadLetters(limit: number): Promise<DeadLetter[]>;
  /** Messages ready in a queue, every priority included. */
  queueLength(queue: string): Promise<number>;
  /** Messages waiting for their due time. */
  delayedCount(): Promise<number>;
}

/**
 * For transports that keep delayed messages in the broker (Redis: a sorted set) and need some
 * consumer to move them to their queues when due. Optional: without it, a delayed message is
 * delivered at once and deferred by the consumer that takes it.
 */
export interface DelayedStore {
  /** Move due messages to their queues; returns how many, and the next due time or null. */
  promoteDue(nowMs: number, limit: number): Promise<{ moved: number; nextDueMs: number | null }>;
  /** Senders publish the earliest due time they added on this channel, so consumers promote on time. */
  readonly wakeChannel: string;
}

/**
 * For transports whose server cannot see a consumer die (Redis). Optional: AMQP returns a dead
 * consumer's unacked messages when its channel closes, and memory:// dies with its process.
 * Only these can lose a fetch's reply and keep its messages, so only these get the stray check.
 */
export interface ConsumerLeases {
  /** Renew often enough (the worker: every leaseMs / 3) or lose everything held to recoverLapsed. */
  renewLease(consumer: string, leaseMs: number): Promise<void>;
  /**
   * Give back the messages of consumers whose lease lapsed; returns how many. A consumer passing
   * `self` renews its own lease first, in the same step, and is never recovered itself (after a
   * Redis restart longer than the lease every lease has expired at once).
   */
  recoverLapsed(self?: { consumer: string; leaseMs: number }): Promise<number>;
}

/**
 * For transports that push messages to a consumer (AMQP basic.consume) instead of letting it
 * pull: the bound on what it holds unacked, and what the transport holds deferred for it.
 * Optional: a pulling transport bounds prefetch by the `max` of each fetch.
 */
export interface PushedConsumers {
  /** basic.qos for the consumer; the transport adds one per message it holds deferred (as Celery does). */
  setPrefetch(consumer: string, count: number): Promise<void>;
  /** Raw messages held deferred for this consumer until their eta (Celery's inspect scheduled). */
  deferredBy(consumer: string): string[];
}

/** Names of the fan-out channels; opaque: minted by a transport and only ever handed back to it. */
export interface Channels {
  /** Broadcast control messages (kombu's `celery.pidbox` fanout exchange). */
  readonly pidbox: string;
  /** Celery events by routing key, e.g. 'task.multi', 'worker.heartbeat' (the `celeryev` topic exchange). */
  events(routingKey: string): string;
  /** Celeriac's finished-task notices, so waiting AsyncResults wake without polling. */
  readonly resultsChannel: string;
}

/**
 * Fire-and-forget fan-out: every current subscriber gets a message, nobody later does. Carries
 * Celery events, pidbox broadcasts and result notices. AMQP maps pidbox to a fanout exchange
 * and events to a topic exchange, each subscriber with an exclusive auto-delete queue.
 */
export interface Notifier {
  readonly channels: Channels;
  /** Resolves to how many subscribers received it (0: nobody listens; events use it to stop building task events). */
  publish(channel: string, message: string): Promise<number>;
  /** The handle removes this handler; a subscription lasts across reconnects. */
  subscribe(channel: string, handler: (message: string, channel: string) => void): Promise<() => Promise<void>>;
  /** Subscribers of exactly this channel. */
  subscriberCount(channel: string): Promise<number>;
}

/**
 * Remote-control replies, in kombu's layout so Python clients and workers share them: the client
 * binds its reply queue `<oid>.reply.celery.pidbox` to the direct exchange `reply.celery.pidbox`
 * (routing key = oid), each node delivers through the binding, the client pops, then unbinds.
 */
export interface Mailbox {
  bindReplyQueue(oid: string): Promise<void>;
  /** Deliver to every queue bound to `exchange` under `routingKey`; none bound (nobody waiting): dropped. Returns how many got it. */
  pushReply(exchange: string, routingKey: string, raw: string): Promise<number>;
  /** The next reply on oid's queue, waiting up to `timeoutMs`; null when none came. */
  popReply(oid: string, timeoutMs: number): Promise<string | null>;
  /** Remove the binding and the queue (kombu's after_reply_message_received). */
  unbindReplyQueue(oid: string): Promise<void>;
}

/** Who is working: each worker's info, written with its heartbeat, read by the admin and inspect. */
export interface WorkerRegistry {
  putWorkerInfo(name: string, info: string): Promise<void>;
  removeWorkerInfo(name: string): Promise<void>;
  listWorkerInfo(): Promise<Record<string, string>>;
}

/**
 * State every worker shares. Guarantees: a chord member counts once however often it reruns,
 * and its callback fires once; a revoke binds workers that start later. A transport without a
 * key-value store (AMQP) can keep these in Postgres beside the results.
 */
export interface SharedState {
  /** Record a finished chord member; returns how many members (and how many failed ones) have finished. */
  chordJoin(
    groupId: string,
    memberId: string,
    failed: boolean,
    ttlMs: number,
  ): Promise<{ finished: number; failed: number }>;
  /** Send what the completed chord sets off (possibly nothing) unless it already fired; true if this call fired it. */
  chordFire(groupId: string, messages: OutgoingMessage[], ttlMs: number): Promise<boolean>;
  /** Revoked ids persist with an expiry, so workers that start later honour them too. */
  addRevoked(ids: string[], untilMs: number): Promise<void>;
  listRevoked(nowMs: number): Promise<string[]>;
}

/** One queue's counts (admin, `celeriac inspect queues`); null where the transport cannot tell. */
export interface QueueCounts {
  queue: string;
  /** Waiting to be taken, every priority included (and, on Redis, messages given back after a crash). */
  ready: number;
  /** Taken by a consumer and not yet acked. AMQP: null (only RabbitMQ's management plugin counts them). */
  unacked: number | null;
  /** Waiting for their eta or countdown, revoked ones left out. AMQP: null (the workers' consumers hold them: inspect scheduled). */
  delayed: number | null;
  deadLettered: number;
  /** Consumers attached to the queue. Redis and memory://: null (consumers pull; see the worker registry). */
  consumers: number | null;
}

/** A message waiting in a queue or in the delayed store, as the admin lists it. */
export interface QueuedMessage {
  id: string;
  task: string;
  queue: string;
  priority: number;
  state: 'ready' | 'delayed';
  /** When a delayed message becomes ready (ISO 8601), from the delayed store or the eta header. */
  dueAt: string | null;
  raw: string;
}

/**
 * Queue management (Celery's `celery purge`, Flower's broker page, and what Celery lacks: delete
 * one queued message, re-queue a dead letter). Every operation is bounded: a search looks at the
 * first SCAN_LIMIT messages of a queue and says so when it gave up. Messages a consumer holds are
 * never touched: purge and delete act on ready (and delayed) messages only, as Celery's purge does.
 */
export interface QueueAdmin {
  /**
   * Counts for `queues` and for every other queue that has delayed or dead-lettered messages; the
   * totals cover every queue. Cheap enough to poll: the per-queue split of delayed and dead
   * letters reads a bounded number of them (Redis: the earliest 10,000).
   */
  counts(queues: string[]): Promise<{ queues: QueueCounts[]; delayed: number | null; deadLettered: number }>;
  /** Delete every ready message of the queue; how many. Held and delayed messages stay. */
  purge(queue: string): Promise<number>;
  /** Up to `limit` messages: the ready ones in the order consumers take them, then the queue's delayed ones (earliest first). */
  peek(queue: string, limit: number, only?: QueuedMessage['state']): Promise<QueuedMessage[]>;
  /** Delete one ready or delayed message of the queue by task id; where it was, or null when not found. */
  deleteMessage(queue: string, taskId: string): Promise<'ready' | 'delayed' | null>;
  /** Send a dead-lettered message back to its queue (and out of the dead-letter list); false when not found. */
  requeueDeadLetter(taskId: string): Promise<boolean>;
  deleteDeadLetter(taskId: string): Promise<boolean>;
}

/** How many messages a search (delete by id, counts of delayed and dead letters) reads at most. */
export const SCAN_LIMIT = 100_000;

/** A whole broker: the concerns above behind one object, as the app hands it to its parts. */
export interface Broker extends BrokerConnection, Transport, Notifier, Mailbox, WorkerRegistry, SharedState {
  readonly delayed?: DelayedStore;
  readonly leases?: ConsumerLeases;
  readonly pushed?: PushedConsumers;
  readonly queueAdmin: QueueAdmin;
}
