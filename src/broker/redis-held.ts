/** The handle of a message a blocking fetch moved: it is held in the processing list, let go by LREM. */
export const IN_LIST = '';

/**
 * What each consumer of this connection holds, raw envelope → handle (the field of its held hash,
 * the delivery tag), so that an ack sends the ~36-byte tag instead of the ~800-byte message. The
 * worker names held messages by their raw envelope (broker.ts, guarantee 9), so the transport
 * keeps the map, as the AMQP consumer keeps raw → delivery tag. A raw with no handle here (held
 * before this process knew it: a stray, or one another connection fetched) is let go by value
 * (lua/release-2.lua).
 */
export class HeldHandles {
  /** Per consumer; a raw held twice at once (the same envelope sent twice) maps to its handles in fetch order. */
  private readonly byConsumer = new Map<string, Map<string, string | string[]>>();

  put(consumer: string, raw: string, handle: string): void {
    let held = this.byConsumer.get(consumer);
    if (!held) this.byConsumer.set(consumer, (held = new Map()));
    const had = held.get(raw);
    if (had === undefined) held.set(raw, handle);
    else if (typeof had === 'string') held.set(raw, [had, handle]);
    else had.push(handle);
  }

  /** Removes and returns the handle of `raw`; put it back if the command letting go of it fails. */
  take(consumer: string, raw: string): string | undefined {
    const held = this.byConsumer.get(consumer);
    const had = held?.get(raw);
    if (had === undefined || typeof had === 'string') {
      held?.delete(raw);
      return had;
    }
    const handle = had.shift();
    if (had.length === 0) held!.delete(raw);
    return handle;
  }

  forget(consumer: string): void {
    this.byConsumer.delete(consumer);
  }
}
