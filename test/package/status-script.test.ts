import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { join } from 'node:path';
import express from 'express';
import { taskStatusJson, type Celeriac, type Worker } from '../../src';
import { openBrowser } from '../admin/browser';
import { cleanup, eventually, makeApp } from '../helpers';
import { failsLate, gates, halfway } from '../fixtures/progress/tasks';

/**
 * celeriac-status.js as README's "Polling a task from your own pages" uses it, in Chromium: the
 * app's own /tasks/:id route, and the README's onProgress line. A finished task's status carries no
 * progress, so the script must give SUCCESS 100 % and keep FAILURE's last progress, instead of
 * emptying the bar at the end.
 */
let app: Celeriac;
let worker: Worker;
let server: Server;
let base: string;
let browser: Awaited<ReturnType<typeof openBrowser>>;

const page = `<!doctype html><div id="bar" style="width:0"></div><script src="/admin/static/celeriac-status.js"></script>
<script>
  window.seen = [];
  window.poll = (id) => CeleriacStatus.poll(id, {
    url: '/tasks/{id}',
    intervalMs: 200,
    onProgress: (s) => { window.seen.push(s); bar.style.width = (s.progress?.percent ?? 0) + '%'; },
    onDone: (s) => { window.final = s; },
  });
</script>`;

beforeAll(async () => {
  app = await makeApp('status_script', { apps: [join(__dirname, '../fixtures/progress')] });
  worker = app.worker({ concurrency: 2 });
  await worker.start();
  const web = express();
  web.use(app.middleware());
  web.get('/', (_req, res) => void res.type('html').send(page));
  web.get('/tasks/:id', async (req, res) => {
    const row = await req.celeriac.asyncResult(req.params.id).info();
    res.set('Cache-Control', 'no-store');
    if (!row) return void res.status(404).json({ id: req.params.id, state: 'UNKNOWN' });
    res.json(taskStatusJson(row));
  });
  web.use('/admin', app.admin({ insecureNoAuth: true }));
  server = web.listen(0, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  browser = await openBrowser();
  await browser.page.goto(base + '/');
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await new Promise((r) => server?.close(r));
  await worker?.stop();
  await cleanup(app);
});

const width = () => browser.page.evaluate(`document.getElementById('bar').style.width`);

async function pollUntilHeld(id: string, percent: number) {
  await browser.page.evaluate(`window.final = undefined; window.seen = []; window.poll(${JSON.stringify(id)})`);
  await browser.page.waitForFunction(`document.getElementById('bar').style.width === '${percent}%'`, null, {
    timeout: 30_000,
  });
  await eventually(() => expect(gates.has(id)).toBe(true));
  gates.get(id)!();
  await browser.page.waitForFunction('window.final !== undefined', null, { timeout: 30_000 });
  return browser.page.evaluate('({ final: window.final, last: window.seen[window.seen.length - 1] })') as Promise<any>;
}

test('SUCCESS fills the bar: the final status says 100 %', async () => {
  const r = await halfway.delay();
  const { final, last } = await pollUntilHeld(r.id, 50);
  expect(final.state).toBe('SUCCESS');
  expect(last).toEqual(final);
  expect(final.progress).toEqual({ done: 2, total: 2, percent: 100 });
  expect(await width()).toBe('100%');
});

test('FAILURE keeps the bar where the task stopped', async () => {
  const r = await failsLate.delay();
  const { final } = await pollUntilHeld(r.id, 75);
  expect(final.state).toBe('FAILURE');
  expect(final.error.message).toBe('ran out of paper');
  expect(final.progress).toMatchObject({ done: 3, total: 4, percent: 75 });
  expect(await width()).toBe('75%');
  expect(browser.errors).toEqual([]);
});
