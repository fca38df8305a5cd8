/**
 * The admin API's JSON shapes. Field names here are part of the public API (docs/admin.md):
 * add fields, never rename or remove them.
 */

export type StateName =
  'PENDING' | 'RECEIVED' | 'STARTED' | 'PROGRESS' | 'RETRY' | 'SUCCESS' | 'FAILURE' | 'REVOKED' | 'REJECTED';

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

export interface WorkerJson {
  name: string;
  hostname: string | null;
  pid: number | null;
  status: 'online' | 'offline';
  queues: string[];
  concurrency: number | null;
  pool: string | null;
  active: number;
  held: number;
  processed: number;
  succeeded: number;
  failed: number;
  retried: number;
  startedAt: string | null;
  heartbeatAt: string | null;
  heartbeatAgeMs: number | null;
}

export interface QueueJson {
  name: string;
  length: number;
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
  delayed: number;
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

/** A schedule as the API reads and writes it: django-celery-beat's four kinds, instants as ISO text. */
export type ScheduleJson =
  | { kind: 'interval'; every: number; period: 'days' | 'hours' | 'minutes' | 'seconds' | 'microseconds' }
  | {
      kind: 'crontab';
      minute: string;
      hour: string;
      dayOfWeek: string;
      dayOfMonth: string;
      monthOfYear: string;
      timezone: string;
    }
  | { kind: 'solar'; event: string; latitude: number; longitude: number }
  | { kind: 'clocked'; clockedTime: string };

/** One periodic task (`GET api/periodic-tasks/:id`, and the items of the list). */
export interface PeriodicTaskJson {
  id: number;
  name: string;
  task: string;
  /** null when the stored schedule is invalid (see lastError). */
  schedule: ScheduleJson | null;
  /** The schedule in words: "At 02:30, Monday to Friday (Europe/Berlin)". */
  scheduleText: string;
  args: unknown[];
  kwargs: Record<string, unknown>;
  queue: string | null;
  exchange: string | null;
  routingKey: string | null;
  headers: Record<string, unknown>;
  priority: number | null;
  expires: string | null;
  expireSeconds: number | null;
  oneOff: boolean;
  startTime: string | null;
  enabled: boolean;
  description: string;
  catchUp: 'once' | 'skip';
  /** 'code' rows come from the beatSchedule option; edits last until the next beat start. */
  source: 'db' | 'code';
  lastRunAt: string | null;
  totalRunCount: number;
  /** The run a beat has planned; null until a beat plans it (or when there is none). */
  nextRunAt: string | null;
  /** nextRunAt, or, before a beat has planned the row, the run it is expected to plan. */
  nextRunExpectedAt: string | null;
  /** Why beat is not running this row, or null. */
  lastError: string | null;
  dateChanged: string;
}

export interface PeriodicTaskListJson {
  items: PeriodicTaskJson[];
  total: number;
  limit: number;
  offset: number;
}

export interface SchedulePreviewJson {
  /** The schedule as stored (shorthands such as '30 2 * * *' expanded). */
  schedule: ScheduleJson;
  text: string;
  /** The next runs, ISO instants. */
  runs: string[];
}

export interface BeatInstanceJson {
  beatId: string;
  hostname: string;
  pid: number;
  startedAt: string;
  lastSeenAt: string;
  listening: boolean;
}
