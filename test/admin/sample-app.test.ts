import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import request from 'supertest';
import type { Celeriac } from '../../src';
import { openBrowser } from './browser';

/**
 * The sample app as an acceptance test: its page polls the app's own status route through
 * celeriac-status.js (served by the admin), and the admin sits behind the demo sign-in.
 * Runs on the sample's embedded defaults (PGlite + memory://), as `npm run demo` does.
 */
let celeriac: Celeriac;
let web: import('express').Express;
let server: Server;
let base: string;
beforeAll(async () => {
  delete process.env.DATABASE_URL;
  delete process.env.CELERIAC_BROKER_URL;
  delete process.env.CELERIAC_DEMO_PASSWORD;
  ({ celeriac } = await import('../../sample-app/src/celeriac'));
  const { createWeb } = await import('../../sample-app/src/web');
  await celeriac.migrate();
  await celeriac.worker({ queues: ['celery', 'emails'], name: 'sample-w@test' }).start();
  web = createWeb();
  server = web.listen(0, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}, 60_000);
afterAll(async () => {
  server?.close();
  const ds = await celeriac?.dataSource();
  await celeriac?.close();
  // The app does not close a DataSource it was given; the embedded one is ours to close.
  if (ds?.isInitialized) await ds.destroy();
});

test('the admin needs the demo sign-in; the status script does not', async () => {
  const page = await request(web).get('/admin/celeriac/tasks').expect(302);
  expect(page.headers.location).toBe('/login?next=%2Fadmin%2Fceleriac%2Ftasks');
  await request(web).get('/admin/celeriac/api/tasks').expect(401);
  const script = await request(web).get('/admin/celeriac/static/celeriac-status.js').expect(200);
  expect(script.text).toContain('CeleriacStatus');
  const wrong = await request(web)
    .post('/login')
    .type('form')
    .send({ password: 'nope', next: '/admin/celeriac/tasks' })
    .expect(401);
  expect(wrong.text).toContain('Wrong password.');
  const agent = request.agent(web);
  const ok = await agent
    .post('/login')
    .type('form')
    .send({ password: 'celeriac', next: '/admin/celeriac/tasks' })
    .expect(303);
  expect(ok.headers.location).toBe('/admin/celeriac/tasks');
  expect(ok.headers['set-cookie'][0]).toMatch(/^demo_session=[\w-]+; Path=\/; HttpOnly; SameSite=Lax$/);
  await agent.get('/admin/celeriac/api/tasks').expect(200);
  // next= may only point at this site.
  const offsite = await request(web)
    .post('/login')
    .type('form')
    .send({ password: 'celeriac', next: '//evil.example/' })
    .expect(303);
  expect(offsite.headers.location).toBe('/admin/celeriac/');
  await agent.post('/logout').expect(303);
  await agent.get('/admin/celeriac/api/tasks').expect(401);
});

test('the public status route answers in the admin’s task-status shape', async () => {
  const { body } = await request(web).post('/reports').send({ title: 'Q3' }).expect(202);
  const res = await request(web).get(`/tasks/${body.taskId}`).expect(200);
  expect(res.body).toMatchObject({
    id: body.taskId,
    state: expect.any(String),
    ready: false,
    name: 'reports.build',
    error: null,
  });
  expect(res.headers['cache-control']).toBe('no-store');
  await request(web).get('/tasks/unknown').expect(404, { id: 'unknown', state: 'UNKNOWN' });
});

test('in Chromium: the page starts a report and CeleriacStatus.poll shows progress, then the result', async () => {
  const browser = await openBrowser();
  try {
    const { page } = browser;
    await page.goto(`${base}/`);
    expect(await page.evaluate('typeof window.CeleriacStatus.poll')).toBe('function');
    await page.fill('input[name="title"]', 'Annual <report>');
    await page.click('button[type="submit"]');
    await page.waitForFunction(`document.getElementById('state').textContent === 'PROGRESS'`, null, {
      timeout: 10_000,
    });
    await page.waitForFunction(`parseFloat(document.getElementById('fill').style.width) >= 40`, null, {
      timeout: 10_000,
    });
    expect(await page.textContent('#step')).toMatch(/Rendering page \d+ of 10/);
    await browser.screenshot('sample-app');
    await page.waitForFunction(`document.getElementById('state').textContent === 'SUCCESS'`, null, { timeout: 15_000 });
    expect(await page.textContent('#done')).toBe('Done: /reports/Annual%20%3Creport%3E.pdf');
    expect(await page.evaluate(`document.getElementById('fill').style.width`)).toBe('100%');
    expect(browser.dialogs).toEqual([]);
    expect(browser.errors).toEqual([]);
  } finally {
    await browser.close();
  }
});
