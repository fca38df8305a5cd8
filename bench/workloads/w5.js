'use strict';
/**
 * W5 work-flows (issue: "a chord of 10,000 no-op members"): per run, one sender builds and sends
 * n no-op tasks with a callback that receives all their results, each system its own documented
 * way (systems/chords.js), timed from the first call to the send returning. Then one worker
 * process drains it: completion = worker start (BENCH_T0: modules loaded, nothing connected)
 * → the callback's result visible in the store. The worker never runs while the sender does.
 */
const { rmSync } = require('node:fs');
const { join } = require('node:path');
const { cpuDelta } = require('../lib/cpu');
const { sleep } = require('../lib/proc');
const { chords } = require('../systems/chords');
const { tagFor } = require('./common');

async function run(sys, env, opts, runIndex) {
  const c = chords[sys.name];
  if (!c || c.notApplicable) return { skipped: `not applicable: ${c?.notApplicable ?? 'no chord adapter'}` };
  const n = opts.w5Members;
  const tag = tagFor(sys, 'w5', runIndex);
  await sys.reset(env);
  const s = await c.sender(env, tag, n).result(120_000 + n * 20);
  const out = { n, sendMs: s.ms, sendSec: s.ms / 1000 };
  if (s.flushMs !== undefined) out.senderFlushMs = s.flushMs;

  const profileDir = opts.profile && sys.family === 'celeriac' ? join(opts.resultsDir, 'profiles', tag) : undefined;
  if (profileDir) rmSync(profileDir, { recursive: true, force: true });
  const worker = sys.worker(env, tag, { profileDir });
  try {
    const [t0, hrT0Us] = (await worker.waitFor('T0', 60_000)).payload.split(' ').map(Number);
    const cpu0 = worker.cpuSnapshot();
    // Celery's chord_unlock alone polls once a second: allow it minutes on 10,000 members.
    const deadline = Date.now() + 60_000 + n * (sys.family === 'celery' ? 60 : 10);
    let r;
    while (!(r = await c.callback(env, s.callbackId)).done) {
      if (Date.now() > deadline)
        throw new Error(
          `${sys.name}: the callback's result was not visible ${Math.round((Date.now() - t0) / 1000)} s after the worker started`,
        );
      if (worker.exitInfo)
        throw new Error(`${sys.name}: worker exited before the callback's result was visible${worker.tailText()}`);
      await sleep(10);
    }
    out.completionMs = Date.now() - t0;
    out.completionSec = out.completionMs / 1000;
    out.workerCpuMs = cpuDelta(cpu0, worker.cpuSnapshot());
    if (profileDir && hrT0Us) out.profileWindowUs = [hrT0Us, hrT0Us + out.completionMs * 1000];
    if (r.failed) throw new Error(`${sys.name}: the callback failed: ${r.failed}`);
    // Each callback returns how many member results it was given.
    out.callbackGot = r.value;
    if (r.value !== n)
      throw new Error(`${sys.name}: the callback got ${JSON.stringify(r.value)} results, expected ${n}`);
    const ready = worker.messages.find((m) => m.tag === 'READY');
    if (ready) out.startupMs = ready.at - t0;
    out.peakRssMiB = worker.peakRssKb() / 1024;
  } finally {
    worker.peakRssKb();
    await worker.stop();
  }
  if (profileDir) out.profileDir = profileDir;
  return out;
}

module.exports = { name: 'w5', run };
