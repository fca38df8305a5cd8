import type { LogLevel } from './log';

/** What `inspect stats` and the worker registry show of one dependency (Redis, Postgres). */
export interface OutageInfo {
  /** True while the dependency is failing. */
  down: boolean;
  /** When the current outage began (ISO), or null. */
  since: string | null;
  lastError: string | null;
  /** Outages that ended since this process started, and how long the last one lasted. */
  outages: number;
  lastOutageMs: number | null;
}

/**
 * One dependency's availability as its callers see it: the first failure after a success starts
 * an outage and the first success after failures ends it, each logged once with the outage's
 * length, instead of one error line per failed heartbeat or batch (hundreds in a five-second
 * Redis restart, and none saying when it was over; issue 15 item 8).
 */
export class Outage {
  private sinceMs: number | undefined;
  private lastError: string | null = null;
  private ended = 0;
  private lastMs: number | null = null;

  constructor(
    private readonly what: string,
    private readonly log: (level: LogLevel, message: string, fields?: Record<string, unknown>) => void,
    private readonly consequence: string,
    private readonly now: () => number = Date.now,
  ) {}

  get down(): boolean {
    return this.sinceMs !== undefined;
  }

  /** How long the current outage has lasted, 0 when there is none. */
  get downForMs(): number {
    return this.sinceMs === undefined ? 0 : this.now() - this.sinceMs;
  }

  /** Records a failure; returns true when it starts an outage (and logs that). */
  failed(err: unknown): boolean {
    this.lastError = err instanceof Error ? err.message : String(err);
    if (this.sinceMs !== undefined) return false;
    this.sinceMs = this.now();
    this.log('warn', `${this.what} unavailable: ${this.lastError}; ${this.consequence}`);
    return true;
  }

  /** Records a success; returns the outage's length in ms when it ends one (and logs that). */
  ok(): number | undefined {
    if (this.sinceMs === undefined) return undefined;
    const ms = this.now() - this.sinceMs;
    this.sinceMs = undefined;
    this.ended++;
    this.lastMs = ms;
    this.log('info', `${this.what} available again after ${(ms / 1000).toFixed(1)} s`, { outageMs: ms });
    return ms;
  }

  info(): OutageInfo {
    return {
      down: this.down,
      since: this.sinceMs === undefined ? null : new Date(this.sinceMs).toISOString(),
      lastError: this.down ? this.lastError : null,
      outages: this.ended,
      lastOutageMs: this.lastMs,
    };
  }
}
