import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { Broker } from '../broker';

export type TaskEventType =
  | 'task-sent'
  | 'task-received'
  | 'task-started'
  | 'task-succeeded'
  | 'task-failed'
  | 'task-retried'
  | 'task-revoked'
  | 'task-rejected';
export type WorkerEventType = 'worker-online' | 'worker-heartbeat' | 'worker-offline';

export interface CeleryEvent {
  type: TaskEventType | WorkerEventType;
  hostname: string;
  timestamp: number;
  utcoffset: number;
  pid: number;
  clock: number;
  [field: string]: unknown;
}

/**
 * Celery's event stream (shared/reference/celery.md §4.6) on Redis: kombu envelopes on the
 * `/<db>.celeryev/<routing key>` channels. Task events are buffered and sent as one `task.multi`
 * message per flush, as Celery does, so events cost one PUBLISH per batch, not per state.
 *
 * Task events are built only while someone listens. Redis pub/sub keeps nothing for absent
 * subscribers, so events nobody receives are pure cost (~14 % of the worker's CPU in the W1
 * drain). Each worker event (online, heartbeat every ≤ 2 s) says through PUBLISH's reply whether
 * a monitor is there; one that subscribed to `task.multi` alone is found by PUBSUB NUMSUB. So a
 * monitor that connects sees task events from the next heartbeat on, and a worker with nobody
 * watching stops building them after its next flush or heartbeat.
 */
export class EventDispatcher {
  private buffer: CeleryEvent[] = [];
  private clock = 0;
  private timer: NodeJS.Timeout | undefined;
  /** Whether the last worker event or task batch reached anyone; optimistic until told. */
  private listened = true;
  /** Control disable_events turns task events off until enable_events, as in Celery. */
  private taskEventsOn = true;

  constructor(
    private readonly broker: Broker,
    private readonly workerName: string,
    private readonly enabled: boolean,
    private readonly flushMs = 50,
  ) {}

  /**
   * Every state of every task is its own event, as a Celery worker sends them (task-received,
   * task-started, then the outcome), so Flower and celery.events receivers count the same things
   * for a Celeriac worker as for a Celery one. Merging a short task's events into its last one
   * saved worker CPU but left monitors with no received or started events for it; the cost is
   * paid only while a monitor listens, and a flush still sends them all in one message.
   */
  task(type: TaskEventType, fields: Record<string, unknown>): void {
    if (!this.wanted) return;
    this.buffer.push(this.event(type, fields));
    if (this.buffer.length >= 500) void this.flush();
    else this.timer ??= setTimeout(() => void this.flush(), this.flushMs);
  }

  /**
   * Whether task() would send: callers on the per-task path check it before building an event's
   * fields (an object per state, and the result's JSON for task-succeeded), garbage while nobody
   * listens.
   */
  get wanted(): boolean {
    return this.enabled && this.taskEventsOn && this.listened;
  }

  /**
   * enable_events means a monitor is listening now (Flower and the admin send it when they
   * subscribe), so task events start at once; whether anyone still listens is re-learnt from
   * PUBLISH replies as usual. disable_events stops task events until the next enable_events.
   */
  setTaskEvents(on: boolean): void {
    this.taskEventsOn = on;
    if (on) this.listened = true;
  }

  async worker(type: WorkerEventType, fields: object): Promise<void> {
    if (!this.enabled) return;
    const routingKey = type.replace('-', '.');
    try {
      const receivers = await this.broker.publish(
        this.broker.channels.events(routingKey),
        // The node name, as Celery's monitors key workers by it: the registry info carries the
        // machine's hostname under the same field, which must not replace it.
        envelope({ ...this.event(type, fields), hostname: this.workerName }, routingKey),
      );
      this.listened =
        receivers > 0 || (await this.broker.subscriberCount(this.broker.channels.events('task.multi'))) > 0;
    } catch {
      // Advisory, as below; keep the last answer about listeners.
    }
  }

  async flush(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (this.buffer.length === 0) return;
    const batch = this.buffer;
    this.buffer = [];
    // Events are advisory (the result table is the record), so a failed publish is dropped, not retried.
    const receivers = await this.broker
      .publish(this.broker.channels.events('task.multi'), envelope(batch, 'task.multi'))
      .catch(() => -1);
    if (receivers === 0) this.listened = false;
  }

  private event(type: CeleryEvent['type'], fields: object): CeleryEvent {
    return {
      type,
      hostname: this.workerName,
      timestamp: Date.now() / 1000,
      utcoffset: new Date().getTimezoneOffset() / 60,
      pid: process.pid,
      clock: ++this.clock,
      ...fields,
    };
  }
}

/** @internal A kombu envelope on the celeryev exchange, as Celery publishes events. */
export function envelope(body: unknown, routingKey: string): string {
  return JSON.stringify({
    body: Buffer.from(JSON.stringify(body)).toString('base64'),
    'content-encoding': 'utf-8',
    'content-type': 'application/json',
    headers: { hostname: hostname() },
    properties: {
      delivery_mode: 1,
      delivery_info: { exchange: 'celeryev', routing_key: routingKey },
      priority: 0,
      body_encoding: 'base64',
      delivery_tag: randomUUID(),
    },
  });
}

/** Decodes one message from an events channel into its events (one, or a task.multi batch). */
export function decodeEvents(raw: string): CeleryEvent[] {
  try {
    const env = JSON.parse(raw);
    const body = JSON.parse(Buffer.from(env.body, 'base64').toString('utf8'));
    return Array.isArray(body) ? body : [body];
  } catch {
    return [];
  }
}
