import Redis from 'ioredis';
import { ConfigError, type Celeriac } from '../../src';
import { cleanup, makeApp, REDIS_URL } from '../helpers';

/**
 * Found from outside (session 7): `redis://host:6379/99` on a Redis with the default 16
 * databases sent every message into database 0. ioredis reports a refused SELECT only as an
 * 'error' event and carries on in database 0, so tasks meant for one app's database went where
 * another app's (or a Python Celery's on /0) workers read them. kombu (redis-py) raises
 * "DB index is out of range" there; Celeriac must refuse too, naming brokerUrl, before sending.
 */

let redis: Redis;
let databases: number;
const apps: Celeriac[] = [];

beforeAll(async () => {
  redis = new Redis(REDIS_URL);
  databases = Number(((await redis.config('GET', 'databases')) as string[])[1]);
});

afterAll(async () => {
  for (const app of apps) await cleanup(app);
  await redis.quit();
});

const base = REDIS_URL.replace(/\/\d*$/, '');

async function appOn(db: number) {
  const app = await makeApp('probe_redis_db', {
    brokerUrl: `${base}/${db}`,
    routes: { 'elsewhere.*': { queue: 'probe-q' } },
  });
  apps.push(app);
  return app;
}

async function keysUnder(prefix: string, db: number): Promise<string[]> {
  const conn = new Redis(`${base}/${db}`);
  try {
    return await conn.keys(prefix + '*');
  } finally {
    await conn.quit();
  }
}

test('a database past the server has: a ConfigError naming brokerUrl, and nothing lands in database 0', async () => {
  const app = await appOn(databases);
  const sent = app.sendTask('elsewhere.job', [1]);
  await expect(sent).rejects.toBeInstanceOf(ConfigError);
  await expect(sent).rejects.toThrow(new RegExp(`'brokerUrl'.*database ${databases}`));
  await expect(app.worker({ name: 'probe-db@test', queues: ['probe-q'] }).start()).rejects.toBeInstanceOf(ConfigError);
  expect(await keysUnder(app.config.keyPrefix, 0)).toEqual([]);
});

test('the last database the server has still works, and the message is there', async () => {
  const app = await appOn(databases - 1);
  await app.sendTask('elsewhere.job', [1]);
  expect(await keysUnder(app.config.keyPrefix, databases - 1)).toContain(`${app.config.keyPrefix}probe-q`);
  expect(await keysUnder(app.config.keyPrefix, 0)).toEqual([]);
});
