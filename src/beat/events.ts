/** What a beat reports: its typed events and what one tick did. */

export interface SentRun {
  periodicTaskId: number;
  name: string;
  task: string;
  taskId: string;
  scheduledAt: Date;
}

export interface SkippedRun {
  periodicTaskId: number;
  name: string;
  scheduledAt: Date;
  reason: string;
}

export interface RowError {
  periodicTaskId: number;
  name: string;
  error: string;
}

export interface RecoveredBatch {
  batchId: string;
  previousOwner: string;
  runs: number;
  /** true: the first send never reached Redis and this one delivered it; false: it had, nothing was sent again. */
  resent: boolean;
}

export interface TickResult {
  sent: number;
  /** Runs claimed ahead of their slot (a running beat's ticks only); a timer sends them at it. */
  scheduled: number;
  skipped: number;
  /** Rows whose next run was (re)computed after an edit. */
  replanned: number;
  /** Outbox batches taken over and settled. */
  recovered: number;
  rowErrors: number;
  /** When this beat next needs to look, or null when nothing is scheduled. */
  nextWakeAt: Date | null;
}

export interface BeatEvents {
  started: [];
  stopped: [];
  sent: [runs: SentRun[]];
  skipped: [runs: SkippedRun[]];
  replanned: [count: number];
  recovered: [batch: RecoveredBatch];
  rowError: [error: RowError];
  listening: [listening: boolean];
  error: [err: Error];
}

export function emptyTickResult(): TickResult {
  return { sent: 0, scheduled: 0, skipped: 0, replanned: 0, recovered: 0, rowErrors: 0, nextWakeAt: null };
}
