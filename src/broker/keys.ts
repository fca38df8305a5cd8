import type { Channels } from './broker';

/**
 * Every Redis key and channel name in one place. Queue keys follow kombu exactly (so Python Celery
 * shares them); everything Celeriac adds lives under `celeriac:` and is invisible to kombu.
 */

/** kombu's priority separator: `celery\x06\x163` is queue 'celery', priority bucket 3. */
export const PRIORITY_SEP = '\x06\x16';
const PRIORITY_STEPS = [0, 3, 6, 9];

/** kombu's `_q_for_pri`: clamp to 0..9, then round down to a step. On Redis, 0 runs first. */
export function priorityBucket(priority: number): number {
  const p = Math.min(9, Math.max(0, Math.trunc(priority) || 0));
  let bucket = 0;
  for (const step of PRIORITY_STEPS) if (step <= p) bucket = step;
  return bucket;
}

/**
 * Why a queue name cannot be used, or undefined. On Redis a queue's key is the prefix plus its
 * name, so a queue named after one of the broker's own keys would be that key: purging
 * 'celeriac:delayed' deleted every countdown, eta and retry; sending to it made the sorted set a
 * list, and every later countdown send failed. On RabbitMQ 'celeriac.dead' is the dead-letter
 * queue. Refused on every transport, so an app behaves the same on both.
 */
export function reservedQueueProblem(queue: string): string | undefined {
  if (/^(celeriac[:.]|_kombu\.)/.test(queue) || KOMBU_KEYS.has(queue))
    return `'${queue.slice(0, 80)}' is the name of one of the broker's own keys or queues (names starting with 'celeriac:', 'celeriac.' or '_kombu.', and kombu's ${[...KOMBU_KEYS].join(', ')}): name the queue otherwise`;
  return undefined;
}

/** kombu's Redis transport's own keys beside the queues (its unacked_key, unacked_index_key, unacked_mutex_key). */
const KOMBU_KEYS: ReadonlySet<string> = new Set(['unacked', 'unacked_index', 'unacked_mutex']);

export class Keys implements Channels {
  constructor(
    readonly prefix: string,
    readonly db: number,
  ) {}

  queue(queue: string, priority = 0): string {
    const bucket = priorityBucket(priority);
    return bucket === 0 ? this.prefix + queue : this.prefix + queue + PRIORITY_SEP + bucket;
  }

  /**
   * Messages given back after a crash wait on a side list per queue, read before the queue
   * itself. Keeping them off the main list means anything a blocking pop takes from the main list
   * is a first delivery, so it can run without a second round trip to look up its redelivery count.
   */
  redelivered(queue: string): string {
    return this.prefix + 'celeriac:redelivered:' + queue;
  }

  /** Keys a consumer reads, in order: redelivered messages, then every queue's bucket 0, then bucket 3, … */
  consumeOrder(queues: string[]): string[] {
    return this.consumeOrderWithQueues(queues).map((k) => k.key);
  }

  /** The same, with the queue each key belongs to. */
  consumeOrderWithQueues(queues: string[]): { key: string; queue: string }[] {
    const keys = queues.map((queue) => ({ key: this.redelivered(queue), queue }));
    for (const step of PRIORITY_STEPS) for (const queue of queues) keys.push({ key: this.queue(queue, step), queue });
    return keys;
  }

  get delayed() {
    return this.prefix + 'celeriac:delayed';
  }
  /** Every consumer that may hold messages (its lease lapsed or not): what recovery walks. */
  get consumers() {
    return this.prefix + 'celeriac:holders';
  }
  /**
   * The set workers before held hashes (0.1.0) registered in. Read only by recovery and
   * queue counts, so an upgrade mid-flight loses nothing; a separate set because an older worker's
   * recovery knows only processing lists, and must never clear a newer consumer's entry.
   */
  get legacyConsumers() {
    return this.prefix + 'celeriac:consumers';
  }
  get redeliveries() {
    return this.prefix + 'celeriac:redeliveries';
  }
  get deadLetter() {
    return this.prefix + 'celeriac:dead';
  }
  get revoked() {
    return this.prefix + 'celeriac:revoked';
  }
  get workerInfo() {
    return this.prefix + 'celeriac:workers';
  }
  chord(groupId: string, part: 'done' | 'failed' | 'fired') {
    return `${this.prefix}celeriac:chord:${groupId}:${part}`;
  }
  /** Beat's marker that an outbox batch was sent (lua/send-once-n.lua). */
  sentMarker(batchId: string) {
    return this.prefix + 'celeriac:beat:sent:' + batchId;
  }
  /** Messages a blocking fetch moved (BLMOVE lands in a list); before held hashes, every fetch. */
  processing(consumer: string) {
    return this.prefix + 'celeriac:processing:' + consumer;
  }
  /** What a consumer holds, by handle (the delivery tag), so an ack sends the tag, not the message. */
  held(consumer: string) {
    return this.prefix + 'celeriac:held:' + consumer;
  }
  lease(consumer: string) {
    return this.prefix + 'celeriac:lease:' + consumer;
  }

  /** Senders of delayed messages announce the earliest due time here, so workers promote on time, not on their next 1 s check. */
  get delayedChannel() {
    return this.prefix + 'celeriac:delayed-wake';
  }
  /** Channel a worker publishes finished task ids on, so waiting AsyncResults wake without polling. */
  get resultsChannel() {
    return this.prefix + 'celeriac:results';
  }
  /** kombu's binding table of an exchange (`_queue_bind`): members `routing_key␆pattern␆queue`; the pidbox reply path reads it. */
  binding(exchange: string) {
    return `${this.prefix}_kombu.binding.${exchange}`;
  }
  /** kombu fanout channels carry the `/<db>.` prefix (fanout_prefix=True). */
  get pidbox() {
    return `${this.prefix}/${this.db}.celery.pidbox`;
  }
  events(routingKey: string) {
    return `${this.prefix}/${this.db}.celeryev/${routingKey}`;
  }
  get eventsPattern() {
    return `${this.prefix}/${this.db}.celeryev/*`;
  }
}
