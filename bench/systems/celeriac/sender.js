'use strict';
/**
 * Celeriac's sender: `node sender.js <mode> <n>`; prints `BENCH_RESULT {json}`.
 *   single   n sendTask calls, each awaited before the next
 *   bulk     celeriac.sendMany, 1,000 tasks per call (one LPUSH round trip each; PENDING rows written behind)
 *   latency  n round trips: sendTask, then AsyncResult.get(), one at a time (after <warmups> warm-ups, default 20)
 *   w4       n bench.sleep tasks (50 ms) with args w4-00000…, sent as in bulk
 */
const { runChild, senderArgs } = require('../../lib/child');
// BENCH_CELERIAC_APP: the app compiled against the built package (celeriac-dist, ./dist.js).
const { celeriac } = process.env.BENCH_CELERIAC_APP ? require(process.env.BENCH_CELERIAC_APP) : fromSource();

function fromSource() {
  process.env.CELERIAC_FROM_SOURCE = '1';
  require('../../../bin/register-ts').register();
  return require('./app.ts');
}

const BULK = 1000;

async function main() {
  const { mode, n, warmups } = senderArgs();
  // Connect before the clock starts, as every sender does.
  await celeriac.broker();
  await celeriac.results();
  const out = { mode, n };
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  if (mode === 'single') {
    for (let i = 0; i < n; i++) await celeriac.sendTask('bench.noop');
    out.ms = performance.now() - t0;
  } else if (mode === 'bulk' || mode === 'w4') {
    // As BullMQ's sender calls addBulk: one call per 1,000 tasks.
    for (let i = 0; i < n; i += BULK) {
      const items = [];
      for (let j = i; j < Math.min(n, i + BULK); j++) {
        items.push(
          mode === 'w4'
            ? { name: 'bench.sleep', args: [`w4-${String(j).padStart(5, '0')}`, 50] }
            : { name: 'bench.noop' },
        );
      }
      await celeriac.sendMany(items);
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
  // The sender's own CPU (user + system) while it sent; the PENDING commit at close() is not in it.
  const cpu = process.cpuUsage(cpu0);
  out.cpuMs = (cpu.user + cpu.system) / 1000;
  // PENDING rows are written in batches behind the sends: commit them before the worker starts.
  const tc = performance.now();
  await celeriac.close();
  out.flushMs = performance.now() - tc;
  return out;
}

runChild(main);
