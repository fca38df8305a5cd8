import Redis from 'ioredis';
import type { Celeriac } from '../../src';
import type { RedisBroker } from '../../src/broker/redis-broker';
import { READY_STATES } from '../../src';
import { eventually } from '../helpers';

/**
 * Resolves once no message is waiting, delayed or held by any worker of the app: from then on no
 * task can run or be sent, so counts taken after it are final. Follow-ups leave with their
 * task's ack, so holding nothing means nothing is still to be sent.
 */
export async function drained(app: Celeriac, queues = ['celery'], timeoutMs = 60_000): Promise<void> {
  const broker = (await app.broker()) as RedisBroker;
  const redis = new Redis(app.config.brokerUrl);
  try {
    await eventually(
      async () => {
        const keys = queues.flatMap((q) => broker.keys.consumeOrder([q]));
        const lengths = await Promise.all(keys.map((k) => redis.llen(k)));
        const consumers = await redis.smembers(broker.keys.consumers);
        const held = await Promise.all(consumers.map(async (c) => (await broker.heldBy(c)).length));
        expect({
          queued: lengths.reduce((a, b) => a + b, 0),
          delayed: await redis.zcard(broker.keys.delayed),
          held: held.reduce((a, b) => a + b, 0),
        }).toEqual({ queued: 0, delayed: 0, held: 0 });
      },
      timeoutMs,
      100,
    );
  } finally {
    redis.disconnect();
  }
}

/** Each step label's result rows (a step is recorded with its label as last argument, run or not). */
export async function finalRowsFor(
  app: Celeriac,
  labels: string[],
): Promise<{ label: string; final: boolean; count: number }[]> {
  const rows: { label: string; status: string }[] = await (
    await app.dataSource()
  ).query(
    `SELECT args->>-1 AS label, status FROM "${app.config.schema}".celeriac_task_result
      WHERE task_name = 'flow.step' AND args->>-1 = ANY($1::text[])`,
    [labels],
  );
  return labels.map((label) => {
    const mine = rows.filter((r) => r.label === label);
    return { label, count: mine.length, final: mine.length === 1 && READY_STATES.has(mine[0].status) };
  });
}
