'use strict';
/**
 * The worker of bench/diag/worker-memory.js: `node worker.js` from dist, concurrency 50. Samples
 * process.memoryUsage() every 100 ms and keeps each phase's peak; answers its parent's messages:
 *   { cmd: 'phase', name }     closes the current phase and opens the next
 *   { cmd: 'snapshot', file }  gc (when exposed), then v8.writeHeapSnapshot(file)
 *   { cmd: 'report' }          replies { phases, heap } (v8.getHeapStatistics, module counts)
 */
const t0 = performance.now();
const v8 = require('node:v8');
// MEM_RUNTIME_FLAGS: V8 flags set at run time, before the app loads (what a CLI could do itself).
if (process.env.MEM_RUNTIME_FLAGS) v8.setFlagsFromString(process.env.MEM_RUNTIME_FLAGS);
const { readFileSync } = require('node:fs');
const { celeriac } = require('./app');
// MEM_RUNTIME_FLAGS_AFTER: the same once the package and the app have loaded (where a CLI's main
// module runs: its imports have loaded the package already).
if (process.env.MEM_RUNTIME_FLAGS_AFTER) v8.setFlagsFromString(process.env.MEM_RUNTIME_FLAGS_AFTER);
const loadedMs = performance.now() - t0;
// Collections by kind (scavenges vs mark-compacts), counted and timed: what a young-generation
// setting costs.
const gcs = {};
const semiCap = Number(process.env.MEM_SEMI_CAP_MIB ?? 0) * 1048576;
let lastFactor = 1;
new (require('node:perf_hooks').PerformanceObserver)((list) => {
  for (const e of list.getEntries()) {
    const kind = { 1: 'minor', 4: 'major', 8: 'incremental', 16: 'weakcb' }[e.detail?.kind] ?? String(e.detail?.kind);
    const g = (gcs[kind] ??= { count: 0, ms: 0 });
    g.count++;
    g.ms += e.duration;
  }
  // MEM_SEMI_CAP_MIB (with the growth factor 1 set before the load): let the young generation
  // grow again after the load, up to semi-spaces of this size, then stop it.
  if (semiCap) {
    const size = v8.getHeapSpaceStatistics().find((x) => x.space_name === 'new_space').space_size;
    const factor = size < 2 * semiCap ? 2 : 1;
    if (factor !== lastFactor) v8.setFlagsFromString(`--semi-space-growth-factor=${(lastFactor = factor)}`);
  }
}).observe({ entryTypes: ['gc'] });
const modulesAtLoad = Object.keys(require.cache).length;

let session;
const phases = [];
let current = { name: 'start', peakRss: 0, peakHeapUsed: 0, peakExternal: 0, peakArrayBuffers: 0 };
// Where the RSS is, from the kernel's side: smaps_rollup's anonymous vs file-backed pages, and
// smaps grouped by kind of mapping (V8's heap and code pages and malloc's arenas are all
// anonymous; [heap] is malloc's main arena; file pages are node's binary and shared libraries).
function rollup() {
  try {
    const text = readFileSync('/proc/self/smaps_rollup', 'utf8');
    const kb = (k) => Number((text.match(new RegExp(`^${k}:\\s+(\\d+) kB`, 'm')) ?? [])[1] ?? 0);
    return { rss: kb('Rss'), anon: kb('Anonymous'), file: kb('Rss') - kb('Anonymous') };
  } catch {
    return undefined;
  }
}
function smapsByKind() {
  const out = {};
  let kind;
  for (const line of readFileSync('/proc/self/smaps', 'utf8').split('\n')) {
    const head = line.match(/^[0-9a-f]+-[0-9a-f]+ (\S+) \S+ \S+ \S+\s*(.*)$/);
    if (head) {
      const [, perms, path] = head;
      // Files by name and permissions: node's text (r-xp) and read-only data (r--p: V8's snapshot,
      // ICU's data) are most of the file-backed pages, and what the worker runs decides how many.
      kind = path.startsWith('/') ? `file ${path.split('/').pop()} ${perms}` : path || `anon ${perms}`;
      continue;
    }
    const rss = line.match(/^Rss:\s+(\d+) kB/);
    if (rss && kind) out[kind] = (out[kind] ?? 0) + Number(rss[1]);
  }
  return out;
}
function sample() {
  const m = process.memoryUsage();
  if (m.rss > current.peakRss) {
    current.atPeak = m;
    current.rollupAtPeak = rollup();
  }
  current.peakRss = Math.max(current.peakRss, m.rss);
  current.peakHeapUsed = Math.max(current.peakHeapUsed, m.heapUsed);
  current.peakExternal = Math.max(current.peakExternal, m.external);
  current.peakArrayBuffers = Math.max(current.peakArrayBuffers, m.arrayBuffers);
  current.last = m;
}
setInterval(sample, 100).unref();

// MEM_PREFETCH: the worker's prefetchMultiplier (default 4), to see what the prefetch buffer holds.
const worker = celeriac.worker({
  concurrency: 50,
  ...(process.env.MEM_PREFETCH ? { prefetchMultiplier: Number(process.env.MEM_PREFETCH) } : {}),
});
worker.start().then(() => process.send({ ready: true, loadedMs, modulesAtLoad }));

process.on('message', (msg) => {
  sample();
  if (msg.cmd === 'phase') {
    phases.push(current);
    current = { name: msg.name, peakRss: 0, peakHeapUsed: 0, peakExternal: 0, peakArrayBuffers: 0 };
    process.send({ ok: true });
  } else if (msg.cmd === 'snapshot') {
    if (global.gc) global.gc();
    v8.writeHeapSnapshot(msg.file);
    process.send({ ok: true });
  } else if (msg.cmd === 'allocations-start') {
    // Every allocation sampled, the ones a GC has since freed too: what a task allocates, not
    // only what survives it (inspector HeapProfiler, V8's sampling heap profiler).
    session ??= new (require('node:inspector').Session)();
    session.connect();
    session.post(
      'HeapProfiler.startSampling',
      {
        samplingInterval: 4096,
        includeObjectsCollectedByMajorGC: true,
        includeObjectsCollectedByMinorGC: true,
      },
      () => process.send({ ok: true }),
    );
  } else if (msg.cmd === 'allocations-stop') {
    session.post('HeapProfiler.stopSampling', (err, res) => {
      require('node:fs').writeFileSync(msg.file, JSON.stringify(res.profile));
      session.disconnect();
      process.send({ ok: !err });
    });
  } else if (msg.cmd === 'report') {
    if (global.gc) global.gc();
    const after = process.memoryUsage();
    process.send({
      phases: [...phases, current],
      afterGc: after,
      heap: v8.getHeapStatistics(),
      spaces: v8.getHeapSpaceStatistics().map((s) => [s.space_name, s.space_used_size]),
      modules: Object.keys(require.cache).length,
      cpu: process.cpuUsage(),
      gcs,
      newSpace: v8.getHeapSpaceStatistics().find((x) => x.space_name === 'new_space').space_size,
      rollup: rollup(),
      smaps: smapsByKind(),
      hwmKb: Number(readFileSync('/proc/self/status', 'utf8').match(/VmHWM:\s+(\d+)/)[1]),
    });
  } else if (msg.cmd === 'stop') {
    worker
      .stop()
      .then(() => celeriac.close())
      .then(() => process.exit(0));
  }
});
