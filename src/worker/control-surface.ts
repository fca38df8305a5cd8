/**
 * The worker as remote control (./remote-control.ts) and the admin see it, and the wire shapes of
 * the replies it gives: the control surface without the worker's internals, so nothing that reads
 * it depends on the Worker class.
 */
import type { ControlMessage } from '../broker/pidbox';
import type { OutageInfo } from '../outage';
import type { StoreHealth } from '../results/store';
import type { PoolKind } from './pool';
import type { TaskSummary } from './task-view';

/**
 * Slots one pool_grow/pool_shrink adds or removes, and the largest autoscale bound a command sets,
 * from Python, the CLI or the admin: more is a typo (1e20 was taken, a prefetch of 5e20 with it;
 * a processes pool forks a child per slot), and each slot costs memory.
 */
export const MAX_POOL_STEP = 1000;

export type { TaskSummary } from './task-view';

/** A worker's task counts since it started, as its heartbeats carry them and the admin shows them. */
export interface WorkerCounters {
  /** Tasks running now. */
  active: number;
  /** Messages it holds: prefetched, running, or finished while their state commits. */
  held: number;
  processed: number;
  succeeded: number;
  failed: number;
  retried: number;
}

export interface WorkerStats extends WorkerCounters {
  name: string;
  pid: number;
  hostname: string;
  queues: string[];
  concurrency: number;
  pool: PoolKind;
  startedAt: number;
  heartbeatAt: number;
  /** Redis as this worker sees it: down since when, with which error; outages so far. */
  redis: OutageInfo;
  /** The result store: unwritten states, states Postgres refused, and Postgres' availability. */
  store: StoreHealth | null;
}

/** What remote-control commands act on: Worker implements it. */
export interface ControlledWorker {
  readonly name: string;
  readonly queues: string[];
  readonly concurrency: number;
  info(): WorkerStats;
  activeTasks(): TaskSummary[];
  reservedTasks(): TaskSummary[];
  scheduledTasks(): { eta: string | null; priority: number; request: TaskSummary }[];
  revoke(ids: string[], terminate: boolean): void;
  revokedIds(): string[];
  registeredTasks(): string[];
  setConcurrency(n: number): void;
  addQueue(queue: string): void;
  cancelQueue(queue: string): void;
  setRateLimit(taskName: string, rate: string | null): void;
  setTimeLimit(taskName: string, soft: number | null, hard: number | null): void;
  setTaskEvents(on: boolean): void;
  /** Fresh pool children (threads and processes pools); throws on the async pool. */
  restartPool(): void;
  /** Processed per task name since start (`inspect stats` total). */
  readonly totals: ReadonlyMap<string, number>;
  /** How many messages it may hold at once (`inspect stats` prefetch_count). */
  readonly prefetchCount: number;
  requestShutdown(): void;
  on(event: 'control', listener: (msg: ControlMessage) => void): unknown;
  off(event: 'control', listener: (msg: ControlMessage) => void): unknown;
}

/** A task as `inspect active|reserved` report it: Celery's `Request.info()`. */
export interface TaskInfo {
  id: string;
  name: string;
  args: unknown[];
  kwargs: Record<string, unknown>;
  type: string;
  hostname: string;
  time_start: number | null;
  acknowledged: boolean;
  delivery_info: { exchange: string; routing_key: string; priority: number; redelivered: boolean };
  worker_pid: number;
}

/** `inspect scheduled`: Celery's `{eta, priority, request}` per held eta task. */
export interface ScheduledInfo {
  eta: string | null;
  priority: number;
  request: TaskInfo;
}

/** `inspect active_queues`: kombu's `Queue.as_dict(recurse=True)` for a plain direct queue. */
export interface QueueInfo {
  name: string;
  exchange: {
    name: string;
    type: string;
    durable: boolean;
    auto_delete: boolean;
    delivery_mode: null;
    arguments: null;
    passive: boolean;
    no_declare: boolean;
  };
  routing_key: string;
  queue_arguments: null;
  binding_arguments: null;
  consumer_arguments: null;
  durable: boolean;
  exclusive: boolean;
  auto_delete: boolean;
  no_ack: boolean;
  alias: null;
  bindings: never[];
  no_declare: null;
  expires: null;
  message_ttl: null;
  max_length: null;
  max_length_bytes: null;
  max_priority: null;
}

/** `inspect stats`: the keys of Celery's `WorkController.stats()` that mean something here, and Celeriac's own under `celeriac`. */
export interface StatsReply {
  pid: number;
  clock: string;
  uptime: number;
  broker: { transport: string; hostname: string };
  pool: {
    'max-concurrency': number;
    implementation: string;
    processes: number[];
    'max-tasks-per-child': number | 'N/A';
    'max-memory-per-child': number | 'N/A';
    autoscaler?: { max: number; min: number; qty: number };
  };
  rusage: { utime: number; stime: number; maxrss: number };
  /** Tasks processed per name since start. */
  total: Record<string, number>;
  prefetch_count: number;
  celeriac: WorkerStats;
}
