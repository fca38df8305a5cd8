import { randomBytes } from 'node:crypto';
import Redis from 'ioredis';
import { Client } from 'pg';
import { Celeriac } from '../src';
import type { CeleriacOptions } from '../src';
import { silentLogger } from '../src/log';

export const DATABASE_URL = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
export const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379/0';

/** Each test file gets its own Postgres schema and Redis key prefix, so files run in parallel. */
export function isolation(label: string) {
  const tag = `${label.replace(/[^a-z0-9]/gi, '_').toLowerCase()}_${randomBytes(4).toString('hex')}`;
  return { schema: `t_${tag}`, keyPrefix: `test:${tag}:` };
}

export async function makeApp(label: string, options: CeleriacOptions = {}): Promise<Celeriac> {
  const app = new Celeriac({
    databaseUrl: DATABASE_URL,
    brokerUrl: REDIS_URL,
    logger: silentLogger,
    ...isolation(label),
    ...options,
  });
  await app.migrate();
  return app;
}

/**
 * What a process running a fixture app or fixture tasks for this test needs to take the test's
 * isolation: its schema, key prefix and Redis (read by test/fixtures/test-redis.ts).
 */
export function fixtureEnv(app: Celeriac): Record<string, string> {
  return { TEST_REDIS_URL: REDIS_URL, TEST_SCHEMA: app.config.schema, TEST_PREFIX: app.config.keyPrefix };
}

/** Drops what a test app created: its schema and every key under its prefix. */
export async function cleanup(app: Celeriac): Promise<void> {
  const { schema, keyPrefix, brokerUrl } = app.config;
  await app.close();
  if (schema.startsWith('t_')) {
    const pg = new Client({ connectionString: DATABASE_URL });
    await pg.connect();
    await pg.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    await pg.end();
  }
  if (brokerUrl.startsWith('redis') && keyPrefix.startsWith('test:')) {
    const redis = new Redis(brokerUrl);
    const keys = await redis.keys(keyPrefix.replace(/[*?[\]]/g, '\\$&') + '*');
    if (keys.length) await redis.del(...keys);
    await redis.quit();
  }
}

/** Retry an assertion until it holds (conditions that become true eventually), never a fixed sleep. */
export async function eventually<T>(fn: () => Promise<T> | T, timeoutMs = 10_000, stepMs = 25): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    try {
      return await fn();
    } catch (err) {
      lastError = err;
      await new Promise((r) => setTimeout(r, stepMs));
    }
  }
  throw lastError;
}

/** How many messages the broker holds for a consumer (Redis: its held hash and processing list). */
export async function heldCount(app: Celeriac, consumer: string): Promise<number> {
  return (await (await app.broker()).heldBy(consumer)).length;
}

/** Every message held by any consumer under the app's Redis prefix, whoever registered it (key → count). */
export async function allHeld(redis: Redis, prefix: string): Promise<Record<string, number>> {
  const glob = prefix.replace(/[*?[\]]/g, '\\$&');
  const out: Record<string, number> = {};
  for (const key of await redis.keys(glob + 'celeriac:processing:*')) out[key] = await redis.llen(key);
  for (const key of await redis.keys(glob + 'celeriac:held:*')) out[key] = await redis.hlen(key);
  return out;
}
