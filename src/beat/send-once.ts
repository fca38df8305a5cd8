import type { Broker } from '../broker';

/** One run in an outbox batch: what the claim recorded, enough to send it again unchanged. */
export interface OutboxRun {
  periodicTaskId: number;
  name: string;
  task: string;
  taskId: string;
  /** The slot, ISO 8601. */
  scheduledAt: string;
  queue: string;
  priority: number;
  raw: string;
}

/**
 * Sends an outbox batch so that sending it twice delivers it once. Returns true when this call
 * delivered it, false when an earlier call already had.
 */
export interface BatchSender {
  sendOnce(batchId: string, runs: OutboxRun[], markerTtlMs: number): Promise<boolean>;
  close(): Promise<void>;
}

/**
 * Through the app's broker (Broker.sendOnce: a marker and the sends in one step), asked for at
 * each send rather than at start: a beat whose broker is down still claims into the outbox, and
 * its sends succeed once the broker is back.
 */
export function brokerBatchSender(broker: () => Promise<Broker>): BatchSender {
  return {
    async sendOnce(batchId, runs, markerTtlMs) {
      if (runs.length === 0) return false;
      const messages = runs.map((r) => ({ queue: r.queue, priority: r.priority, raw: r.raw }));
      return (await broker()).sendOnce(batchId, messages, markerTtlMs);
    },
    async close() {}, // the broker is the app's, closed with it
  };
}
