import type { TaskMessage } from '../broker/message';
import type { RegisteredTask } from '../plugin/registry';
import type { AbortListenerReport } from './abort-listeners';
import type { Outcome } from './outcome';
import type { TaskMiddleware } from '../plugin/middleware-chain';

export interface Job {
  msg: TaskMessage;
  task: RegisteredTask;
  redeliveries: number;
  /** Early-acked (acksLate false) jobs are not acked again when they finish. */
  acked: boolean;
  started: boolean;
  finished: boolean;
  startedAt?: number;
  /** Limits in force for this run (message, then worker override, then task option), seconds. */
  softTimeLimit?: number | null;
  timeLimit?: number | null;
  /** The pool's own record of this run while it runs (the async pool's), for abort(): no map by id. */
  running?: unknown;
}

/**
 * A new job, every field present from the start: fields added to an object later go to a second
 * allocation (its property array) and change its shape, both a task (issue 21).
 */
export function newJob(msg: TaskMessage, task: RegisteredTask, redeliveries: number): Job {
  return {
    msg,
    task,
    redeliveries,
    acked: false,
    started: false,
    finished: false,
    startedAt: undefined,
    softTimeLimit: undefined,
    timeLimit: undefined,
    running: undefined,
  };
}

export type PoolKind = 'async' | 'threads' | 'processes';

export interface PoolHooks {
  hostname: string;
  middleware: readonly TaskMiddleware[];
  /** Record a state the running task set with ctx.updateState() or ctx.progress(). */
  updateState(job: Job, state: string, meta: Record<string, unknown> | undefined): Promise<void>;
  /** A task's own abort listener threw (abort-listeners.ts): logged, the process goes on. */
  abortListenerThrew: AbortListenerReport;
}

/** Where task bodies run: the worker's own event loop (async), worker threads (threads) or child processes (processes). */
export interface Pool {
  readonly kind: PoolKind;
  run(job: Job): Promise<Outcome>;
  /**
   * run() with a callback called once with the job and its outcome, where the pool can spare the
   * promise: one callback for every job, so the worker makes no closure a task.
   */
  runThen?(job: Job, done: (job: Job, outcome: Outcome) => void): void;
  /** End a running task now (revoke with terminate, shutdown past its grace), settling it with `outcome`. */
  abort(job: Job, outcome: Outcome): void;
  close(): Promise<void>;
  /** Grow or shrink to `size` slots; a busy slot is removed only once its task finishes. */
  resize?(size: number): void;
  /** Replace every child with a fresh one that loads the app module again (control pool_restart): idle ones now, busy ones when their task ends. */
  restart?(): void;
}
