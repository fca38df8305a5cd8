'use strict';
/**
 * W2 latency: with the worker already running (and 20 warm-up round trips done and discarded; 5 in --quick),
 * the sender sends one no-op task, waits until its result is visible to the sender through the
 * system's own API, and only then sends the next; N samples per run.
 */
const { percentile } = require('../lib/stats');
const { tagFor } = require('./common');

async function run(sys, env, opts, runIndex) {
  const n = opts.w2Samples;
  const tag = tagFor(sys, 'w2', runIndex);
  await sys.reset(env);
  const worker = sys.worker(env, tag);
  try {
    await worker.waitFor('READY', 60_000);
    const r = await sys.sender(env, tag, 'latency', n, opts.quick ? 5 : 20).result(60_000 + n * 100);
    const lat = r.latencies;
    return { n, p50: percentile(lat, 50), p95: percentile(lat, 95), p99: percentile(lat, 99), max: Math.max(...lat) };
  } finally {
    await worker.stop();
  }
}

module.exports = { name: 'w2', run };
