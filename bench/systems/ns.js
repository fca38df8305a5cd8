'use strict';
/**
 * Where each system keeps its state during the benchmark: its own Redis database and key prefix,
 * its own Postgres schema, so no two systems (and no test run in DB 0 under `test:`) share keys or
 * tables, and cleanup can drop exactly what the benchmark made. Only 127.0.0.1.
 */
const DATABASE_URL = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const REDIS_HOST = '127.0.0.1';
const REDIS_PORT = 6379;

// BENCH_NS=<name> (letters, digits, _): a suffix on every prefix and schema, so two benchmark runs
// on one machine (engineers sharing it) neither wipe nor count each other's tasks.
const SUFFIX = process.env.BENCH_NS ? `_${process.env.BENCH_NS}` : '';
if (!/^(_[a-z0-9_]+)?$/.test(SUFFIX))
  throw new Error(`BENCH_NS=${process.env.BENCH_NS}: use lower-case letters, digits and _`);

const NS = {
  celeriac: { redisDb: 1, keyPrefix: `bench${SUFFIX}:celeriac:`, schema: `bench_celeriac${SUFFIX}` },
  bullmq: { redisDb: 2, keyPrefix: `bench-bullmq${SUFFIX}:`, prefix: `bench-bullmq${SUFFIX}`, queue: 'bench' },
  graphile: { schema: `bench_graphile${SUFFIX}` },
  celery: { redisDb: 3, keyPrefix: `bench${SUFFIX}:celery:`, schema: `bench_celery${SUFFIX}` },
  /** On RabbitMQ (127.0.0.1:5672, guest): one vhost per system, created at setup and deleted at teardown. */
  amqp: {
    url: 'amqp://guest:guest@127.0.0.1:5672',
    celeriacVhost: `bench_celeriac${SUFFIX}`,
    celeryVhost: `bench_celery${SUFFIX}`,
  },
  /** W4: each task execution RPUSHes its bench id to `<prefix><system>:start` and `…:end` here. */
  exec: { redisDb: 4, keyPrefix: `bench${SUFFIX}:exec:` },
};

for (const url of [DATABASE_URL]) {
  const host = new URL(url).hostname;
  if (host !== '127.0.0.1' && host !== 'localhost')
    throw new Error(`the benchmark only talks to 127.0.0.1, not ${host}`);
}

module.exports = { DATABASE_URL, REDIS_HOST, REDIS_PORT, NS };
