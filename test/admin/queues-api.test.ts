import request from 'supertest';
import type { Celeriac } from '../../src';
import type { Worker } from '../../src/worker/worker';
import { cleanup, eventually } from '../helpers';
import { adminApp, MOUNT, staffSession, type StaffSession } from './helpers';

/**
 * The admin's queue management (src/admin/api/queues.ts) and the worker controls added for the
 * Flower pages (autoscale, pool restart, the worker overview), on Redis: each change is seen on
 * the broker or the worker, and written to the action log with the admin user.
 */
let app: Celeriac;
let web: import('express').Express;
let s: StaffSession;
let worker: Worker;
const log: { message: string; fields?: Record<string, unknown> }[] = [];

beforeAll(async () => {
  const made = await adminApp('admin_queues', {
    admin: { actor: (req) => req.get('x-test-user') + '@example.com' },
    app: { logger: { log: (_level, message, fields) => void log.push({ message, fields }) } },
  });
  ({ app, web } = made);
  s = await staffSession(web);
  worker = app.worker({ name: 'q-w@test', queues: ['qa-busy'], concurrency: 2, autoscale: { max: 4, min: 1 } });
  await worker.start();
});
afterAll(async () => {
  await worker?.stop();
  await cleanup(app);
});

const audited = (action: string) => log.filter((l) => l.message === `admin: ${action}`).map((l) => l.fields);

test('queues list every count; messages lists the next ones; purge empties the ready ones and is logged', async () => {
  const sent = await Promise.all([1, 2, 3].map((n) => app.sendTask('math.add', [n, n], {}, { queue: 'qa-purge' })));
  await app.sendTask('math.add', [9, 9], {}, { queue: 'qa-purge', countdown: 3600 });
  const { body } = await s.get('/api/queues').expect(200);
  expect(body.queues.find((q: { name: string }) => q.name === 'qa-purge')).toEqual({
    name: 'qa-purge',
    length: 3,
    ready: 3,
    unacked: 0,
    delayed: 1,
    deadLettered: 0,
    consumers: null,
  });
  const listed = (await s.get('/api/queues/qa-purge/messages?limit=10').expect(200)).body;
  expect(
    listed.messages.filter((m: { state: string }) => m.state === 'ready').map((m: { id: string }) => m.id),
  ).toEqual(sent.map((r) => r.id));
  expect(listed.messages[0]).not.toHaveProperty('raw');
  expect((await s.post('/api/queues/qa-purge/purge', {}).expect(200)).body).toEqual({ queue: 'qa-purge', purged: 3 });
  expect(await (await app.broker()).queueLength('qa-purge')).toBe(0);
  expect(audited('purge queue')).toContainEqual(
    expect.objectContaining({ user: 'staff@example.com', queue: 'qa-purge', purged: 3 }),
  );
});

test('delete one queued message: gone from the queue, its task REVOKED; a second delete is 404', async () => {
  const [keep, drop] = await Promise.all([1, 2].map((n) => app.sendTask('math.add', [n, 0], {}, { queue: 'qa-del' })));
  const res = await s.delete(`/api/queues/qa-del/messages/${drop.id}`).expect(200);
  expect(res.body).toEqual({ queue: 'qa-del', id: drop.id, deleted: 'ready' });
  expect(await drop.status()).toBe('REVOKED');
  const left = (await s.get('/api/queues/qa-del/messages').expect(200)).body.messages.map((m: { id: string }) => m.id);
  expect(left).toEqual([keep.id]);
  const again = await s.delete(`/api/queues/qa-del/messages/${drop.id}`).expect(404);
  expect(again.body.error).toBe('not_found');
  expect(audited('delete queued message')).toContainEqual(expect.objectContaining({ id: drop.id, was: 'ready' }));
});

test('dead letters: listed with their reason, re-queued once, deleted', async () => {
  const broker = await app.broker();
  const sent = await Promise.all([1, 2].map((n) => app.sendTask('math.add', [n, 1], {}, { queue: 'qa-dead' })));
  await broker.registerConsumer('qa-dead-consumer', 60_000);
  const held = await broker.fetch('qa-dead-consumer', ['qa-dead'], 2, 0);
  for (const d of held) await broker.deadLetter('qa-dead-consumer', d.raw, 'test: poison');
  await broker.unregisterConsumer('qa-dead-consumer');
  const listed = (await s.get('/api/dead-letters').expect(200)).body.deadLetters;
  for (const r of sent)
    expect(listed).toContainEqual(
      expect.objectContaining({ id: r.id, task: 'math.add', queue: 'qa-dead', reason: 'test: poison' }),
    );
  expect((await s.post(`/api/dead-letters/${sent[0].id}/requeue`, {}).expect(200)).body).toEqual({
    id: sent[0].id,
    requeued: true,
  });
  await s.post(`/api/dead-letters/${sent[0].id}/requeue`, {}).expect(404);
  expect(await broker.queueLength('qa-dead')).toBe(1);
  await s.delete(`/api/dead-letters/${sent[1].id}`).expect(200);
  await s.delete(`/api/dead-letters/${sent[1].id}`).expect(404);
  const after = (await s.get('/api/dead-letters').expect(200)).body.deadLetters.map((d: { id: string }) => d.id);
  expect(after).not.toContain(sent[0].id);
  expect(after).not.toContain(sent[1].id);
  expect(audited('re-queue dead letter')).toContainEqual(expect.objectContaining({ id: sent[0].id }));
});

test('bad names and bodies get 400s naming the field; everything is behind auth and CSRF', async () => {
  expect((await s.get('/api/queues/q/messages?limit=0').expect(400)).body.errors.limit).toMatch(/1 to 500/);
  expect((await s.post('/api/queues/q/purge', { force: true }).expect(400)).body.errors.force).toMatch(/unknown/);
  await s.get(`/api/queues/${'x'.repeat(256)}/messages`).expect(400);
  await request(web).post(`${MOUNT}/api/queues/qa-purge/purge`).send({}).expect(401);
  await request(web)
    .post(`${MOUNT}/api/queues/qa-purge/purge`)
    .set('x-test-user', 'staff')
    .set('Content-Type', 'application/json')
    .send('{}')
    .expect(403);
});

test('autoscale and pool restart through the admin API; the overview answers everything at once', async () => {
  const scaled = await s.post('/api/workers/q-w@test/control/autoscale', { max: 6, min: 2 }).expect(200);
  expect(scaled.body).toEqual({ worker: 'q-w@test', reply: { ok: 'autoscale now max=6 min=2' } });
  await eventually(() => expect(worker.concurrency).toBeGreaterThanOrEqual(2));
  const bad = await s.post('/api/workers/q-w@test/control/autoscale', { max: 2, min: 3 }).expect(400);
  expect(bad.body.errors.min).toMatch(/at most max/);
  // The async pool has no children to restart: the worker says so, the API passes its answer on.
  const restart = await s.post('/api/workers/q-w@test/control/pool-restart', {}).expect(200);
  expect(restart.body.reply.error).toMatch(/threads or processes pool/);
  expect(audited('control autoscale')).toContainEqual(
    expect.objectContaining({ user: 'staff@example.com', worker: 'q-w@test', arguments: { max: 6, min: 2 } }),
  );
  await (await app.sendTask('math.add', [2, 3], {}, { queue: 'qa-busy' })).get({ timeout: 10 });
  const overview = (await s.get('/api/workers/q-w@test/overview').expect(200)).body;
  expect(overview.stats.total['math.add']).toBeGreaterThanOrEqual(1);
  expect(overview.stats.prefetch_count).toBe(worker.concurrency * 5);
  expect(overview).toMatchObject({ worker: 'q-w@test', active: [], reserved: [], queues: ['qa-busy'] });
  expect(overview.registered).toContainEqual({ name: 'math.add', options: expect.any(Object) });
  expect(overview.stats.pool.autoscaler).toMatchObject({ max: 6, min: 2 });
  expect(overview.conf.worker).toMatchObject({ name: 'q-w@test', pool: 'async' });
  await s.get('/api/workers/nobody@test/overview').expect(404);
});
