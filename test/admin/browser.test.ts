import { randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import type { Celeriac } from '../../src';
import type { Worker } from '../../src/worker/worker';
import { cleanup } from '../helpers';
import { openBrowser } from './browser';
import { adminApp, MOUNT, STAFF, staffSession, waitForState, type StaffSession } from './helpers';

const XSS = '<img src=x onerror=alert(1)>';

let app: Celeriac;
let worker: Worker;
let server: Server;
let s: StaffSession;
let root: string;
let browser: Awaited<ReturnType<typeof openBrowser>>;
beforeAll(async () => {
  const made = await adminApp('admin_browser', { admin: { showTracebacks: true } });
  app = made.app;
  s = await staffSession(made.web);
  server = made.web.listen(0, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  root = `http://127.0.0.1:${(server.address() as AddressInfo).port}${MOUNT}`;
  worker = app.worker({ name: 'browser-w@test', concurrency: 4 });
  await worker.start();
  browser = await openBrowser({ headers: STAFF });
});
afterAll(async () => {
  await browser?.close();
  server?.close();
  await cleanup(app);
});
afterEach(() => {
  expect(browser.dialogs).toEqual([]);
  expect(browser.errors).toEqual([]);
});

test('start a job from the form and watch it reach SUCCESS without a reload', async () => {
  const { page } = browser;
  await page.goto(`${root}/tasks/new`);
  await page.selectOption('#f-task', 'behave.progress');
  await page.fill('#f-args', '[25]');
  await page.click('button[type="submit"]');
  await page.waitForURL(/\/tasks\/[0-9a-f-]{36}$/);
  const detailUrl = page.url();
  let navigations = 0;
  page.on('framenavigated', (f) => {
    if (f === page.mainFrame()) navigations++;
  });
  // It reports progress on the way (the bar shows), then SUCCESS with its result, all in place.
  await page.waitForSelector('#progress:not([hidden])', { timeout: 10_000 });
  await page.waitForSelector('#task-state .badge[data-state="SUCCESS"]', { timeout: 15_000 });
  expect(navigations).toBe(0);
  expect(page.url()).toBe(detailUrl);
  expect(await page.textContent('#task-result')).toBe('25');
  expect(await page.isHidden('#progress')).toBe(true);
  expect(await page.textContent('#task-worker')).toBe('browser-w@test');
  await browser.screenshot('task-detail');
});

test('the form shows a validation error next to its field', async () => {
  const { page } = browser;
  await page.goto(`${root}/tasks/new`);
  await page.selectOption('#f-task', 'math.add');
  await page.fill('#f-args', '{"a": 1}');
  await page.click('button[type="submit"]');
  expect(await page.textContent('[data-error-for="args"]')).toMatch(/expected a JSON array/);
  await page.fill('#f-args', '[1, 2]');
  await page.fill('#f-priority', '12');
  await page.click('button[type="submit"]');
  await page.waitForSelector('.field[data-field="options.priority"].invalid');
  expect(await page.textContent('[data-error-for="options.priority"]')).toMatch(/integer 0-9/);
  expect(await page.textContent('[data-error-for="args"]')).toBe('');
  expect(page.url()).toBe(`${root}/tasks/new`);
  await browser.screenshot('task-form');
});

test('the tasks table adds and updates rows live', async () => {
  const { page } = browser;
  await page.goto(`${root}/tasks`);
  await page.waitForSelector('#live.on');
  const { body } = await s.post('/api/tasks', { task: 'math.add', args: [40, 2] }).expect(202);
  await page.waitForSelector(`#tasks tr[data-id="${body.id}"] .badge[data-state="SUCCESS"]`, { timeout: 10_000 });
  const row = await page.textContent(`#tasks tr[data-id="${body.id}"]`);
  expect(row).toContain('math.add');
  expect(row).toContain('[40, 2]');
});

test('a task argument made of HTML shows as text in the list and on the detail page, and runs no script', async () => {
  const { page } = browser;
  const res = await s
    .post('/api/tasks', { task: 'math.echo', args: [XSS], kwargs: { note: '"><script>alert(2)</script>' } })
    .expect(202);
  await app.sendTask('math.add', [1, 1], {}, { periodicTaskName: `<b onmouseover=alert(3)>nightly</b>` });
  await waitForState(s, res.body.id, ['SUCCESS']);
  await page.goto(`${root}/tasks`);
  const row = page.locator(`#tasks tr[data-id="${res.body.id}"]`);
  expect(await row.textContent()).toContain(XSS);
  expect(await page.locator('#tasks img').count()).toBe(0);
  expect(await page.locator('#tasks script, #tasks b').count()).toBe(0);
  expect(await page.textContent('#tasks')).toContain('<b onmouseover=alert(3)>nightly</b>');
  // The live refresh renders through the DOM too: trigger one and look again.
  await s.post('/api/tasks', { task: 'math.echo', args: [XSS] }).expect(202);
  await page.waitForTimeout(1500);
  expect(await page.locator('#tasks img').count()).toBe(0);

  await page.goto(`${root}/tasks/${res.body.id}`);
  expect(await page.textContent('#task-args')).toContain(XSS);
  expect(await page.textContent('#task-kwargs')).toContain('"><script>alert(2)</script>');
  expect(await page.textContent('#task-result')).toContain(XSS);
  expect(await page.locator('main img').count()).toBe(0);
  expect(await page.locator('main script').count()).toBe(0);
  expect(browser.dialogs).toEqual([]);
});

test('revoke and retry from the detail page', async () => {
  const { page } = browser;
  const waiting = (
    await s.post('/api/tasks', { task: 'math.add', args: [1, 1], options: { countdown: 300 } }).expect(202)
  ).body.id;
  await page.goto(`${root}/tasks/${waiting}`);
  await page.click('[data-action="revoke"]');
  await page.waitForSelector('#task-state .badge[data-state="REVOKED"]');
  expect(await page.textContent('#action-message')).toBe('Revoked.');
  expect(await page.isVisible('[data-action="retry"]')).toBe(true);
  await page.click('[data-action="retry"]');
  await page.waitForSelector('#action-message a');
  const retried = await page.getAttribute('#action-message a', 'href');
  await page.goto(new URL(retried!, root).href);
  await page.waitForSelector('#task-state .badge[data-state="SUCCESS"]', { timeout: 10_000 });
  expect(await page.textContent('main')).toContain(waiting);
});

test('create a periodic task through the form (errors next to fields, live preview) and see it listed with its next run', async () => {
  const { page } = browser;
  const beat = app.beat({ name: 'browser-beat' });
  await beat.start();
  try {
    await page.goto(`${root}/periodic-tasks/new`);
    await page.fill('#f-name', 'Nightly <b>sums</b>');
    await page.fill('#f-task', 'math.add');
    await page.fill('#f-args', '[2, 40]');
    await page.fill('#f-schedule-minute', '61');
    await page.fill('#f-schedule-hour', '2');
    await page.fill('#f-schedule-dayOfWeek', 'mon-fri');
    await page.fill('#f-schedule-timezone', 'Europe/Berln');
    // The preview marks both bad fields as you type.
    await page.waitForSelector('.field[data-field="schedule.minute"].invalid');
    await page.waitForSelector('.field[data-field="schedule.timezone"].invalid');
    expect(await page.textContent('[data-error-for="schedule.timezone"]')).toMatch(/did you mean 'Europe\/Berlin'/);
    // Saving anyway: the server says the same, next to the same fields, and nothing is saved.
    await page.click('button[type="submit"]');
    await page.locator('[data-error-for="schedule.minute"]', { hasText: '61' }).waitFor();
    expect(page.url()).toBe(`${root}/periodic-tasks/new`);
    await page.fill('#f-schedule-minute', '30');
    await page.fill('#f-schedule-timezone', 'Europe/Berlin');
    await page.locator('#preview-text', { hasText: '02:30' }).waitFor();
    await page.locator('#preview-runs li').nth(4).waitFor();
    expect(await page.locator('#preview-runs li').count()).toBe(5);
    expect(await page.textContent('#preview-text')).toMatch(/Monday.*Friday.*Europe\/Berlin/);
    expect(await page.locator('.field.invalid').count()).toBe(0);
    await browser.screenshot('periodic-form');
    await page.click('button[type="submit"]');
    await page.waitForURL(/\/periodic-tasks\?saved=\d+$/);
    const row = page.locator('#periodic tbody tr', { hasText: 'Nightly <b>sums</b>' });
    expect(await row.count()).toBe(1);
    expect(await row.locator('td.schedule-text').textContent()).toMatch(/02:30/);
    const next = await row.locator('td.next-run time').getAttribute('datetime');
    expect(new Date(next!).getTime()).toBeGreaterThan(Date.now());
    expect(new Date(next!).getUTCMinutes()).toBe(30);
    expect(await page.locator('#periodic b').count()).toBe(0);
    expect(await page.textContent('#saved')).toContain('Saved “Nightly <b>sums</b>”.');
    // A few more rows of every kind, for the screenshot.
    await s
      .post('/api/periodic-tasks', {
        name: 'cache warm-up',
        task: 'math.add',
        schedule: { kind: 'interval', every: 15, period: 'minutes' },
        description: 'keeps the report cache hot',
      })
      .expect(201);
    await s
      .post('/api/periodic-tasks', {
        name: 'garden lights',
        task: 'math.add',
        schedule: { kind: 'solar', event: 'sunset', latitude: 52.52, longitude: 13.405 },
      })
      .expect(201);
    const once = (
      await s
        .post('/api/periodic-tasks', {
          name: 'year-end close',
          task: 'math.add',
          schedule: { kind: 'clocked', clockedTime: '2026-12-31T17:00:00Z' },
        })
        .expect(201)
    ).body;
    await s.post(`/api/periodic-tasks/${once.id}/disable`).expect(200);
    await page.waitForTimeout(500);
    await page.reload();
    await browser.screenshot('periodic-tasks');

    // Switching kinds shows that kind's fields; the preview follows.
    await page.goto(`${root}/periodic-tasks/new`);
    await page.check('input[name="kind"][value="interval"]');
    expect(await page.isVisible('#f-schedule-every')).toBe(true);
    expect(await page.isVisible('#f-schedule-minute')).toBe(false);
    await page.locator('#preview-text', { hasText: /5 minutes/i }).waitFor();
  } finally {
    await beat.stop();
  }
});

test('dashboard and workers pages render with live data', async () => {
  const { page } = browser;
  for (let i = 0; i < 3; i++) await s.post('/api/tasks', { task: 'math.boom' }).expect(202);
  // An hour of history, so the chart has a shape: finished rows written straight to the result store.
  const store = await app.results();
  const now = Date.now();
  for (let m = 59; m >= 1; m--) {
    const n = Math.round(6 + 4 * Math.sin(m / 6) + (m % 7));
    for (let i = 0; i < n; i++) {
      const done = new Date(now - m * 60_000 + i * 1000);
      const failed = (m * 7 + i) % 17 === 0;
      void store.write({
        taskId: randomUUID(),
        worker: i % 2 ? 'browser-w@test' : 'emails-w@test',
        status: failed ? 'FAILURE' : 'SUCCESS',
        retries: 0,
        taskName: i % 3 ? 'math.add' : 'behave.quick',
        args: [m, i],
        dateCreated: new Date(done.getTime() - 400),
        dateStarted: new Date(done.getTime() - 300),
        dateDone: done,
        result: failed ? { exc_type: 'RangeError', exc_message: ['boom'] } : m + i,
      });
    }
  }
  await store.flush();
  // A second worker, and one that stopped answering, for the workers panels.
  await app.worker({ name: 'emails-w@test', queues: ['emails'], concurrency: 2 }).start();
  const broker = await app.broker();
  await broker.putWorkerInfo(
    'reports@old-host',
    JSON.stringify({
      name: 'reports@old-host',
      hostname: 'old-host',
      pid: 4242,
      queues: ['reports'],
      concurrency: 8,
      pool: 'threads',
      processed: 1280,
      succeeded: 1266,
      failed: 14,
      retried: 9,
      active: 0,
      held: 0,
      startedAt: now - 86_400_000,
      heartbeatAt: now - 180_000,
    }),
  );
  await page.goto(`${root}/`);
  await page.waitForSelector('#chart svg rect.ok');
  await page.waitForSelector('#live.on');
  expect(Number(await page.textContent('#workers-online'))).toBeGreaterThanOrEqual(1);
  await browser.screenshot('dashboard');
  await page.goto(`${root}/tasks`);
  await page.waitForSelector('#live.on');
  await browser.screenshot('tasks', { fullPage: false });
  await page.goto(`${root}/workers`);
  expect(await page.textContent('#workers')).toContain('browser-w@test');
  await page.waitForSelector('#live.on');
  await browser.screenshot('workers');
});
