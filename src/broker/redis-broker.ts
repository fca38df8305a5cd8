import Redis, { type RedisOptions } from 'ioredis';
import { BrokerUnavailableError } from '../errors';
import { redactUrl } from '../config';
import type { Broker, DeadLetter, Delivery, OutgoingMessage } from './broker';
import { Keys, PRIORITY_SEP } from './keys';
import { REPLY_EXCHANGE, replyQueueName } from './pidbox';
import { defineScripts, scriptCommands, type ScriptCommands } from './scripts';

/**
 * kombu's Redis layout for the queues themselves (LPUSH to produce, pop from the right to consume,
 * `\x06\x16<p>` priority buckets), plus Celeriac's own keys for what kombu gets wrong: an atomic
 * claim into a per-consumer processing list, a renewed lease instead of a one-hour visibility
 * timeout, and delayed messages in a sorted set instead of worker memory.
 */
export class RedisBroker implements Broker {
  readonly kind = 'redis';
  readonly description: string;
  readonly keys: Keys;
  private readonly options: RedisOptions;
  private cmd: Redis | undefined;
  private scripts!: ScriptCommands;
  private sub: Redis | undefined;
  private readonly handlers = new Map<string, Set<(m: string, c: string) => void>>();
  private readonly blocking = new Map<string, Redis>();
  private readonly replyWaiters = new Map<string, Redis>();
  private connecting: Promise<void> | undefined;

  constructor(
    private readonly url: string,
    keyPrefix: string,
  ) {
    const parsed = new URL(url);
    const db = Number(parsed.pathname.slice(1) || 0);
    this.description = `${parsed.protocol}//${parsed.hostname}:${parsed.port || 6379}/${db}`;
    this.keys = new Keys(keyPrefix, db);
    this.options = {
      lazyConnect: true,
      connectTimeout: 3000,
      // Named so operators (and tests) can tell Celeriac's connections apart in CLIENT LIST.
      connectionName: `celeriac${keyPrefix ? ':' + keyPrefix.replace(/[^\w:.-]/g, '_') : ''}`,
      // A producer should hear promptly that Redis is down rather than wait in an offline queue;
      // workers and beat loop and retry on their own.
      maxRetriesPerRequest: 2,
      retryStrategy: (times) => Math.min(100 * 2 ** Math.min(times, 6), 3000) + Math.floor(Math.random() * 100),
    };
  }

  async connect(): Promise<void> {
    this.connecting ??= (async () => {
      const redis = new Redis(this.url, this.options);
      redis.on('error', () => {}); // reported through failed commands, which name the host
      defineScripts(redis);
      this.cmd = redis;
      this.scripts = scriptCommands(redis);
      try {
        await redis.connect();
      } catch (err) {
        this.connecting = undefined;
        this.cmd = undefined;
        redis.disconnect();
        throw this.unavailable(err);
      }
    })();
    return this.connecting;
  }

  private get redis(): Redis {
    if (!this.cmd)
      throw new BrokerUnavailableError(`The broker at ${this.description} is not connected: call connect() first.`);
    return this.cmd;
  }

  private unavailable(err: unknown): BrokerUnavailableError {
    const reason = err instanceof Error ? err.message : String(err);
    return new BrokerUnavailableError(
      `Redis at ${this.description} is unavailable (${redactUrl(reason)}). Nothing was sent; start Redis or fix CELERIAC_BROKER_URL and try again.`,
      { cause: err },
    );
  }

  private async run<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      if (err instanceof BrokerUnavailableError) throw err;
      const message = err instanceof Error ? err.message : '';
      if (
        /ECONNREFUSED|ETIMEDOUT|ENOTFOUND|Connection is closed|max retries|Stream isn't writeable|EPIPE|ECONNRESET/i.test(
          message,
        )
      ) {
        throw this.unavailable(err);
      }
      throw err;
    }
  }

  async close(): Promise<void> {
    for (const conn of this.blocking.values()) conn.disconnect();
    this.blocking.clear();
    for (const conn of this.replyWaiters.values()) conn.disconnect();
    this.replyWaiters.clear();
    this.sub?.disconnect();
    this.sub = undefined;
    if (this.cmd) await this.cmd.quit().catch(() => this.cmd?.disconnect());
    this.cmd = undefined;
    this.connecting = undefined;
  }

  async send(messages: OutgoingMessage[]): Promise<void> {
    if (messages.length === 0) return;
    const now = Date.now();
    await this.run(async () => {
      if (messages.length === 1 && !(messages[0].dueAtMs! > now)) {
        const m = messages[0];
        await this.redis.lpush(this.keys.queue(m.queue, m.priority), m.raw);
        return;
      }
      const pipe = this.redis.pipeline();
      // One LPUSH per queue key keeps a bulk send to one round trip and few commands.
      const byKey = new Map<string, string[]>();
      let earliestDue = Infinity;
      for (const m of messages) {
        if (m.dueAtMs !== undefined && m.dueAtMs > now) {
          pipe.zadd(this.keys.delayed, m.dueAtMs, m.raw);
          earliestDue = Math.min(earliestDue, m.dueAtMs);
        } else {
          const key = this.keys.queue(m.queue, m.priority);
          const list = byKey.get(key);
          if (list) list.push(m.raw);
          else byKey.set(key, [m.raw]);
        }
      }
      for (const [key, raws] of byKey) pipe.lpush(key, ...raws);
      if (earliestDue < Infinity) pipe.publish(this.keys.delayedChannel, String(earliestDue));
      const results = await pipe.exec();
      const failed = results?.find(([err]) => err);
      if (failed) throw failed[0];
    });
  }

  async registerConsumer(consumer: string, leaseMs: number): Promise<void> {
    await this.run(() =>
      this.redis
        .multi()
        .set(this.keys.lease(consumer), String(Date.now()), 'PX', leaseMs)
        .sadd(this.keys.consumers, consumer)
        .exec(),
    );
  }

  async renewLease(consumer: string, leaseMs: number): Promise<void> {
    await this.run(() =>
      this.redis
        .multi()
        .set(this.keys.lease(consumer), String(Date.now()), 'PX', leaseMs)
        .sadd(this.keys.consumers, consumer)
        .exec(),
    );
  }

  /** Drops the lease, then gives back anything still held, as for a dead consumer: nothing held is ever deleted. */
  async unregisterConsumer(consumer: string): Promise<void> {
    await this.run(() => this.redis.del(this.keys.lease(consumer)));
    await this.recoverLapsed();
  }

  async fetch(consumer: string, queues: string[], max: number, blockMs: number): Promise<Delivery[]> {
    const order = this.keys.consumeOrderWithQueues(queues);
    const keys = [this.keys.processing(consumer), this.keys.redeliveries, ...order.map((o) => o.key)];
    const first = await this.run(() => this.scripts.fetch(keys, [max]));
    if (first.length > 0 || blockMs <= 0) return triples(first, order);
    // Nothing ready: block on one queue's main bucket. BLMOVE lands the message straight in the
    // processing list, so even a wake-up that races a crash cannot lose it. Other queues and
    // buckets are seen on the next round, at most blockMs later. What BLMOVE takes from a main
    // list is always a first delivery (keys.redelivered), so it runs with no further round trip.
    const conn = this.blockingConnection(consumer);
    const queue = queues[Math.floor(Math.random() * queues.length)];
    const rotate = this.keys.queue(queue);
    let moved: string | null;
    try {
      moved = await conn.blmove(rotate, this.keys.processing(consumer), 'RIGHT', 'LEFT', blockMs / 1000);
    } catch (err) {
      if (!this.blocking.has(consumer)) return []; // interrupted by shutdown
      throw this.unavailable(err);
    }
    if (moved === null) return [];
    return [{ raw: moved, redeliveries: 0, queue }];
  }

  private blockingConnection(consumer: string): Redis {
    let conn = this.blocking.get(consumer);
    if (!conn) {
      conn = new Redis(this.url, { ...this.options, lazyConnect: false, maxRetriesPerRequest: 1 });
      conn.on('error', () => {});
      this.blocking.set(consumer, conn);
    }
    return conn;
  }

  interruptFetch(consumer: string): void {
    const conn = this.blocking.get(consumer);
    this.blocking.delete(consumer);
    conn?.disconnect();
  }

  async ack(
    consumer: string,
    deliveries: { raw: string; deliveryTag?: string; redeliveries?: number }[],
  ): Promise<void> {
    if (deliveries.length === 0) return;
    const key = this.keys.processing(consumer);
    await this.run(async () => {
      const pipe = this.redis.pipeline();
      for (const d of deliveries) {
        // Count -1: search from the tail, where the oldest (first-fetched) messages sit.
        pipe.lrem(key, -1, d.raw);
        if (d.redeliveries && d.deliveryTag) pipe.hdel(this.keys.redeliveries, d.deliveryTag);
      }
      await pipe.exec();
    });
  }

  async ackAndSend(consumer: string, raw: string, next: OutgoingMessage[]): Promise<void> {
    await this.run(async () => {
      const tx = this.redis.multi().lrem(this.keys.processing(consumer), -1, raw);
      const now = Date.now();
      for (const m of next) {
        if (m.dueAtMs !== undefined && m.dueAtMs > now) {
          tx.zadd(this.keys.delayed, m.dueAtMs, m.raw);
          tx.publish(this.keys.delayedChannel, String(m.dueAtMs));
        } else tx.lpush(this.keys.queue(m.queue, m.priority), m.raw);
      }
      await tx.exec();
    });
  }

  async chordJoin(
    groupId: string,
    memberId: string,
    failed: boolean,
    ttlMs: number,
  ): Promise<{ finished: number; failed: number }> {
    const [finished, failedCount] = await this.run(() =>
      this.scripts.chordJoin(
        [this.keys.chord(groupId, 'done'), this.keys.chord(groupId, 'failed')],
        [memberId, failed ? '1' : '0', ttlMs],
      ),
    );
    return { finished, failed: failedCount };
  }

  async chordFire(groupId: string, callback: OutgoingMessage | null, ttlMs: number): Promise<boolean> {
    const queueKey = callback ? this.keys.queue(callback.queue, callback.priority) : '';
    return (
      (await this.run(() =>
        this.scripts.chordFire([this.keys.chord(groupId, 'fired'), queueKey], [callback?.raw ?? '', ttlMs]),
      )) === 1
    );
  }

  async replaceHeld(consumer: string, oldRaw: string, newRaw: string): Promise<void> {
    const key = this.keys.processing(consumer);
    await this.run(() => this.redis.multi().lrem(key, -1, oldRaw).lpush(key, newRaw).exec());
  }

  async heldBy(consumer: string): Promise<string[]> {
    return this.run(() => this.redis.lrange(this.keys.processing(consumer), 0, -1));
  }

  async requeue(consumer: string, raws: string[]): Promise<void> {
    if (raws.length === 0) return;
    await this.run(async () => {
      const tx = this.redis.multi();
      for (const raw of raws) {
        const { queue, priority } = routeOf(raw);
        tx.lrem(this.keys.processing(consumer), -1, raw);
        tx.rpush(this.keys.queue(queue, priority), raw);
      }
      await tx.exec();
    });
  }

  async deadLetter(consumer: string, raw: string, reason: string): Promise<void> {
    const entry: DeadLetter = { reason, raw, consumer, at: new Date().toISOString() };
    await this.run(() =>
      this.redis
        .multi()
        .lrem(this.keys.processing(consumer), -1, raw)
        .lpush(this.keys.deadLetter, JSON.stringify(entry))
        .exec(),
    );
  }

  async listDeadLetters(limit: number): Promise<DeadLetter[]> {
    const items = await this.run(() => this.redis.lrange(this.keys.deadLetter, 0, limit - 1));
    return items.map((s) => JSON.parse(s) as DeadLetter);
  }

  async promoteDue(nowMs: number, limit: number): Promise<{ moved: number; nextDueMs: number | null }> {
    const [moved, next] = await this.run(() =>
      this.scripts.promote([this.keys.delayed], [nowMs, limit, this.keys.prefix, PRIORITY_SEP]),
    );
    return { moved, nextDueMs: next < 0 ? null : next };
  }

  async recoverLapsed(self?: { consumer: string; leaseMs: number }): Promise<number> {
    const args = self ? [self.consumer, String(self.leaseMs), String(Date.now())] : [''];
    return this.run(() =>
      this.scripts.recover([this.keys.consumers, this.keys.redeliveries], [this.keys.prefix, ...args]),
    );
  }

  async queueLength(queue: string): Promise<number> {
    return this.run(async () => {
      const pipe = this.redis.pipeline();
      for (const key of this.keys.consumeOrder([queue])) pipe.llen(key);
      const res = (await pipe.exec()) ?? [];
      return res.reduce((sum, [, n]) => sum + Number(n ?? 0), 0);
    });
  }

  async delayedCount(): Promise<number> {
    return this.run(() => this.redis.zcard(this.keys.delayed));
  }

  async addRevoked(ids: string[], untilMs: number): Promise<void> {
    if (ids.length === 0) return;
    const args: (string | number)[] = [];
    for (const id of ids) args.push(untilMs, id);
    await this.run(() =>
      this.redis
        .multi()
        .zremrangebyscore(this.keys.revoked, '-inf', Date.now())
        .zadd(this.keys.revoked, ...args)
        .exec(),
    );
  }

  async listRevoked(nowMs: number): Promise<string[]> {
    return this.run(() => this.redis.zrangebyscore(this.keys.revoked, nowMs, '+inf'));
  }

  async bindReplyQueue(oid: string): Promise<void> {
    await this.run(() => this.redis.sadd(this.keys.binding(REPLY_EXCHANGE), replyBinding(oid)));
  }

  async pushReply(exchange: string, routingKey: string, raw: string): Promise<number> {
    return this.run(() =>
      this.scripts.reply(
        [this.keys.binding(exchange)],
        [routingKey, raw, this.keys.prefix, PRIORITY_SEP, REPLY_TTL_MS],
      ),
    );
  }

  async popReply(oid: string, timeoutMs: number): Promise<string | null> {
    const key = this.keys.queue(replyQueueName(oid));
    if (timeoutMs <= 0) return this.run(() => this.redis.rpop(key));
    // A connection of its own per waiting client: BRPOP would hold up every other command on a shared one.
    let conn = this.replyWaiters.get(oid);
    if (!conn) {
      conn = new Redis(this.url, { ...this.options, lazyConnect: false, maxRetriesPerRequest: 1 });
      conn.on('error', () => {});
      this.replyWaiters.set(oid, conn);
    }
    try {
      const popped = await conn.brpop(key, Math.max(0.01, timeoutMs / 1000));
      return popped ? popped[1] : null;
    } catch (err) {
      if (!this.replyWaiters.has(oid)) return null; // unbound meanwhile
      throw this.unavailable(err);
    }
  }

  async unbindReplyQueue(oid: string): Promise<void> {
    this.replyWaiters.get(oid)?.disconnect();
    this.replyWaiters.delete(oid);
    await this.run(() =>
      this.redis
        .multi()
        .srem(this.keys.binding(REPLY_EXCHANGE), replyBinding(oid))
        .del(this.keys.queue(replyQueueName(oid)))
        .exec(),
    );
  }

  async publish(channel: string, message: string): Promise<number> {
    return this.run(() => this.redis.publish(channel, message));
  }

  async subscriberCount(channel: string): Promise<number> {
    const reply = (await this.run(() => this.redis.pubsub('NUMSUB', channel))) as [string, number];
    return Number(reply[1]);
  }

  async subscribe(channel: string, handler: (message: string, channel: string) => void): Promise<() => Promise<void>> {
    if (!this.sub) {
      this.sub = new Redis(this.url, { ...this.options, lazyConnect: false, maxRetriesPerRequest: null });
      this.sub.on('error', () => {});
      this.sub.on('message', (ch: string, msg: string) => this.handlers.get(ch)?.forEach((h) => h(msg, ch)));
    }
    let set = this.handlers.get(channel);
    if (!set) {
      set = new Set();
      this.handlers.set(channel, set);
      await this.sub.subscribe(channel);
    }
    set.add(handler);
    return async () => {
      set!.delete(handler);
      if (set!.size === 0) {
        this.handlers.delete(channel);
        await this.sub?.unsubscribe(channel).catch(() => {});
      }
    };
  }

  async putWorkerInfo(name: string, info: string): Promise<void> {
    await this.run(() => this.redis.hset(this.keys.workerInfo, name, info));
  }

  async removeWorkerInfo(name: string): Promise<void> {
    await this.run(() => this.redis.hdel(this.keys.workerInfo, name));
  }

  async listWorkerInfo(): Promise<Record<string, string>> {
    return this.run(() => this.redis.hgetall(this.keys.workerInfo));
  }

  async liveConsumers(): Promise<string[]> {
    return this.run(async () => {
      const names = await this.redis.smembers(this.keys.consumers);
      if (names.length === 0) return [];
      const alive = await this.redis.mget(...names.map((n) => this.keys.lease(n)));
      return names.filter((_, i) => alive[i] !== null);
    });
  }
}

/** kombu's Mailbox reply queues live about this long unread (REPLY_QUEUE_EXPIRES = 10 s). */
const REPLY_TTL_MS = 10_000;

/** The member `_queue_bind` adds for a reply queue: routing key, empty pattern, queue name. */
function replyBinding(oid: string): string {
  return [oid, '', replyQueueName(oid)].join(PRIORITY_SEP);
}

function triples(flat: (string | number)[], order: { queue: string }[]): Delivery[] {
  const out: Delivery[] = [];
  for (let i = 0; i < flat.length; i += 3)
    out.push({ raw: String(flat[i]), redeliveries: Number(flat[i + 1]), queue: order[Number(flat[i + 2]) - 1].queue });
  return out;
}

/** Queue and priority of a raw envelope, as kombu records them in delivery_info. */
export function routeOf(raw: string): { queue: string; priority: number } {
  try {
    const p = JSON.parse(raw).properties ?? {};
    return { queue: String(p.delivery_info?.routing_key ?? 'celery'), priority: Number(p.priority ?? 0) };
  } catch {
    return { queue: 'celery', priority: 0 };
  }
}
