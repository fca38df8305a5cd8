'use strict';
/**
 * Issue 21's second W1 size (workload `w1l`: the drain at --w1-large tasks beside BullMQ, and the
 * worker's peak RSS at both sizes) and the RabbitMQ section's text: tables, text and targets;
 * report.js puts them in place. A run saved before these existed renders them as not measured.
 */
const { fmtInt, cell, okRuns, rowLabel, med, table, verdict } = require('./report-cells');

const PEER = 'bullmq';
/** "Flat from 10,000 to 100,000": the peak at the large size at most this much above the small one's. */
const FLAT = 1.1;

const ratio = (a, b) => (Number.isFinite(a) && Number.isFinite(b) ? a / b : NaN);
const fmtRatio = (x) => (Number.isFinite(x) ? `**${x.toFixed(2)}×**` : '—');
/** Large-size runs of a Celeriac system with a "÷ BullMQ" row (the source tree and the built package). */
const owns = (results, systems) => systems.filter((s) => s.family === 'celeriac' && s.ratioRow && results[s.name]);

function w1LargeTable(results, small, systems, opts) {
  const rows = [];
  const o = { runs: opts.w1LargeRuns };
  for (const s of systems) {
    const list = results[s.name];
    if (!list) continue;
    const ok = okRuns(list);
    const rssSmall = med(small?.[s.name], 'peakRssMiB');
    const rssLarge = med(list, 'peakRssMiB');
    rows.push([
      rowLabel(s, list),
      fmtInt(ok[0]?.n ?? opts.w1Large),
      s.bulk
        ? cell(
            ok.map((r) => r.bulkPerSec),
            fmtInt,
            o,
          ) + ' (bulk)'
        : cell(
            ok.map((r) => r.sendPerSec),
            fmtInt,
            o,
          ) + ' (one by one)',
      cell(
        ok.map((r) => r.drainPerSec),
        fmtInt,
        o,
      ),
      cell(
        ok.map((r) => r.drainFromSpawnPerSec),
        fmtInt,
        o,
      ),
      cell(
        ok.map((r) => r.peakRssMiB),
        fmtInt,
        o,
      ),
      Number.isFinite(rssSmall) && Number.isFinite(rssLarge)
        ? `${fmtInt(rssSmall)} → ${fmtInt(rssLarge)} (${rssLarge >= rssSmall ? '+' : ''}${fmtInt((rssLarge / rssSmall - 1) * 100)} %)`
        : '—',
      ['worker', 'redis', 'postgres']
        .map((k) =>
          cell(
            ok.map((r) => r[`${k}CpuMsPer1k`]),
            fmtInt,
            { runs: 1 },
          ),
        )
        .join(' · '),
    ]);
  }
  const peer = systems.find((s) => s.name === PEER);
  if (peer && results[PEER])
    for (const own of owns(results, systems)) {
      const r = (key) => fmtRatio(ratio(med(results[own.name], key), med(results[PEER], key)));
      rows.push([
        `${own.label} ÷ ${peer.label}`,
        '',
        r('bulkPerSec'),
        r('drainPerSec'),
        r('drainFromSpawnPerSec'),
        r('peakRssMiB'),
        '',
        r('workerCpuMsPer1k') + ' (worker)',
      ]);
    }
  return table(
    [
      'System',
      'tasks',
      'queue filled at (tasks/s)',
      'drain from modules loaded (tasks/s)',
      'drain from spawn (tasks/s)',
      'worker peak RSS (MiB)',
      'peak RSS: W1 size → this size (MiB, medians)',
      'drain CPU ms per 1k tasks: worker · Redis · Postgres (median)',
    ],
    rows,
  );
}

function w1LargeText(opts) {
  return `- **W1 at ${fmtInt(opts.w1Large)} tasks** (workload \`w1l\`; ${(opts.w1LargeSystems ?? []).join(', ')} only; ${opts.w1LargeRuns} run(s)): W1 again with ${fmtInt(opts.w1Large)} no-op tasks, the queue filled by the bulk send (the same messages and PENDING rows as one by one), then one worker drains them, timed from both origins, its peak RSS and drain CPU taken as in W1. It shows whether the drain rate holds and the worker's memory stays flat at ten times W1's size.`;
}

/**
 * Issue 21's W1 goals per size: drain ≥ 1.5× BullMQ from both origins, for the source tree and the
 * built package; worker peak RSS ≤ 80 MiB at both sizes and flat between them.
 */
function w1ScaleTargets(results, systems, opts) {
  const rows = [];
  const sizes = [
    ['w1', results.w1, opts.w1Tasks],
    ['w1l', results.w1l, opts.w1Large],
  ];
  const celeriacs = systems.filter((s) => s.family === 'celeriac' && s.ratioRow && s.transport !== 'amqp');
  for (const [w, byS, n] of sizes) {
    const size = `${fmtInt(n || 100_000)} tasks`;
    if (!byS) {
      if (w === 'w1l') rows.push([`W1 drain at ${size} ≥ 1.5× BullMQ, both origins`, 'not run', verdict(null)]);
      continue;
    }
    for (const own of celeriacs) {
      if (!byS[own.name]) continue;
      const r = ['drainPerSec', 'drainFromSpawnPerSec'].map((k) => ratio(med(byS[own.name], k), med(byS[PEER], k)));
      const measured = r.every(Number.isFinite);
      rows.push([
        `W1 drain at ${size} ≥ 1.5× BullMQ, ${own.label}`,
        measured
          ? `from modules loaded ${r[0].toFixed(2)}×, from spawn ${r[1].toFixed(2)}×`
          : 'BullMQ or Celeriac not measured',
        verdict(measured ? r.every((x) => x >= 1.5) : null),
      ]);
    }
  }
  const large = results.w1l ?? {};
  for (const own of celeriacs) {
    if (!results.w1?.[own.name] && !large[own.name]) continue;
    const a = med(results.w1?.[own.name], 'peakRssMiB');
    const b = med(large[own.name], 'peakRssMiB');
    const measured = Number.isFinite(a) && Number.isFinite(b);
    rows.push([
      `Worker peak RSS ≤ 80 MiB at ${fmtInt(opts.w1Tasks)} and ${fmtInt(opts.w1Large || 100_000)} tasks, flat (≤ +${Math.round((FLAT - 1) * 100)} %), ${own.label}`,
      measured
        ? `${fmtInt(a)} → ${fmtInt(b)} MiB (${b >= a ? '+' : ''}${fmtInt((b / a - 1) * 100)} %)`
        : `${Number.isFinite(a) ? `${fmtInt(a)} MiB at ${fmtInt(opts.w1Tasks)}; ` : ''}${fmtInt(opts.w1Large || 100_000)} not measured`,
      verdict(measured ? a <= 80 && b <= 80 && b <= a * FLAT : null),
    ]);
  }
  return rows;
}

function amqpText() {
  return "Celeriac and Celery prefork each on the shared RabbitMQ (127.0.0.1:5672, guest), each in a vhost of its own made at setup and deleted at teardown, queues purged between runs; results in the same Postgres as above. The same workloads and sizes as W1, W2 and W4 above, the same run (interleaved with the Redis systems); only the broker differs. Ratios are Celeriac's median ÷ Celery's on the same broker.";
}

module.exports = { w1LargeTable, w1LargeText, w1ScaleTargets, amqpText };
