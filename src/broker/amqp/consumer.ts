import type { Channel, ConsumeMessage, Message } from 'amqplib';
import type { AmqpConnection } from './connection';
import { fromAmqp, parseDeliveryTag } from './envelope';

export interface AmqpDelivery {
  raw: string;
  queue: string;
  /** RabbitMQ's flag: an earlier delivery of this message was not acked (its consumer died or gave it back). */
  redelivered: boolean;
}

/** Channels are numbered process-wide, so a delivery handle names the one channel that can ack it. */
let channelEpochs = 0;

/**
 * A worker's subscription to its task queues: one channel, `basic.consume` on each queue with
 * manual acks, and `basic.qos` applied to the whole channel (global, as Celery does on RabbitMQ ≥
 * 3.3, so raising it for a held ETA task takes effect at once). Deliveries wait in a small buffer
 * for the worker's fetch loop; the qos bounds the buffer plus everything the worker holds.
 *
 * When the channel or the connection goes, RabbitMQ requeues everything this channel held, at
 * once, for other consumers: that is the SIGKILL guarantee, with no lease to wait out. Handles
 * from the old channel are then void: acking them is skipped (the message is already back in the
 * queue, and will run again: at-least-once), and the buffer is dropped for the same reason.
 */
export class AmqpConsumer {
  private ch: Channel | undefined;
  private epoch = 0;
  private opening: Promise<Channel> | undefined;
  private wanted: string[] = [];
  private readonly consuming = new Map<string, string>();
  private buffer: AmqpDelivery[] = [];
  /** raw → AMQP delivery tag on the current channel. */
  private readonly held = new Map<string, number>();
  /** Held unacked until their eta, then delivered again to the fetch loop (Transport.defer). */
  private readonly deferred = new Map<string, { tag: number; queue: string; timer: NodeJS.Timeout }>();
  private waiter: (() => void) | undefined;
  private prefetch = 1;
  private appliedPrefetch = 0;
  private closed = false;
  private syncing: Promise<void> | undefined;
  private readonly onUp = () => void this.reopen();

  constructor(
    private readonly conn: AmqpConnection,
    /** Declares a task queue (kombu's flags) before it is consumed; runs on a channel of its own. */
    private readonly declare: (queue: string) => Promise<void>,
  ) {
    conn.on('up', this.onUp);
  }

  /** Take up to `max` deliveries, waiting up to `blockMs` for the first. */
  async take(queues: string[], max: number, blockMs: number): Promise<AmqpDelivery[]> {
    this.wanted = queues;
    await this.sync();
    if (this.buffer.length === 0 && blockMs > 0 && !this.closed) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(done, blockMs);
        function done() {
          clearTimeout(timer);
          resolve();
        }
        this.waiter = done;
      });
      this.waiter = undefined;
    }
    const out = this.buffer.splice(0, max);
    return out;
  }

  /** Wake a waiting take (shutdown). */
  interrupt(): void {
    this.waiter?.();
  }

  async setPrefetch(count: number): Promise<void> {
    this.prefetch = Math.max(1, Math.min(65_535, Math.round(count)));
    await this.applyPrefetch();
  }

  /** The qos in force: the consumer's bound plus one per deferred message (Celery's QoS.increment_eventually). */
  private get effectivePrefetch(): number {
    return Math.min(65_535, this.prefetch + this.deferred.size);
  }

  private async applyPrefetch(): Promise<void> {
    const ch = this.ch;
    const want = this.effectivePrefetch;
    if (ch && this.appliedPrefetch !== want) {
      this.appliedPrefetch = want;
      await ch.prefetch(want, true).catch(() => {});
    }
  }

  /**
   * Hold a message unacked until `dueAtMs`, then hand it to the fetch loop again; meanwhile it does
   * not count against the consumer's bound (the qos is raised by one). A crash returns it to the
   * queue like any unacked message, and whoever takes it defers it again by its eta header.
   */
  defer(raw: string, queue: string, dueAtMs: number): void {
    const tag = this.held.get(raw);
    if (tag === undefined) return; // its channel closed: RabbitMQ has requeued it already
    this.held.delete(raw);
    const epoch = this.epoch;
    const arm = (): NodeJS.Timeout =>
      setTimeout(
        () => {
          if (epoch !== this.epoch || !this.deferred.has(raw)) return;
          if (dueAtMs - Date.now() > 5) return void (this.deferred.get(raw)!.timer = arm());
          this.deferred.delete(raw);
          this.held.set(raw, tag);
          this.buffer.push({ raw, queue, redelivered: false });
          this.waiter?.();
          void this.applyPrefetch();
        },
        // setTimeout's longest delay is about 24.8 days; a later eta re-arms when it fires.
        Math.min(Math.max(0, dueAtMs - Date.now()), 2 ** 31 - 1),
      );
    this.deferred.set(raw, { tag, queue, timer: arm() });
    void this.applyPrefetch();
  }

  deferredRaws(): string[] {
    return [...this.deferred.keys()];
  }

  private dropDeferred(): void {
    for (const d of this.deferred.values()) clearTimeout(d.timer);
    this.deferred.clear();
  }

  /** Bring the channel and its basic.consume set in line with the wanted queues. */
  private sync(): Promise<void> {
    this.syncing ??= (async () => {
      try {
        const ch = await this.channel();
        for (const queue of this.wanted) {
          if (this.consuming.has(queue)) continue;
          await this.declare(queue);
          const epoch = this.epoch;
          const { consumerTag } = await ch.consume(queue, (msg) => this.onMessage(queue, epoch, msg), {
            noAck: false,
          });
          this.consuming.set(queue, consumerTag);
        }
        for (const [queue, tag] of this.consuming) {
          if (this.wanted.includes(queue)) continue;
          this.consuming.delete(queue);
          await ch.cancel(tag);
          // Deliveries of the cancelled queue still in the buffer go back to it now.
          const back = this.buffer.filter((d) => d.queue === queue);
          this.buffer = this.buffer.filter((d) => d.queue !== queue);
          for (const d of back) this.nackOne(d.raw, true);
        }
      } finally {
        this.syncing = undefined;
      }
    })();
    return this.syncing;
  }

  private channel(): Promise<Channel> {
    if (this.ch) return Promise.resolve(this.ch);
    this.opening ??= (async () => {
      try {
        const ch = await this.conn.ownChannel();
        const epoch = ++channelEpochs;
        ch.on('close', () => this.lost(epoch));
        await ch.prefetch(this.effectivePrefetch, true);
        this.appliedPrefetch = this.effectivePrefetch;
        this.epoch = epoch;
        this.ch = ch;
        return ch;
      } finally {
        this.opening = undefined;
      }
    })();
    return this.opening;
  }

  private lost(epoch: number): void {
    if (epoch !== this.epoch) return;
    this.ch = undefined;
    this.consuming.clear();
    this.buffer = [];
    this.held.clear();
    this.dropDeferred();
  }

  /** A new connection: consume again (declaring the queues again, which a restart may have lost). */
  private async reopen(): Promise<void> {
    if (this.closed || this.wanted.length === 0) return;
    await this.sync().catch(() => {}); // the fetch loop retries and reports
    this.waiter?.();
  }

  private onMessage(queue: string, epoch: number, msg: ConsumeMessage | null): void {
    if (epoch !== this.epoch) return;
    if (msg === null) {
      // Cancelled by the server (the queue was deleted): consume again on the next fetch.
      this.consuming.delete(queue);
      return;
    }
    const raw = fromAmqp(msg, `${epoch}.${msg.fields.deliveryTag}`);
    this.held.set(raw, msg.fields.deliveryTag);
    this.buffer.push({ raw, queue, redelivered: msg.fields.redelivered });
    this.waiter?.();
  }

  /** The AMQP tag of a held delivery, or undefined when its channel is gone (the broker requeued it). */
  private tagOf(raw: string, deliveryTag?: string): number | undefined {
    const tag = this.held.get(raw);
    if (tag !== undefined) return tag;
    const deferred = this.deferred.get(raw);
    if (deferred) {
      // Let go of a deferred message (a revoke, shutdown): it stops counting against the qos.
      clearTimeout(deferred.timer);
      this.deferred.delete(raw);
      void this.applyPrefetch();
      return deferred.tag;
    }
    const parsed = parseDeliveryTag(deliveryTag);
    return parsed && parsed.generation === this.epoch ? parsed.tag : undefined;
  }

  ack(raw: string, deliveryTag?: string): void {
    const tag = this.tagOf(raw, deliveryTag);
    this.held.delete(raw);
    if (tag === undefined || !this.ch) return;
    try {
      this.ch.ack({ fields: { deliveryTag: tag } } as Message);
    } catch {
      // The channel closed under us: RabbitMQ has requeued the message.
    }
  }

  nackOne(raw: string, requeue: boolean): void {
    const tag = this.tagOf(raw);
    this.held.delete(raw);
    if (tag === undefined || !this.ch) return;
    try {
      this.ch.nack({ fields: { deliveryTag: tag } } as Message, false, requeue);
    } catch {
      // As above: already requeued.
    }
  }

  /** The worker rewrote a held message (its delivery_info): the same delivery under a new raw string. False if not held. */
  replace(oldRaw: string, newRaw: string): boolean {
    const tag = this.held.get(oldRaw);
    if (tag === undefined) return false;
    this.held.delete(oldRaw);
    this.held.set(newRaw, tag);
    return true;
  }

  heldRaws(): string[] {
    const buffered = new Set(this.buffer.map((d) => d.raw));
    return [...this.held.keys()].filter((raw) => !buffered.has(raw));
  }

  async close(): Promise<void> {
    this.closed = true;
    this.conn.off('up', this.onUp);
    this.waiter?.();
    const ch = this.ch;
    this.ch = undefined;
    this.epoch = -1;
    this.dropDeferred();
    // Closing the channel hands every unacked delivery back to the queue.
    if (ch) await ch.close().catch(() => {});
  }
}
