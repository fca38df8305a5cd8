import { randomUUID } from 'node:crypto';
import type { Broker } from '../broker';
import { decodeReply, encodeControl, REPLY_EXCHANGE } from '../broker/pidbox';
import { ConfigError, shown } from '../errors';
import { MAX_TIMER_MS } from '../time-limit';
import type { QueueInfo, ScheduledInfo, StatsReply, TaskInfo } from '../worker/control-surface';

export interface BroadcastOptions {
  /** Worker names to address (`celery@host`, `-n` of each worker); default every worker. */
  destination?: string[];
  /** How long to collect replies, in all. Default 1000 ms, Celery's 1 s. */
  timeoutMs?: number;
  /** Stop after this many replies. Default: the number of destinations, else wait the whole timeout. */
  limit?: number;
}

/** Replies by worker name: `{'celery@host': {ok: 'pong'}}`. */
export type Replies<T = unknown> = Record<string, T>;
/** What control commands answer: Celery's `{ok: …}` or `{error: …}`. */
export type OkOrError = { ok: string } | { error: string };

/**
 * Celery's `app.control` from the sender's side (celery/app/control.py, kombu/pidbox.py): a
 * command is published on the pidbox channel; when replies are wanted, a reply queue named after a
 * fresh oid is bound to `reply.celery.pidbox` first, and replies are popped from it until the
 * timeout (or the limit), then the queue is unbound and deleted. Celery, Python and Celeriac
 * workers alike answer, so one call sees both kinds.
 *
 * Unlike kombu, whose timeout restarts after each reply, `timeoutMs` bounds the whole call.
 */
export class RemoteControl {
  constructor(private readonly getBroker: () => Promise<Broker>) {}

  /** Send `method(args)` to the workers; with `reply` (the default) resolve the replies collected within the timeout. */
  async broadcast<T = unknown>(
    method: string,
    args: Record<string, unknown> = {},
    options: BroadcastOptions & { reply?: boolean } = {},
  ): Promise<Replies<T>> {
    const timeoutMs = options.timeoutMs ?? 1000;
    // A wait a timer or BRPOP can hold: past setTimeout's ceiling a timer fires after 1 ms; BRPOP
    // reads NaN and Infinity as errors (a BrokerUnavailableError here) and '1000' joined to a time.
    if (typeof timeoutMs !== 'number' || !(timeoutMs >= 0 && timeoutMs <= MAX_TIMER_MS))
      throw new ConfigError(
        'options.timeoutMs',
        `expected milliseconds from 0 to ${MAX_TIMER_MS} (about 24 days), got ${shown(timeoutMs)}`,
      );
    const broker = await this.getBroker();
    const destination = options.destination?.length ? options.destination : null;
    if (options.reply === false) {
      await broker.publish(broker.channels.pidbox, encodeControl({ method, arguments: args, destination }, timeoutMs));
      return {};
    }
    const oid = randomUUID();
    const ticket = randomUUID();
    const limit = options.limit ?? destination?.length;
    const replies: Replies<T> = {};
    await broker.bindReplyQueue(oid);
    try {
      const deadline = Date.now() + timeoutMs;
      await broker.publish(
        broker.channels.pidbox,
        encodeControl(
          { method, arguments: args, destination, ticket, reply_to: { exchange: REPLY_EXCHANGE, routing_key: oid } },
          timeoutMs,
        ),
      );
      let received = 0;
      while (!(limit && received >= limit)) {
        const left = deadline - Date.now();
        if (left <= 0) break;
        const raw = await broker.popReply(oid, left);
        if (raw === null) break;
        const reply = decodeReply(raw);
        // kombu: a reply without a ticket counts as ours; one with another ticket is someone else's.
        if (!reply || (reply.ticket !== null && reply.ticket !== ticket)) continue;
        if (reply.expires !== null && Date.now() / 1000 > reply.expires) continue;
        Object.assign(replies, reply.body);
        received++;
      }
    } finally {
      await broker.unbindReplyQueue(oid).catch(() => {});
    }
    return replies;
  }

  /** Celery's `app.control.inspect(destination, timeout)`. */
  inspect(options: BroadcastOptions = {}): Inspect {
    return new Inspect(this, options);
  }

  ping(options: BroadcastOptions = {}): Promise<Replies<{ ok: 'pong' }>> {
    return this.broadcast('ping', {}, options);
  }

  /** Add `n` slots to each addressed worker (refused by workers running with autoscale). */
  poolGrow(n = 1, options: BroadcastOptions = {}): Promise<Replies<OkOrError>> {
    return this.broadcast('pool_grow', { n }, options);
  }

  poolShrink(n = 1, options: BroadcastOptions = {}): Promise<Replies<OkOrError>> {
    return this.broadcast('pool_shrink', { n }, options);
  }

  /** A new autoscale range for workers started with --autoscale. */
  autoscale(max: number, min: number, options: BroadcastOptions = {}): Promise<Replies<OkOrError>> {
    return this.broadcast('autoscale', { max, min }, options);
  }

  /** Start consuming `queue` as well. */
  addConsumer(queue: string, options: BroadcastOptions = {}): Promise<Replies<OkOrError>> {
    return this.broadcast('add_consumer', { queue }, options);
  }

  /** Stop consuming `queue`; a worker refuses to drop its only queue. */
  cancelConsumer(queue: string, options: BroadcastOptions = {}): Promise<Replies<OkOrError>> {
    return this.broadcast('cancel_consumer', { queue }, options);
  }

  /** Per-worker rate limit for one task type ('10/s', '100/m'); null lifts every limit on it. */
  rateLimit(taskName: string, rate: string | null, options: BroadcastOptions = {}): Promise<Replies<OkOrError>> {
    return this.broadcast('rate_limit', { task_name: taskName, rate_limit: rate }, options);
  }

  /** Per-worker soft and hard time limits in seconds for one task type; null for none. */
  timeLimit(
    taskName: string,
    soft: number | null,
    hard: number | null,
    options: BroadcastOptions = {},
  ): Promise<Replies<OkOrError>> {
    return this.broadcast('time_limit', { task_name: taskName, soft, hard }, options);
  }

  /** Replace the pool's children with fresh ones that load the app again (threads and processes pools). */
  poolRestart(options: BroadcastOptions = {}): Promise<Replies<OkOrError>> {
    return this.broadcast('pool_restart', {}, options);
  }

  /** Ask workers to stop gracefully (the worker process then exits 0). */
  shutdown(options: BroadcastOptions = {}): Promise<Replies<OkOrError>> {
    return this.broadcast('shutdown', {}, options);
  }
}

/** Celery's `Inspect`: read-only questions to the workers, answered per worker name. */
export class Inspect {
  constructor(
    private readonly control: RemoteControl,
    private readonly options: BroadcastOptions = {},
  ) {}

  private call<T>(method: string, args: Record<string, unknown> = {}): Promise<Replies<T>> {
    return this.control.broadcast<T>(method, args, this.options);
  }

  ping() {
    return this.call<{ ok: 'pong' }>('ping');
  }
  /** Tasks running now. */
  active() {
    return this.call<TaskInfo[]>('active');
  }
  /** Tasks a worker holds waiting for a slot or a rate-limit token. */
  reserved() {
    return this.call<TaskInfo[]>('reserved');
  }
  /** ETA/countdown tasks: held by the worker on RabbitMQ (as Celery); on Redis, those of its queues in the delayed set. */
  scheduled() {
    return this.call<ScheduledInfo[]>('scheduled');
  }
  /** The configuration the worker runs with, secrets masked. */
  conf() {
    return this.call<Record<string, unknown>>('conf');
  }
  registered() {
    return this.call<string[]>('registered');
  }
  revoked() {
    return this.call<string[]>('revoked');
  }
  stats() {
    return this.call<StatsReply>('stats');
  }
  activeQueues() {
    return this.call<QueueInfo[]>('active_queues');
  }
  queryTask(...ids: string[]) {
    return this.call<Record<string, [string, TaskInfo]>>('query_task', { ids });
  }
}
