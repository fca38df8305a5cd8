import { join } from 'node:path';
import express from 'express';
import request from 'supertest';
import type { Celeriac } from '../../src';
import { cleanup, eventually, makeApp } from '../helpers';

let app: Celeriac;
beforeAll(async () => {
  // memory:// broker: the same send/run/result path without Redis, as the embedded demo runs.
  app = await makeApp('express', {
    brokerUrl: 'memory://express-test',
    apps: [join(__dirname, '../fixtures/apps/math')],
  });
});
afterAll(() => cleanup(app));

function web() {
  const web = express();
  web.use(express.json());
  web.use(app.middleware());
  web.post('/add', async (req, res) => {
    const r = await req.celeriac.sendTask('math.add', [req.body.a, req.body.b]);
    res.status(202).json({ id: r.id });
  });
  web.get('/status/:id', async (req, res) => {
    const info = await req.celeriac.asyncResult(req.params.id).info();
    res.json({ state: info?.status ?? 'UNKNOWN', result: info?.result ?? null });
  });
  return web;
}

test('a handler sends through req.celeriac; a worker on memory:// runs it; status is readable', async () => {
  const { body } = await request(web()).post('/add').send({ a: 20, b: 22 }).expect(202);
  expect((await request(web()).get(`/status/${body.id}`).expect(200)).body).toEqual({ state: 'PENDING', result: null });
  const worker = app.worker({ name: 'mem@test' });
  await worker.start();
  await eventually(async () => {
    expect((await request(web()).get(`/status/${body.id}`)).body).toEqual({ state: 'SUCCESS', result: 42 });
  });
  expect(await app.asyncResult(body.id).get({ timeout: 5 })).toBe(42);
  await worker.stop();
});

test('unknown ids read as UNKNOWN through the app', async () => {
  expect((await request(web()).get('/status/nope').expect(200)).body.state).toBe('UNKNOWN');
});

test('memory:// keeps countdown tasks delayed and releases them when due', async () => {
  const worker = app.worker({ name: 'mem2@test' });
  await worker.start();
  const sentAt = Date.now();
  const r = await app.sendTask('math.add', [1, 1], {}, { countdown: 0.3 });
  expect(await r.get({ timeout: 5 })).toBe(2);
  const tookMs = (await r.info())!.dateDone!.getTime() - sentAt;
  expect(tookMs).toBeGreaterThanOrEqual(300);
  // Promoted on the wake-up its sender published, not on the 1 s fallback check.
  expect(tookMs).toBeLessThan(900);
  await worker.stop();
});
