/**
 * The admin API's JSON shapes. Field names here are part of the public API (the README's
 * "JSON API"): add fields, never rename or remove them. The periodic-task shapes are derived
 * from the service's types, so a field added to src/beat/fields.ts appears here too.
 */
import type { BeatInstanceView, PeriodicTaskView } from '../beat/service';
import type { ScheduleSpec } from '../beat/schedule';
import type { WorkerCounters } from '../worker/control-surface';

/** One of Celery's states, or a custom one a task set with ctx.updateState() ('DOWNLOADING'). */
export type StateName =
  | 'PENDING'
  | 'RECEIVED'
  | 'STARTED'
  | 'PROGRESS'
  | 'RETRY'
  | 'SUCCESS'
  | 'FAILURE'
  | 'REVOKED'
  | 'REJECTED'
  | (string & {});

export interface TaskErrorJson {
  /** The exception class, e.g. 'RangeError'. */
  type: string;
  message: string;
  module?: string | null;
  /** The stack, only for requests showTracebacks allows. */
  stack?: string | null;
}

export interface TaskProgressJson {
  done: number;
  total: number | null;
  /** 0-100, when total is known. */
  percent: number | null;
  [field: string]: unknown;
}

/** `GET api/tasks/:id`: what a page polls. */
export interface TaskStatusJson {
  id: string;
  state: StateName;
  /** SUCCESS, FAILURE, REVOKED or REJECTED: the state will not change again. */
  ready: boolean;
  name: string | null;
  /** The return value, for SUCCESS; null otherwise. */
  result: unknown;
  /** For FAILURE, RETRY (the last attempt's error), REVOKED and REJECTED; null otherwise. */
  error: TaskErrorJson | null;
  /** From ctx.progress(done, total, meta), while the task reports it. */
  progress: TaskProgressJson | null;
  meta: Record<string, unknown> | null;
  retries: number;
  dateCreated: string;
  dateStarted: string | null;
  dateDone: string | null;
  dateChanged: string;
}

/** One row of `GET api/tasks`. */
export interface TaskListItemJson {
  id: string;
  name: string | null;
  periodicTaskName: string | null;
  state: StateName;
  worker: string | null;
  queue: string | null;
  retries: number;
  parentId: string | null;
  rootId: string | null;
  /** JSON text, cut at 200 characters. */
  argsPreview: string | null;
  kwargsPreview: string | null;
  resultPreview: string | null;
  progress: TaskProgressJson | null;
  dateCreated: string;
  dateStarted: string | null;
  dateDone: string | null;
  dateChanged: string;
  /** date_done − date_started, when both are known. */
  runtimeMs: number | null;
}

export interface TaskListJson {
  items: TaskListItemJson[];
  limit: number;
  offset: number;
  /** Pass as `cursor` for the next page (date_changed / date_created sorts); null on the last page. */
  nextCursor: string | null;
  /** Pass as `offset` for the next page (any sort, up to offset 10,000); null on the last page. */
  nextOffset: number | null;
  /** Rows matching the filters, counted up to 10,000. */
  total: number;
  totalCapped: boolean;
}

export interface TaskChildJson {
  id: string;
  name: string | null;
  state: StateName;
  dateCreated: string;
  dateDone: string | null;
}

/** `GET api/tasks/:id/detail`. */
export interface TaskDetailJson extends TaskStatusJson {
  periodicTaskName: string | null;
  args: unknown[] | null;
  kwargs: Record<string, unknown> | null;
  worker: string | null;
  queue: string | null;
  parentId: string | null;
  rootId: string | null;
  groupId: string | null;
  runtimeMs: number | null;
  /** The task this one is a retry of (admin "retry"), when known. */
  retriedFrom: string | null;
  children: TaskChildJson[];
  childrenTruncated: boolean;
}

export interface RegisteredTaskJson {
  name: string;
  queue: string;
  priority: number | null;
  maxRetries: number | null;
  defaultRetryDelay: number;
  retryBackoff: number;
  retryBackoffMax: number;
  retryJitter: boolean;
  rateLimit: string | null;
  timeLimit: number | null;
  softTimeLimit: number | null;
  acksLate: boolean;
  ignoreResult: boolean;
  trackStarted: boolean;
  /** Seconds, or an ISO instant. */
  expires: number | string | null;
  autoretryFor: string[];
}

export interface WorkerJson extends WorkerCounters {
  name: string;
  hostname: string | null;
  pid: number | null;
  status: 'online' | 'offline';
  queues: string[];
  concurrency: number | null;
  pool: string | null;
  startedAt: string | null;
  heartbeatAt: string | null;
  heartbeatAgeMs: number | null;
}

export interface QueueJson {
  name: string;
  /** Ready messages (the same as `ready`; kept for clients of the first API). */
  length: number;
  ready: number;
  /** Taken by a worker and not acked yet; null where the transport cannot tell (RabbitMQ). */
  unacked: number | null;
  /** Waiting for their eta or countdown (revoked ones left out); null on RabbitMQ (see inspect scheduled). */
  delayed: number | null;
  deadLettered: number;
  /** Consumers attached (RabbitMQ); null on Redis, whose workers pull. */
  consumers: number | null;
}

export interface StatsJson {
  /** Rows changed in the window, by state. */
  counts: Record<string, number>;
  windowMinutes: number;
  /** One bucket per minute, oldest first, including empty minutes. */
  throughput: { minute: string; succeeded: number; failed: number; total: number }[];
  workersOnline: number;
  workersOffline: number;
  queues: QueueJson[];
  /** Every queue's delayed messages; null on RabbitMQ. */
  delayed: number | null;
  deadLettered: number;
}

/** One message on `GET api/events`. */
export interface AdminEventJson {
  /** 'task' or 'worker'. */
  kind: 'task' | 'worker';
  /** Celery's event type: task-received, task-succeeded, worker-heartbeat, … */
  type: string;
  /** For task events: the task id and the state the event implies. */
  id?: string;
  state?: StateName;
  name?: string;
  hostname: string;
  timestamp: string;
  [field: string]: unknown;
}

/** A value as the API writes it: a Date becomes ISO 8601 text, anything else stays. */
export type IsoDate<V> = V extends Date ? string : V;
/** An object with each Date field as ISO text. */
export type IsoDates<T> = { [K in keyof T]: IsoDate<T[K]> };

/** A schedule as the API reads and writes it: django-celery-beat's four kinds, instants as ISO text. */
export type ScheduleJson = ScheduleSpec extends infer S ? (S extends ScheduleSpec ? IsoDates<S> : never) : never;

/**
 * One periodic task (`GET api/periodic-tasks/:id`, and the items of the list): the service's
 * view (its fields come from src/beat/fields.ts) with instants as ISO text.
 */
export type PeriodicTaskJson = IsoDates<Omit<PeriodicTaskView, 'schedule'>> & {
  /** null when the stored schedule is invalid (see lastError). */
  schedule: ScheduleJson | null;
};

export interface PeriodicTaskListJson {
  items: PeriodicTaskJson[];
  total: number;
  limit: number;
  offset: number;
}

/** POST api/periodic-tasks/bulk with `create` or `upsert`: each task written, in the order given. */
export interface PeriodicBulkSaveJson {
  action: 'create' | 'upsert';
  count: number;
  tasks: { id: number; name: string; created: boolean }[];
}

export interface SchedulePreviewJson {
  /** The schedule as stored (shorthands such as '30 2 * * *' expanded). */
  schedule: ScheduleJson;
  text: string;
  /** The next runs, ISO instants. */
  runs: string[];
}

export type BeatInstanceJson = IsoDates<BeatInstanceView>;
