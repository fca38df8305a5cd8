import type { Channels, Mailbox, Notifier } from './broker';

/**
 * A broker's Notifier and Mailbox, handed to the objects that implement them (each transport keeps
 * them in a module of their own: their connections and state are not the queues'), so the broker
 * is one object to its callers without each transport repeating the forwarding.
 */
export abstract class FanOutDelegate implements Notifier, Mailbox {
  protected abstract readonly notifier: Notifier;
  protected abstract readonly mailbox: Mailbox;

  get channels(): Channels {
    return this.notifier.channels;
  }
  publish(channel: string, message: string): Promise<number> {
    return this.notifier.publish(channel, message);
  }
  subscribe(channel: string, handler: (message: string, channel: string) => void): Promise<() => Promise<void>> {
    return this.notifier.subscribe(channel, handler);
  }
  subscriberCount(channel: string): Promise<number> {
    return this.notifier.subscriberCount(channel);
  }
  bindReplyQueue(oid: string): Promise<void> {
    return this.mailbox.bindReplyQueue(oid);
  }
  pushReply(exchange: string, routingKey: string, raw: string): Promise<number> {
    return this.mailbox.pushReply(exchange, routingKey, raw);
  }
  popReply(oid: string, timeoutMs: number): Promise<string | null> {
    return this.mailbox.popReply(oid, timeoutMs);
  }
  unbindReplyQueue(oid: string): Promise<void> {
    return this.mailbox.unbindReplyQueue(oid);
  }
}
