'use strict';
/** What every W1/W2/W4 table is made of: number formats, a median (min–max) cell, peers, ratios. */
const { summarize } = require('./stats');

const fmtInt = (x) => Math.round(x).toLocaleString('en-US');
const fmtMs = (x) => (x < 10 ? x.toFixed(2) : x < 100 ? x.toFixed(1) : Math.round(x).toLocaleString('en-US'));
const fmtSec = (x) => x.toFixed(1);

function cell(values, fmt, { runs }) {
  const s = summarize(values);
  if (s.n === 0) return '—';
  if (runs === 1 || s.n === 1) return fmt(s.median);
  return `${fmt(s.median)} (${fmt(s.min)}–${fmt(s.max)})`;
}

function okRuns(list) {
  return (list ?? []).filter((r) => r && !r.error && !r.skipped);
}

function errorsOf(list) {
  return (list ?? []).filter((r) => r?.error).map((r) => r.error);
}

/** A system's row label, with its failed runs counted and why it was skipped, if it was. */
function rowLabel(s, list) {
  const errs = errorsOf(list);
  const skipped = (list ?? []).find((r) => r?.skipped)?.skipped;
  return (
    s.label +
    (errs.length ? ` ⚠ ${errs.length} run(s) failed` : '') +
    (skipped && !okRuns(list).length ? ` (${skipped})` : '')
  );
}

function med(list, key) {
  return summarize(okRuns(list).map((r) => r[key])).median;
}

/** Best peer for a metric: highest when higher is better, lowest otherwise. */
function bestPeer(results, systems, key, higherIsBetter, filter = () => true) {
  let best = null;
  for (const s of systems) {
    if (s.family === 'celeriac' || !filter(s)) continue;
    const v = med(results[s.name], key);
    if (!Number.isFinite(v)) continue;
    if (!best || (higherIsBetter ? v > best.value : v < best.value)) best = { system: s, value: v };
  }
  return best;
}

function ratioCell(results, systems, key, higherIsBetter, filter, own = 'celeriac') {
  const cel = med(results[own], key);
  const best = bestPeer(results, systems, key, higherIsBetter, filter);
  if (!Number.isFinite(cel) || !best) return '—';
  return `**${(cel / best.value).toFixed(2)}×** ${best.system.label}`;
}

/** A markdown table; columns right-aligned (figures) unless `left` says how many lead columns are text. */
function table(header, rows, left = 1) {
  const lines = [`| ${header.join(' | ')} |`, `|${header.map((h, i) => (i < left ? ' --- ' : ' ---: ')).join('|')}|`];
  for (const r of rows) lines.push(`| ${r.join(' | ')} |`);
  return lines.join('\n');
}

const verdict = (ok) => (ok === null ? 'not measured' : ok ? 'met' : '**missed**');

module.exports = {
  fmtInt,
  fmtMs,
  fmtSec,
  cell,
  okRuns,
  errorsOf,
  rowLabel,
  med,
  bestPeer,
  ratioCell,
  table,
  verdict,
};
