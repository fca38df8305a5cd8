/**
 * Where "now" comes from. Parts that decide by time (beat above all) read this instead of
 * Date.now(), so a test can drive them across a DST change or a week of downtime in milliseconds.
 */
export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };
