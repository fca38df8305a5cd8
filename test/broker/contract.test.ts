import { randomUUID } from 'node:crypto';
import Redis from 'ioredis';
import type { Celeriac } from '../../src';
import { createBroker, parseBrokerUrl, type Broker, type Delivery } from '../../src/broker';
import { decodeReply, encodeReply } from '../../src/broker/pidbox';
import { MessageNotHeldError } from '../../src/errors';
import { testBroker, type TestBroker } from '../brokers';
import { cleanup, isolation, makeApp, REDIS_URL } from '../helpers';
import { testMessage } from './task-message';

/**
 * The guarantees of src/broker/README.md § The contract, checked on every transport through the
 * Broker interface alone. A new transport adds a line to `transports` and must pass the same;
 * where a transport differs by design (the README's feature matrix), the test says how.
 *
 * RabbitMQ's line runs through an app on a vhost of its own: its chords, send-once markers and
 * revoked ids live in Postgres (Coordination), which the app wires in. Its queues are declared
 * with x-max-priority, so priorities count there as on Redis.
 */
const transports = ['memory', 'redis', 'amqp'] as const;

const message = (queue = 'cq', priority = 0) => testMessage('contract.t', queue, priority);

/**
 * Which messages these are, by task id. A delivery's raw envelope is the sent one on Redis and in
 * memory, but RabbitMQ carries kombu's fields as AMQP properties and the envelope is rebuilt on
 * receipt (its delivery_tag names the AMQP delivery), so the contract compares identities.
 */
const ids = (items: { raw: string }[]) => items.map((x) => JSON.parse(x.raw).headers.id as string);

describe.each(transports)('%s transport', (kind) => {
  let broker: Broker;
  let keyPrefix: string;
  let app: Celeriac | undefined;
  let amqp: TestBroker | undefined;
  const consumer = `c-${kind}`;

  beforeAll(async () => {
    keyPrefix = isolation(`contract_${kind}`).keyPrefix;
    if (kind === 'amqp') {
      amqp = await testBroker('amqp', 'contract');
      app = await makeApp('contract_amqp', { brokerUrl: amqp.brokerUrl, queueMaxPriority: 9 });
      broker = await app.broker();
    } else {
      broker = createBroker(
        parseBrokerUrl(kind === 'redis' ? REDIS_URL : `memory://contract-${randomUUID()}`),
        keyPrefix,
      );
      await broker.connect();
    }
    await broker.registerConsumer(consumer, 60_000);
    // A push transport delivers up to its qos (1 until the worker sets its bound).
    await broker.pushed?.setPrefetch(consumer, 100);
  }, 60_000);

  afterAll(async () => {
    await broker.unregisterConsumer(consumer);
    if (app) await cleanup(app);
    else await broker.close();
    await amqp?.dispose();
    if (kind === 'redis') {
      const redis = new Redis(REDIS_URL);
      const keys = await redis.keys(keyPrefix + '*');
      if (keys.length) await redis.del(...keys);
      await redis.quit();
    }
  }, 60_000);

  /**
   * What the consumer takes from a queue. A pull transport hands over what is queued at once; a
   * push transport (RabbitMQ) delivers as the server sends, so this waits for the `count` expected
   * and then briefly for anything more (a delivery that should not come would show up there).
   */
  async function fetchAll(queue = 'cq', count = 0, from = consumer): Promise<Delivery[]> {
    if (!broker.pushed) return broker.fetch(from, [queue], 100, 0);
    const got: Delivery[] = [];
    const deadline = Date.now() + 15_000;
    while (got.length < count && Date.now() < deadline) got.push(...(await broker.fetch(from, [queue], 100, 1000)));
    for (let more; (more = await broker.fetch(from, [queue], 100, 200)).length > 0;) got.push(...more);
    return got;
  }

  test('sendOnce: a batch sent twice under one id is delivered once', async () => {
    const batch = `b-${randomUUID()}`;
    const a = message('once');
    const b = message('once', 6);
    expect(await broker.sendOnce(batch, [a, b], 60_000)).toBe(true);
    expect(await broker.sendOnce(batch, [a, b], 60_000)).toBe(false);
    expect(await broker.sendOnce(`b-${randomUUID()}`, [], 60_000)).toBe(false);
    expect(await broker.queueLength('once')).toBe(2);
    const got = await fetchAll('once', 2);
    expect(ids(got).sort()).toEqual([a.id, b.id].sort());
    await broker.ack(consumer, got);
  });

  test('fetch serves by priority and holds what it took; ack lets go', async () => {
    const low = message('prio', 9);
    const high = message('prio', 0);
    await broker.send([low, high]);
    const got = await fetchAll('prio', 2);
    // kombu's Redis buckets serve 0 first; AMQP serves the highest priority first (as Celery on RabbitMQ).
    expect(ids(got)).toEqual(kind === 'amqp' ? [low.id, high.id] : [high.id, low.id]);
    expect(got.every((d) => d.queue === 'prio' && d.redeliveries === 0)).toBe(true);
    expect(await broker.queueLength('prio')).toBe(0);
    await broker.ack(consumer, got);
    expect(await broker.heldBy(consumer)).toEqual([]);
  });

  test('ackAndSend lets go of the held message and sends the follow-ups', async () => {
    const held = message('aas');
    await broker.send([held]);
    const [d] = await fetchAll('aas', 1);
    const next = message('aas-next');
    await broker.ackAndSend(consumer, d.raw, [next]);
    const followUp = await fetchAll('aas-next', 1);
    expect(ids(followUp)).toEqual([next.id]);
    expect(await broker.heldBy(consumer)).toEqual([followUp[0].raw]);
    await broker.ack(consumer, followUp);
  });

  test('defer: the held message waits for its due time, then is delivered again', async () => {
    const m = message('later');
    await broker.send([m]);
    const [d] = await fetchAll('later', 1);
    let dueAtMs: number;
    if (broker.delayed) {
      // A transport with a delayed store hands it back when some consumer promotes it.
      dueAtMs = Date.now() + 60_000;
      await broker.defer(consumer, d.raw, { ...m, dueAtMs });
      expect(await fetchAll('later')).toEqual([]);
      expect(await broker.delayedCount()).toBeGreaterThanOrEqual(1);
      expect((await broker.delayed.promoteDue(dueAtMs - 1, 100)).moved).toBe(0);
      const { moved } = await broker.delayed.promoteDue(dueAtMs, 100);
      expect(moved).toBeGreaterThanOrEqual(1);
    } else {
      // RabbitMQ: the consumer itself holds it unacked until due, so the due time is real time here.
      dueAtMs = Date.now() + 1000;
      await broker.defer(consumer, d.raw, { ...m, dueAtMs });
      expect(await broker.delayedCount()).toBe(1);
      expect(await broker.heldBy(consumer)).toEqual([]);
      expect(await broker.fetch(consumer, ['later'], 100, 0)).toEqual([]);
    }
    const again = await fetchAll('later', 1);
    if (!broker.delayed) expect(Date.now()).toBeGreaterThanOrEqual(dueAtMs);
    expect(ids(again)).toEqual([m.id]);
    await broker.ack(consumer, again);
  });

  test('replaceHeld swaps a held message, and refuses one the consumer does not hold', async () => {
    const m = message('swap');
    await broker.send([m]);
    const [d] = await fetchAll('swap', 1);
    const rewritten = d.raw.replace('"routing_key":"swap"', '"routing_key":"swap2"');
    await broker.replaceHeld(consumer, d.raw, rewritten);
    expect(await broker.heldBy(consumer)).toEqual([rewritten]);
    // Given back, the rewritten copy goes where its delivery_info now says; RabbitMQ cannot rewrite
    // a message it holds and returns it to the queue it came from (what the worker's rewrite, which
    // names that queue, asks for anyway).
    await broker.requeue(consumer, [rewritten]);
    const sentTo = kind === 'amqp' ? 'swap' : 'swap2';
    await expect(broker.replaceHeld(consumer, d.raw, 'never-held')).rejects.toBeInstanceOf(MessageNotHeldError);
    expect(await broker.heldBy(consumer)).toEqual([]);
    await broker.ack(consumer, await fetchAll(sentTo, 1));
  });

  test('requeue puts held messages at the front of their queue', async () => {
    const first = message('rq');
    const second = message('rq');
    await broker.send([first]);
    const [d] = await fetchAll('rq', 1);
    // Stop taking from 'rq' first: a push transport (RabbitMQ) would otherwise deliver the second
    // to this consumer before the first is given back.
    expect(await broker.fetch(consumer, ['rq-idle'], 1, 0)).toEqual([]);
    await broker.send([second]);
    await broker.requeue(consumer, [d.raw]);
    const got = await fetchAll('rq', 2);
    expect(ids(got)).toEqual([first.id, second.id]);
    await broker.ack(consumer, got);
  });

  test('deadLetter lets go and keeps the message with its reason', async () => {
    const m = message('dl');
    await broker.send([m]);
    const [d] = await fetchAll('dl', 1);
    await broker.deadLetter(consumer, d.raw, 'because');
    expect((await broker.listDeadLetters(10)).find((x) => x.raw === d.raw)).toMatchObject({
      reason: 'because',
      consumer,
    });
    expect(await broker.heldBy(consumer)).toEqual([]);
  });

  test('a chord member counts once however often it joins, and what it sets off is sent once', async () => {
    const group = randomUUID();
    await broker.chordJoin(group, 'm1', false, 60_000);
    await broker.chordJoin(group, 'm1', false, 60_000);
    expect(await broker.chordJoin(group, 'm2', true, 60_000)).toEqual({ finished: 2, failed: 1 });
    // A body that is a group (or a chord's errbacks) is several messages, sent together or not at all.
    const body = [message('chord'), message('chord')];
    const fired = await Promise.all([1, 2, 3, 4].map(() => broker.chordFire(group, body, 60_000)));
    expect(fired.filter(Boolean)).toHaveLength(1);
    expect(await broker.queueLength('chord')).toBe(2);
    await broker.ack(consumer, await fetchAll('chord', 2));
    const silent = randomUUID();
    await broker.chordJoin(silent, 'm1', true, 60_000);
    expect(await broker.chordFire(silent, [], 60_000)).toBe(true);
    expect(await broker.chordFire(silent, [message('chord')], 60_000)).toBe(false);
    expect(await broker.queueLength('chord')).toBe(0);
  });

  test('revoked ids persist until their expiry', async () => {
    const id = randomUUID();
    const gone = randomUUID();
    await broker.addRevoked([id], Date.now() + 60_000);
    await broker.addRevoked([gone], Date.now() - 1);
    const listed = await broker.listRevoked(Date.now());
    expect(listed).toContain(id);
    expect(listed).not.toContain(gone);
  });

  test('unregisterConsumer gives back everything still held', async () => {
    const other = `${consumer}-leaving`;
    await broker.registerConsumer(other, 60_000);
    const m = message('leave');
    await broker.send([m]);
    await broker.pushed?.setPrefetch(other, 10);
    expect(await fetchAll('leave', 1, other)).toHaveLength(1);
    await broker.unregisterConsumer(other);
    const got = await fetchAll('leave', 1);
    expect(ids(got)).toEqual([m.id]);
    await broker.ack(consumer, got);
  });

  test('a consumer that stops renewing its lease has its messages given back, counted as redelivered', async () => {
    if (!broker.leases) return; // the transport sees consumers die by itself (memory: never apart from its process)
    const dying = `${consumer}-dying`;
    await broker.registerConsumer(dying, 50);
    const m = message('lapse');
    await broker.send([m]);
    expect(await broker.fetch(dying, ['lapse'], 10, 0)).toHaveLength(1);
    // The crashed state, written directly: the lease key expires after 50 ms.
    let moved = 0;
    const deadline = Date.now() + 10_000;
    while (moved === 0 && Date.now() < deadline) moved = await broker.leases.recoverLapsed();
    expect(moved).toBe(1);
    const [again] = await fetchAll('lapse');
    expect(ids([again])).toEqual([m.id]);
    expect(again).toMatchObject({ queue: 'lapse', redeliveries: 1 });
    await broker.ack(consumer, [{ raw: again.raw, redeliveries: 1 }]);
  });

  test('fan-out reaches current subscribers and says how many', async () => {
    // Celeriac's own notices (plain text): pub/sub on Redis, a topic exchange on RabbitMQ.
    const channel = broker.channels.resultsChannel;
    const got: string[] = [];
    const off = await broker.subscribe(channel, (m) => got.push(m));
    // RabbitMQ cannot count another client's queues (0 by design); a publish says whether any took it.
    if (kind !== 'amqp') expect(await broker.subscriberCount(channel)).toBeGreaterThanOrEqual(1);
    expect(await broker.publish(channel, 'hello')).toBeGreaterThanOrEqual(1);
    const deadline = Date.now() + 10_000;
    while (got.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    expect(got).toEqual(['hello']);
    await off();
  });

  test('remote-control replies reach a bound reply queue, and none is kept once unbound', async () => {
    const oid = randomUUID();
    const reply = (result: string) => encodeReply('w@contract', result, 'ticket-1', oid);
    await broker.bindReplyQueue(oid);
    expect(await broker.pushReply('reply.celery.pidbox', oid, reply('r1'))).toBe(1);
    const popped = await broker.popReply(oid, 5000);
    expect(decodeReply(popped!)).toEqual({ ticket: 'ticket-1', expires: null, body: { 'w@contract': 'r1' } });
    await broker.unbindReplyQueue(oid);
    expect(await broker.pushReply('reply.celery.pidbox', oid, reply('late'))).toBe(0);
  });
});
