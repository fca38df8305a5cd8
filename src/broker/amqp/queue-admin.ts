import type { Channel, GetMessage } from 'amqplib';
import { SCAN_LIMIT, type DeadLetter, type QueueAdmin, type QueueCounts, type QueuedMessage } from '../broker';
import { describeQueued, queuedId, QueueTally } from '../queued';
import type { AmqpConnection } from './connection';
import { fromAmqp } from './envelope';
import { DEAD_LETTER_QUEUE, declareDeadLetterQueue } from './topology';

/** Dead letters read to split their count by queue (each is one basic.get round trip). */
const DEAD_SPLIT_LIMIT = 1000;

/**
 * Queue management on RabbitMQ. Counts come from queue.declare(passive): ready messages and
 * consumers; unacked ones only RabbitMQ's management plugin counts, and delayed (eta) messages
 * are held unacked by the workers' consumers (inspect scheduled lists them), so both are null.
 * AMQP has no "look without taking": peek, delete and the dead-letter actions take messages with
 * basic.get on a channel of their own and close it, which puts back, in order, all they did not
 * ack. The side effect: those messages are marked redelivered (one redelivery, well under the
 * worker's maxRedeliveries; a quorum queue counts one more delivery each time).
 */
export class AmqpQueueAdmin implements QueueAdmin {
  constructor(
    private readonly conn: AmqpConnection,
    /** Publish with confirms (the broker's send, which declares the queue). */
    private readonly send: (queue: string, priority: number, raw: string) => Promise<void>,
  ) {}

  async counts(queues: string[]): Promise<{ queues: QueueCounts[]; delayed: null; deadLettered: number }> {
    const tally = new QueueTally(queues, null, null, 0);
    let deadLettered = 0;
    await this.withChannel(async (ch) => {
      await declareDeadLetterQueue(ch);
      deadLettered = (await ch.checkQueue(DEAD_LETTER_QUEUE)).messageCount;
      await this.scan(ch, DEAD_LETTER_QUEUE, Math.min(deadLettered, DEAD_SPLIT_LIMIT), (msg) => {
        tally.row(describeQueued(deadRaw(msg), 'ready').queue).deadLettered++;
        return false;
      });
    });
    for (const q of tally.names) {
      const row = tally.row(q);
      const ok = await this.check(q);
      row.ready = ok?.messageCount ?? 0;
      row.consumers = ok?.consumerCount ?? 0;
    }
    return { queues: tally.list(), delayed: null, deadLettered };
  }

  async purge(queue: string): Promise<number> {
    if (!(await this.check(queue))) return 0;
    return this.withChannel(async (ch) => (await ch.purgeQueue(queue)).messageCount);
  }

  async peek(queue: string, limit: number, only?: QueuedMessage['state']): Promise<QueuedMessage[]> {
    if (only === 'delayed' || !(await this.check(queue))) return [];
    const out: QueuedMessage[] = [];
    await this.withChannel((ch) =>
      this.scan(ch, queue, limit, (msg) => {
        out.push(describeQueued(fromAmqp(msg, '0.0'), 'ready'));
        return false;
      }),
    );
    return out;
  }

  async deleteMessage(queue: string, taskId: string): Promise<'ready' | null> {
    if (!taskId || !(await this.check(queue))) return null;
    let found = false;
    await this.withChannel((ch) =>
      this.scan(ch, queue, SCAN_LIMIT, (msg) => {
        if (queuedId(fromAmqp(msg, '0.0')) !== taskId) return false;
        ch.ack(msg);
        return (found = true);
      }),
    );
    return found ? 'ready' : null;
  }

  async requeueDeadLetter(taskId: string): Promise<boolean> {
    return this.takeDeadLetter(taskId, async (raw) => {
      const m = describeQueued(raw, 'ready');
      await this.send(m.queue, m.priority, raw);
    });
  }

  async deleteDeadLetter(taskId: string): Promise<boolean> {
    return this.takeDeadLetter(taskId, async () => {});
  }

  /** Sent (confirmed) first, acked second: a crash between leaves it in both places, never in neither. */
  private async takeDeadLetter(taskId: string, then: (raw: string) => Promise<void>): Promise<boolean> {
    if (!taskId) return false;
    let found = false;
    await this.withChannel(async (ch) => {
      await declareDeadLetterQueue(ch);
      let match: GetMessage | undefined;
      await this.scan(ch, DEAD_LETTER_QUEUE, SCAN_LIMIT, (msg) => {
        if (queuedId(deadRaw(msg)) !== taskId) return false;
        match = msg;
        return true;
      });
      if (!match) return;
      await then(deadRaw(match));
      ch.ack(match);
      found = true;
    });
    return found;
  }

  /** basic.get up to `limit` messages (unacked) until `stop` says so. */
  private async scan(ch: Channel, queue: string, limit: number, stop: (msg: GetMessage) => boolean): Promise<void> {
    for (let n = 0; n < limit; n++) {
      const msg = await ch.get(queue, { noAck: false });
      if (!msg || stop(msg)) return;
    }
  }

  /** A channel of its own, closed afterwards: closing puts back every message taken and not acked. */
  private async withChannel<T>(fn: (ch: Channel) => Promise<T>): Promise<T> {
    const ch = await this.conn.ownChannel(0).catch((err) => {
      throw this.conn.unavailable(err);
    });
    try {
      return await fn(ch);
    } finally {
      await ch.close().catch(() => {});
    }
  }

  /** queue.declare(passive): null when the queue does not exist (the refusal closes only its channel). */
  private async check(queue: string): Promise<{ messageCount: number; consumerCount: number } | null> {
    const ch = await this.conn.ownChannel(0).catch((err) => {
      throw this.conn.unavailable(err);
    });
    try {
      return await ch.checkQueue(queue);
    } catch {
      return null;
    } finally {
      await ch.close().catch(() => {});
    }
  }
}

function deadRaw(msg: GetMessage): string {
  try {
    return String((JSON.parse(msg.content.toString('utf8')) as DeadLetter).raw ?? '');
  } catch {
    return '';
  }
}
