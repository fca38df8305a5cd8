import Redis from 'ioredis';
import type { Celeriac } from '../../src';
import type { RedisBroker } from '../../src/broker/redis-broker';
import { cleanup, REDIS_URL } from '../helpers';
import { adminApp, staffSession, type StaffSession } from '../admin/helpers';

/**
 * Found from outside (session 7): on Redis a queue's key is the prefix plus its name, and queue
 * names may hold ':'; so a queue named after one of the broker's own keys ('celeriac:delayed',
 * 'celeriac:dead', kombu's 'unacked') was that key. Purging it from the admin deleted every
 * countdown, eta and retry message (or every dead letter); a task sent to it turned the key into
 * a list, after which every countdown send failed with WRONGTYPE. On RabbitMQ 'celeriac.dead' is
 * the dead-letter queue. Such names must be refused,
 * named, before anything is touched.
 */

let app: Celeriac;
let s: StaffSession;
let redis: Redis;
let delayedKey: string;

beforeAll(async () => {
  const made = await adminApp('probe_queue_names');
  app = made.app;
  s = await staffSession(made.web);
  redis = new Redis(REDIS_URL);
  delayedKey = ((await app.broker()) as RedisBroker).keys.delayed;
});

afterAll(async () => {
  await redis.quit();
  await cleanup(app);
});

const RESERVED = [
  'celeriac:delayed',
  'celeriac:dead',
  'celeriac.dead',
  'celeriac:holders',
  'unacked',
  'unacked_index',
  '_kombu.binding.celery',
];

test.each(RESERVED)('purging queue %s from the admin is a 400 and deletes nothing', async (name) => {
  const later = await s.post('/api/tasks', { task: 'math.add', args: [1, 2], options: { countdown: 3600 } });
  expect(later.status).toBe(202);
  const before = await redis.zcard(delayedKey);
  expect(before).toBeGreaterThan(0);
  const r = await s.post(`/api/queues/${encodeURIComponent(name)}/purge`);
  expect({ status: r.status, named: Object.keys(r.body.errors ?? {}) }).toEqual({ status: 400, named: ['name'] });
  expect(await redis.zcard(delayedKey)).toBe(before);
});

test.each(RESERVED)('sending to queue %s is refused, naming the queue, and countdowns still send', async (name) => {
  const r = await s.post('/api/tasks', { task: 'math.add', args: [1, 2], options: { queue: name } });
  expect({ status: r.status, named: Object.keys(r.body.errors ?? {}) }).toEqual({
    status: 400,
    named: ['options.queue'],
  });
  await expect(app.sendTask('math.add', [1, 2], {}, { queue: name })).rejects.toThrow(/queue/);
  const later = await s.post('/api/tasks', { task: 'math.add', args: [1, 2], options: { countdown: 3600 } });
  expect(later.status).toBe(202);
});

test('a worker is not started on a reserved queue', async () => {
  expect(() => app.worker({ name: 'probe-q@test', queues: ['celeriac:delayed'] })).toThrow(/celeriac:delayed/);
});

test.each(['celeriac:delayed', 'celeriac:workers'])(
  'counting queue %s on the queues API and page is a 400 naming queue (was a 500: WRONGTYPE)',
  async (name) => {
    const api = await s.get(`/api/queues?queue=${encodeURIComponent(name)}`);
    expect({ status: api.status, named: Object.keys(api.body.errors ?? {}) }).toEqual({
      status: 400,
      named: ['queue'],
    });
    const page = await s.get(`/queues?queue=${encodeURIComponent(name)}`).set('Accept', 'text/html');
    expect(page.status).toBe(400);
  },
);
