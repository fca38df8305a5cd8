import type { TaskMessage } from '../broker/message';
import type { Task } from '../plugin/task';
import type { Outcome } from './outcome';

export interface Job {
  msg: TaskMessage;
  task: Task<any, any>;
  redeliveries: number;
  /** Early-acked (acksLate false) jobs are not acked again when they finish. */
  acked: boolean;
  started: boolean;
  finished: boolean;
}

export interface PoolHooks {
  hostname: string;
  progress(job: Job, done: number, total: number | undefined, meta: Record<string, unknown> | undefined): Promise<void>;
}

/** Where task bodies run: the worker's own event loop (async) or worker threads (threads). */
export interface Pool {
  readonly kind: 'async' | 'threads';
  run(job: Job): Promise<Outcome>;
  /** End a running task now (revoke with terminate, shutdown past its grace), settling it with `outcome`. */
  abort(taskId: string, outcome: Outcome): void;
  close(): Promise<void>;
}
