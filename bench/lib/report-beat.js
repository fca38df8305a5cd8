'use strict';
/** W3 (beat) in the report: one row per shape and system, Celeriac ÷ best peer per shape, the targets. */

const fmtInt = (x) => (Number.isFinite(x) ? Math.round(x).toLocaleString('en-US') : '—');
const fmtMs = (x) =>
  !Number.isFinite(x) ? '—' : Math.abs(x) < 10 ? x.toFixed(1) : Math.round(x).toLocaleString('en-US');
const fmtPct = (x) => (Number.isFinite(x) ? x.toFixed(1) : '—');
const fmtS = (x) => (Number.isFinite(x) ? (x / 1000).toFixed(1) : '—');

/** shape name → system name → that shape's figures (W3 runs once per system). */
function byShape(results, systems) {
  const out = new Map();
  for (const s of systems) {
    const r = (results[s.name] ?? [])[0];
    if (!r) continue;
    if (r.skipped || r.error) {
      out.set('*', out.get('*') ?? new Map());
      out.get('*').set(s.name, r);
      continue;
    }
    for (const [shape, f] of Object.entries(r.shapes ?? {})) {
      if (!out.has(shape)) out.set(shape, new Map());
      out.get(shape).set(s.name, f);
    }
  }
  return out;
}

const ok = (f) => f && !f.skipped && !f.error;

/** Lowest peer value of a figure (all W3 figures are lower-is-better). */
function bestPeer(bySys, systems, key) {
  let best = null;
  for (const s of systems) {
    const f = bySys.get(s.name);
    if (s.family === 'celeriac' || !ok(f) || !Number.isFinite(f[key])) continue;
    if (!best || f[key] < best.value) best = { system: s, value: f[key] };
  }
  return best;
}

function ratio(bySys, systems, key) {
  const cel = bySys.get('celeriac');
  const best = bestPeer(bySys, systems, key);
  if (!ok(cel) || !best || !Number.isFinite(cel[key])) return '—';
  if (best.value <= 0) return `${fmtMs(cel[key])} vs ${fmtMs(best.value)} (${best.system.label})`;
  return `**${(cel[key] / best.value).toFixed(2)}×** ${best.system.label}`;
}

function w3Table(results, systems, table) {
  const shapes = byShape(results, systems);
  const rows = [];
  for (const [shape, bySys] of shapes) {
    if (shape === '*') continue;
    for (const s of systems) {
      const f = bySys.get(s.name);
      if (!f) continue;
      if (f.skipped) {
        rows.push([shape, s.label, f.skipped, '', '', '', '', '', '']);
        continue;
      }
      if (f.error) {
        rows.push([shape, s.label, `⚠ failed: ${f.error.split('\n')[0].slice(0, 160)}`, '', '', '', '', '', '']);
        continue;
      }
      rows.push([
        shape,
        s.label,
        `${fmtInt(f.sent)} / ${fmtInt(f.started)} of ${fmtInt(f.expected)}`,
        `${fmtMs(f.sendP50)} · ${fmtMs(f.sendP99)} · ${fmtMs(f.sendMax)}`,
        `${fmtMs(f.startP50)} · ${fmtMs(f.startP99)} · ${fmtMs(f.startMax)}`,
        `${fmtInt(f.missed)} · ${fmtInt(f.duplicates)}${f.unexpected ? ` (+${fmtInt(f.unexpected)} unplanned)` : ''}`,
        `${fmtPct(f.idleCpuPct)} · ${fmtPct(f.busyCpuPct)}`,
        `${fmtInt(f.busyCpuMs)}`,
        `${fmtS(f.startupMs)}${Number.isFinite(f.plannedMs) ? ` (all planned ${fmtS(f.plannedMs)})` : ''}`,
      ]);
    }
    if (bySys.has('celeriac') && [...bySys.keys()].some((k) => k !== 'celeriac')) {
      rows.push([
        shape,
        'Celeriac ÷ best peer (lower is better)',
        '',
        `p99 ${ratio(bySys, systems, 'sendP99')}`,
        `p99 ${ratio(bySys, systems, 'startP99')}`,
        '',
        `busy ${ratio(bySys, systems, 'busyCpuPct')}`,
        '',
        ratio(bySys, systems, 'startupMs'),
      ]);
    }
  }
  for (const [name, r] of shapes.get('*') ?? []) {
    const s = systems.find((x) => x.name === name);
    rows.push([
      'all',
      s?.label ?? name,
      r.skipped ?? `⚠ failed: ${String(r.error).split('\n')[0].slice(0, 160)}`,
      '',
      '',
      '',
      '',
      '',
      '',
    ]);
  }
  return table(
    [
      'Shape',
      'System',
      'sent / started of expected',
      'send lateness p50 · p99 · max (ms)',
      'start lateness p50 · p99 · max (ms)',
      'missed · duplicates',
      'beat CPU idle · while due (% of a core)',
      'beat CPU while due (ms)',
      'beat start-up (s)',
    ],
    rows,
    3,
  );
}

/** Issue 8's W3 targets. */
function w3Targets(results, systems, verdict) {
  const shapes = byShape(results ?? {}, systems);
  const rows = [];
  const cel = (shape) => shapes.get(shape)?.get('celeriac');
  const b1 = cel('burst-1k');
  if (ok(b1)) {
    const best = bestPeer(shapes.get('burst-1k'), systems, 'startP99');
    rows.push([
      "W3 burst of 1,000: start lateness p99 ≤ ¼ of the best peer's",
      best
        ? `${fmtMs(b1.startP99)} ms vs ${fmtMs(best.value)} ms (${best.system.label}) = ${(b1.startP99 / best.value).toFixed(2)}×`
        : `${fmtMs(b1.startP99)} ms; no peer measured`,
      verdict(best ? b1.startP99 <= best.value / 4 : null),
    ]);
  }
  const b10 = cel('burst-10k');
  if (ok(b10)) {
    rows.push([
      'W3 burst of 10,000: all sent within 1 s',
      `${fmtInt(b10.sent)} of ${fmtInt(b10.expected)} sent, the last ${fmtMs(b10.sendMax)} ms after the minute`,
      verdict(b10.sent === b10.expected && b10.sendMax <= 1000),
    ]);
  }
  // Issue 8's spread of 100,000 and issue 21's of a million (whose start-up goal is 30 s).
  for (const [shape, label] of [
    ['spread-100k', '100,000'],
    ['spread-1m', '1,000,000'],
  ]) {
    const sp = cel(shape);
    if (!ok(sp)) continue;
    rows.push([
      `W3 spread of ${label}: send lateness p99 ≤ 100 ms`,
      `${fmtMs(sp.sendP99)} ms`,
      verdict(sp.sendP99 <= 100),
    ]);
    rows.push([
      `W3 spread of ${label}: zero missed, zero duplicates`,
      `${fmtInt(sp.missed)} missed, ${fmtInt(sp.duplicates)} duplicates`,
      verdict(sp.missed === 0 && sp.duplicates === 0),
    ]);
    rows.push([
      `W3 beat idle CPU < 5 % of a core (${label} rows, nothing due)`,
      Number.isFinite(sp.idleCpuPct) ? `${fmtPct(sp.idleCpuPct)} %` : 'no idle window',
      verdict(Number.isFinite(sp.idleCpuPct) ? sp.idleCpuPct < 5 : null),
    ]);
    if (shape === 'spread-1m') {
      const startup = Math.max(sp.startupMs, sp.plannedMs ?? 0);
      rows.push([
        'W3 beat start-up ≤ 30 s at 1,000,000 new rows (to every row planned)',
        `${fmtS(startup)} s (set-up, not counted: ${fmtS(sp.setupMs)} s)`,
        verdict(startup <= 30_000),
      ]);
    }
  }
  const startups = [...shapes]
    .filter(([shape]) => shape !== 'spread-1m' && shape !== '*')
    .map(([, m]) => m.get('celeriac'))
    .filter(ok)
    .map((f) => Math.max(f.startupMs, f.plannedMs ?? 0));
  if (startups.length) {
    const worst = Math.max(...startups);
    rows.push(['W3 beat start-up < 10 s (to every row planned)', `worst ${fmtS(worst)} s`, verdict(worst < 10_000)]);
  }
  if (!rows.length) rows.push(['W3 (beat)', 'Celeriac not measured in this run', 'not measured']);
  return rows;
}

function w3Text(opts) {
  const shapes = (opts.w3Shapes ?? []).join(', ');
  return (
    `- **W3 beat** (${shapes || 'not run'}${opts.quick ? '; quick: 10 s intervals, figures mean nothing' : `; spread watched ${opts.w3Minutes} min`}): per shape, schedules written to each system's own store (Celeriac and django-celery-beat: rows inserted with SQL and planned by the beat; BullMQ: \`upsertJobScheduler\`; graphile-worker: a crontab), then its scheduler and one worker start (Celeriac at 1,000,000: a drain that pops the queue and records each message as started, since no worker here runs 16,700 tasks a second beside the beat). ` +
    'Burst: N crontab schedules all due at the same minute, watched until all started (or 90 s). Spread: N interval schedules of 60 s, start times spread evenly over a minute, after an idle minute (rows loaded, nothing due). ' +
    "Each run records its start and slot; each send is recorded by the beat after publishing (Celeriac afterPublish, Celery after_task_publish), or read from the system (BullMQ: the job's `waiting` event; graphile-worker: the job's created_at). " +
    "Lateness = instant − slot, percentiles over the slots that did run (a system that misses many shows the lateness of the few it ran); missed = expected slots never started; duplicates = slots started twice; django-celery-beat does not tag runs with their slot, so its runs take their schedule's slots in order. " +
    'Beat CPU = utime+stime of the scheduler process tree; for BullMQ and graphile-worker that is the worker, so it includes running the tasks. Start-up = spawn → ready line (Celeriac: "beat started"; in brackets, every row planned). graphile-worker has no interval schedules (spread: not applicable); graphile (batched) and Celery (threads) share those schedulers and are not run again.'
  );
}

module.exports = { w3Table, w3Targets, w3Text };
