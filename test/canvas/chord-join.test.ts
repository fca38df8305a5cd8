/**
 * A chord's join counts distinct members, not joins: a member's message can be delivered again
 * (a worker died after the join and before the ack, or a fetch reply was lost) and then joins
 * again. Were joins counted, the replayed member would complete the count early and the callback
 * would fire with a member's result missing.
 */
import { join } from 'node:path';
import Redis from 'ioredis';
import { chord } from '../../src';
import type { Celeriac } from '../../src';
import type { RedisBroker } from '../../src/broker/redis-broker';
import type { Worker } from '../../src/worker/worker';
import { add, calls, gated, total } from '../fixtures/canvas/tasks';
import { openGate } from '../fixtures/gates';
import { cleanup, eventually, makeApp, REDIS_URL } from '../helpers';

let app: Celeriac;
let redis: Redis;
let worker: Worker;
const finishes = new Map<string, number>();

beforeAll(async () => {
  app = await makeApp('chord_join', { apps: [join(__dirname, '../fixtures/canvas')] });
  redis = new Redis(REDIS_URL);
});
afterAll(async () => {
  for (const gate of ['b', 'c']) openGate(gate); // a failed test leaves its members running
  await redis.quit();
  await cleanup(app);
});

const finished = (id: string) => finishes.get(id) ?? 0;

test('a member delivered and joined twice counts once: the callback waits for every distinct member', async () => {
  const r = await chord([add.s(1, 0), gated.s('b', 2), gated.s('c', 3)], total.s()).applyAsync();
  // Sent before any worker runs, so the first member's message can be read off the queue and sent again later.
  const broker = (await app.broker()) as RedisBroker;
  const queued = await redis.lrange(broker.keys.queue(app.config.defaultQueue), 0, -1);
  const members = queued.map((raw) => ({ raw, headers: JSON.parse(raw).headers }));
  expect(members).toHaveLength(3);
  const [a, b] = [0, 1].map((i) => members.find((m) => m.headers.group_index === i)!);
  const fired = broker.keys.chord(a.headers.group, 'fired');

  worker = app.worker({ name: 'chord-join@test', concurrency: 4 });
  worker.on('task-finished', (id) => finishes.set(id, finished(id) + 1));
  await worker.start();
  // 'task-finished' comes after the member's join and its ack.
  await eventually(() => expect(finished(a.headers.id)).toBe(1));
  await redis.lpush(broker.keys.queue(app.config.defaultQueue), a.raw);
  await eventually(() => expect(finished(a.headers.id)).toBe(2));

  openGate('b');
  await eventually(() => expect(finished(b.headers.id)).toBe(1));
  // Three joins, two distinct members: the chord has not fired.
  expect(await redis.exists(fired)).toBe(0);
  expect(calls[`total:${r.id}`]).toBeUndefined();

  openGate('c');
  expect(await r.get({ timeout: 20 })).toBe(1 + 2 + 3); // every member's result, none missing
  expect(calls[`total:${r.id}`]).toBe(1);
});
