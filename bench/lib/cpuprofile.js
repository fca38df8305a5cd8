'use strict';
/** Summarises a V8 .cpuprofile (node --cpu-prof): self time per function and per file/package. */
const { readFileSync, readdirSync, existsSync } = require('node:fs');
const { join, relative } = require('node:path');

const ROOT = join(__dirname, '..', '..');

function where(url) {
  if (!url) return '(native)';
  const path = url.replace(/^file:\/\//, '');
  const nm = path.lastIndexOf('node_modules/');
  if (nm >= 0) {
    const rest = path.slice(nm + 'node_modules/'.length).split('/');
    return rest[0].startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0];
  }
  if (path.startsWith('node:')) return path;
  if (path.startsWith(ROOT)) return relative(ROOT, path);
  return path;
}

/**
 * @param window optional [startUs, endUs] on the profile's clock (monotonic µs, as
 *   process.hrtime.bigint() / 1000n): only samples inside it count, e.g. a worker's drain without
 *   its start-up and shutdown.
 */
function summarize(file, top = 20, window) {
  const prof = JSON.parse(readFileSync(file, 'utf8'));
  const byId = new Map(prof.nodes.map((n) => [n.id, n]));
  const self = new Map();
  const dt = prof.timeDeltas;
  let t = prof.startTime;
  for (let i = 0; i < prof.samples.length; i++) {
    t += dt[i] ?? 0;
    if (window && (t < window[0] || t > window[1])) continue;
    // Each sample's time is the gap to the next one.
    self.set(prof.samples[i], (self.get(prof.samples[i]) ?? 0) + (dt[i + 1] ?? 0));
  }
  const total = [...self.values()].reduce((a, b) => a + b, 0);
  const fns = new Map();
  const files = new Map();
  for (const [id, us] of self) {
    const { callFrame: cf } = byId.get(id);
    const w = where(cf.url);
    const name = cf.functionName || '(anonymous)';
    const key = `${name} ${w}${cf.url ? ':' + (cf.lineNumber + 1) : ''}`;
    fns.set(key, (fns.get(key) ?? 0) + us);
    const fkey = name === '(idle)' || name === '(program)' || name === '(garbage collector)' ? name : w;
    files.set(fkey, (files.get(fkey) ?? 0) + us);
  }
  const rank = (m) =>
    [...m]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([k, us]) => ({ name: k, ms: us / 1000, pct: (100 * us) / total }));
  return { file, totalMs: total / 1000, windowed: !!window, functions: rank(fns), files: rank(files) };
}

function summarizeDir(dir, top, window) {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => f.endsWith('.cpuprofile'))
    .map((f) => summarize(join(dir, f), top, window));
}

function format(s) {
  const lines = [
    `profile ${relative(ROOT, s.file)}: ${s.totalMs.toFixed(0)} ms sampled${s.windowed ? ' (drain only: worker start → last result visible)' : ''}`,
  ];
  lines.push('  self time by file/package:');
  for (const f of s.files.slice(0, 12))
    lines.push(`    ${f.pct.toFixed(1).padStart(5)}%  ${f.ms.toFixed(0).padStart(6)} ms  ${f.name}`);
  lines.push('  hottest functions (self time):');
  for (const f of s.functions)
    lines.push(`    ${f.pct.toFixed(1).padStart(5)}%  ${f.ms.toFixed(0).padStart(6)} ms  ${f.name}`);
  return lines.join('\n');
}

module.exports = { summarize, summarizeDir, format };

if (require.main === module) {
  for (const arg of process.argv.slice(2)) {
    const list = arg.endsWith('.cpuprofile') ? [summarize(arg, 30)] : summarizeDir(arg, 30);
    for (const s of list) console.log(format(s) + '\n');
  }
}
