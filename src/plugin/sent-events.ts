import { hostname } from 'node:os';
import type { Broker } from '../broker';
import { envelope, type CeleryEvent } from '../worker/events';

/** Celery names a sender that is not a worker gen<pid>@<host>. */
const SENDER = `gen${process.pid}@${hostname()}`;
let clock = 0;

/**
 * Celery's task_send_sent_event: one `task-sent` event per task sent, published by the sender
 * (the fields Celery's amqp.send_task_message gives it), so a monitor sees a task before any
 * worker takes it. One task.multi message per send call, as a worker batches its events.
 * Advisory like every event: a failed publish is dropped, never the send.
 */
export async function publishTaskSent(
  broker: Broker,
  sent: readonly { raw: string; queue: string }[],
  now = Date.now(),
): Promise<void> {
  const events: CeleryEvent[] = sent.map(({ raw, queue }) => {
    const h = (JSON.parse(raw).headers ?? {}) as Record<string, unknown>;
    return {
      type: 'task-sent',
      hostname: SENDER,
      timestamp: now / 1000,
      utcoffset: new Date(now).getTimezoneOffset() / 60,
      pid: process.pid,
      clock: ++clock,
      uuid: h.id,
      root_id: h.root_id ?? null,
      parent_id: h.parent_id ?? null,
      name: h.task,
      args: h.argsrepr ?? null,
      kwargs: h.kwargsrepr ?? null,
      retries: h.retries ?? 0,
      eta: h.eta ?? null,
      expires: h.expires ?? null,
      queue,
      exchange: '',
      routing_key: queue,
    };
  });
  if (events.length === 0) return;
  await broker.publish(broker.channels.events('task.multi'), envelope(events, 'task.multi')).catch(() => {});
}
