import type { Celeriac } from '../../src';
import type { Worker } from '../../src/worker/worker';
import { cleanup, eventually } from '../helpers';
import { adminApp, staffSession, type StaffSession } from './helpers';

let app: Celeriac;
let worker: Worker;
let s: StaffSession;
let web: import('express').Express;
beforeAll(async () => {
  const made = await adminApp('admin_control');
  app = made.app;
  web = made.web;
  s = await staffSession(made.web);
  worker = app.worker({ name: 'ctl-w@test', queues: ['celery'], concurrency: 3 });
  await worker.start();
});
afterAll(() => cleanup(app));

test('inspect a worker through the admin API (Celery pidbox under the hood)', async () => {
  expect((await s.get('/api/workers/ctl-w@test/inspect/ping').expect(200)).body).toEqual({
    worker: 'ctl-w@test',
    reply: { ok: 'pong' },
  });
  const stats = (await s.get('/api/workers/ctl-w@test/inspect/stats').expect(200)).body;
  expect(stats.worker).toBe('ctl-w@test');
  const queues = (await s.get('/api/workers/ctl-w@test/inspect/active-queues').expect(200)).body;
  expect(queues.reply.map((q: { name: string }) => q.name)).toEqual(['celery']);
  const registered = (await s.get('/api/workers/ctl-w@test/inspect/registered').expect(200)).body;
  expect(Array.isArray(registered.reply)).toBe(true);
});

test('control commands change the worker', async () => {
  await s.post('/api/workers/ctl-w@test/control/pool-grow', { n: 2 }).expect(200);
  await eventually(() => expect(worker.concurrency).toBe(5));
  await s.post('/api/workers/ctl-w@test/control/pool-shrink', {}).expect(200);
  await eventually(() => expect(worker.concurrency).toBe(4));
  await s.post('/api/workers/ctl-w@test/control/add-consumer', { queue: 'extra' }).expect(200);
  await eventually(() => expect(worker.queues).toEqual(['celery', 'extra']));
  await s.post('/api/workers/ctl-w@test/control/cancel-consumer', { queue: 'extra' }).expect(200);
  await eventually(() => expect(worker.queues).toEqual(['celery']));
});

test('bad input gets a 400 per field; an unknown worker a 404, a registered one that stays silent a 504', async () => {
  const bad = await s.post('/api/workers/ctl-w@test/control/pool-grow', { n: 0, extra: 1 }).expect(400);
  expect(bad.body.errors).toMatchObject({ n: 'expected a whole number from 1 to 1000', extra: expect.any(String) });
  const rate = await s.post('/api/workers/ctl-w@test/control/rate-limit', { task: '', rate: 'fast' }).expect(400);
  expect(Object.keys(rate.body.errors).sort()).toEqual(['rate', 'task']);
  const limits = await s.post('/api/workers/ctl-w@test/control/time-limit', { task: 'x', soft: 1e9 }).expect(400);
  expect(limits.body.errors.soft).toMatch(/24 days/);
  await s.post('/api/workers/ctl-w@test/control/reboot', {}).expect(400);
  await s.get('/api/workers/ctl-w@test/inspect/everything').expect(400);
  // No worker of that name: the client's mistake (or a Python worker that is not running).
  const missing = await s.get('/api/workers/nobody@test/inspect/ping').expect(404);
  expect(missing.body).toMatchObject({
    error: 'not_found',
    errors: { name: expect.stringMatching(/'nobody@test'/) },
  });
  // Registered (its heartbeat entry is there) but not answering: the server's trouble.
  const broker = await app.broker();
  await broker.putWorkerInfo('silent@test', JSON.stringify({ hostname: 'silent', heartbeatAt: Date.now() }));
  try {
    const silent = await s.get('/api/workers/silent@test/inspect/ping').expect(504);
    expect(silent.body).toMatchObject({
      error: 'no_reply',
      message: expect.stringMatching(/Worker 'silent@test' did not answer/),
    });
  } finally {
    await broker.removeWorkerInfo('silent@test');
  }
});

test('control routes are behind auth and CSRF like every write', async () => {
  const request = (await import('supertest')).default;
  await request(web).get('/admin/celeriac/api/workers/ctl-w@test/inspect/ping').expect(401);
  await request(web).post('/admin/celeriac/api/workers/ctl-w@test/control/shutdown').send({}).expect(401);
});
