'use strict';
/**
 * Celeriac's sender: `node sender.js <mode> <n>`; prints `BENCH_RESULT {json}`.
 *   single   n sendTask calls, each awaited before the next
 *   bulk     n sendTask calls, 100 in flight at a time (Promise.all per chunk of 100)
 *   latency  n round trips: sendTask, then AsyncResult.get(), one at a time (after <warmups> warm-ups, default 20)
 *   w4       n bench.sleep tasks (50 ms) with ids w4-00000…, sent as in bulk
 */
process.env.CELERIAC_FROM_SOURCE = '1';
const { runChild, senderArgs } = require('../../lib/child');
require('../../../bin/register-ts').register();
const { celeriac } = require('./app.ts');

const BULK_IN_FLIGHT = 100;

async function main() {
  const { mode, n, warmups } = senderArgs();
  // Connect before the clock starts, as every sender does.
  await celeriac.broker();
  await celeriac.results();
  const out = { mode, n };
  const t0 = performance.now();
  if (mode === 'single') {
    for (let i = 0; i < n; i++) await celeriac.sendTask('bench.noop');
    out.ms = performance.now() - t0;
  } else if (mode === 'bulk' || mode === 'w4') {
    for (let i = 0; i < n; i += BULK_IN_FLIGHT) {
      const calls = [];
      for (let j = i; j < Math.min(n, i + BULK_IN_FLIGHT); j++) {
        calls.push(
          mode === 'w4'
            ? celeriac.sendTask('bench.sleep', [`w4-${String(j).padStart(5, '0')}`, 50])
            : celeriac.sendTask('bench.noop'),
        );
      }
      await Promise.all(calls);
    }
    out.ms = performance.now() - t0;
  } else if (mode === 'latency') {
    const lat = [];
    for (let i = 0; i < n + warmups; i++) {
      const s = performance.now();
      const r = await celeriac.sendTask('bench.noop');
      await r.get({ timeout: 10 });
      if (i >= warmups) lat.push(performance.now() - s);
    }
    out.latencies = lat;
    out.ms = performance.now() - t0;
  } else throw new Error(`unknown mode ${mode}`);
  // PENDING rows are written in batches behind the sends: commit them before the worker starts.
  const tc = performance.now();
  await celeriac.close();
  out.flushMs = performance.now() - tc;
  return out;
}

runChild(main);
