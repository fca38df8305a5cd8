import type { ConfirmChannel, Message, Options } from 'amqplib';
import { randomUUID } from 'node:crypto';
import { BrokerUnavailableError } from '../../errors';
import { within, type AmqpConnection } from './connection';

export interface Publication {
  exchange: string;
  routingKey: string;
  content: Buffer;
  options: Options.Publish;
}

/** How long one send keeps trying across a RabbitMQ restart before it reports the broker down. */
export const SEND_DEADLINE_MS = 15_000;
const CONFIRM_TIMEOUT_MS = 10_000;

/**
 * Publishes with publisher confirms: a send resolves only once RabbitMQ has taken responsibility
 * for every message (for persistent messages on durable queues, written to disk), so a send that
 * returned survives a broker restart. A send whose connection dropped before all its confirms
 * arrived is sent again on the next connection; some of its messages may then be in the broker
 * twice (the same task ids, which the result table and workers treat as one task), none lost.
 */
export class AmqpPublisher {
  /** Messages RabbitMQ returned as unroutable (mandatory publishes), by message id. */
  private readonly returned = new Set<string>();
  private readonly watched = new WeakSet<ConfirmChannel>();

  constructor(private readonly conn: AmqpConnection) {}

  /**
   * Publish and wait for every confirm. `prepare` runs on each (re)connection's channel before
   * publishing (declaring the queues the messages go to; it caches per generation).
   */
  async publish(
    items: Publication[],
    prepare: (ch: ConfirmChannel, generation: number) => Promise<void> = async () => {},
    deadlineMs = SEND_DEADLINE_MS,
  ): Promise<void> {
    if (items.length === 0) return;
    const deadline = Date.now() + deadlineMs;
    for (;;) {
      try {
        const ch = await this.conn.channel('publish', Math.max(0, deadline - Date.now()));
        await prepare(ch, this.conn.generation);
        await this.publishOn(ch, items);
        return;
      } catch (err) {
        if (!isConnectionLoss(err) || Date.now() >= deadline) throw this.conn.unavailable(err);
        // Wait for the reconnect (ready() waits up to the rest of the deadline), then resend.
        await this.conn.ready(Math.max(0, deadline - Date.now())).catch(() => {});
      }
    }
  }

  /**
   * Publish one mandatory message and say whether any queue took it: RabbitMQ returns an
   * unroutable mandatory message before confirming it. This is how an event publisher learns
   * whether any monitor is listening, as Redis' PUBLISH reply tells it.
   */
  async publishRouted(item: Publication): Promise<boolean> {
    const ch = await this.conn.channel('publish', 0);
    this.watchReturns(ch);
    const id = item.options.messageId ?? randomUUID();
    await this.publishOn(ch, [{ ...item, options: { ...item.options, messageId: id, mandatory: true } }]);
    return !this.returned.delete(id);
  }

  private watchReturns(ch: ConfirmChannel): void {
    if (this.watched.has(ch)) return;
    this.watched.add(ch);
    ch.on('return', (msg: Message) => {
      const id = msg.properties.messageId;
      if (typeof id === 'string') {
        this.returned.add(id);
        // Unclaimed ids (the publisher gave up waiting) must not pile up.
        if (this.returned.size > 10_000) this.returned.clear();
      }
    });
  }

  private async publishOn(ch: ConfirmChannel, items: Publication[]): Promise<void> {
    const confirms: Promise<void>[] = [];
    for (const item of items) {
      let ok = true;
      confirms.push(
        new Promise<void>((resolve, reject) => {
          ok = ch.publish(item.exchange, item.routingKey, item.content, item.options, (err) =>
            err ? reject(err instanceof Error ? err : new BrokerUnavailableError(String(err))) : resolve(),
          );
        }),
      );
      // The socket's buffer is full: wait for it to drain rather than hold every message in memory.
      // (A channel that closes meanwhile rejects the confirms below instead.)
      if (!ok)
        await new Promise<void>((resolve) => {
          ch.once('drain', resolve);
          ch.once('close', resolve);
        });
    }
    // Bounded: a channel whose confirms stop coming (a connection nobody noticed was dead) is
    // closed, so the send is retried on a fresh one instead of waiting for ever.
    await within(Promise.all(confirms), CONFIRM_TIMEOUT_MS, 'waiting for publisher confirms').catch(async (err) => {
      await ch.close().catch(() => {});
      throw err;
    });
  }
}

/** Errors after which a resend on a new connection is the right move (not a refused declaration). */
export function isConnectionLoss(err: unknown): boolean {
  const message = err instanceof Error ? err.message : String(err);
  if (/PRECONDITION_FAILED|ACCESS_REFUSED|NOT_FOUND|NOT_ALLOWED/i.test(message)) return false;
  return /closed|ECONNREFUSED|ECONNRESET|EPIPE|ETIMEDOUT|unavailable|no connection|no answer|nack|Socket|CONNECTION_FORCED/i.test(
    message,
  );
}
