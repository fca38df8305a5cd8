import { spawn } from 'node:child_process';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { Client } from 'pg';
import Redis from 'ioredis';
import type { Celeriac } from '../../src';
import { openBrowser } from '../../test/admin/browser';
import { DATABASE_URL, REDIS_URL, isolation } from '../../test/helpers';

/**
 * The newcomer's path as acceptance tests: `npm run demo` starts on embedded defaults and serves
 * its page; and on the real services (Postgres + Redis, a worker and beat in their own objects)
 * a user starts a report in Chromium and watches it finish without reloading.
 */
const iso = isolation('sampleapp');
let celeriac: Celeriac;
let server: Server;
let base: string;

beforeAll(async () => {
  process.env.DATABASE_URL = DATABASE_URL;
  process.env.CELERIAC_BROKER_URL = REDIS_URL;
  process.env.CELERIAC_SCHEMA = iso.schema;
  process.env.CELERIAC_KEY_PREFIX = iso.keyPrefix;
  ({ celeriac } = await import('../src/celeriac'));
  const { createWeb } = await import('../src/web');
  await celeriac.migrate();
  await celeriac.worker({ queues: ['celery', 'emails'], name: 'sample-real@test' }).start();
  await celeriac.beat({ name: 'sample-beat@test' }).start();
  server = createWeb().listen(0, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}, 60_000);

afterAll(async () => {
  server?.close();
  await celeriac?.close();
  const pg = new Client({ connectionString: DATABASE_URL });
  await pg.connect();
  await pg.query(`DROP SCHEMA IF EXISTS "${iso.schema}" CASCADE`);
  await pg.end();
  const redis = new Redis(REDIS_URL);
  const keys = await redis.keys(iso.keyPrefix + '*');
  if (keys.length) await redis.del(...keys);
  await redis.quit();
});

test('on Postgres and Redis: a user starts a report and watches it reach SUCCESS without a reload', async () => {
  const browser = await openBrowser();
  try {
    const { page } = browser;
    await page.goto(`${base}/`);
    await page.fill('input[name="title"]', 'Board pack');
    const navigations: string[] = [];
    page.on('framenavigated', (f) => navigations.push(f.url()));
    await page.click('button[type="submit"]');
    await page.waitForFunction(`document.getElementById('state').textContent === 'PROGRESS'`, null, {
      timeout: 15_000,
    });
    await page.waitForFunction(`document.getElementById('state').textContent === 'SUCCESS'`, null, { timeout: 20_000 });
    expect(await page.textContent('#done')).toBe('Done: /reports/Board%20pack.pdf');
    expect(navigations).toEqual([]);
    expect(browser.errors).toEqual([]);
  } finally {
    await browser.close();
  }
  // The report really went through Redis and Postgres: its row names this worker.
  const ds = await celeriac.dataSource();
  const [row] = await ds.query(
    `SELECT status, worker FROM "${iso.schema}".celeriac_task_result WHERE task_name = 'reports.build' AND args->>0 = 'Board pack'`,
  );
  expect(row).toEqual({ status: 'SUCCESS', worker: 'sample-real@test' });
  // And beat synced the schedules declared in code.
  const names = (
    await ds.query(`SELECT name FROM "${iso.schema}".celeriac_periodic_task WHERE enabled ORDER BY name`)
  ).map((r: { name: string }) => r.name);
  expect(names).toEqual(expect.arrayContaining(['purge sessions', 'weekday report']));
}, 60_000);

test('`npm run demo` starts on embedded defaults, says so, and serves its home page', async () => {
  const env: NodeJS.ProcessEnv = { ...process.env, PORT: '0', NODE_OPTIONS: '' };
  for (const k of ['DATABASE_URL', 'CELERIAC_BROKER_URL', 'CELERIAC_SCHEMA', 'CELERIAC_KEY_PREFIX']) delete env[k];
  const child = spawn('npm', ['run', 'demo'], {
    cwd: join(__dirname, '..'),
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (out += d));
  try {
    const url = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`the demo did not start within 45 s:\n${out}`)), 45_000);
      child.stdout.on('data', () => {
        const m = /Sample app on (http:\/\/\S+)/.exec(out);
        if (m) {
          clearTimeout(timer);
          resolve(m[1]);
        }
      });
    });
    expect(out).toMatch(/embedded Postgres \(PGlite\) and in-memory broker/);
    const res = await fetch(url.replace('localhost', '127.0.0.1'));
    expect(res.status).toBe(200);
    expect(await res.text()).toContain('<h1>Celeriac sample app</h1>');
  } finally {
    process.kill(-child.pid!, 'SIGTERM');
  }
}, 60_000);
