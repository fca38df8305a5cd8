'use strict';
/**
 * W1 throughput. Per run: (1) where the system has a bulk send, send N in bulk and wipe them;
 * (2) send N no-op tasks one call at a time from one process, each call awaited; (3) start one
 * worker process and time until the N-th result is visible in the store, from two origins: its
 * modules loaded, nothing connected (BENCH_T0), and its spawn (what a deployment waits, module
 * loading and start-up included); record the worker's peak RSS (VmHWM of its process
 * tree). The worker never runs while a sender does.
 *
 * `w1l` is the same at a second size (--w1-large, issue 21's 100,000), the queue filled by the bulk
 * send alone (one by one where a system has none): the drain, its CPU and the worker's peak RSS at
 * 10× the tasks, beside the 10,000 of `w1`.
 */
const { rmSync } = require('node:fs');
const { join } = require('node:path');
const { servicesCpu, cpuDelta } = require('../lib/cpu');
const { waitAllVisible, tagFor } = require('./common');

async function run(sys, env, opts, runIndex, large = false) {
  const n = large ? opts.w1Large : sys.family === 'celery' ? opts.w1CeleryTasks : opts.w1Tasks;
  const tag = tagFor(sys, large ? 'w1l' : 'w1', runIndex);
  const senderDeadline = 60_000 + n * 10;
  const out = { n };

  await sys.reset(env);
  // The large size fills the queue in bulk where it can (the same messages and PENDING rows as
  // one by one, in a third of the time): its figures are the drain's and the worker's memory.
  const fillInBulk = large && sys.bulk;
  if (sys.bulk) {
    const b = await sys.sender(env, tag, 'bulk', n).result(senderDeadline);
    out.bulkPerSec = (n / b.ms) * 1000;
    // Celeriac's sendMany returns once Redis has the messages; the PENDING rows commit after.
    if (b.flushMs !== undefined) out.bulkFlushMs = b.flushMs;
    if (!fillInBulk) await sys.reset(env);
  }
  if (!fillInBulk) {
    const s = await sys.sender(env, tag, 'single', n).result(senderDeadline);
    out.sendPerSec = (n / s.ms) * 1000;
    if (s.cpuMs !== undefined) out.senderCpuMsPer1k = (s.cpuMs / n) * 1000;
    if (s.flushMs !== undefined) out.senderFlushMs = s.flushMs;
  }

  const profileDir = opts.profile && sys.family === 'celeriac' ? join(opts.resultsDir, 'profiles', tag) : undefined;
  if (profileDir) rmSync(profileDir, { recursive: true, force: true });
  const worker = sys.worker(env, tag, { profileDir });
  try {
    const [t0, hrT0Us] = (await worker.waitFor('T0', 60_000)).payload.split(' ').map(Number);
    // CPU from here on is the drain's: the worker's modules are loaded. Redis, RabbitMQ and
    // Postgres are shared with anything else on the machine, so theirs is indicative only.
    const cpu0 = { worker: worker.cpuSnapshot(), ...servicesCpu() };
    const { at } = await waitAllVisible(
      sys,
      env,
      n,
      60_000 + n * (sys.family === 'celery' ? 60 : 10),
      () => !worker.exitInfo,
    );
    const cpu1 = { worker: worker.cpuSnapshot(), ...servicesCpu() };
    for (const k of ['worker', 'redis', 'rabbitmq', 'postgres'])
      out[`${k}CpuMsPer1k`] = (cpuDelta(cpu0[k], cpu1[k]) / n) * 1000;
    out.drainMs = at - t0;
    out.drainPerSec = (n / out.drainMs) * 1000;
    out.drainFromSpawnMs = at - worker.spawnedAt;
    out.drainFromSpawnPerSec = (n / out.drainFromSpawnMs) * 1000;
    out.loadMs = t0 - worker.spawnedAt;
    if (profileDir && hrT0Us) out.profileWindowUs = [hrT0Us, hrT0Us + out.drainMs * 1000];
    const ready = worker.messages.find((m) => m.tag === 'READY');
    if (ready) out.startupMs = ready.at - t0;
    // Spawn → first task running (the worker prints BENCH_FIRST from its first task; Celery's does not).
    const first = worker.messages.find((m) => m.tag === 'FIRST');
    if (first) out.firstTaskFromSpawnMs = first.at - worker.spawnedAt;
    out.peakRssMiB = worker.peakRssKb() / 1024;
  } finally {
    worker.peakRssKb();
    await worker.stop();
  }
  if (profileDir) out.profileDir = profileDir;
  return out;
}

const large = { name: 'w1l', run: (sys, env, opts, runIndex) => run(sys, env, opts, runIndex, true) };

module.exports = { name: 'w1', run, large };
