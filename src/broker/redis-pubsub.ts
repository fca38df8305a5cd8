import type Redis from 'ioredis';
import type { Channels, Mailbox, Notifier } from './broker';
import { PRIORITY_SEP } from './keys';
import { REPLY_EXCHANGE, replyQueueName } from './pidbox';
import type { RedisLink } from './redis-connection';
import { runScript } from './redis-scripts';

/**
 * Redis pub/sub for events, pidbox broadcasts and result notices, on kombu's channel names
 * (keys.ts), so Python's event receivers and `celery control` share them. One subscriber
 * connection per broker, fanned out to handlers here; ioredis re-subscribes it after a reconnect.
 */
export class RedisNotifier implements Notifier {
  private sub: Redis | undefined;
  private readonly handlers = new Map<string, Set<(m: string, c: string) => void>>();

  constructor(private readonly link: RedisLink) {}

  get channels(): Channels {
    return this.link.keys;
  }

  async publish(channel: string, message: string): Promise<number> {
    return this.link.run(() => this.link.redis.publish(channel, message));
  }

  async subscriberCount(channel: string): Promise<number> {
    const reply = (await this.link.run(() => this.link.redis.pubsub('NUMSUB', channel))) as [string, number];
    return Number(reply[1]);
  }

  async subscribe(channel: string, handler: (message: string, channel: string) => void): Promise<() => Promise<void>> {
    if (!this.sub) {
      this.sub = this.link.open('subscriber');
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

  close(): void {
    this.sub?.disconnect();
    this.sub = undefined;
  }
}

/** kombu's Mailbox reply queues live about this long unread (REPLY_QUEUE_EXPIRES = 10 s). */
const REPLY_TTL_MS = 10_000;

/** Remote-control replies over kombu's Redis binding table (`_kombu.binding.reply.celery.pidbox`). */
export class RedisMailbox implements Mailbox {
  /** A connection of its own per waiting client: BRPOP would hold up every other command on a shared one. */
  private readonly waiters = new Map<string, Redis>();

  constructor(private readonly link: RedisLink) {}

  async bindReplyQueue(oid: string): Promise<void> {
    await this.link.run(() => this.link.redis.sadd(this.link.keys.binding(REPLY_EXCHANGE), replyBinding(oid)));
  }

  async pushReply(exchange: string, routingKey: string, raw: string): Promise<number> {
    const { keys } = this.link;
    return this.link.run(() =>
      runScript<number>(
        this.link.redis,
        'reply',
        [keys.binding(exchange)],
        [routingKey, raw, keys.prefix, PRIORITY_SEP, REPLY_TTL_MS],
      ),
    );
  }

  async popReply(oid: string, timeoutMs: number): Promise<string | null> {
    const key = this.link.keys.queue(replyQueueName(oid));
    if (timeoutMs <= 0) return this.link.run(() => this.link.redis.rpop(key));
    let conn = this.waiters.get(oid);
    if (!conn) this.waiters.set(oid, (conn = this.link.open('blocking')));
    try {
      const popped = await conn.brpop(key, Math.max(0.01, timeoutMs / 1000));
      return popped ? popped[1] : null;
    } catch (err) {
      if (!this.waiters.has(oid)) return null; // unbound meanwhile
      throw this.link.unavailable(err);
    }
  }

  async unbindReplyQueue(oid: string): Promise<void> {
    this.waiters.get(oid)?.disconnect();
    this.waiters.delete(oid);
    const { keys } = this.link;
    await this.link.run(() =>
      this.link.redis
        .multi()
        .srem(keys.binding(REPLY_EXCHANGE), replyBinding(oid))
        .del(keys.queue(replyQueueName(oid)))
        .exec(),
    );
  }

  close(): void {
    for (const conn of this.waiters.values()) conn.disconnect();
    this.waiters.clear();
  }
}

/** The member `_queue_bind` adds for a reply queue: routing key, empty pattern, queue name. */
function replyBinding(oid: string): string {
  return [oid, '', replyQueueName(oid)].join(PRIORITY_SEP);
}
