'use strict';
/** graphile-worker runner with or without batching (BENCH_GRAPHILE_BATCHED=1); see common.js. */
const { run } = require('graphile-worker');
const { options, logger, execRedis, execKey } = require('./common');

let exec;
let firstRun = true;
const taskList = {
  noop: async () => {
    // W1's start-up figure: spawn → first task running.
    if (firstRun) {
      firstRun = false;
      process.stdout.write('BENCH_FIRST\n');
    }
  },
  sleep: async (payload) => {
    exec ??= execRedis();
    await exec.rpush(execKey + 'start', payload.id);
    await new Promise((r) => setTimeout(r, payload.ms));
    await exec.rpush(execKey + 'end', payload.id);
  },
};

async function main() {
  process.stdout.write(`BENCH_T0 ${Date.now()}\n`);
  const runner = await run({ ...options, taskList, logger, noHandleSignals: true });
  process.stdout.write('BENCH_READY\n');
  let stopping = false;
  for (const sig of ['SIGTERM', 'SIGINT']) {
    process.on(sig, async () => {
      if (stopping) process.exit(1);
      stopping = true;
      await runner.stop();
      process.exit(0);
    });
  }
  await runner.promise;
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
