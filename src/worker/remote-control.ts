import { EventEmitter } from 'node:events';
import type { Broker } from '../broker';
import { reservedQueueProblem } from '../broker/keys';
import { encodeReply, type ControlMessage } from '../broker/pidbox';
import { parseRateLimit } from '../plugin/options';
import { decodeTask } from '../broker/message';
import { MAX_TIME_LIMIT_S } from '../broker/headers';
import { showValue } from '../broker/shown-value';
import type { Autoscaler } from './autoscale';
import type { Job } from './pool';
import { summary } from './task-view';
import {
  MAX_POOL_STEP,
  type ControlledWorker,
  type QueueInfo,
  type StatsReply,
  type TaskInfo,
  type TaskSummary,
} from './control-surface';

export type { QueueInfo, ScheduledInfo, StatsReply, TaskInfo } from './control-surface';

/**
 * The worker's side of Celery's remote control (celery/worker/control.py): each broadcast the
 * worker receives on the pidbox channel and that is addressed to it (worker.ts emits 'control')
 * runs the handler of the same name, and when the sender asked for a reply (`reply_to` and a
 * `ticket`), the result goes back as `{<worker name>: <result>}` through kombu's reply exchange.
 * Names, arguments and results are Celery's, so `celery inspect ping` from Python lists Celeriac
 * workers and `celeriac inspect` lists Python ones.
 */

export type ControlResult = { ok: unknown } | { error: unknown } | unknown;
type Args = Record<string, unknown>;
/** Per command: `afterReply(fn)` runs fn once the reply is sent (or there was none to send). */
interface Call {
  afterReply(fn: () => void): void;
}
type Handler = (rc: RemoteControl, args: Args, call: Call) => ControlResult | Promise<ControlResult>;

/** Eta tasks `inspect scheduled` lists from the delayed store at most (a reply is one pub/sub message). */
const SCHEDULED_LIMIT = 1000;

const ok = (value: unknown) => ({ ok: value });
const nok = (value: unknown) => ({ error: value });

/** Method name → handler. Aliases are Celery's (dump_active, dump_tasks, …). */
const handlers: Record<string, Handler> = {
  ping: () => ok('pong'),
  clock: () => ({ clock: 0 }),
  // Python workers starting with mingle ask every node for its revoked ids.
  hello: (rc, a) =>
    a.from_node === rc.worker.name
      ? null
      : { revoked: Object.fromEntries(rc.worker.revokedIds().map((id) => [id, Date.now() / 1000])), clock: 0 },
  stats: (rc) => rc.stats(),
  active: (rc) => rc.worker.activeTasks().map((t) => taskInfo(t)),
  reserved: (rc) => rc.worker.reservedTasks().map((t) => taskInfo(t)),
  // On RabbitMQ the worker's consumer holds eta tasks unacked until due, as Celery does. On Redis
  // they wait in the shared delayed set, in no worker: each worker lists those of its queues.
  scheduled: async (rc) =>
    [...rc.worker.scheduledTasks(), ...(await rc.delayedInStore())].map((s) => ({
      ...s,
      request: taskInfo(s.request),
    })),
  conf: (rc) => rc.limits.conf?.() ?? {},
  revoked: (rc) => rc.worker.revokedIds(),
  registered: (rc, a) =>
    rc.worker
      .registeredTasks()
      .filter((n) => a.builtins === true || !n.startsWith('celery.'))
      .sort(),
  active_queues: (rc) => rc.worker.queues.map(queueInfo),
  query_task: (rc, a) => {
    const ids = new Set(list(a.ids).map(String));
    const out: Record<string, [string, TaskInfo]> = {};
    for (const t of rc.worker.activeTasks()) if (ids.has(t.id)) out[t.id] = ['active', taskInfo(t)];
    for (const t of rc.worker.reservedTasks()) if (ids.has(t.id)) out[t.id] = ['reserved', taskInfo(t)];
    return out;
  },

  // The worker applies revoke itself as the message arrives (worker.ts); this only answers.
  revoke: (_rc, a) => {
    const ids = list(a.task_id).map(String).join(', ');
    return a.terminate ? ok(`terminate: ${ids}`) : ok(`tasks ${ids} flagged as revoked`);
  },
  terminate: (rc, a) => {
    const ids = list(a.task_id).map(String);
    rc.worker.revoke(ids, true);
    return ok(`terminate: ${ids.join(', ')}`);
  },
  rate_limit: (rc, a) => {
    const task = String(a.task_name ?? '');
    if (!rc.worker.registeredTasks().includes(task)) return nok('unknown task');
    const rate =
      a.rate_limit === null ||
      a.rate_limit === undefined ||
      a.rate_limit === '' ||
      a.rate_limit === 0 ||
      a.rate_limit === '0'
        ? null
        : String(a.rate_limit);
    if (rate !== null) {
      try {
        parseRateLimit('rate_limit', rate);
      } catch {
        return nok(`Invalid rate limit string: ${shownName(rate)} is not a rate: use '10/s', '100/m' or '1000/h'`);
      }
    }
    rc.worker.setRateLimit(task, rate);
    return ok(rate === null ? 'rate limit disabled successfully' : 'new rate limit set successfully');
  },
  time_limit: (rc, a) => {
    const task = String(a.task_name ?? '');
    if (!rc.worker.registeredTasks().includes(task)) return nok('unknown task');
    rc.worker.setTimeLimit(task, seconds(a.soft), seconds(a.hard));
    return ok('time limits set successfully');
  },

  pool_grow: (rc, a) => {
    if (rc.autoscaler) return nok('pool_grow is not supported with autoscale. Adjust autoscale range instead.');
    rc.worker.setConcurrency(rc.worker.concurrency + count(a.n));
    return ok('pool will grow');
  },
  pool_shrink: (rc, a) => {
    if (rc.autoscaler) return nok('pool_shrink is not supported with autoscale. Adjust autoscale range instead.');
    const n = count(a.n);
    if (rc.worker.concurrency - n < 1) return nok(`Can't shrink pool below 1: it has ${rc.worker.concurrency}`);
    rc.worker.setConcurrency(rc.worker.concurrency - n);
    return ok('pool will shrink');
  },
  pool_restart: (rc) => {
    rc.worker.restartPool();
    return ok('reload started');
  },
  autoscale: (rc, a) => {
    if (!rc.autoscaler) throw new Error('Autoscale not enabled');
    const { max, min } = rc.autoscaler.update(optionalInt(a.max), optionalInt(a.min));
    return ok(`autoscale now max=${max} min=${min}`);
  },
  add_consumer: (rc, a) => {
    const queue = String(a.queue ?? '');
    if (!queue) return nok('add_consumer needs a queue');
    const reserved = reservedQueueProblem(queue);
    if (reserved) return nok(reserved);
    rc.worker.addQueue(queue);
    return ok(`add consumer ${queue}`);
  },
  cancel_consumer: (rc, a) => {
    const queue = String(a.queue ?? '');
    rc.worker.cancelQueue(queue);
    return ok(`no longer consuming from ${queue}`);
  },
  // Flower and the admin's event stream send enable_events when they start watching: task events
  // flow from now on, not only from the next heartbeat (see events.ts).
  enable_events: (rc) => {
    rc.worker.setTaskEvents(true);
    return ok('task events enabled');
  },
  disable_events: (rc) => {
    rc.worker.setTaskEvents(false);
    return ok('task events disabled');
  },
  shutdown: (rc, _a, call) => {
    // After the reply is on its way: stopping unsubscribes from the pidbox.
    call.afterReply(() => rc.worker.requestShutdown());
    return ok('shutting down');
  },
};
handlers.dump_active = handlers.active;
handlers.dump_reserved = handlers.reserved;
handlers.dump_schedule = handlers.scheduled;
handlers.dump_revoked = handlers.revoked;
handlers.dump_tasks = handlers.registered;

/** Commands this worker answers, for help texts and the admin. */
export const controlCommands = Object.keys(handlers);

export interface RemoteControlEvents {
  error: [err: Error];
}

export class RemoteControl extends EventEmitter<RemoteControlEvents> {
  private readonly onControl = (msg: ControlMessage) => void this.handle(msg);

  constructor(
    readonly worker: ControlledWorker,
    private readonly broker: Broker,
    readonly autoscaler: Autoscaler | undefined,
    readonly limits: {
      maxTasksPerChild?: number;
      maxMemoryPerChild?: number;
      /** `inspect conf`: the configuration the worker runs with, secrets masked (conf.ts). */
      conf?: () => Record<string, unknown>;
    } = {},
  ) {
    super();
  }

  start(): void {
    this.worker.on('control', this.onControl);
  }

  stop(): void {
    this.worker.off('control', this.onControl);
  }

  /** Runs one command and sends its reply; never throws (a bad command is answered with an error). */
  async handle(msg: ControlMessage): Promise<ControlResult> {
    const handler = Object.prototype.hasOwnProperty.call(handlers, msg.method) ? handlers[msg.method] : undefined;
    const after: (() => void)[] = [];
    let result: ControlResult;
    try {
      result = handler
        ? await handler(this, msg.arguments ?? {}, { afterReply: (fn) => after.push(fn) })
        : nok(`No such control command: ${shownName(msg.method)}`);
    } catch (err) {
      result = nok(err instanceof Error ? err.message : String(err));
    }
    try {
      if (msg.reply_to?.routing_key) {
        await this.broker.pushReply(
          msg.reply_to.exchange,
          msg.reply_to.routing_key,
          encodeReply(this.worker.name, result, msg.ticket, msg.reply_to.routing_key),
        );
      }
    } catch (err) {
      if (this.listenerCount('error') > 0) this.emit('error', err instanceof Error ? err : new Error(String(err)));
    } finally {
      for (const fn of after) fn();
    }
    return result;
  }

  /** Eta tasks of this worker's queues waiting in the broker's delayed store (Redis, memory://), earliest first. */
  async delayedInStore(): Promise<{ eta: string | null; priority: number; request: TaskSummary }[]> {
    if (!this.broker.delayed) return [];
    // A revoked countdown is dropped when due: it is not scheduled to run.
    const revoked = new Set(this.worker.revokedIds());
    const out: { eta: string | null; priority: number; request: TaskSummary }[] = [];
    for (const queue of this.worker.queues) {
      for (const m of await this.broker.queueAdmin.peek(queue, SCHEDULED_LIMIT, 'delayed')) {
        try {
          const msg = decodeTask(m.raw);
          if (revoked.has(msg.id)) continue;
          out.push({
            eta: m.dueAt,
            priority: m.priority,
            request: summary({ msg, redeliveries: 0 } as Job, this.worker.name),
          });
        } catch {
          // a message the worker will dead-letter when due is not a scheduled task
        }
      }
    }
    return out.sort((a, b) => String(a.eta).localeCompare(String(b.eta))).slice(0, SCHEDULED_LIMIT);
  }

  stats(): StatsReply {
    const info = this.worker.info();
    const usage = process.resourceUsage();
    return {
      pid: process.pid,
      clock: '0',
      uptime: Math.round((Date.now() - info.startedAt) / 1000),
      broker: { transport: this.broker.kind, hostname: this.broker.description },
      pool: {
        'max-concurrency': info.concurrency,
        implementation: `celeriac:${info.pool}`,
        processes: [process.pid],
        'max-tasks-per-child': this.limits.maxTasksPerChild ?? 'N/A',
        'max-memory-per-child': this.limits.maxMemoryPerChild ?? 'N/A',
        ...(this.autoscaler ? { autoscaler: this.autoscaler.info() } : {}),
      },
      rusage: { utime: usage.userCPUTime / 1e6, stime: usage.systemCPUTime / 1e6, maxrss: usage.maxRSS },
      total: Object.fromEntries(this.worker.totals),
      prefetch_count: this.worker.prefetchCount,
      celeriac: info,
    };
  }
}

function taskInfo(t: TaskSummary): TaskInfo {
  return {
    id: t.id,
    name: t.name,
    args: t.args,
    kwargs: t.kwargs,
    type: t.name,
    hostname: t.hostname,
    time_start: t.time_start,
    acknowledged: t.acknowledged,
    delivery_info: {
      exchange: '',
      routing_key: t.delivery_info.routing_key,
      priority: t.delivery_info.priority,
      redelivered: t.delivery_info.redelivered,
    },
    worker_pid: process.pid,
  };
}

function queueInfo(name: string): QueueInfo {
  return {
    name,
    exchange: {
      name,
      type: 'direct',
      durable: true,
      auto_delete: false,
      delivery_mode: null,
      arguments: null,
      passive: false,
      no_declare: false,
    },
    routing_key: name,
    queue_arguments: null,
    binding_arguments: null,
    consumer_arguments: null,
    durable: true,
    exclusive: false,
    auto_delete: false,
    no_ack: false,
    alias: null,
    bindings: [],
    no_declare: null,
    expires: null,
    message_ttl: null,
    max_length: null,
    max_length_bytes: null,
    max_priority: null,
  };
}

function list(value: unknown): unknown[] {
  if (value === undefined || value === null) return [];
  return Array.isArray(value) ? value : [value];
}

// A reply quotes what a sender got wrong short: a command or value of a megabyte was echoed whole
// into the reply queue and the log of every worker the broadcast reached.
function shownName(name: unknown): string {
  return typeof name === 'string' && name.length <= 60 ? name : showValue(name);
}

/** Pool grow/shrink step: Celery's default n=1. */
function count(value: unknown): number {
  if (value === undefined || value === null) return 1;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > MAX_POOL_STEP)
    throw new Error(`n must be an integer from 1 to ${MAX_POOL_STEP}, got ${showValue(value)}`);
  return n;
}

/** An autoscale bound: at most MAX_POOL_STEP, as the admin's form takes it. */
function optionalInt(value: unknown): number | null {
  if (value === undefined || value === null) return null;
  const n = Number(value);
  if (!Number.isInteger(n) || n > MAX_POOL_STEP)
    throw new Error(`expected an integer of at most ${MAX_POOL_STEP}, got ${showValue(value)}`);
  return n;
}

function seconds(value: unknown): number | null {
  if (value === undefined || value === null || value === '') return null;
  const n = Number(value);
  // A longer limit would overflow the worker's setTimeout and fire at once.
  if (!Number.isFinite(n) || n < 0 || n > MAX_TIME_LIMIT_S)
    throw new Error(
      `time limits are seconds from 0 to ${Math.floor(MAX_TIME_LIMIT_S)} (about 24 days), got ${showValue(value)}`,
    );
  return n === 0 ? null : n;
}
