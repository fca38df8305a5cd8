/**
 * The benchmark's Celeriac app: loaded by `celeriac worker --app` (bin/celeriac.js, from source)
 * and by sender.js. Everything is Celeriac's defaults (acksLate, events on, PENDING recorded at
 * send, 5 s lease) except the namespace and a logger that drops the per-task info lines, as the
 * peers log nothing per task by default either.
 */
import Redis from 'ioredis';
import { Celeriac, task } from '../../../src';
import type { Logger } from '../../../src';

const { NS, DATABASE_URL, REDIS_HOST, REDIS_PORT } = require('../ns.js');
const ns = NS.celeriac;
const isWorker = process.env.BENCH_ROLE === 'worker';

const logger: Logger = {
  log(level, message, fields) {
    if (isWorker && message.startsWith('worker ready')) process.stdout.write('BENCH_READY\n');
    if (level === 'warn' || level === 'error') process.stderr.write(`${level} ${message} ${fields ? JSON.stringify(fields) : ''}\n`);
  },
};

export const celeriac = new Celeriac({
  databaseUrl: DATABASE_URL,
  brokerUrl: `redis://${REDIS_HOST}:${REDIS_PORT}/${ns.redisDb}`,
  keyPrefix: ns.keyPrefix,
  schema: ns.schema,
  logger,
  // Diagnostics only (bench/diag): the benchmark itself always runs Celeriac's defaults.
  ...(process.env.BENCH_TRACK_PENDING === '0' ? { trackPending: false } : {}),
  ...(process.env.BENCH_EVENTS === '0' ? { events: false } : {}),
});

export const noop = task('bench.noop', () => null);

let execRedis: Redis | undefined;
const execKey = NS.exec.keyPrefix + 'celeriac:';

/** W4: record each execution's start and end, so duplicates and losses can be counted per task. */
export const sleepRecord = task('bench.sleep', async (_ctx, benchId: string, ms: number) => {
  execRedis ??= new Redis({ host: REDIS_HOST, port: REDIS_PORT, db: NS.exec.redisDb });
  await execRedis.rpush(execKey + 'start', benchId);
  await new Promise((r) => setTimeout(r, ms));
  await execRedis.rpush(execKey + 'end', benchId);
  return null;
});

// The drain is timed from here: modules loaded, nothing connected yet (as the peers' workers).
// The second figure (monotonic µs, the clock of --cpu-prof) lets the harness cut a profile to the drain.
if (isWorker) process.stdout.write(`BENCH_T0 ${Date.now()} ${process.hrtime.bigint() / 1000n}\n`);
