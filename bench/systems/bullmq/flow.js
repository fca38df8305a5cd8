'use strict';
/**
 * W5, BullMQ: `node flow.js <n>` adds one flow with `FlowProducer.add`: a parent job 'collect'
 * with n 'noop' children, BullMQ's documented way to run a job after a set of jobs. The parent
 * runs once every child has completed; worker.js reads the children's values there
 * (`job.getChildrenValues()`), as a chord callback receives its members' results.
 * Prints `BENCH_RESULT {json}` with the send time and the parent's job id.
 */
const { runChild } = require('../../lib/child');
const { FlowProducer } = require('bullmq');
const { ns, connection, defaultJobOptions } = require('./common');

async function main() {
  const n = Number(process.argv[2]);
  const flows = new FlowProducer({ connection, prefix: ns.prefix });
  await flows.waitUntilReady();
  const t0 = performance.now();
  const children = Array.from({ length: n }, () => ({
    name: 'noop',
    queueName: ns.queue,
    data: {},
    opts: defaultJobOptions,
  }));
  const tree = await flows.add({ name: 'collect', queueName: ns.queue, data: {}, opts: defaultJobOptions, children });
  const out = { n, ms: performance.now() - t0, callbackId: tree.job.id };
  await flows.close();
  return out;
}

runChild(main);
