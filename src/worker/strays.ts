import type { Transport } from '../broker/broker';

/**
 * A fetch moves messages into what Redis holds for this worker in one script, so a message is
 * never lost; but if the connection drops after the script ran and before its reply arrived
 * (ioredis resends the command on reconnect, taking another batch), the first batch stays held
 * with no job for it. The lease cannot help: this worker is alive and renews it. So every CHECK_MS
 * what Redis holds is compared with what the worker holds, and a message found unheld on two
 * checks in a row goes back to the front of its queue. Two checks, because an ack, a dead-letter
 * or an eta hand-off already let go of its job while its own command to let go in Redis is in flight.
 */
export const STRAY_CHECK_MS = 5000;

export class StrayReclaimer {
  private unheldLastTime = new Set<string>();

  constructor(
    private readonly transport: Transport,
    private readonly consumer: string,
  ) {}

  /** Returns how many stray messages it gave back. */
  async check(held: () => Set<string>): Promise<number> {
    const listed = await this.transport.heldBy(this.consumer);
    const holding = held();
    const unheld = new Set<string>();
    const strays: string[] = [];
    for (const raw of listed) {
      if (holding.has(raw)) continue;
      if (this.unheldLastTime.has(raw)) strays.push(raw);
      else unheld.add(raw);
    }
    this.unheldLastTime = unheld;
    if (strays.length > 0) await this.transport.requeue(this.consumer, strays);
    return strays.length;
  }
}
