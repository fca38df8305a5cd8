import { EventEmitter } from 'node:events';
import type { Broker, DeadLetter, Delivery, OutgoingMessage } from './broker';
import { Keys } from './keys';
import { routeOf } from './redis-broker';

/**
 * memory:// — the Redis broker's semantics in one process, for tests and the embedded demo.
 * Lists keep Redis's orientation (produce on the left, consume from the right) so ordering and
 * priority behave identically. There are no leases: a consumer cannot die without its process.
 */
export class MemoryBroker implements Broker {
  readonly kind = 'memory';
  readonly description = 'memory://';
  readonly keys: Keys;
  private readonly lists = new Map<string, string[]>();
  private readonly processing = new Map<string, string[]>();
  private delayed: { dueAtMs: number; raw: string }[] = [];
  private readonly dead: DeadLetter[] = [];
  private readonly revoked = new Map<string, number>();
  private readonly workers = new Map<string, string>();
  private readonly consumers = new Set<string>();
  private readonly bus = new EventEmitter().setMaxListeners(0);
  private readonly wakers = new Map<string, () => void>();
  /** Reply queues by oid (the binding and the list in one: memory:// has one exchange of replies). */
  private readonly replies = new Map<string, { items: string[]; waiter: (() => void) | undefined }>();

  constructor(keyPrefix = '') {
    this.keys = new Keys(keyPrefix, 0);
  }

  async connect(): Promise<void> {}
  async close(): Promise<void> {
    for (const wake of this.wakers.values()) wake();
    this.wakers.clear();
  }

  private list(key: string): string[] {
    let l = this.lists.get(key);
    if (!l) this.lists.set(key, (l = []));
    return l;
  }

  async send(messages: OutgoingMessage[]): Promise<void> {
    const now = Date.now();
    for (const m of messages) {
      if (m.dueAtMs !== undefined && m.dueAtMs > now) this.addDelayed(m.dueAtMs, m.raw);
      else this.list(this.keys.queue(m.queue, m.priority)).unshift(m.raw);
    }
    for (const wake of this.wakers.values()) wake();
  }

  private addDelayed(dueAtMs: number, raw: string): void {
    this.delayed.push({ dueAtMs, raw });
    this.delayed.sort((a, b) => a.dueAtMs - b.dueAtMs);
    this.bus.emit(this.keys.delayedChannel, String(dueAtMs), this.keys.delayedChannel);
  }

  async registerConsumer(consumer: string): Promise<void> {
    this.consumers.add(consumer);
    if (!this.processing.has(consumer)) this.processing.set(consumer, []);
  }
  async renewLease(): Promise<void> {}
  async unregisterConsumer(consumer: string): Promise<void> {
    // Like Redis: whatever the consumer still holds goes back, never away.
    await this.requeue(consumer, [...(this.processing.get(consumer) ?? [])].reverse());
    this.consumers.delete(consumer);
    this.processing.delete(consumer);
  }

  async fetch(consumer: string, queues: string[], max: number, blockMs: number): Promise<Delivery[]> {
    const take = (): Delivery[] => {
      const out: Delivery[] = [];
      const held = this.processing.get(consumer) ?? [];
      this.processing.set(consumer, held);
      for (const { key, queue } of this.keys.consumeOrderWithQueues(queues)) {
        const l = this.lists.get(key);
        while (l && l.length > 0 && out.length < max) {
          const raw = l.pop()!;
          held.unshift(raw);
          out.push({ raw, redeliveries: 0, queue });
        }
      }
      return out;
    };
    const now = take();
    if (now.length > 0 || blockMs <= 0) return now;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(done, blockMs);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.wakers.set(consumer, () => {
        this.wakers.delete(consumer);
        done();
      });
    });
    return take();
  }

  interruptFetch(consumer: string): void {
    this.wakers.get(consumer)?.();
  }

  async ack(consumer: string, deliveries: { raw: string }[]): Promise<void> {
    const held = this.processing.get(consumer);
    if (!held) return;
    for (const d of deliveries) {
      const i = held.lastIndexOf(d.raw);
      if (i >= 0) held.splice(i, 1);
    }
  }

  async ackAndSend(consumer: string, raw: string, next: OutgoingMessage[]): Promise<void> {
    await this.ack(consumer, [{ raw }]);
    await this.send(next);
  }

  private readonly chords = new Map<string, { done: Set<string>; failed: Set<string>; fired: boolean }>();

  async chordJoin(groupId: string, memberId: string, failed: boolean): Promise<{ finished: number; failed: number }> {
    let c = this.chords.get(groupId);
    if (!c) this.chords.set(groupId, (c = { done: new Set(), failed: new Set(), fired: false }));
    c.done.add(memberId);
    if (failed) c.failed.add(memberId);
    return { finished: c.done.size, failed: c.failed.size };
  }

  async chordFire(groupId: string, callback: OutgoingMessage | null): Promise<boolean> {
    const c = this.chords.get(groupId);
    if (!c || c.fired) return false;
    c.fired = true;
    if (callback) await this.send([callback]);
    return true;
  }

  async replaceHeld(consumer: string, oldRaw: string, newRaw: string): Promise<void> {
    const held = this.processing.get(consumer);
    const i = held?.lastIndexOf(oldRaw) ?? -1;
    if (held && i >= 0) held[i] = newRaw;
  }

  async heldBy(consumer: string): Promise<string[]> {
    return [...(this.processing.get(consumer) ?? [])];
  }

  async requeue(consumer: string, raws: string[]): Promise<void> {
    await this.ack(
      consumer,
      raws.map((raw) => ({ raw })),
    );
    for (const raw of raws) {
      const { queue, priority } = routeOf(raw);
      this.list(this.keys.queue(queue, priority)).push(raw);
    }
    for (const wake of this.wakers.values()) wake();
  }

  async deadLetter(consumer: string, raw: string, reason: string): Promise<void> {
    await this.ack(consumer, [{ raw }]);
    this.dead.unshift({ reason, raw, consumer, at: new Date().toISOString() });
  }

  async listDeadLetters(limit: number): Promise<DeadLetter[]> {
    return this.dead.slice(0, limit);
  }

  async promoteDue(nowMs: number, limit: number): Promise<{ moved: number; nextDueMs: number | null }> {
    let moved = 0;
    while (this.delayed.length > 0 && this.delayed[0].dueAtMs <= nowMs && moved < limit) {
      const { raw } = this.delayed.shift()!;
      const { queue, priority } = routeOf(raw);
      this.list(this.keys.queue(queue, priority)).unshift(raw);
      moved++;
    }
    if (moved > 0) for (const wake of this.wakers.values()) wake();
    return { moved, nextDueMs: this.delayed[0]?.dueAtMs ?? null };
  }

  async recoverLapsed(): Promise<number> {
    return 0;
  }

  async queueLength(queue: string): Promise<number> {
    return this.keys.consumeOrder([queue]).reduce((n, key) => n + (this.lists.get(key)?.length ?? 0), 0);
  }

  async delayedCount(): Promise<number> {
    return this.delayed.length;
  }

  async addRevoked(ids: string[], untilMs: number): Promise<void> {
    for (const id of ids) this.revoked.set(id, untilMs);
  }

  async listRevoked(nowMs: number): Promise<string[]> {
    return [...this.revoked].filter(([, until]) => until >= nowMs).map(([id]) => id);
  }

  async bindReplyQueue(oid: string): Promise<void> {
    if (!this.replies.has(oid)) this.replies.set(oid, { items: [], waiter: undefined });
  }

  async pushReply(_exchange: string, routingKey: string, raw: string): Promise<number> {
    const queue = this.replies.get(routingKey);
    if (!queue) return 0;
    queue.items.unshift(raw);
    queue.waiter?.();
    return 1;
  }

  async popReply(oid: string, timeoutMs: number): Promise<string | null> {
    const queue = this.replies.get(oid);
    if (!queue) return null;
    if (queue.items.length === 0 && timeoutMs > 0) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(done, timeoutMs);
        function done() {
          clearTimeout(timer);
          queue!.waiter = undefined;
          resolve();
        }
        queue.waiter = done;
      });
    }
    return queue.items.pop() ?? null;
  }

  async unbindReplyQueue(oid: string): Promise<void> {
    this.replies.get(oid)?.waiter?.();
    this.replies.delete(oid);
  }

  async publish(channel: string, message: string): Promise<number> {
    const receivers = this.bus.listenerCount(channel);
    this.bus.emit(channel, message, channel);
    return receivers;
  }

  async subscriberCount(channel: string): Promise<number> {
    return this.bus.listenerCount(channel);
  }

  async subscribe(channel: string, handler: (message: string, channel: string) => void): Promise<() => Promise<void>> {
    this.bus.on(channel, handler);
    return async () => {
      this.bus.off(channel, handler);
    };
  }

  async putWorkerInfo(name: string, info: string): Promise<void> {
    this.workers.set(name, info);
  }
  async removeWorkerInfo(name: string): Promise<void> {
    this.workers.delete(name);
  }
  async listWorkerInfo(): Promise<Record<string, string>> {
    return Object.fromEntries(this.workers);
  }
  async liveConsumers(): Promise<string[]> {
    return [...this.consumers];
  }
}
