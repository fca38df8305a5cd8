import { randomUUID } from 'node:crypto';
import Redis from 'ioredis';
import { createBroker, parseBrokerUrl, type Broker } from '../../src/broker';
import { encodeTask } from '../../src/broker/message';
import { MessageNotHeldError } from '../../src/errors';
import { isolation, REDIS_URL } from '../helpers';

/**
 * The guarantees of src/broker/README.md § The contract, checked on every transport through the
 * Broker interface alone. A new transport adds a line to `transports` and must pass the same.
 */
const transports: [string, string][] = [
  ['memory', `memory://contract-${randomUUID()}`],
  ['redis', REDIS_URL],
];

function message(queue = 'cq', priority = 0) {
  const id = randomUUID();
  const raw = encodeTask({
    id,
    task: 'contract.t',
    args: [id],
    kwargs: {},
    queue,
    priority,
    eta: null,
    expires: null,
    retries: 0,
    timeLimit: null,
    softTimeLimit: null,
    rootId: null,
    parentId: null,
    groupId: null,
    groupIndex: null,
    ignoreResult: false,
    headers: {},
  });
  return { id, queue, priority, raw };
}

describe.each(transports)('%s transport', (kind, url) => {
  let broker: Broker;
  let keyPrefix: string;
  const consumer = `c-${kind}`;

  beforeAll(async () => {
    keyPrefix = isolation(`contract_${kind}`).keyPrefix;
    broker = createBroker(parseBrokerUrl(url), keyPrefix);
    await broker.connect();
    await broker.registerConsumer(consumer, 60_000);
  });

  afterAll(async () => {
    await broker.unregisterConsumer(consumer);
    await broker.close();
    if (kind === 'redis') {
      const redis = new Redis(REDIS_URL);
      const keys = await redis.keys(keyPrefix + '*');
      if (keys.length) await redis.del(...keys);
      await redis.quit();
    }
  });

  const fetchAll = (queue = 'cq') => broker.fetch(consumer, [queue], 100, 0);

  test('sendOnce: a batch sent twice under one id is delivered once', async () => {
    const batch = `b-${randomUUID()}`;
    const a = message('once');
    const b = message('once', 6);
    expect(await broker.sendOnce(batch, [a, b], 60_000)).toBe(true);
    expect(await broker.sendOnce(batch, [a, b], 60_000)).toBe(false);
    expect(await broker.sendOnce(`b-${randomUUID()}`, [], 60_000)).toBe(false);
    expect(await broker.queueLength('once')).toBe(2);
    const got = await fetchAll('once');
    expect(got.map((d) => d.raw).sort()).toEqual([a.raw, b.raw].sort());
    await broker.ack(consumer, got);
  });

  test('fetch serves priority 0 first and holds what it took; ack lets go', async () => {
    const low = message('prio', 9);
    const high = message('prio', 0);
    await broker.send([low, high]);
    const got = await fetchAll('prio');
    expect(got.map((d) => d.raw)).toEqual([high.raw, low.raw]);
    expect(got.every((d) => d.queue === 'prio' && d.redeliveries === 0)).toBe(true);
    expect(await broker.queueLength('prio')).toBe(0);
    await broker.ack(consumer, got);
    expect(await broker.heldBy(consumer)).toEqual([]);
  });

  test('ackAndSend lets go of the held message and sends the follow-ups', async () => {
    const held = message('aas');
    await broker.send([held]);
    const [d] = await fetchAll('aas');
    const next = message('aas-next');
    await broker.ackAndSend(consumer, d.raw, [next]);
    expect((await fetchAll('aas-next')).map((x) => x.raw)).toEqual([next.raw]);
    expect(await broker.heldBy(consumer)).toEqual([next.raw]);
    await broker.ack(consumer, [{ raw: next.raw }]);
  });

  test('defer: the held message waits for its due time, then is delivered again', async () => {
    const m = message('later');
    await broker.send([m]);
    const [d] = await fetchAll('later');
    const dueAtMs = Date.now() + 60_000;
    await broker.defer(consumer, d.raw, { ...m, dueAtMs });
    expect(await fetchAll('later')).toEqual([]);
    expect(await broker.delayedCount()).toBeGreaterThanOrEqual(1);
    // A transport with a delayed store hands it back when some consumer promotes it.
    if (broker.delayed) {
      expect((await broker.delayed.promoteDue(dueAtMs - 1, 100)).moved).toBe(0);
      const { moved } = await broker.delayed.promoteDue(dueAtMs, 100);
      expect(moved).toBeGreaterThanOrEqual(1);
    }
    const again = await fetchAll('later');
    expect(again.map((x) => x.raw)).toEqual([m.raw]);
    await broker.ack(consumer, again);
  });

  test('replaceHeld swaps a held message, and refuses one the consumer does not hold', async () => {
    const m = message('swap');
    await broker.send([m]);
    const [d] = await fetchAll('swap');
    const rewritten = d.raw.replace('"routing_key":"swap"', '"routing_key":"swap2"');
    await broker.replaceHeld(consumer, d.raw, rewritten);
    // Given back, the rewritten copy goes where its delivery_info now says.
    await broker.requeue(consumer, [rewritten]);
    expect(await broker.queueLength('swap2')).toBe(1);
    await expect(broker.replaceHeld(consumer, d.raw, 'never-held')).rejects.toBeInstanceOf(MessageNotHeldError);
    expect(await broker.heldBy(consumer)).toEqual([]);
    await broker.ack(consumer, await fetchAll('swap2'));
  });

  test('requeue puts held messages at the front of their queue', async () => {
    const first = message('rq');
    const second = message('rq');
    await broker.send([first]);
    const [d] = await fetchAll('rq');
    await broker.send([second]);
    await broker.requeue(consumer, [d.raw]);
    const got = await fetchAll('rq');
    expect(got.map((x) => x.raw)).toEqual([first.raw, second.raw]);
    await broker.ack(consumer, got);
  });

  test('deadLetter lets go and keeps the message with its reason', async () => {
    const m = message('dl');
    await broker.send([m]);
    const [d] = await fetchAll('dl');
    await broker.deadLetter(consumer, d.raw, 'because');
    expect((await broker.listDeadLetters(10)).find((x) => x.raw === m.raw)).toMatchObject({
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
    await broker.ack(consumer, await fetchAll('chord'));
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
    expect(await broker.fetch(other, ['leave'], 10, 0)).toHaveLength(1);
    await broker.unregisterConsumer(other);
    const got = await fetchAll('leave');
    expect(got.map((x) => x.raw)).toEqual([m.raw]);
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
    expect(again).toMatchObject({ raw: m.raw, queue: 'lapse', redeliveries: 1 });
    await broker.ack(consumer, [{ raw: again.raw, redeliveries: 1 }]);
  });

  test('fan-out reaches current subscribers and says how many', async () => {
    const channel = broker.channels.events('task.multi');
    const got: string[] = [];
    const off = await broker.subscribe(channel, (m) => got.push(m));
    expect(await broker.subscriberCount(channel)).toBeGreaterThanOrEqual(1);
    expect(await broker.publish(channel, 'hello')).toBeGreaterThanOrEqual(1);
    const deadline = Date.now() + 10_000;
    while (got.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    expect(got).toEqual(['hello']);
    await off();
  });

  test('remote-control replies reach a bound reply queue, and none is kept once unbound', async () => {
    const oid = randomUUID();
    await broker.bindReplyQueue(oid);
    expect(await broker.pushReply('reply.celery.pidbox', oid, 'r1')).toBe(1);
    expect(await broker.popReply(oid, 1000)).toBe('r1');
    await broker.unbindReplyQueue(oid);
    expect(await broker.pushReply('reply.celery.pidbox', oid, 'late')).toBe(0);
  });
});
