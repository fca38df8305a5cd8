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
  // It writes no info line (the readiness marker aside, which is not a per-task line): saying so
  // spares the worker building its per-task lines, as a real app's logger at 'warn' does.
  isLevelEnabled: (level) => level === 'warn' || level === 'error',
  log(level, message, fields) {
    if (isWorker && message.startsWith('worker ready')) process.stdout.write('BENCH_READY\n');
    if (process.env.BENCH_ROLE === 'beat' && message === 'beat started') process.stdout.write('BENCH_READY\n');
    if (level === 'warn' || level === 'error')
      process.stderr.write(`${level} ${message} ${fields ? JSON.stringify(fields) : ''}\n`);
  },
};

export const celeriac = new Celeriac({
  databaseUrl: DATABASE_URL,
  // BENCH_BROKER_URL: the RabbitMQ rows (systems/index.js, celeriac-amqp); Redis otherwise.
  brokerUrl: process.env.BENCH_BROKER_URL ?? `redis://${REDIS_HOST}:${REDIS_PORT}/${ns.redisDb}`,
  keyPrefix: ns.keyPrefix,
  schema: ns.schema,
  logger,
  // Diagnostics only (bench/diag): the benchmark itself always runs Celeriac's defaults.
  ...(process.env.BENCH_TRACK_PENDING === '0' ? { trackPending: false } : {}),
  ...(process.env.BENCH_EVENTS === '0' ? { events: false } : {}),
  // BENCH_RESULT_BATCHES=N: resultBatchesInFlight, to compare 1 and 2 in one tree (bench/ANALYSIS.md, seventh round).
  ...(process.env.BENCH_RESULT_BATCHES ? { resultBatchesInFlight: Number(process.env.BENCH_RESULT_BATCHES) } : {}),
});

// BENCH_IGNORE_RESULT=1: the "Celeriac (ignoreResult)" W1 row (systems/index.js), no result row.
// The worker says when its first task runs (W1's start-up figure: spawn → first task running).
let firstRun = isWorker;
export const noop = task(
  'bench.noop',
  () => {
    if (firstRun) {
      firstRun = false;
      process.stdout.write('BENCH_FIRST\n');
    }
    return null;
  },
  { ignoreResult: process.env.BENCH_IGNORE_RESULT === '1' },
);

/** W5: the chord callback; gets every member's result, returns how many it got. */
export const collect = task('bench.collect', (_ctx, results: unknown[]) => results.length);

let execRedis: Redis | undefined;
const execKey = NS.exec.keyPrefix + (process.env.BENCH_SYSTEM ?? 'celeriac') + ':';
// W3 (systems/celeriac/beat.js): the record connection opened with the worker, as BullMQ's W3
// worker opens its own (systems/bullmq/beat-child.js); opened by the burst's first task it put a
// connect on the burst's path that BullMQ's runs did not pay. W1's start-up figure is untouched.
if (isWorker && process.env.BENCH_EXEC_AT_START === '1')
  execRedis = new Redis({ host: REDIS_HOST, port: REDIS_PORT, db: NS.exec.redisDb });

/** W4: record each execution's start and end, so duplicates and losses can be counted per task. */
export const sleepRecord = task('bench.sleep', async (_ctx, benchId: string, ms: number) => {
  execRedis ??= new Redis({ host: REDIS_HOST, port: REDIS_PORT, db: NS.exec.redisDb });
  await execRedis.rpush(execKey + 'start', benchId);
  await new Promise((r) => setTimeout(r, ms));
  await execRedis.rpush(execKey + 'end', benchId);
  return null;
});

/**
 * W3: each scheduled run records its start with its schedule (args[0]) and slot (the
 * scheduled_at header beat sets); the beat records each send after delivery (afterPublish),
 * buffered and pushed every 200 ms so the records cost its loop little.
 */
export const beatRecord = task('bench.beat', async (ctx, i: number) => {
  execRedis ??= new Redis({ host: REDIS_HOST, port: REDIS_PORT, db: NS.exec.redisDb });
  await execRedis.rpush(
    execKey + 'w3:start',
    `${i}|${Date.parse(String(ctx.headers.scheduled_at))}|${Date.now()}|${ctx.id}`,
  );
  return null;
});
if (process.env.BENCH_ROLE === 'beat') {
  const sent: string[] = [];
  celeriac.signals.connect('afterPublish', (info) => {
    if (info.name === 'bench.beat')
      sent.push(`${info.args[0]}|${Date.parse(String(info.headers.scheduled_at))}|${Date.now()}|${info.id}`);
  });
  setInterval(() => {
    if (sent.length === 0) return;
    execRedis ??= new Redis({ host: REDIS_HOST, port: REDIS_PORT, db: NS.exec.redisDb });
    void execRedis
      .rpush(execKey + 'w3:sent', ...sent.splice(0))
      .catch((err) => process.stderr.write(`w3 sent records lost: ${err.message}\n`));
  }, 200).unref();
}

// The drain is timed from here: modules loaded, nothing connected yet (as the peers' workers).
// The second figure (monotonic µs, the clock of --cpu-prof) lets the harness cut a profile to the drain.
if (isWorker) process.stdout.write(`BENCH_T0 ${Date.now()} ${process.hrtime.bigint() / 1000n}\n`);
