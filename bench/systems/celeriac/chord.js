'use strict';
/**
 * W5, Celeriac: `node chord.js <n>` sends `chord(group(n × bench.noop), bench.collect)` through
 * the public API and prints `BENCH_RESULT {json}` with the send time and the callback's task id.
 */
process.env.CELERIAC_FROM_SOURCE = '1';
const { runChild } = require('../../lib/child');
require('../../../bin/register-ts').register();
const { celeriac, noop, collect } = require('./app.ts');
const { chord, group } = require('../../../src');

async function main() {
  const n = Number(process.argv[2]);
  // Connect before the clock starts, as every sender does.
  await celeriac.broker();
  await celeriac.results();
  const t0 = performance.now();
  const r = await chord(group(Array.from({ length: n }, () => noop.s())), collect.s()).applyAsync();
  const out = { n, ms: performance.now() - t0, callbackId: r.id };
  // PENDING rows are written in batches behind the sends: commit them before the worker starts.
  const tc = performance.now();
  await celeriac.close();
  out.flushMs = performance.now() - tc;
  return out;
}

runChild(main);
