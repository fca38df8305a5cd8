import { randomUUID } from 'node:crypto';
import Redis from 'ioredis';
import { createBroker, parseBrokerUrl, type Broker } from '../../src/broker';
import { testBroker, type TestBroker } from '../brokers';
import { isolation, REDIS_URL } from '../helpers';
import { testMessage } from './task-message';

/**
 * Queue management (src/broker/README.md § QueueAdmin) on every transport through the Broker
 * interface: counts, purge, peek, delete one message, and the dead-letter re-queue and delete.
 */
function message(queue: string, priority = 0, dueAtMs?: number) {
  return { ...testMessage('qa.t', queue, priority, { eta: dueAtMs ? new Date(dueAtMs) : null }), dueAtMs };
}

describe.each(['memory', 'redis', 'amqp'] as const)('%s transport', (kind) => {
  let broker: Broker;
  let keyPrefix: string;
  let amqp: TestBroker | undefined;
  const consumer = `qa-${kind}`;

  beforeAll(async () => {
    keyPrefix = isolation(`qadmin_${kind}`).keyPrefix;
    let url = `memory://qa-${randomUUID()}`;
    if (kind === 'redis') url = REDIS_URL;
    if (kind === 'amqp') url = (amqp = await testBroker('amqp', 'qadmin')).brokerUrl;
    broker = createBroker(parseBrokerUrl(url), keyPrefix);
    await broker.connect();
    await broker.registerConsumer(consumer, 60_000);
  }, 60_000);

  afterAll(async () => {
    await broker.unregisterConsumer(consumer);
    await broker.close();
    await amqp?.dispose();
    if (kind === 'redis') {
      const redis = new Redis(REDIS_URL);
      const keys = await redis.keys(keyPrefix + '*');
      if (keys.length) await redis.del(...keys);
      await redis.quit();
    }
  }, 60_000);

  /** A pushing transport (AMQP) may hand over fewer than asked per fetch. */
  const fetchN = async (queue: string, n: number) => {
    const out = [];
    while (out.length < n) out.push(...(await broker.fetch(consumer, [queue], n - out.length, 2000)));
    return out;
  };
  const row = async (queue: string) => (await broker.queueAdmin.counts([queue])).queues.find((q) => q.queue === queue)!;

  test('counts ready and unacked per queue; purge deletes the ready ones only', async () => {
    const q = `purge-${randomUUID()}`;
    const ms = [message(q), message(q, 6), message(q), message(q)];
    await broker.send(ms);
    expect(await row(q)).toMatchObject({ queue: q, ready: 4, deadLettered: 0 });
    const [held] = await fetchN(q, 1);
    const counted = await row(q);
    expect(counted.ready).toBe(3);
    if (kind === 'amqp') expect(counted).toMatchObject({ unacked: null, delayed: null, consumers: 1 });
    else expect(counted).toMatchObject({ unacked: 1, delayed: 0, consumers: null });
    expect(await broker.queueAdmin.purge(q)).toBe(3);
    expect(await broker.queueLength(q)).toBe(0);
    expect(await broker.queueAdmin.purge(q)).toBe(0);
    expect(await broker.queueAdmin.purge(`never-${randomUUID()}`)).toBe(0);
    // The held message was not purged: it is still the consumer's to ack.
    expect(await broker.heldBy(consumer)).toContain(held.raw);
    await broker.ack(consumer, [held]);
  });

  test('peek lists ready messages in the order consumers take them, without taking them', async () => {
    const q = `peek-${randomUUID()}`;
    const [a, b, c] = [message(q), message(q, 9), message(q)];
    await broker.send([a]);
    await broker.send([b]);
    await broker.send([c]);
    const seen = await broker.queueAdmin.peek(q, 10);
    const ready = seen.filter((m) => m.state === 'ready');
    // Redis runs priority 0 first; RabbitMQ without x-max-priority keeps arrival order.
    const expected = kind === 'amqp' ? [a.id, b.id, c.id] : [a.id, c.id, b.id];
    expect(ready.map((m) => m.id)).toEqual(expected);
    expect(ready[0]).toMatchObject({ task: 'qa.t', queue: q, state: 'ready' });
    expect(await broker.queueAdmin.peek(q, 1)).toHaveLength(1);
    expect(await broker.queueLength(q)).toBe(3);
    const got = await broker.fetch(consumer, [q], 10, 2000);
    expect(got.length).toBeGreaterThanOrEqual(1);
    await broker.ack(consumer, got);
    await broker.queueAdmin.purge(q);
  });

  test('deleteMessage removes one queued message by task id, and only that one', async () => {
    const q = `del-${randomUUID()}`;
    const ms = [message(q), message(q), message(q)];
    await broker.send(ms);
    expect(await broker.queueAdmin.deleteMessage(q, ms[1].id)).toBe('ready');
    expect(await broker.queueAdmin.deleteMessage(q, ms[1].id)).toBeNull();
    expect(await broker.queueAdmin.deleteMessage(q, randomUUID())).toBeNull();
    expect(await broker.queueAdmin.deleteMessage(`other-${randomUUID()}`, ms[0].id)).toBeNull();
    const left = await broker.queueAdmin.peek(q, 10);
    expect(left.map((m) => m.id).sort()).toEqual([ms[0].id, ms[2].id].sort());
    await broker.queueAdmin.purge(q);
  });

  if (kind !== 'amqp')
    test('delayed messages: counted per queue (revoked ones left out), listed, deletable', async () => {
      const q = `delay-${randomUUID()}`;
      const due = Date.now() + 3_600_000;
      const [d1, d2, d3] = [message(q, 0, due), message(q, 0, due + 1000), message(q, 0, due + 2000)];
      await broker.send([d1, d2, d3]);
      expect(await row(q)).toMatchObject({ ready: 0, delayed: 3 });
      await broker.addRevoked([d3.id], Date.now() + 60_000);
      expect(await row(q)).toMatchObject({ delayed: 2 });
      const listed = await broker.queueAdmin.peek(q, 10);
      expect(listed.map((m) => [m.id, m.state])).toEqual([
        [d1.id, 'delayed'],
        [d2.id, 'delayed'],
        [d3.id, 'delayed'],
      ]);
      expect(listed[0].dueAt).toBe(new Date(due).toISOString());
      expect(await broker.queueAdmin.peek(q, 10, 'ready')).toEqual([]);
      expect(await broker.queueAdmin.peek(q, 1, 'delayed')).toHaveLength(1);
      expect(await broker.queueAdmin.deleteMessage(q, d2.id)).toBe('delayed');
      expect((await broker.queueAdmin.peek(q, 10)).map((m) => m.id)).toEqual([d1.id, d3.id]);
      expect(await broker.queueAdmin.deleteMessage(q, d1.id)).toBe('delayed');
      expect(await broker.queueAdmin.deleteMessage(q, d3.id)).toBe('delayed');
    });

  test('dead letters: counted by queue, re-queued once, deleted', async () => {
    const q = `dead-${randomUUID()}`;
    const [m1, m2] = [message(q), message(q)];
    await broker.send([m1, m2]);
    await broker.pushed?.setPrefetch(consumer, 2); // RabbitMQ pushes no more than the qos unacked
    const held = await fetchN(q, 2);
    await broker.pushed?.setPrefetch(consumer, 1);
    for (const d of held) await broker.deadLetter(consumer, d.raw, 'test: poison');
    const counts = await broker.queueAdmin.counts([]);
    expect(counts.queues.find((r) => r.queue === q)).toMatchObject({ ready: 0, deadLettered: 2 });
    expect(counts.deadLettered).toBeGreaterThanOrEqual(2);

    const [first, second] = await Promise.all([
      broker.queueAdmin.requeueDeadLetter(m1.id),
      broker.queueAdmin.requeueDeadLetter(m1.id),
    ]);
    expect([first, second].filter(Boolean)).toHaveLength(1);
    // The re-queued message runs like any other (RabbitMQ pushes it to the consumer at once).
    const again = await fetchN(q, 1);
    expect(again.map((d) => JSON.parse(d.raw).headers.id)).toEqual([m1.id]);
    expect(await broker.queueAdmin.deleteDeadLetter(m2.id)).toBe(true);
    expect(await broker.queueAdmin.deleteDeadLetter(m2.id)).toBe(false);
    expect(await broker.queueAdmin.requeueDeadLetter(randomUUID())).toBe(false);
    expect(await row(q)).toMatchObject({ ready: 0, deadLettered: 0 });
    await broker.ack(consumer, again);
  });
});
