/**
 * What the RabbitMQ transport needs besides queues: shared atomic state for chords, fire-once
 * markers, revoked ids and the worker registry. Redis gives the Redis transport all of it; on
 * RabbitMQ it lives in Postgres (src/results/coordination.ts), which every worker and beat already
 * has. Declared here, implemented there, so the transport never depends on the result store.
 */
export interface Coordination {
  /** Record a finished chord member (once, however often it is redelivered); how many have finished, how many failed. */
  chordJoin(groupId: string, memberId: string, failed: boolean): Promise<{ finished: number; failed: number }>;
  /**
   * Set `marker` unless it is set, and run `send` while holding it: the marker commits only if
   * `send` resolved, so a crash before that leaves it unset (and a redelivery sends again), and a
   * second caller waits for the first, then finds the marker and does nothing. True if this call set it.
   */
  once(marker: string, ttlMs: number, send: () => Promise<void>): Promise<boolean>;
  addRevoked(ids: string[], untilMs: number): Promise<void>;
  listRevoked(nowMs: number): Promise<string[]>;
  putWorker(name: string, info: string): Promise<void>;
  removeWorker(name: string): Promise<void>;
  listWorkers(): Promise<Record<string, string>>;
}
