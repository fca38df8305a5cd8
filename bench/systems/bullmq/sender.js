'use strict';
/**
 * BullMQ sender: `node sender.js <mode> <n>`; prints `BENCH_RESULT {json}`.
 *   single   n queue.add calls, each awaited
 *   bulk     queue.addBulk in chunks of 1,000
 *   latency  n round trips: queue.add, then job.waitUntilFinished(queueEvents), after <warmups> warm-ups (default 20)
 *   w4       n 'sleep' jobs of 50 ms (addBulk)
 */
const { runChild, senderArgs } = require('../../lib/child');
const { Queue, QueueEvents } = require('bullmq');
const { ns, connection, defaultJobOptions } = require('./common');

const BULK = 1000;

async function main() {
  const { mode, n, warmups } = senderArgs();
  const queue = new Queue(ns.queue, { connection, prefix: ns.prefix, defaultJobOptions });
  await queue.waitUntilReady();
  let events;
  if (mode === 'latency') {
    events = new QueueEvents(ns.queue, { connection, prefix: ns.prefix });
    await events.waitUntilReady();
  }
  const out = { mode, n };
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  if (mode === 'single') {
    for (let i = 0; i < n; i++) await queue.add('noop', {});
  } else if (mode === 'bulk' || mode === 'w4') {
    for (let i = 0; i < n; i += BULK) {
      const jobs = [];
      for (let j = i; j < Math.min(n, i + BULK); j++) {
        jobs.push(
          mode === 'w4'
            ? { name: 'sleep', data: { id: `w4-${String(j).padStart(5, '0')}`, ms: 50 } }
            : { name: 'noop', data: {} },
        );
      }
      await queue.addBulk(jobs);
    }
  } else if (mode === 'latency') {
    const lat = [];
    for (let i = 0; i < n + warmups; i++) {
      const s = performance.now();
      const job = await queue.add('noop', {});
      await job.waitUntilFinished(events, 10_000);
      if (i >= warmups) lat.push(performance.now() - s);
    }
    out.latencies = lat;
  } else throw new Error(`unknown mode ${mode}`);
  out.ms = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  out.cpuMs = (cpu.user + cpu.system) / 1000;
  await events?.close();
  await queue.close();
  return out;
}

runChild(main);
