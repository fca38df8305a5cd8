/**
 * Celery's rate_limit: a token bucket per task type per worker (not cluster-wide). The bucket
 * starts full so a worker that was idle can run a short burst of `tokens` at once.
 */
export class TokenBucket {
  private level: number;
  private last: number;

  constructor(
    private readonly tokens: number,
    private readonly perMs: number,
    now = Date.now(),
  ) {
    this.level = tokens;
    this.last = now;
  }

  /** Takes a token and returns 0, or returns how many ms until one is available. */
  take(now = Date.now()): number {
    this.level = Math.min(this.tokens, this.level + ((now - this.last) * this.tokens) / this.perMs);
    this.last = now;
    if (this.level >= 1) {
      this.level -= 1;
      return 0;
    }
    return Math.ceil(((1 - this.level) * this.perMs) / this.tokens);
  }
}
