import { join } from 'node:path';
import Redis from 'ioredis';
import { Client } from 'pg';
import type { Celeriac } from '../../src';
import type { Worker } from '../../src/worker/worker';
import { cleanup, DATABASE_URL, eventually, makeApp, REDIS_URL } from '../helpers';
import { slow } from '../fixtures/behave/tasks';

let app: Celeriac;
let worker: Worker;
let redis: Redis;
let pg: Client;
beforeAll(async () => {
  app = await makeApp('reconnect', { apps: [join(__dirname, '../fixtures/behave')] });
  worker = app.worker({ name: 'reconnect@test', concurrency: 5 });
  worker.on('error', () => {}); // expected while connections are cut
  await worker.start();
  redis = new Redis(REDIS_URL);
  pg = new Client({ connectionString: DATABASE_URL });
  await pg.connect();
});
afterAll(async () => {
  await redis.quit();
  await pg.end();
  await cleanup(app);
});

/** Cut only this test app's connections: Redis ones by client name, Postgres ones by application_name. */
async function cutConnections(): Promise<number> {
  const name = 'celeriac:' + app.config.keyPrefix.replace(/[^\w:.-]/g, '_');
  const clients = (await redis.client('LIST')) as string;
  const ids = clients
    .split('\n')
    .filter((l) => l.includes(` name=${name} `))
    .map((l) => /id=(\d+)/.exec(l)![1]);
  for (const id of ids) await redis.client('KILL', 'ID', id);
  const { rowCount } = await pg.query(
    `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1`,
    [`celeriac:${app.config.schema}`],
  );
  return ids.length + (rowCount ?? 0);
}

test('Redis and Postgres connections cut mid-run: the worker reconnects and every result lands', async () => {
  const sent = await Promise.all(Array.from({ length: 60 }, (_, i) => slow.delay(20 + (i % 5) * 10)));
  await eventually(async () => expect(worker.info().processed).toBeGreaterThan(5), 10_000, 5);
  expect(await cutConnections()).toBeGreaterThanOrEqual(2);
  await eventually(async () => expect(worker.info().processed).toBeGreaterThan(20), 20_000, 20);
  await cutConnections();
  for (const r of sent) expect(typeof (await r.get({ timeout: 30 }))).toBe('number');
  const rows = await (await app.results()).getMany(sent.map((r) => r.id));
  expect(rows.filter((r) => r.status === 'SUCCESS')).toHaveLength(60);
}, 60_000);
