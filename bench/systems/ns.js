'use strict';
/**
 * Where each system keeps its state during the benchmark: its own Redis database and key prefix,
 * its own Postgres schema, so no two systems (and no test run in DB 0 under `test:`) share keys or
 * tables, and cleanup can drop exactly what the benchmark made. Only 127.0.0.1.
 */
const DATABASE_URL = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const REDIS_HOST = '127.0.0.1';
const REDIS_PORT = 6379;

const NS = {
  celeriac: { redisDb: 1, keyPrefix: 'bench:celeriac:', schema: 'bench_celeriac' },
  bullmq: { redisDb: 2, keyPrefix: 'bench-bullmq:', prefix: 'bench-bullmq', queue: 'bench' },
  graphile: { schema: 'bench_graphile' },
  celery: { redisDb: 3, keyPrefix: 'bench:celery:', schema: 'bench_celery' },
  /** On RabbitMQ (127.0.0.1:5672, guest): one vhost per system, created at setup and deleted at teardown. */
  amqp: { url: 'amqp://guest:guest@127.0.0.1:5672', celeriacVhost: 'bench_celeriac', celeryVhost: 'bench_celery' },
  /** W4: each task execution RPUSHes its bench id to `<prefix><system>:start` and `…:end` here. */
  exec: { redisDb: 4, keyPrefix: 'bench:exec:' },
};

for (const url of [DATABASE_URL]) {
  const host = new URL(url).hostname;
  if (host !== '127.0.0.1' && host !== 'localhost')
    throw new Error(`the benchmark only talks to 127.0.0.1, not ${host}`);
}

module.exports = { DATABASE_URL, REDIS_HOST, REDIS_PORT, NS };
