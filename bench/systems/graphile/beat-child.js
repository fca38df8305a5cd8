'use strict';
/**
 * W3 for graphile-worker (bench/workloads/w3.js): the runner with a crontab of the plan's n items
 * (BENCH_W3_PLAN, JSON), all `M H * * *`, no backfill. graphile-worker's cron has minute
 * resolution and no interval schedules, so only the burst shape applies. Each run records its
 * start, its slot (`_cron.ts`, which graphile adds to the payload) and its send: the job row's
 * created_at, when the runner's cron inserted it.
 */
const { run, parseCronItems } = require('graphile-worker');
const { options, logger, execRedis, execKey } = require('./common');

const plan = JSON.parse(process.env.BENCH_W3_PLAN);
let exec;

async function main() {
  const d = new Date(plan.dueMs);
  const items = [];
  for (let i = 0; i < plan.n; i++) {
    items.push({
      task: 'beat',
      match: `${d.getUTCMinutes()} ${d.getUTCHours()} * * *`,
      identifier: `w3-${i}`,
      payload: { i },
      options: { backfillPeriod: 0 },
    });
  }
  const taskList = {
    beat: async (payload, helpers) => {
      exec ??= execRedis();
      const now = Date.now();
      const due = Date.parse(payload._cron.ts);
      const job = helpers.job;
      await exec
        .multi()
        .rpush(execKey + 'w3:start', `${payload.i}|${due}|${now}|${job.id}`)
        .rpush(execKey + 'w3:sent', `${payload.i}|${due}|${new Date(job.created_at).getTime()}|${job.id}`)
        .exec();
    },
  };
  const runner = await run({
    ...options,
    taskList,
    logger,
    noHandleSignals: true,
    parsedCronItems: parseCronItems(items),
  });
  process.stdout.write('BENCH_READY\n');
  for (const sig of ['SIGTERM', 'SIGINT']) process.on(sig, () => runner.stop().then(() => process.exit(0)));
  await runner.promise;
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
