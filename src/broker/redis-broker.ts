import type Redis from 'ioredis';
import type {
  Broker,
  ConsumerLeases,
  DeadLetter,
  DelayedStore,
  Delivery,
  HeldMessage,
  OutgoingMessage,
  QueueAdmin,
} from './broker';
import { FanOutDelegate } from './delegate';
import { PRIORITY_SEP, type Keys } from './keys';
import { routeOf } from './message';
import { RedisLink } from './redis-connection';
import { HeldHandles, IN_LIST } from './redis-held';
import { RedisMailbox, RedisNotifier } from './redis-pubsub';
import { RedisQueueAdmin } from './redis-queue-admin';
import { queueScript, runScript } from './redis-scripts';
import type { ChainableCommander } from 'ioredis';
import type { RedisAddress } from './url';

/**
 * kombu's Redis layout for the queues themselves (LPUSH to produce, pop from the right to consume,
 * `\x06\x16<p>` priority buckets), plus Celeriac's own keys for what kombu gets wrong: an atomic
 * claim into a per-consumer held hash keyed by delivery tag (kombu's `unacked` is one hash for
 * every consumer, claimed after the pop), a renewed lease instead of a one-hour visibility
 * timeout, and delayed messages in a sorted set instead of worker memory. Pub/sub and
 * remote-control replies are in ./redis-pubsub.ts; connections and scripts in
 * ./redis-connection.ts and ./redis-scripts.ts.
 */
export class RedisBroker extends FanOutDelegate implements Broker, ConsumerLeases, DelayedStore {
  readonly kind: 'redis' | 'sentinel';
  readonly description: string;
  readonly keys: Keys;
  readonly leases: ConsumerLeases = this;
  readonly delayed: DelayedStore = this;
  readonly queueAdmin: QueueAdmin;
  private readonly link: RedisLink;
  protected readonly notifier: RedisNotifier;
  protected readonly mailbox: RedisMailbox;
  private readonly blocking = new Map<string, Redis>();
  private readonly handles = new HeldHandles();

  constructor(address: RedisAddress, keyPrefix: string) {
    super();
    this.link = new RedisLink(address, keyPrefix);
    this.kind = address.transport;
    this.description = address.description;
    this.keys = this.link.keys;
    this.notifier = new RedisNotifier(this.link);
    this.mailbox = new RedisMailbox(this.link);
    this.queueAdmin = new RedisQueueAdmin(
      () => this.link.redis,
      this.keys,
      (fn) => this.run(fn),
    );
  }

  connect(): Promise<void> {
    return this.link.connect();
  }

  /** The shared command connection (tests and diagnostics read keys through it). */
  get redis(): Redis {
    return this.link.redis;
  }

  get wakeChannel(): string {
    return this.keys.delayedChannel;
  }

  private run<T>(fn: () => Promise<T>): Promise<T> {
    return this.link.run(fn);
  }

  async close(): Promise<void> {
    for (const conn of this.blocking.values()) conn.disconnect();
    this.blocking.clear();
    this.mailbox.close();
    this.notifier.close();
    await this.link.close();
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
    await this.link.replicated();
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
    this.handles.forget(consumer);
  }

  async fetch(consumer: string, queues: string[], max: number, blockMs: number): Promise<Delivery[]> {
    const order = this.keys.consumeOrderWithQueues(queues);
    const keys = [this.keys.held(consumer), this.keys.redeliveries, ...order.map((o) => o.key)];
    const first = await this.run(() => runScript<(string | number)[]>(this.redis, 'fetch', keys, [max]));
    if (first.length > 0 || blockMs <= 0) return this.held(consumer, first, order);
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
      throw this.link.unavailable(err);
    }
    if (moved === null) return [];
    this.handles.put(consumer, moved, IN_LIST);
    return [{ raw: moved, redeliveries: 0, queue }];
  }

  /**
   * The fetch script's reply (lua/fetch-n.lua: whether redeliveries are counted, then per key its
   * index and count, each message's raw and handle, and its redeliveries when counted) as
   * deliveries, their handles noted.
   */
  private held(consumer: string, flat: (string | number)[], order: { queue: string }[]): Delivery[] {
    const out: Delivery[] = [];
    const counted = Number(flat[0]) === 1;
    const step = counted ? 3 : 2;
    let i = 1;
    while (i < flat.length) {
      const queue = order[Number(flat[i]) - 1].queue;
      const end = i + 2 + Number(flat[i + 1]) * step;
      for (i += 2; i < end; i += step) {
        const raw = String(flat[i]);
        this.handles.put(consumer, raw, String(flat[i + 1]));
        out.push({ raw, redeliveries: counted ? Number(flat[i + 2]) : 0, queue });
      }
    }
    return out;
  }

  /**
   * Queues the command letting go of a held message on `tx`: HDEL by handle, LREM for one a
   * blocking fetch moved, the release script for one this connection has no handle for.
   * Returns the handle taken, to put back with `keep` if the command fails.
   */
  private letGo(tx: ChainableCommander, consumer: string, raw: string): string | undefined {
    const handle = this.handles.take(consumer, raw);
    if (handle === undefined || handle === IN_LIST) this.byValue(tx, consumer, raw, handle);
    else tx.hdel(this.keys.held(consumer), handle);
    return handle;
  }

  private byValue(tx: ChainableCommander, consumer: string, raw: string, handle: typeof IN_LIST | undefined): void {
    // Count -1: search from the tail, where the oldest (first-fetched) messages sit.
    if (handle === IN_LIST) tx.lrem(this.keys.processing(consumer), -1, raw);
    else queueScript(tx, 'release', [this.keys.processing(consumer), this.keys.held(consumer)], [raw]);
  }

  /** A command that let go failed: the message may still be held, and a retry needs its handle. */
  private keep(consumer: string, raw: string, handle: string | undefined): void {
    if (handle !== undefined) this.handles.put(consumer, raw, handle);
  }

  private blockingConnection(consumer: string): Redis {
    let conn = this.blocking.get(consumer);
    if (!conn) this.blocking.set(consumer, (conn = this.link.open('blocking')));
    return conn;
  }

  interruptFetch(consumer: string): void {
    const conn = this.blocking.get(consumer);
    this.blocking.delete(consumer);
    conn?.disconnect();
  }

  async ack(consumer: string, deliveries: HeldMessage[]): Promise<void> {
    if (deliveries.length === 0) return;
    const taken = deliveries.map((d) => this.handles.take(consumer, d.raw, d.deliveryTag));
    try {
      await this.run(async () => {
        // The common batch is one HDEL of tags, sent as a plain command (a pipeline costs its own
        // objects and promises); messages a blocking fetch moved, or that this connection has no
        // handle for, go by value beside it.
        const tags: string[] = [];
        const counted: string[] = [];
        let byValue = false;
        deliveries.forEach((d, i) => {
          const handle = taken[i];
          if (handle !== undefined && handle !== IN_LIST) tags.push(handle);
          else byValue = true;
          if (d.redeliveries && d.deliveryTag) counted.push(d.deliveryTag);
        });
        if (!byValue && counted.length === 0) {
          await this.redis.hdel(this.keys.held(consumer), ...tags);
          return;
        }
        const pipe = this.redis.pipeline();
        deliveries.forEach((d, i) => {
          const handle = taken[i];
          if (handle === undefined || handle === IN_LIST) this.byValue(pipe, consumer, d.raw, handle);
        });
        if (tags.length > 0) pipe.hdel(this.keys.held(consumer), ...tags);
        if (counted.length > 0) pipe.hdel(this.keys.redeliveries, ...counted);
        // A pipeline resolves even when its commands failed (Redis went away): an ack taken as
        // sent left its message held, where the stray check gave it back to run again.
        const failed = (await pipe.exec())?.find(([err]) => err);
        if (failed) throw failed[0];
      });
    } catch (err) {
      deliveries.forEach((d, i) => this.keep(consumer, d.raw, taken[i]));
      throw err;
    }
  }

  async ackAndSend(consumer: string, raw: string, next: OutgoingMessage[]): Promise<void> {
    await this.lettingGo(consumer, [raw], (tx) => {
      const now = Date.now();
      for (const m of next) {
        if (m.dueAtMs !== undefined && m.dueAtMs > now) {
          tx.zadd(this.keys.delayed, m.dueAtMs, m.raw);
          tx.publish(this.keys.delayedChannel, String(m.dueAtMs));
        } else tx.lpush(this.keys.queue(m.queue, m.priority), m.raw);
      }
    });
  }

  /** One MULTI that lets go of `raws` and does `then`'s writes: never the one without the other. */
  private async lettingGo(consumer: string, raws: string[], then: (tx: ChainableCommander) => void): Promise<void> {
    const taken: (string | undefined)[] = [];
    try {
      await this.run(async () => {
        const tx = this.redis.multi();
        for (const raw of raws) taken.push(this.letGo(tx, consumer, raw));
        then(tx);
        await tx.exec();
      });
    } catch (err) {
      raws.forEach((raw, i) => this.keep(consumer, raw, taken[i]));
      throw err;
    }
  }

  async defer(consumer: string, raw: string, message: OutgoingMessage & { dueAtMs: number }): Promise<void> {
    await this.ackAndSend(consumer, raw, [message]);
  }

  async sendOnce(batchId: string, messages: OutgoingMessage[], markerTtlMs: number): Promise<boolean> {
    if (messages.length === 0) return false;
    const keys = [this.keys.sentMarker(batchId), ...messages.map((m) => this.keys.queue(m.queue, m.priority))];
    const args = [Math.max(1, Math.round(markerTtlMs)), ...messages.map((m) => m.raw)];
    const sent = (await this.run(() => runScript<number>(this.redis, 'send-once', keys, args))) > 0;
    if (sent) await this.link.replicated();
    return sent;
  }

  async chordJoin(
    groupId: string,
    memberId: string,
    failed: boolean,
    ttlMs: number,
  ): Promise<{ finished: number; failed: number }> {
    const [finished, failedCount] = await this.run(() =>
      runScript<[number, number]>(
        this.redis,
        'chord-join',
        [this.keys.chord(groupId, 'done'), this.keys.chord(groupId, 'failed')],
        [memberId, failed ? '1' : '0', ttlMs],
      ),
    );
    return { finished, failed: failedCount };
  }

  async chordFire(groupId: string, messages: OutgoingMessage[], ttlMs: number): Promise<boolean> {
    const now = Date.now();
    const due = messages.map((m) => (m.dueAtMs !== undefined && m.dueAtMs > now ? String(m.dueAtMs) : ''));
    const keys = messages.map((m, i) => (due[i] ? this.keys.delayed : this.keys.queue(m.queue, m.priority)));
    const args = messages.flatMap((m, i) => [due[i], m.raw]);
    return (
      (await this.run(() =>
        runScript<number>(
          this.redis,
          'chord-fire',
          [this.keys.chord(groupId, 'fired'), this.keys.delayed, ...keys],
          [ttlMs, this.keys.delayedChannel, ...args],
        ),
      )) === 1
    );
  }

  async replaceHeld(consumer: string, oldRaw: string, newRaw: string): Promise<void> {
    const handle = this.handles.take(consumer, oldRaw);
    try {
      const now = await this.run(() =>
        runScript<string>(
          this.redis,
          'replace-held',
          [this.keys.processing(consumer), this.keys.held(consumer)],
          [oldRaw, newRaw, handle ?? ''],
        ),
      );
      this.handles.put(consumer, newRaw, now);
    } catch (err) {
      this.keep(consumer, oldRaw, handle);
      throw err;
    }
  }

  async heldBy(consumer: string): Promise<string[]> {
    return this.run(async () => {
      const [listed, hashed] = await Promise.all([
        this.redis.lrange(this.keys.processing(consumer), 0, -1),
        this.redis.hvals(this.keys.held(consumer)),
      ]);
      return [...listed, ...hashed];
    });
  }

  async requeue(consumer: string, raws: string[]): Promise<void> {
    if (raws.length === 0) return;
    await this.lettingGo(consumer, raws, (tx) => {
      for (const raw of raws) {
        const { queue, priority } = routeOf(raw);
        tx.rpush(this.keys.queue(queue, priority), raw);
      }
    });
  }

  async deadLetter(consumer: string, raw: string, reason: string): Promise<void> {
    const entry: DeadLetter = { reason, raw, consumer, at: new Date().toISOString() };
    await this.lettingGo(consumer, [raw], (tx) => tx.lpush(this.keys.deadLetter, JSON.stringify(entry)));
  }

  async listDeadLetters(limit: number): Promise<DeadLetter[]> {
    const items = await this.run(() => this.redis.lrange(this.keys.deadLetter, 0, limit - 1));
    return items.map((s) => JSON.parse(s) as DeadLetter);
  }

  async promoteDue(nowMs: number, limit: number): Promise<{ moved: number; nextDueMs: number | null }> {
    const [moved, next] = await this.run(() =>
      runScript<[number, number]>(
        this.redis,
        'promote',
        [this.keys.delayed],
        [nowMs, limit, this.keys.prefix, PRIORITY_SEP],
      ),
    );
    return { moved, nextDueMs: next < 0 ? null : next };
  }

  async recoverLapsed(self?: { consumer: string; leaseMs: number }): Promise<number> {
    const args = self ? [self.consumer, String(self.leaseMs), String(Date.now())] : [''];
    return this.run(() =>
      runScript<number>(
        this.redis,
        'recover',
        [this.keys.consumers, this.keys.redeliveries, this.keys.legacyConsumers],
        [this.keys.prefix, ...args],
      ),
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

  async putWorkerInfo(name: string, info: string): Promise<void> {
    await this.run(() => this.redis.hset(this.keys.workerInfo, name, info));
  }

  async removeWorkerInfo(name: string): Promise<void> {
    await this.run(() => this.redis.hdel(this.keys.workerInfo, name));
  }

  async listWorkerInfo(): Promise<Record<string, string>> {
    return this.run(() => this.redis.hgetall(this.keys.workerInfo));
  }
}
