'use strict';
/**
 * W3 at a million schedules (spread-1m and up): stands in for `celeriac worker`. A million
 * 60-second intervals are 16,700 runs a second, about what one worker drains on a quiet 2-core
 * machine with nothing else running; beside the beat, Postgres and Redis it falls behind, its
 * queue grows by a gigabyte a minute in Redis, and the start figures would measure the worker,
 * not the beat. So this pops each message from the queue as it arrives and records it in the
 * format of app.ts's `bench.beat` task (schedule|slot|instant|task id), the instant being the
 * pop: start lateness is then delivery to Redis (plus up to 5 ms of polling), and missed and
 * duplicates are counted on what actually reached the queue.
 */
const Redis = require('ioredis');
const { NS, REDIS_HOST, REDIS_PORT } = require('../ns');

const QUEUE_KEY = NS.celeriac.keyPrefix + 'celery';
const RECORD_KEY = NS.exec.keyPrefix + 'celeriac:w3:start';
const POP = 5_000;

const field = (raw, name) => {
  const m = new RegExp(`"${name}": ?"([^"]*)"`).exec(raw);
  return m ? m[1] : '';
};

async function main() {
  const queue = new Redis({ host: REDIS_HOST, port: REDIS_PORT, db: NS.celeriac.redisDb });
  const exec = new Redis({ host: REDIS_HOST, port: REDIS_PORT, db: NS.exec.redisDb });
  let stopping = false;
  process.on('SIGTERM', () => (stopping = true));
  process.stdout.write('BENCH_READY\n');
  while (!stopping) {
    const raws = (await queue.rpop(QUEUE_KEY, POP)) ?? [];
    const now = Date.now();
    if (raws.length) {
      const records = raws.map((raw) => {
        const i = /^w3-(\d+)$/.exec(field(raw, 'periodic_task_name'))?.[1] ?? '';
        return `${i}|${Date.parse(field(raw, 'scheduled_at'))}|${now}|${field(raw, 'id')}`;
      });
      await exec.rpush(RECORD_KEY, ...records);
    }
    if (raws.length < POP) await new Promise((r) => setTimeout(r, 5));
  }
  queue.disconnect();
  exec.disconnect();
}

main().then(
  () => process.exit(0),
  (err) => {
    process.stderr.write(`drain failed: ${err.stack}\n`);
    process.exit(1);
  },
);
