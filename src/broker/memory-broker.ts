import type { Broker, DeadLetter, DelayedStore, Delivery, OutgoingMessage, QueueAdmin, QueuedMessage } from './broker';
import { MessageNotHeldError } from '../errors';
import { FanOutDelegate } from './delegate';
import { Keys } from './keys';
import { routeOf } from './message';
import { MemoryMailbox, MemoryNotifier } from './memory-pubsub';
import { describeQueued, queuedId, QueueTally } from './queued';

/**
 * memory:// — the Redis broker's semantics in one process, for tests and the embedded demo.
 * Lists keep Redis's orientation (produce on the left, consume from the right) so ordering and
 * priority behave identically. There are no leases (ConsumerLeases): a consumer cannot die
 * without its process, nor lose a fetch's reply.
 */
export class MemoryBroker extends FanOutDelegate implements Broker, DelayedStore {
  readonly kind = 'memory';
  readonly description = 'memory://';
  readonly keys: Keys;
  readonly delayed: DelayedStore = this;
  protected readonly notifier: MemoryNotifier;
  protected readonly mailbox = new MemoryMailbox();
  private readonly lists = new Map<string, string[]>();
  private readonly processing = new Map<string, string[]>();
  private readonly dead: DeadLetter[] = [];
  private readonly revoked = new Map<string, number>();
  private readonly workers = new Map<string, string>();
  private readonly consumers = new Set<string>();
  private readonly wakers = new Map<string, () => void>();
  /** Beat's sent markers: batch id → expiry. */
  private readonly sentMarkers = new Map<string, number>();
  private readonly delayedList: { dueAtMs: number; raw: string }[] = [];

  constructor(keyPrefix = '') {
    super();
    this.keys = new Keys(keyPrefix, 0);
    this.notifier = new MemoryNotifier(this.keys);
  }

  get wakeChannel(): string {
    return this.keys.delayedChannel;
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
    this.delayedList.push({ dueAtMs, raw });
    this.delayedList.sort((a, b) => a.dueAtMs - b.dueAtMs);
    void this.notifier.publish(this.keys.delayedChannel, String(dueAtMs));
  }

  async registerConsumer(consumer: string): Promise<void> {
    this.consumers.add(consumer);
    if (!this.processing.has(consumer)) this.processing.set(consumer, []);
  }
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

  async defer(consumer: string, raw: string, message: OutgoingMessage & { dueAtMs: number }): Promise<void> {
    await this.ackAndSend(consumer, raw, [message]);
  }

  /** One process, so a beat cannot die between sending and recording without taking the broker with it; the markers still make a re-send by a second in-process beat a no-op. */
  async sendOnce(batchId: string, messages: OutgoingMessage[], markerTtlMs: number): Promise<boolean> {
    if (messages.length === 0) return false;
    const now = Date.now();
    for (const [id, until] of this.sentMarkers) if (until <= now) this.sentMarkers.delete(id);
    if (this.sentMarkers.has(batchId)) return false;
    this.sentMarkers.set(batchId, now + markerTtlMs);
    await this.send(messages.map(({ dueAtMs: _, ...m }) => m));
    return true;
  }

  private readonly chords = new Map<string, { done: Set<string>; failed: Set<string>; fired: boolean }>();

  async chordJoin(groupId: string, memberId: string, failed: boolean): Promise<{ finished: number; failed: number }> {
    let c = this.chords.get(groupId);
    if (!c) this.chords.set(groupId, (c = { done: new Set(), failed: new Set(), fired: false }));
    c.done.add(memberId);
    if (failed) c.failed.add(memberId);
    return { finished: c.done.size, failed: c.failed.size };
  }

  async chordFire(groupId: string, messages: OutgoingMessage[]): Promise<boolean> {
    const c = this.chords.get(groupId);
    if (!c || c.fired) return false;
    c.fired = true;
    await this.send(messages);
    return true;
  }

  async replaceHeld(consumer: string, oldRaw: string, newRaw: string): Promise<void> {
    const held = this.processing.get(consumer);
    const i = held?.lastIndexOf(oldRaw) ?? -1;
    if (!held || i < 0)
      throw new MessageNotHeldError(
        `could not rewrite a message: consumer ${consumer} no longer holds it; nothing was changed`,
      );
    held[i] = newRaw;
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
    while (this.delayedList.length > 0 && this.delayedList[0].dueAtMs <= nowMs && moved < limit) {
      const { raw } = this.delayedList.shift()!;
      const { queue, priority } = routeOf(raw);
      this.list(this.keys.queue(queue, priority)).unshift(raw);
      moved++;
    }
    if (moved > 0) for (const wake of this.wakers.values()) wake();
    return { moved, nextDueMs: this.delayedList[0]?.dueAtMs ?? null };
  }

  async queueLength(queue: string): Promise<number> {
    return this.keys.consumeOrder([queue]).reduce((n, key) => n + (this.lists.get(key)?.length ?? 0), 0);
  }

  async delayedCount(): Promise<number> {
    return this.delayedList.length;
  }

  /** Queue management with Redis's semantics (redis-queue-admin.ts), on the arrays. */
  readonly queueAdmin: QueueAdmin = {
    counts: async (queues) => {
      const tally = new QueueTally(queues, 0, 0, null);
      const revoked = new Set(await this.listRevoked(Date.now()));
      let delayed = 0;
      for (const d of this.delayedList) {
        const m = describeQueued(d.raw, 'delayed');
        if (revoked.has(m.id)) continue;
        tally.row(m.queue).delayed!++;
        delayed++;
      }
      for (const d of this.dead) tally.row(routeOf(d.raw).queue).deadLettered++;
      for (const held of this.processing.values()) for (const raw of held) tally.row(routeOf(raw).queue).unacked!++;
      for (const q of tally.names) tally.row(q).ready = await this.queueLength(q);
      return { queues: tally.list(), delayed, deadLettered: this.dead.length };
    },
    purge: async (queue) => {
      let n = 0;
      for (const key of this.keys.consumeOrder([queue])) {
        n += this.lists.get(key)?.length ?? 0;
        this.lists.delete(key);
      }
      return n;
    },
    peek: async (queue, limit, only) => {
      const out: QueuedMessage[] = [];
      for (const key of only === 'delayed' ? [] : this.keys.consumeOrder([queue]))
        for (const raw of [...(this.lists.get(key) ?? [])].reverse()) out.push(describeQueued(raw, 'ready'));
      for (const d of only === 'ready' ? [] : this.delayedList)
        if (routeOf(d.raw).queue === queue) out.push(describeQueued(d.raw, 'delayed', d.dueAtMs));
      return out.slice(0, limit);
    },
    deleteMessage: async (queue, taskId) => {
      if (!taskId) return null;
      for (const key of this.keys.consumeOrder([queue])) {
        const l = this.lists.get(key) ?? [];
        const i = l.findIndex((raw) => queuedId(raw) === taskId);
        if (i >= 0) return (void l.splice(i, 1), 'ready');
      }
      const i = this.delayedList.findIndex((d) => queuedId(d.raw) === taskId && routeOf(d.raw).queue === queue);
      if (i >= 0) return (void this.delayedList.splice(i, 1), 'delayed');
      return null;
    },
    requeueDeadLetter: async (taskId) => {
      const i = taskId ? this.dead.findIndex((d) => queuedId(d.raw) === taskId) : -1;
      if (i < 0) return false;
      const [entry] = this.dead.splice(i, 1);
      await this.send([{ ...routeOf(entry.raw), raw: entry.raw }]);
      return true;
    },
    deleteDeadLetter: async (taskId) => {
      const i = taskId ? this.dead.findIndex((d) => queuedId(d.raw) === taskId) : -1;
      if (i >= 0) this.dead.splice(i, 1);
      return i >= 0;
    },
  };

  async addRevoked(ids: string[], untilMs: number): Promise<void> {
    for (const id of ids) this.revoked.set(id, untilMs);
  }

  async listRevoked(nowMs: number): Promise<string[]> {
    return [...this.revoked].filter(([, until]) => until >= nowMs).map(([id]) => id);
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
}
