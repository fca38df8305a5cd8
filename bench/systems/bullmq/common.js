'use strict';
const Redis = require('ioredis');
const { NS, REDIS_HOST, REDIS_PORT } = require('../ns.js');

const ns = NS.bullmq;
/** BullMQ wants maxRetriesPerRequest null on connections a Worker blocks on. */
const connection = { host: REDIS_HOST, port: REDIS_PORT, db: ns.redisDb, maxRetriesPerRequest: null };
/** Results are the point: keep completed (and failed) jobs so every returnvalue stays readable. */
const defaultJobOptions = { removeOnComplete: false, removeOnFail: false };
const CONCURRENCY = Number(process.env.BENCH_BULLMQ_CONCURRENCY ?? 50);

function execRedis() {
  return new Redis({ host: REDIS_HOST, port: REDIS_PORT, db: NS.exec.redisDb });
}

module.exports = { ns, connection, defaultJobOptions, CONCURRENCY, execRedis, execKey: NS.exec.keyPrefix + 'bullmq:' };
