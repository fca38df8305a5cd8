import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import type { Celeriac } from '../../src';
import type { Broker } from '../../src/broker';
import type { Worker } from '../../src/worker/worker';
import { testBroker, TEST_BROKERS, type TestBroker } from '../brokers';
import { cleanup, eventually } from '../helpers';
import { axeViolations, openBrowser } from './browser';
import { adminApp, MOUNT, STAFF, staffSession } from './helpers';

/**
 * Flower's part of the admin in real Chromium, on Redis and on RabbitMQ: the worker page's
 * controls change the worker (pool size, rate limit, consumers), the queues page lists, deletes,
 * purges and re-queues what the broker really holds, and every page passes axe-core's WCAG A/AA
 * rules with the CSP on. Confirm dialogs are accepted (and recorded: each action asked first).
 */
describe.each(TEST_BROKERS)('on %s', (kind) => {
  const NAME = `flower-${kind}@test`;
  let amqp: TestBroker;
  let app: Celeriac;
  let worker: Worker;
  let broker: Broker;
  let server: Server;
  let root: string;
  let web: import('express').Express;
  let browser: Awaited<ReturnType<typeof openBrowser>>;

  beforeAll(async () => {
    amqp = await testBroker(kind, 'flower_browser');
    const made = await adminApp(`flower_browser_${kind}`, {
      app: kind === 'amqp' ? { brokerUrl: amqp.brokerUrl } : {},
      admin: { signOutUrl: '/logout', appUrl: '/', appName: 'Back to Example' },
    });
    app = made.app;
    web = made.web;
    broker = await app.broker();
    server = made.web.listen(0, '127.0.0.1');
    await new Promise((r) => server.once('listening', r));
    root = `http://127.0.0.1:${(server.address() as AddressInfo).port}${MOUNT}`;
    worker = app.worker({ name: NAME, queues: ['fl-main'], concurrency: 2 });
    await worker.start();
    browser = await openBrowser({ headers: STAFF, acceptDialogs: true });
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    server?.close();
    await worker?.stop();
    if (app) await cleanup(app);
    await amqp?.dispose();
  }, 60_000);
  afterEach(() => {
    expect(browser.errors).toEqual([]);
    browser.dialogs.length = 0;
  });

  const control = async (command: string, fill: Record<string, string> = {}) => {
    const { page } = browser;
    const form = `form[data-command="${command}"]`;
    for (const [field, value] of Object.entries(fill)) {
      const input = `${form} [name="${field}"]`;
      if ((await page.getAttribute(input, 'list')) === null && (await page.$eval(input, (e) => e.tagName)) === 'SELECT')
        await page.selectOption(input, value);
      else await page.fill(input, value);
    }
    await page.evaluate(() => ((globalThis as any).document.querySelector('#control-answer').textContent = ''));
    await page.click(`${form} button[type="submit"]`);
    await page.waitForFunction(() => (globalThis as any).document.querySelector('#control-answer').textContent !== '');
    return page.textContent('#control-answer');
  };

  test('the worker page shows what the worker holds, and its controls change it', async () => {
    const { page } = browser;
    await page.goto(`${root}/workers`);
    await page.click(`a[href$="/workers/${encodeURIComponent(NAME)}"]`);
    await page.waitForSelector('#w-registered tbody tr');
    expect(await page.textContent('#w-queues')).toBe('fl-main');
    expect(await page.textContent('#w-registered')).toContain('math.add');
    expect(await page.textContent('#w-conf')).toContain('defaultQueue');
    // The worker's result store, from inspect stats: down, stalled, or (here) its backlog.
    expect(await page.textContent('#w-stats')).toMatch(/Result store\s*\d+ state\(s\) not yet written/);
    expect(await axeViolations(page)).toEqual([]);

    expect(await control('pool-grow', { n: '2' })).toMatch(/pool will grow/);
    expect(browser.dialogs.at(-1)).toMatch(/Grow pool \{"n":2\} on flower-/);
    expect(worker.concurrency).toBe(4);
    expect(await control('pool-shrink', { n: '1' })).toMatch(/pool will shrink/);
    expect(worker.concurrency).toBe(3);
    await page.waitForFunction(() =>
      /× 3/.test((globalThis as any).document.querySelector('#worker-pool').textContent),
    );

    expect(await control('rate-limit', { task: 'math.add', rate: '5/s' })).toMatch(/new rate limit set/);
    // The override is this worker's own (task-limits.ts): 5 tokens per second.
    expect((worker as any).limits.rateOverrides.get('math.add')).toMatchObject({ tokens: 5, perMs: 1000 });
    expect(await control('time-limit', { task: 'math.add', soft: '5', hard: '10' })).toMatch(/time limits set/);
    expect(await control('rate-limit', { task: 'math.add', rate: 'fast' })).toMatch(/rate: expected '10\/s'/);

    expect(await control('add-consumer', { queue: 'fl-extra' })).toMatch(/add consumer fl-extra/);
    expect(worker.queues).toEqual(['fl-main', 'fl-extra']);
    await page.waitForFunction(() =>
      /fl-extra/.test((globalThis as any).document.querySelector('#w-queues').textContent),
    );
    expect(await control('cancel-consumer', { queue: 'fl-extra' })).toMatch(/no longer consuming from fl-extra/);
    expect(worker.queues).toEqual(['fl-main']);
    expect(await control('autoscale', { max: '4', min: '1' })).toMatch(/Autoscale not enabled/);
    expect(await control('pool-restart')).toMatch(/threads or processes pool/);
    // A task that waits for its countdown shows under Scheduled (Redis: the delayed set; RabbitMQ: the consumer holds it).
    const later = await app.sendTask('math.add', [1, 1], {}, { queue: 'fl-main', countdown: 3600 });
    await eventually(
      async () => {
        await page.reload();
        await page.waitForSelector('#w-registered tbody tr');
        expect(await page.textContent('#w-scheduled')).toContain(later.id.slice(0, 8));
      },
      20_000,
      200,
    );
    await app.control.revoke(later.id);
    expect(await axeViolations(page)).toEqual([]);
    await browser.screenshot(`worker-${kind}`);
  }, 90_000);

  test('the queues page lists, deletes, purges and re-queues what the broker holds', async () => {
    const { page } = browser;
    const sent = await Promise.all([1, 2, 3].map((n) => app.sendTask('math.add', [n, n], {}, { queue: 'fl-held' })));
    await page.goto(`${root}/workers`);
    await page.click('nav a[href$="/queues"]');
    // Redis finds queues nobody consumes by their keys; RabbitMQ cannot list queues, so one is asked for by name.
    if (kind === 'amqp') {
      await page.fill('#queue-lookup', 'fl-held');
      await page.click('form.filters button[type="submit"]');
    }
    const ready = () => page.textContent('tr[data-queue="fl-held"] [data-field="ready"]');
    await eventually(async () => expect(await ready()).toBe('3'), 15_000, 100);
    expect(await axeViolations(page)).toEqual([]);

    await page.click('button[data-queue-action="messages"][data-queue="fl-held"]');
    await page.waitForSelector('#messages-table tbody tr');
    expect(await page.$$eval('#messages-table tbody tr', (trs) => trs.length)).toBe(3);
    await page.click(`button[data-message-action="delete"][data-id="${sent[1].id}"]`);
    await page.waitForFunction(() =>
      /Deleted/.test((globalThis as any).document.querySelector('#queue-answer').textContent),
    );
    expect(browser.dialogs.at(-1)).toMatch(new RegExp(`Delete task ${sent[1].id} from fl-held`));
    expect(await sent[1].status()).toBe('REVOKED');
    await eventually(async () => expect(await ready()).toBe('2'), 15_000, 100);

    await page.click('button[data-queue-action="purge"][data-queue="fl-held"]');
    await page.waitForFunction(() =>
      /Purged 2 message/.test((globalThis as any).document.querySelector('#queue-answer').textContent),
    );
    expect(await broker.queueLength('fl-held')).toBe(0);
    // On Redis an empty queue nobody consumes has no key left, so its row goes; RabbitMQ's queue stays, empty.
    const cell = 'tr[data-queue="fl-held"] [data-field="ready"]';
    await eventually(
      async () => expect(['0', null]).toContain(await page.$(cell).then((c) => c && c.textContent())),
      15_000,
      100,
    );

    // A dead letter, made the way a worker makes one, shown with its reason and sent back by a click.
    const poison = await app.sendTask('math.add', [7, 7], {}, { queue: 'fl-dead' });
    await broker.registerConsumer('fl-dead-consumer', 60_000);
    let held: { raw: string }[] = [];
    await eventually(
      async () => {
        held = await broker.fetch('fl-dead-consumer', ['fl-dead'], 1, 500);
        expect(held).toHaveLength(1);
      },
      15_000,
      0,
    );
    await broker.deadLetter('fl-dead-consumer', held[0].raw, 'test: kept killing workers');
    await broker.unregisterConsumer('fl-dead-consumer');
    await page.reload();
    const row = `#dead-table tr[data-id="${poison.id}"]`;
    await page.waitForSelector(row);
    expect(await page.textContent(row)).toContain('test: kept killing workers');
    await browser.screenshot(`queues-${kind}`);
    await page.click(`${row} button[data-dead-action="requeue"]`);
    await page.waitForFunction(() =>
      /Re-queued/.test((globalThis as any).document.querySelector('#queue-answer').textContent),
    );
    expect(await broker.queueLength('fl-dead')).toBe(1);
    await page.waitForSelector(row, { state: 'detached' });
  }, 90_000);

  test('dashboard charts per task: counts per minute, runtime percentiles, whole-number axes', async () => {
    const { page } = browser;
    await Promise.all(
      [1, 2, 3, 4].map((n) =>
        app.sendTask('math.add', [n, n], {}, { queue: 'fl-main' }).then((r) => r.get({ timeout: 20 })),
      ),
    );
    await page.goto(`${root}/`);
    await page.waitForSelector('#chart-task option[value="math.add"]', { state: 'attached' });
    await page.selectOption('#chart-task', 'math.add');
    await page.waitForSelector('#task-chart-counts svg rect.ok');
    await page.waitForSelector('#task-chart-runtime svg circle.series-3');
    expect(await page.$$eval('#chart-task option', (os) => os.map((o) => o.textContent))).toContain('math.add');
    // Every y-axis label is a whole number, and the labels are evenly spaced steps.
    for (const chart of ['#chart', '#task-chart-counts']) {
      // The throughput chart draws from its own request: wait until it has drawn its axis.
      await page.waitForFunction(
        (sel) =>
          Array.from((globalThis as any).document.querySelectorAll(`${sel} svg text[text-anchor="end"]`)).some(
            (t: any) => /^\d+$/.test(t.textContent ?? ''),
          ),
        chart,
      );
      const ticks = (
        await page.$$eval(`${chart} svg text[text-anchor="end"]`, (ts) => ts.map((t) => t.textContent ?? ''))
      )
        .filter((t) => /^\d+$/.test(t))
        .map(Number);
      expect(ticks[0]).toBe(0);
      const steps = new Set(ticks.slice(1).map((t, i) => t - ticks[i]));
      expect(steps.size).toBe(1);
    }
    expect(await page.textContent('#task-chart-counts svg')).toMatch(/time: (UTC|Etc\/UTC)/);
    expect(await axeViolations(page)).toEqual([]);
    if (kind === TEST_BROKERS[0]) await browser.screenshot('dashboard-task-charts');
  }, 60_000);

  test('every page passes axe-core (labels, contrast, names, landmarks)', async () => {
    const { page } = browser;
    // A crontab's next run reads in its own zone, named, whatever the page's zone.
    if (kind === TEST_BROKERS[0]) {
      const s = await staffSession(web);
      await s
        .post('/api/periodic-tasks', {
          name: 'berlin at four',
          task: 'math.add',
          args: [1, 2],
          schedule: { kind: 'crontab', minute: '0', hour: '4', timezone: 'Europe/Berlin' },
        })
        .expect(201);
      await page.goto(`${root}/periodic-tasks`);
      const next = await page.textContent('tr:has-text("berlin at four") td.next-run time');
      expect(next).toMatch(/^\d{4}-\d{2}-\d{2} 04:00:00 Europe\/Berlin \(CES?T\)$/);
      expect(await page.textContent('tr:has-text("berlin at four")')).toMatch(/Europe\/Berlin/);
    }
    for (const path of ['/tasks', '/tasks/new', '/periodic-tasks', '/periodic-tasks/new', '/workers', '/queues']) {
      await page.goto(`${root}${path}`);
      expect({ path, violations: await axeViolations(page) }).toEqual({ path, violations: [] });
    }
  }, 60_000);

  test('forms: parameter hint, errors that clear when fixed, growing JSON boxes, a wide ETA box', async () => {
    if (kind !== TEST_BROKERS[0]) return; // the forms do not depend on the transport
    const { page } = browser;
    await page.goto(`${root}/tasks/new`);
    await page.selectOption('#f-task', 'math.add');
    expect(await page.textContent('#task-params')).toBe(
      'Parameters, in order: a, b (positional arguments fill them from the left).',
    );
    await page.selectOption('#f-task', 'math.boom');
    expect(await page.textContent('#task-params')).toBe('Takes no arguments.');
    await page.fill('#f-args', '{"a": 1}');
    await page.click('#new-task button[type="submit"]');
    expect(await page.textContent('[data-error-for="args"]')).toMatch(/expected a JSON array/);
    await page.type('#f-args', ' ');
    expect(await page.textContent('[data-error-for="args"]')).toBe('');
    expect(await page.$('.field[data-field="args"].invalid')).toBeNull();
    const before = await page.$eval('#f-args', (e) => (e as any).offsetHeight);
    await page.fill('#f-args', JSON.stringify([{ a: 1, b: [1, 2, 3], c: 'x' }, 2, 3, 4], null, 2));
    expect(await page.$eval('#f-args', (e) => (e as any).offsetHeight)).toBeGreaterThan(before);
    expect(await page.$eval('#f-args', (e) => (e as any).scrollHeight <= (e as any).clientHeight + 4)).toBe(true);
    expect(await page.$eval('#f-eta', (e) => (e as any).getBoundingClientRect().width)).toBeGreaterThanOrEqual(240);
    await browser.screenshot('task-form-hint');

    await page.goto(`${root}/periodic-tasks/new`);
    await page.click('form button[type="submit"]');
    await page.waitForSelector('.field[data-field="name"].invalid');
    await page.type('#f-name', 'nightly report');
    expect(await page.$('.field[data-field="name"].invalid')).toBeNull();
    expect(await page.textContent('[data-error-for="name"]')).toBe('');
  }, 60_000);

  test('pages: sign-out and back links, time zone choice remembered, HTML 404s in the layout', async () => {
    const { page } = browser;
    await page.goto(`${root}/workers`);
    expect(await page.getAttribute('header a.nav-extra >> text=Sign out', 'href')).toBe('/logout');
    expect(await page.getAttribute('header a.nav-extra >> text=Back to Example', 'href')).toBe('/');
    await page.selectOption('#zone-pick', 'utc');
    await page.reload();
    expect(await page.inputValue('#zone-pick')).toBe('utc');
    expect(await page.textContent('#workers tbody time')).toMatch(/ UTC$/);
    expect(await axeViolations(page)).toEqual([]);
    for (const path of [
      '/no-such-page',
      '/tasks/00000000-0000-4000-8000-000000000000',
      '/periodic-tasks/999999',
      '/workers/nobody@nowhere',
    ]) {
      const res = await page.goto(`${root}${path}`);
      expect(res?.status()).toBe(404);
      expect(await page.textContent('h1')).toBe('Not found');
      expect(await page.textContent('main')).not.toMatch(/PeriodicTaskService|"error"/);
      expect(await page.$('header.top nav')).not.toBeNull();
    }
    const api = await page.goto(`${root}/api/nope`);
    expect(api?.status()).toBe(404);
    expect(await api?.json()).toMatchObject({ error: 'not_found' });
    if (kind === TEST_BROKERS[0]) {
      await page.goto(`${root}/workers`);
      await browser.screenshot('workers');
    }
  }, 60_000);
});
