import { randomUUID } from 'node:crypto';
import Redis from 'ioredis';
import { createBroker, parseBrokerUrl } from '../../src/broker';
import type { RedisBroker } from '../../src/broker/redis-broker';
import { eventually, isolation, REDIS_URL } from '../helpers';
import { fc, propertyOptions } from '../property';
import { testMessage } from './task-message';

/**
 * Redis holds what a consumer fetched in a hash keyed by delivery tag, so an ack sends the tag,
 * and the broker keeps raw → handle for the worker, which names messages by their raw envelope.
 * These check the cases the handle map must get right: the same envelope held twice, an envelope
 * with no tag, a message let go by a connection that never fetched it (no handle: by value), a
 * blocking fetch (held in the processing list), and a rewritten message.
 */
let redis: Redis;
let a: RedisBroker;
let b: RedisBroker;
let keyPrefix: string;

beforeAll(async () => {
  keyPrefix = isolation('redis_held').keyPrefix;
  redis = new Redis(REDIS_URL);
  a = createBroker(parseBrokerUrl(REDIS_URL), keyPrefix) as RedisBroker;
  b = createBroker(parseBrokerUrl(REDIS_URL), keyPrefix) as RedisBroker;
  await Promise.all([a.connect(), b.connect()]);
});

afterAll(async () => {
  await Promise.all([a.close(), b.close()]);
  const keys = await redis.keys(keyPrefix + '*');
  if (keys.length) await redis.del(...keys);
  await redis.quit();
});

type Spec = {
  tag: 'own' | 'none' | 'same-as-previous';
  op: 'ack' | 'ack-tagged' | 'ack-misnamed' | 'ack-elsewhere' | 'requeue' | 'dead' | 'ack-and-send';
};

/** The tag a worker passes with an ack: the envelope's own, or its id when it has none (decodeTask). */
const tagOf = (raw: string): string => {
  const env = JSON.parse(raw);
  return env.properties.delivery_tag ?? env.headers.id;
};

test('whatever the envelopes and whoever lets go, each held message is let go once and nothing stays held', async () => {
  const spec = fc.record<Spec>({
    tag: fc.constantFrom('own', 'none', 'same-as-previous'),
    op: fc.constantFrom('ack', 'ack-tagged', 'ack-misnamed', 'ack-elsewhere', 'requeue', 'dead', 'ack-and-send'),
  });
  await fc.assert(
    fc.asyncProperty(fc.array(spec, { minLength: 1, maxLength: 12 }), async (specs) => {
      const queue = `q-${randomUUID()}`;
      const consumer = `c-${randomUUID()}`;
      await a.registerConsumer(consumer, 60_000);
      const raws: string[] = [];
      for (const s of specs) {
        if (s.tag === 'same-as-previous' && raws.length > 0) raws.push(raws[raws.length - 1]);
        else {
          const env = JSON.parse(testMessage('held.t', queue).raw);
          if (s.tag === 'none') delete env.properties.delivery_tag;
          raws.push(JSON.stringify(env));
        }
      }
      await a.send(raws.map((raw) => ({ queue, priority: 0, raw })));
      const got = await a.fetch(consumer, [queue], 100, 0);
      expect(got.map((d) => d.raw)).toEqual(raws); // LPUSH then RPOP: in the order sent
      expect((await a.heldBy(consumer)).sort()).toEqual([...raws].sort());
      const nextQueue = `${queue}-next`;
      const left = [...raws];
      for (const [i, s] of specs.entries()) {
        const raw = raws[i];
        // Another connection has no handles and lets go by value. An envelope held twice is let
        // go by its own connection only: the other might take the handle this one will use next.
        const elsewhere = s.op === 'ack-elsewhere' && raws.indexOf(raw) === raws.lastIndexOf(raw);
        if (elsewhere) await b.ack(consumer, [{ raw }]);
        else if (s.op === 'ack' || s.op === 'ack-elsewhere') await a.ack(consumer, [{ raw }]);
        else if (s.op === 'ack-tagged') await a.ack(consumer, [{ raw, deliveryTag: tagOf(raw) }]);
        // A tag that names another held message (the handles are filed by tag) lets go of this one.
        else if (s.op === 'ack-misnamed')
          await a.ack(consumer, [{ raw, deliveryTag: tagOf(raws[(i + 1) % raws.length]) }]);
        else if (s.op === 'requeue') await a.requeue(consumer, [raw]);
        else if (s.op === 'dead') await a.deadLetter(consumer, raw, 'test');
        else await a.ackAndSend(consumer, raw, [{ queue: nextQueue, priority: 0, raw: `next-${i}` }]);
        // Exactly this message's copy let go each time: the rest are still held.
        left.splice(left.indexOf(raw), 1);
        expect((await a.heldBy(consumer)).sort()).toEqual([...left].sort());
      }
      expect(await a.queueLength(queue)).toBe(specs.filter((s) => s.op === 'requeue').length);
      expect(await a.queueLength(nextQueue)).toBe(specs.filter((s) => s.op === 'ack-and-send').length);
      await redis.del(a.keys.queue(queue), a.keys.queue(nextQueue));
      await a.unregisterConsumer(consumer);
    }),
    propertyOptions(25),
  );
});

/** A registered consumer of a fresh queue, and a message for it (not sent yet). */
async function newConsumer() {
  const queue = `q-${randomUUID()}`;
  const consumer = `c-${randomUUID()}`;
  await a.registerConsumer(consumer, 60_000);
  return { queue, consumer, m: testMessage('held.t', queue) };
}

test('an ack sends the delivery tag, not the message', async () => {
  const { queue, consumer, m } = await newConsumer();
  await a.send([m]);
  const [d] = await a.fetch(consumer, [queue], 10, 0);
  const tag = JSON.parse(m.raw).properties.delivery_tag as string;
  expect(await redis.hgetall(a.keys.held(consumer))).toEqual({ [tag]: m.raw });
  const monitor = await redis.monitor();
  const seen: string[][] = [];
  monitor.on('monitor', (_time: string, args: string[]) => {
    if (args.includes(a.keys.held(consumer))) seen.push([args[0].toLowerCase(), ...args.slice(1)]);
  });
  await a.ack(consumer, [d]);
  await eventually(() => expect(seen).toContainEqual(['hdel', a.keys.held(consumer), tag]));
  monitor.disconnect();
  // Nothing else touched the hash: the ~800-byte envelope never went back to Redis.
  expect(seen.filter(([cmd]) => cmd !== 'hdel')).toEqual([]);
  expect(await a.heldBy(consumer)).toEqual([]);
  await a.unregisterConsumer(consumer);
});

test('a blocking fetch is held too, and its ack lets go of it', async () => {
  const { queue, consumer, m } = await newConsumer();
  const fetching = a.fetch(consumer, [queue], 10, 10_000);
  await a.send([m]);
  const got = await fetching;
  expect(got.map((d) => d.raw)).toEqual([m.raw]);
  expect(await a.heldBy(consumer)).toEqual([m.raw]);
  await a.ack(consumer, got);
  expect(await a.heldBy(consumer)).toEqual([]);
  await a.unregisterConsumer(consumer);
});

test('a rewritten message stays held under its handle, and is let go by its new envelope', async () => {
  const { queue, consumer, m } = await newConsumer();
  await a.send([m]);
  const [d] = await a.fetch(consumer, [queue], 10, 0);
  const env = JSON.parse(d.raw);
  env.properties.delivery_info = { exchange: '', routing_key: queue };
  const rewritten = JSON.stringify(env);
  await a.replaceHeld(consumer, d.raw, rewritten);
  expect(await redis.hgetall(a.keys.held(consumer))).toEqual({ [env.properties.delivery_tag]: rewritten });
  await a.ack(consumer, [{ raw: rewritten }]);
  expect(await a.heldBy(consumer)).toEqual([]);
  await a.unregisterConsumer(consumer);
});

test("a header named delivery_tag is not taken for the message's tag: a redelivery is counted under the real one", async () => {
  const { queue, consumer, m } = await newConsumer();
  // Headers come before properties in the envelope (kombu's order, and ours); a task's own
  // headers may hold any key, nested or not.
  const env = JSON.parse(m.raw);
  env.headers = { ...env.headers, trace: { delivery_tag: 'from-a-header' } };
  const raw = JSON.stringify(env);
  const tag = env.properties.delivery_tag as string;
  await a.send([{ queue, priority: 0, raw }]);
  await a.fetch(consumer, [queue], 10, 0);
  expect(Object.keys(await redis.hgetall(a.keys.held(consumer)))).toEqual([tag]);
  // The consumer dies: its lease goes, and recovery gives the message back, counting a redelivery.
  await redis.del(a.keys.lease(consumer));
  expect(await b.recoverLapsed()).toBe(1);
  const next = `c-${randomUUID()}`;
  await a.registerConsumer(next, 60_000);
  const [again] = await a.fetch(next, [queue], 10, 0);
  expect(again.raw).toBe(raw);
  expect(again.redeliveries).toBe(1); // 0 would let a message that kills workers run forever
  await a.ack(next, [{ raw, redeliveries: again.redeliveries, deliveryTag: tag }]);
  expect(await a.heldBy(next)).toEqual([]);
  expect(await redis.hexists(a.keys.redeliveries, tag)).toBe(0);
  await a.unregisterConsumer(next);
});

test('one fetch from several queues and priorities: each delivery has its own queue and redelivery count', async () => {
  // The fetch script's reply groups messages by the key they came from and carries counts only
  // while some message is counted: both shapes, and several keys in one reply, read back right.
  const { consumer } = await newConsumer();
  const [q1, q2] = [`q-${randomUUID()}`, `q-${randomUUID()}`];
  const sent = [testMessage('held.t', q1, 0), testMessage('held.t', q1, 9), testMessage('held.t', q2, 0)];
  const tagOf = (raw: string) => JSON.parse(raw).properties.delivery_tag as string;
  for (const counted of [false, true]) {
    await a.send(sent);
    // A count left by an earlier lapsed consumer, written directly.
    if (counted) await redis.hset(a.keys.redeliveries, tagOf(sent[1].raw), '2');
    const got = await a.fetch(consumer, [q1, q2], 10, 0);
    const seen = got.map((d) => ({ id: JSON.parse(d.raw).headers.id, queue: d.queue, redeliveries: d.redeliveries }));
    expect(seen).toEqual([
      { id: sent[0].id, queue: q1, redeliveries: 0 },
      { id: sent[2].id, queue: q2, redeliveries: 0 },
      { id: sent[1].id, queue: q1, redeliveries: counted ? 2 : 0 },
    ]);
    await a.ack(
      consumer,
      got.map((d) => ({ raw: d.raw, redeliveries: d.redeliveries, deliveryTag: tagOf(d.raw) })),
    );
    expect(await a.heldBy(consumer)).toEqual([]);
  }
  expect(await redis.hexists(a.keys.redeliveries, tagOf(sent[1].raw))).toBe(0);
  expect(await a.fetch(consumer, [q1, q2], 10, 0)).toEqual([]);
  await a.unregisterConsumer(consumer);
});

test('a held message too deep for cjson is recovered to its own queue, its redelivery counted under its tag', async () => {
  const { queue, consumer, m } = await newConsumer();
  // Another producer's args nested past cjson's 1,000 levels (JSON.parse and the worker read it;
  // recovery's cjson.decode refuses it): recovery used to push it to 'celery' and count nothing,
  // so a message that kept killing workers was never dead-lettered, and left its queue.
  const env = JSON.parse(m.raw);
  env.headers.nested = JSON.parse('['.repeat(1200) + ']'.repeat(1200));
  const raw = JSON.stringify(env);
  const tag = env.properties.delivery_tag as string;
  await a.send([{ queue, priority: 0, raw }]);
  await a.fetch(consumer, [queue], 10, 0);
  await redis.del(a.keys.lease(consumer));
  expect(await b.recoverLapsed()).toBe(1);
  const next = `c-${randomUUID()}`;
  await a.registerConsumer(next, 60_000);
  const [again] = await a.fetch(next, [queue], 10, 0);
  expect(again?.raw).toBe(raw);
  expect(again.redeliveries).toBe(1);
  await a.ack(next, [{ raw, redeliveries: again.redeliveries, deliveryTag: tag }]);
  expect(await a.heldBy(next)).toEqual([]);
  await Promise.all([a.unregisterConsumer(consumer), a.unregisterConsumer(next)]);
});

test('a delayed message too deep for cjson is promoted to its own queue and priority', async () => {
  const { queue, consumer, m } = await newConsumer();
  // The same nesting (an eta task from another producer, parked by the worker until due): the
  // promote script used to push it to 'celery' at priority 0.
  const env = JSON.parse(m.raw);
  env.headers.nested = JSON.parse('['.repeat(1200) + ']'.repeat(1200));
  env.properties.priority = 6;
  const raw = JSON.stringify(env);
  const dueAtMs = Date.now() + 60_000;
  await a.send([{ queue, priority: 6, raw, dueAtMs }]);
  expect((await a.delayed.promoteDue(dueAtMs, 100)).moved).toBe(1);
  expect(await redis.llen(a.keys.queue(queue, 6))).toBe(1);
  const [got] = await a.fetch(consumer, [queue], 10, 0);
  expect(got?.raw).toBe(raw);
  await a.ack(consumer, [got]);
  await a.unregisterConsumer(consumer);
});
