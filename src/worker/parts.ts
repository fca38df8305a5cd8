import type { Broker } from '../broker';
import type { Runtime } from '../runtime/runtime';
import type { LogLevel } from '../log';
import type { Acker } from './acker';
import type { EventDispatcher } from './events';
import type { DelayedPromoter } from './promoter';
import type { StateWriter } from './state-writer';

/**
 * The worker's connections and its logging, built once in start() and shared by the helpers
 * that act for it on every task (intake, finisher): one object handed to each, rather than a
 * constructor of ten arguments, or a handle on the whole worker's internals.
 */
export interface WorkerParts {
  /** The worker itself, only as the key crash tests attach their hooks to (fault-hooks.ts). */
  owner: object;
  app: Runtime;
  workerName: string;
  consumer: string;
  broker: Broker;
  states: StateWriter;
  events: EventDispatcher;
  acker: Acker;
  promoter: DelayedPromoter;
  log(level: LogLevel, message: string, fields?: Record<string, unknown>): void;
  /** Logs, and emits the worker's 'error' when someone listens. */
  fail(message: string, err: unknown): void;
  /** True once the worker is stopping: retry loops give up rather than hold up the stop. */
  stopping(): boolean;
}
