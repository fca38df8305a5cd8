import type { Channel, ConsumeMessage } from 'amqplib';
import type { AmqpConnection } from './connection';
import { fromAmqp } from './envelope';

interface Entry {
  /** Declares the queue (and its binding) on a channel; returns its name. */
  declare: (ch: Channel) => Promise<string>;
  /** Pushes each message to a handler; without one, messages wait for pop(). */
  handler?: (msg: ConsumeMessage) => void;
  queue?: string;
  tag?: string;
  buffer: string[];
  waiter?: () => void;
}

/**
 * Transient subscriptions: event monitors, a worker's pidbox queue, remote-control reply queues,
 * and result notices. They are consumed without acks (the messages are advisory, as Celery's are)
 * on one shared channel, and declared and consumed again after a reconnect, since their queues
 * are exclusive or auto-deleted and vanish with the old connection.
 */
export class AmqpSubscriptions {
  private readonly entries = new Map<string, Entry>();
  private readonly onUp = () => void this.restore();
  private readonly watched = new WeakSet<Channel>();

  constructor(private readonly conn: AmqpConnection) {
    conn.on('up', this.onUp);
  }

  async consumeQueue(
    id: string,
    declare: (ch: Channel) => Promise<string>,
    handler?: (msg: ConsumeMessage) => void,
  ): Promise<void> {
    const entry: Entry = { declare, handler, buffer: [] };
    this.entries.set(id, entry);
    try {
      await this.start(entry);
    } catch (err) {
      this.entries.delete(id);
      throw this.conn.unavailable(err);
    }
  }

  private async start(entry: Entry): Promise<void> {
    const ch = await this.conn.channel('subs', 0);
    if (!this.watched.has(ch)) {
      this.watched.add(ch);
      // A channel can close while its connection lives (a refused declaration): consume again on a new one.
      ch.once('close', () => setImmediate(() => this.conn.isUp && void this.restore()));
    }
    entry.queue = await entry.declare(ch);
    const { consumerTag } = await ch.consume(
      entry.queue,
      (msg) => {
        if (!msg) return; // cancelled by the server (queue deleted); restored on reconnect
        if (entry.handler) entry.handler(msg);
        else {
          entry.buffer.push(fromAmqp(msg, ''));
          entry.waiter?.();
        }
      },
      { noAck: true },
    );
    entry.tag = consumerTag;
  }

  private async restore(): Promise<void> {
    for (const entry of this.entries.values()) await this.start(entry).catch(() => {});
  }

  async pop(id: string, timeoutMs: number): Promise<string | null> {
    const entry = this.entries.get(id);
    if (!entry) return null;
    if (entry.buffer.length === 0 && timeoutMs > 0) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(done, timeoutMs);
        function done() {
          clearTimeout(timer);
          resolve();
        }
        entry.waiter = done;
      });
      entry.waiter = undefined;
    }
    return entry.buffer.shift() ?? null;
  }

  async cancel(id: string, deleteQueue: boolean): Promise<void> {
    const entry = this.entries.get(id);
    if (!entry) return;
    this.entries.delete(id);
    entry.waiter?.();
    if (!this.conn.isUp) return;
    const ch = await this.conn.channel('subs', 0).catch(() => undefined);
    if (!ch) return;
    if (entry.tag) await ch.cancel(entry.tag).catch(() => {});
    if (deleteQueue && entry.queue) await ch.deleteQueue(entry.queue).catch(() => {});
  }

  async close(): Promise<void> {
    this.conn.off('up', this.onUp);
    for (const entry of this.entries.values()) entry.waiter?.();
    this.entries.clear();
  }
}
