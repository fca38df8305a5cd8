/**
 * Where beat gets "now": the runtime's Clock (../runtime/clock.ts). Every decision (what is due,
 * what a catch-up skips, when a lease lapsed) uses it, bound into SQL as a parameter, never the
 * database's now(), so a test can drive a beat across a DST change or a week of downtime in
 * milliseconds.
 */
import type { Clock } from '../runtime/clock';

export { systemClock, type Clock } from '../runtime/clock';

/** A clock that only moves when told to: for tests and for replaying a day of ticks. */
export class ManualClock implements Clock {
  private ms: number;

  constructor(start: Date | number | string) {
    this.ms = new Date(start).getTime();
    if (Number.isNaN(this.ms)) throw new RangeError(`ManualClock: ${String(start)} is not an instant`);
  }

  now(): number {
    return this.ms;
  }

  set(to: Date | number | string): void {
    this.ms = new Date(to).getTime();
  }

  advance(ms: number): number {
    this.ms += ms;
    return this.ms;
  }
}
