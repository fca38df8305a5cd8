import { EventEmitter } from 'node:events';
import { ConfigError } from '../errors';

export interface AutoscaleOptions {
  /** The most tasks the worker runs at once. */
  max: number;
  /** The fewest; the worker starts here. Default 1 (Celery's 0 is taken as 1: a worker always keeps one slot). */
  min?: number;
  /** How long demand must stay below the concurrency before the worker shrinks. Default 30 s, Celery's AUTOSCALE_KEEPALIVE. */
  keepaliveMs?: number;
  /** How often the backlog is measured. Default 1000 ms, as Celery's autoscaler. */
  intervalMs?: number;
}

/** What the autoscaler reads and turns: the worker's control surface (worker.ts). */
export interface Scalable {
  readonly concurrency: number;
  readonly queues: string[];
  setConcurrency(n: number): void;
  activeTasks(): unknown[];
  reservedTasks(): unknown[];
}

export interface AutoscalerEvents {
  error: [err: Error];
  scaled: [from: number, to: number];
}

const defaults = { min: 1, keepaliveMs: 30_000, intervalMs: 1000 } satisfies Partial<AutoscaleOptions>;

/** `--autoscale max,min` → options; throws naming the flag and the bad value. */
export function parseAutoscale(value: string): AutoscaleOptions {
  const [maxText, minText] = value.split(',');
  const max = Number(maxText);
  const min = minText === undefined || minText === '' ? defaults.min : Number(minText);
  if (!Number.isInteger(max) || !Number.isInteger(min))
    throw new ConfigError('autoscale', `'${value}': expected max,min as integers, e.g. 10,3`);
  return { max, min };
}

/**
 * Grows the worker's concurrency towards `max` while its backlog (tasks running, tasks it holds
 * waiting for a slot, and the lengths of the queues it consumes) exceeds its slots, and shrinks
 * towards `min` once demand has stayed below the concurrency for `keepaliveMs`. Growing is
 * immediate and shrinking lazy for the reason Celery's autoscaler is: a burst that pauses for a
 * second should not pay for tearing slots down and building them up again (for the threads pool
 * that is a thread start and an app import each).
 */
export class Autoscaler extends EventEmitter<AutoscalerEvents> {
  max: number;
  min: number;
  private readonly keepaliveMs: number;
  private readonly intervalMs: number;
  /** Last time demand filled every slot (or the pool grew): shrinking waits keepaliveMs from here. */
  private busyAt = Date.now();
  private timer: NodeJS.Timeout | undefined;
  private running = false;

  constructor(
    private readonly target: Scalable,
    private readonly queueLength: (queue: string) => Promise<number>,
    options: AutoscaleOptions,
  ) {
    super();
    const o = { ...defaults, ...options };
    this.keepaliveMs = o.keepaliveMs;
    this.intervalMs = o.intervalMs;
    if (!Number.isInteger(o.keepaliveMs) || o.keepaliveMs < 0)
      throw new ConfigError('autoscale.keepaliveMs', `expected an integer >= 0, got ${o.keepaliveMs}`);
    if (!Number.isInteger(o.intervalMs) || o.intervalMs < 1)
      throw new ConfigError('autoscale.intervalMs', `expected an integer >= 1, got ${o.intervalMs}`);
    [this.max, this.min] = checkRange(o.max, o.min);
  }

  /** Concurrency a worker with these options starts with. */
  static initialConcurrency(options: AutoscaleOptions): number {
    return checkRange(options.max, options.min ?? defaults.min)[1];
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.busyAt = Date.now();
    this.schedule();
  }

  stop(): void {
    this.running = false;
    clearTimeout(this.timer);
  }

  private schedule(): void {
    if (!this.running) return;
    this.timer = setTimeout(() => {
      this.tick().then(
        () => this.schedule(),
        (err) => {
          if (this.listenerCount('error') > 0) this.emit('error', err instanceof Error ? err : new Error(String(err)));
          this.schedule();
        },
      );
    }, this.intervalMs);
  }

  /** One look at the backlog; public so tests (and the timer) can drive it. */
  async tick(now = Date.now()): Promise<void> {
    const lengths = await Promise.all(this.target.queues.map((q) => this.queueLength(q)));
    const demand =
      this.target.activeTasks().length + this.target.reservedTasks().length + lengths.reduce((a, b) => a + b, 0);
    const current = this.target.concurrency;
    if (demand >= current) this.busyAt = now;
    const wanted = Math.min(this.max, Math.max(this.min, demand));
    if (wanted > current || current > this.max) {
      this.scaleTo(wanted);
      this.busyAt = now;
    } else if (wanted < current && (now - this.busyAt >= this.keepaliveMs || current < this.min)) {
      this.scaleTo(wanted);
    }
  }

  /** Celery's `control autoscale max min`: a new range, taking effect at once where the concurrency falls outside it. */
  update(max?: number | null, min?: number | null): { max: number; min: number } {
    [this.max, this.min] = checkRange(max ?? this.max, min ?? this.min);
    const current = this.target.concurrency;
    if (current > this.max) this.scaleTo(this.max);
    else if (current < this.min) this.scaleTo(this.min);
    return { max: this.max, min: this.min };
  }

  info(): { max: number; min: number; qty: number } {
    return { max: this.max, min: this.min, qty: this.target.concurrency };
  }

  private scaleTo(n: number): void {
    const from = this.target.concurrency;
    if (n === from) return;
    this.target.setConcurrency(n);
    this.emit('scaled', from, n);
  }
}

function checkRange(max: number, min: number): [number, number] {
  const lower = Math.max(1, min);
  if (!Number.isInteger(max) || max < 1) throw new ConfigError('autoscale', `max must be an integer >= 1, got ${max}`);
  if (!Number.isInteger(min) || min < 0) throw new ConfigError('autoscale', `min must be an integer >= 0, got ${min}`);
  if (lower > max)
    throw new ConfigError('autoscale', `min (${min}) is above max (${max}): write --autoscale max,min, e.g. 10,3`);
  return [max, lower];
}
