'use strict';
const Redis = require('ioredis');
const { Logger } = require('graphile-worker');
const { NS, DATABASE_URL, REDIS_HOST, REDIS_PORT } = require('../ns.js');

const schema = NS.graphile.schema;
const batched = process.env.BENCH_GRAPHILE_BATCHED === '1';

/**
 * graphile-worker's own performance settings (website/docs/performance.md, perfTest/run.js):
 * 24 jobs at once on a pool of 25; "batched" adds the local queue of 500 and zero-delay batched
 * completes/fails, "unbatched" leaves both at their default -1 (off).
 */
const options = {
  connectionString: DATABASE_URL,
  schema,
  concurrency: 24,
  maxPoolSize: 25,
  pollInterval: 2000,
  ...(batched
    ? { preset: { worker: { localQueue: { size: 500 }, completeJobBatchDelay: 0, failJobBatchDelay: 0 } } }
    : {}),
};

/** Warnings and errors only: graphile-worker logs every job at info level otherwise. */
const logger = new Logger(() => (level, message) => {
  if (level === 'error' || level === 'warning') console.error(`${level}: ${message}`);
});

function execRedis() {
  return new Redis({ host: REDIS_HOST, port: REDIS_PORT, db: NS.exec.redisDb });
}

module.exports = {
  schema,
  batched,
  options,
  logger,
  DATABASE_URL,
  execRedis,
  execKey: NS.exec.keyPrefix + (batched ? 'graphile-batched:' : 'graphile:'),
};
