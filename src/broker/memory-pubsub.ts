import { EventEmitter } from 'node:events';
import type { Channels, Mailbox, Notifier } from './broker';

/** memory:// pub/sub: an in-process emitter; every subscriber of the process is on it. */
export class MemoryNotifier implements Notifier {
  private readonly bus = new EventEmitter().setMaxListeners(0);

  constructor(readonly channels: Channels) {}

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
}

/** memory:// reply queues by oid: the binding and the list in one, as it has one exchange of replies. */
export class MemoryMailbox implements Mailbox {
  private readonly replies = new Map<string, { items: string[]; waiter: (() => void) | undefined }>();

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
}
