'use strict';
/**
 * W3 for BullMQ (bench/workloads/w3.js), one child per role:
 *   setup   upserts the plan's job schedulers (BENCH_W3_PLAN, JSON): a cron `pattern` for a burst,
 *           `every` with a `startDate` per scheduler for the spread; 500 upserts in flight
 *   worker  a Worker (concurrency 50, as in W1): job schedulers have no process of their own, the
 *           worker that completes an iteration adds the next one. Each run records its start with
 *           its slot, which the job id carries (`repeat:<scheduler>:<slot ms>`).
 * The queue keeps 1,000,000 events (default ~10,000) so the harness can read each iteration's
 * `waiting` event, the moment it became runnable, as its send.
 */
const { Queue, Worker } = require('bullmq');
const { ns, connection, execRedis, execKey } = require('./common');

const plan = JSON.parse(process.env.BENCH_W3_PLAN ?? '{}');
const template = (i) => ({ name: 'beat', data: { i }, opts: { removeOnComplete: true, removeOnFail: true } });

async function setup() {
  const queue = new Queue(ns.queue, { connection, prefix: ns.prefix, streams: { events: { maxLen: 1_000_000 } } });
  const d = new Date(plan.dueMs ?? 0);
  const repeat = (i) =>
    plan.kind === 'burst'
      ? { pattern: `${d.getUTCMinutes()} ${d.getUTCHours()} * * *`, tz: 'UTC' }
      : { every: plan.periodMs, startDate: plan.t0Ms + Math.floor((i * plan.periodMs) / plan.n) };
  const t = Date.now();
  for (let i = 0; i < plan.n; i += 500) {
    const chunk = [];
    for (let j = i; j < Math.min(plan.n, i + 500); j++)
      chunk.push(queue.upsertJobScheduler(`w3-${j}`, repeat(j), template(j)));
    await Promise.all(chunk);
  }
  process.stdout.write(`BENCH_RESULT ${JSON.stringify({ setupMs: Date.now() - t })}\n`);
  await queue.close();
}

function worker() {
  const exec = execRedis();
  const w = new Worker(
    ns.queue,
    async (job) => {
      if (job.name !== 'beat') return null;
      const due = job.id.slice(job.id.lastIndexOf(':') + 1);
      await exec.rpush(execKey + 'w3:start', `${job.data.i}|${due}|${Date.now()}|${job.id}`);
      return null;
    },
    { connection, prefix: ns.prefix, concurrency: 50 },
  );
  w.on('error', (err) => console.error('worker error', err.message));
  w.on('ready', () => process.stdout.write('BENCH_READY\n'));
  for (const sig of ['SIGTERM', 'SIGINT']) process.on(sig, () => w.close().then(() => process.exit(0)));
}

if (process.argv[2] === 'setup') {
  setup().then(
    () => process.exit(0),
    (err) => {
      console.error(err);
      process.exit(1);
    },
  );
} else worker();
