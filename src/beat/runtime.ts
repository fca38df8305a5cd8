/**
 * What the parts of a beat share (./planner.ts, ./outbox.ts, ./tick.ts): its name and options,
 * its connections, its statements, a narrow view of the app, and where to report. Built by the
 * Beat (./beat.ts), which only assembles; no part imports the Beat or the app.
 */
import type { EventEmitter } from 'node:events';
import type { Logger, LogLevel } from '../log';
import type { Clock } from './clock';
import type { BeatDb } from './db';
import type { BeatEvents } from './events';
import type { FaultPoint } from './fault-hooks';
import type { ResolvedBeatOptions } from './options';
import type { BatchSender, OutboxRun } from './send-once';
import type { BeatStatements } from './sql';

/** An encoded message, as the app's prepare() returns it; beat reads only where it goes. */
export interface PreparedRun {
  readonly outgoing: { readonly queue: string; readonly priority: number; readonly raw: string };
}

/** The message options beat sets on a run (a subset of the app's apply options). */
export interface RunMessageOptions {
  taskId: string;
  queue?: string;
  priority?: number;
  headers: Record<string, unknown>;
  expires?: Date;
  periodicTaskName: string;
}

/** What beat needs of the app, and nothing more (./host.ts adapts the app's Runtime to it). */
export interface BeatHost {
  readonly logger: Logger;
  /** Whether a run of `task` can be sent: registered in this app, or routed elsewhere. */
  knowsTask(task: string): boolean;
  /** The tasks registered in this app (knowsTask is true for each; routed names are not listed). */
  registeredTasks(): readonly string[];
  /** Validates and encodes one run's message; throws (a bad row) before anything is sent. */
  prepare(task: string, args: unknown[], kwargs: Record<string, unknown>, options: RunMessageOptions): PreparedRun;
  /** After a first send: PENDING rows and Celery's after_task_publish, as any sender records them. */
  recordSent(prepared: readonly PreparedRun[]): void;
  /**
   * After a re-send from the outbox, which has only its records: PENDING rows from what they hold.
   * Resolves once they are queued for writing (not written).
   */
  recordResent(runs: readonly OutboxRun[]): Promise<void>;
}

export type BeatEventSink = Pick<EventEmitter<BeatEvents>, 'emit' | 'listenerCount'>;

export interface BeatRuntime {
  readonly name: string;
  readonly schema: string;
  readonly opts: ResolvedBeatOptions;
  readonly clock: Clock;
  readonly db: BeatDb;
  readonly sender: BatchSender;
  readonly sql: BeatStatements;
  readonly host: BeatHost;
  readonly events: BeatEventSink;
  log(level: LogLevel, message: string, fields?: Record<string, unknown>): void;
  /** Logs an error and emits 'error' when someone listens: for failures a loop survives. */
  fail(message: string, err: unknown): void;
  /** A crash test's hook at `point` (./fault-hooks.ts); undefined when there is none. */
  faultPoint(point: FaultPoint, batchId: string): Promise<void> | undefined;
}
