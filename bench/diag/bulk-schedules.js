'use strict';
/**
 * Writing many periodic tasks (issue 17: 10,000 schedules in under 2 s on this machine):
 *
 *   node bench/diag/bulk-schedules.js [n=10000] [runs=3] [single=200]
 *
 * On a scratch schema (bench_bulk_schedules, migrated with Celeriac's own migrations), in one run:
 * (1) PeriodicTaskService.createMany of `n` tasks into empty tables, `runs` times (tables emptied
 * between runs): validation (also timed alone), the schedule rows (found or created, one statement per kind) and the
 * tasks (one statement) in one transaction; (2) upsertMany of the same `n` unchanged, and (3) with
 * every task changed (new args and description, a third moved to another schedule); (4) create()
 * one task at a time, `single` times, for the per-task cost the bulk call replaces. The tasks mix
 * schedule kinds as a tenant-per-schedule app would: 60 % intervals (600 distinct), 30 % crontabs in
 * four zones (one per tenant hour and minute), 10 % clocked (all distinct). Prints the figures as
 * JSON and a line per step; drops the schema at the end.
 */
const { runOnScratchSchema } = require('./scratch');
const { PeriodicTaskService } = require('../../src');

const SCHEMA = 'bench_bulk_schedules';
const ZONES = ['UTC', 'Europe/Berlin', 'America/New_York', 'Asia/Kolkata'];
const [n = 10_000, runs = 3, single = 200] = process.argv.slice(2).map(Number);

function input(i, variant = 0) {
  const schedule =
    i % 10 < 6
      ? { kind: 'interval', every: 1 + ((i + variant) % 600), period: 'seconds' }
      : i % 10 < 9
        ? {
            kind: 'crontab',
            minute: String(i % 60),
            hour: String(Math.floor(i / 60) % 24),
            timezone: ZONES[i % ZONES.length],
          }
        : { kind: 'clocked', clockedTime: new Date(Date.UTC(2030, 0, 1) + (i + variant) * 60_000) };
  return {
    name: `tenant ${i} report`,
    task: 'reports.build',
    args: [i, variant],
    kwargs: { tenant: i },
    description: variant ? `changed ${variant}` : '',
    schedule: variant && i % 3 === 0 ? { kind: 'interval', every: 601 + (i % 50), period: 'minutes' } : schedule,
  };
}

async function timed(fn) {
  const t0 = process.hrtime.bigint();
  const out = await fn();
  return { ms: Number(process.hrtime.bigint() - t0) / 1e6, out };
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

runOnScratchSchema(SCHEMA, async (ds, app) => {
  const service = new PeriodicTaskService(app, { requireKnownTask: false });
  const empty = () =>
    ds.query(
      `TRUNCATE "${SCHEMA}".celeriac_periodic_task, "${SCHEMA}".celeriac_interval_schedule, "${SCHEMA}".celeriac_crontab_schedule,
                "${SCHEMA}".celeriac_solar_schedule, "${SCHEMA}".celeriac_clocked_schedule CASCADE`,
    );
  const inputs = Array.from({ length: n }, (_, i) => input(i));
  const create = [];
  for (let r = 0; r < runs; r++) {
    await empty();
    const { ms, out } = await timed(() => service.createMany(inputs));
    if (out.length !== n) throw new Error(`createMany wrote ${out.length} of ${n}`);
    create.push(ms);
    console.error(`createMany ${n}: ${ms.toFixed(0)} ms`);
  }
  // What validation alone costs of that (service.validate: the same checks createMany runs).
  const validate = await timed(async () => inputs.forEach((x) => service.validate(x)));
  console.error(`validate ${n}: ${validate.ms.toFixed(0)} ms`);
  const unchanged = await timed(() => service.upsertMany(inputs));
  console.error(`upsertMany ${n} unchanged: ${unchanged.ms.toFixed(0)} ms`);
  const changed = await timed(() => service.upsertMany(inputs.map((_, i) => input(i, 1))));
  console.error(`upsertMany ${n} all changed: ${changed.ms.toFixed(0)} ms`);
  const ones = [];
  for (let i = 0; i < single; i++) ones.push((await timed(() => service.create(input(n + i)))).ms);
  const oneMs = ones.reduce((a, b) => a + b, 0) / single;
  console.error(`create() one at a time: ${oneMs.toFixed(2)} ms per task (${single} tasks)`);
  const [{ schedules }] = await ds.query(
    `SELECT (SELECT count(*) FROM "${SCHEMA}".celeriac_interval_schedule) + (SELECT count(*) FROM "${SCHEMA}".celeriac_crontab_schedule)
          + (SELECT count(*) FROM "${SCHEMA}".celeriac_clocked_schedule) AS schedules`,
  );
  const figures = {
    n,
    runs,
    createManyMs: {
      median: Math.round(median(create)),
      min: Math.round(Math.min(...create)),
      max: Math.round(Math.max(...create)),
    },
    createManyPerSecond: Math.round(n / (median(create) / 1000)),
    validateMs: Math.round(validate.ms),
    upsertManyUnchangedMs: Math.round(unchanged.ms),
    upsertManyChangedMs: Math.round(changed.ms),
    createOneMs: Number(oneMs.toFixed(2)),
    oneAtATimeFor_n_Ms: Math.round(oneMs * n),
    speedup: Number(((oneMs * n) / median(create)).toFixed(1)),
    scheduleRowsAtEnd: Number(schedules),
    cpus: require('node:os').cpus().length,
    loadAverage: require('node:os')
      .loadavg()
      .map((x) => Number(x.toFixed(1))),
  };
  console.log(JSON.stringify(figures, null, 2));
});
