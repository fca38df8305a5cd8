import type { DelayedStore } from '../broker/broker';

const CHECK_MS = 1000;
const BATCH = 1000;

/**
 * Moves due countdown/eta/retry messages from the delayed set to their queues. It sleeps until
 * the next message is due (at most CHECK_MS, for messages other processes add), and is woken
 * early by the wake-ups senders publish, so a countdown starts on time rather than up to a second
 * late. Every worker runs one; the Lua move is atomic, so they never double-promote. A transport
 * without a delayed store (the consumer defers by eta instead) gives none, and this does nothing.
 */
export class DelayedPromoter {
  private timer: NodeJS.Timeout | undefined;
  private atMs = Infinity;
  private running = false;

  constructor(
    private readonly store: DelayedStore | undefined,
    private readonly onError: (err: unknown) => void,
  ) {}

  start(): void {
    if (!this.store) return;
    this.running = true;
    void this.promote();
  }

  stop(): void {
    this.running = false;
    clearTimeout(this.timer);
  }

  /** Re-arm the timer when something is due sooner than the next planned check. */
  promoteBy(dueAtMs: number): void {
    if (!this.running || dueAtMs >= this.atMs) return;
    clearTimeout(this.timer);
    this.atMs = dueAtMs;
    this.timer = setTimeout(() => void this.promote(), Math.max(0, dueAtMs - Date.now()));
  }

  private async promote(): Promise<void> {
    clearTimeout(this.timer);
    this.atMs = Infinity;
    if (!this.running) return;
    let waitMs = CHECK_MS;
    try {
      const { moved, nextDueMs } = await this.store!.promoteDue(Date.now(), BATCH);
      if (moved >= BATCH) waitMs = 0;
      else if (nextDueMs !== null) waitMs = Math.max(0, Math.min(CHECK_MS, nextDueMs - Date.now()));
    } catch (err) {
      this.onError(err);
    }
    if (this.running && this.atMs === Infinity) {
      this.atMs = Date.now() + waitMs;
      this.timer = setTimeout(() => void this.promote(), waitMs);
    }
  }
}
