#!/usr/bin/env node
'use strict';
/**
 * What Django mode's change signal costs at scale (issue 22): beat re-reads every periodic task
 * row of django-celery-beat's table when periodic_tasks.last_update changes, as Python's
 * DatabaseScheduler does. With N rows in Django's table:
 *
 *   node bench/diag/django-mirror.js [-n 10000] [--edits 5] [--python]
 *
 * 1. Makes a scratch Django project's tables (test/django/djproject.py migrate, Debian's Django 3.2
 *    and django-celery-beat 2.4) in schema diag_django_mirror, fills N periodic tasks by SQL (10
 *    shared interval schedules, none due for a day) and runs `celeriac migrate` in django mode.
 * 2. Times DjangoScheduleMirror.poll() on its own: the first mirror (N new rows), then `--edits`
 *    times one row's args changed and last_update bumped as Django's ORM does: the re-read after
 *    one edit as beat does it (every row read, only the changed one validated and written), and
 *    the same with the mirror's memory of the rows cleared first (every row validated and
 *    upserted: the full re-read beat did before that memory, and does at start).
 * 3. End to end with a running beat (polling, no trigger): edit, then watch beat's own table every
 *    5 ms until the new args are there; and the same with the opt-in NOTIFY trigger installed.
 * 4. With --python: Python beat's own re-read for comparison, DatabaseScheduler.all_as_schedule().
 *
 * Prints one JSON line per figure; drops the schema at the end. Takes the benchmark's run lock.
 */
const { spawnSync } = require('node:child_process');
const { join } = require('node:path');
const { runOnScratchSchema } = require('./scratch');
const { DjangoScheduleMirror } = require('../../src/beat/django-mirror');
const { DATABASE_URL } = require('../systems/ns');

const SCHEMA = 'diag_django_mirror';
const DJPROJECT = join(__dirname, '../../test/django/djproject.py');

function parse(argv) {
  const o = { n: 10_000, edits: 5, python: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '-n') o.n = Number(argv[++i]);
    else if (a === '--edits') o.edits = Number(argv[++i]);
    else if (a === '--python') o.python = true;
    else throw new Error(`unknown flag ${a}: -n N, --edits K, --python`);
  }
  return o;
}

function djangoEnv() {
  const url = new URL(DATABASE_URL);
  return {
    ...process.env,
    DJ_SCHEMA: SCHEMA,
    DJ_DATABASE: url.pathname.slice(1),
    DJ_HOST: url.hostname,
    DJ_PORT: url.port || '5432',
    DJ_USER: decodeURIComponent(url.username || 'postgres'),
  };
}

function python(args, code) {
  const r = spawnSync('/usr/bin/python3', code ? ['-c', code] : [DJPROJECT, ...args], {
    env: djangoEnv(),
    cwd: join(__dirname, '../../test/django'),
    encoding: 'utf8',
    timeout: 30 * 60_000,
  });
  if (r.status !== 0) throw new Error(`python ${args.join(' ')}: ${r.stderr}`);
  return r.stdout.trim();
}

const out = (o) => console.log(JSON.stringify(o));
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

const o = parse(process.argv.slice(2));
const t = (table) => `"${SCHEMA}".${table}`;
const bump = `INSERT INTO ${t('django_celery_beat_periodictasks')} AS m (ident, last_update) VALUES (1, now())
              ON CONFLICT (ident) DO UPDATE SET last_update = GREATEST(now(), m.last_update + interval '1 microsecond')`;

/** Django's own tables, filled by SQL, before Celeriac's Django-mode migrations extend them. */
async function makeDjangoTables(ds) {
  python(['migrate']);
  await ds.query(`INSERT INTO ${t('django_celery_beat_intervalschedule')} (every, period)
                  SELECT g, 'days' FROM generate_series(1, 10) AS g`);
  await ds.query(
    `INSERT INTO ${t('django_celery_beat_periodictask')}
       (name, task, args, kwargs, headers, enabled, total_run_count, date_changed, description, one_off, start_time, interval_id)
     SELECT 'pt-' || g, 'js.add', '[1, 2]', '{}', '{}', true, 0, now(), '', false, now() + interval '1 day',
            (SELECT min(id) FROM ${t('django_celery_beat_intervalschedule')}) + g % 10
       FROM generate_series(1, $1::int) AS g`,
    [o.n],
  );
  await ds.query(bump);
}

async function measure(ds, app) {
  const transaction = (fn) => ds.transaction((m) => fn((text, values) => m.query(text, values)));
  const mirror = new DjangoScheduleMirror(transaction, SCHEMA, 'UTC', () => {});
  let start = performance.now();
  await mirror.poll();
  out({ n: o.n, figure: 'first mirror (every row new)', ms: Math.round(performance.now() - start) });

  const edit = async (k) => {
    await ds.query(
      `UPDATE ${t('django_celery_beat_periodictask')} SET args = $1, date_changed = now() WHERE name = 'pt-1'`,
      [`[${k}, 0]`],
    );
    await ds.query(bump);
  };
  const seen = async (k) =>
    (await ds.query(`SELECT args FROM ${t('celeriac_periodic_task')} WHERE name = 'pt-1'`))[0].args[0] === k;
  const direct = { changed: [], full: [] };
  for (let k = 1; k <= o.edits * 2; k++) {
    const full = k % 2 === 0;
    if (full) mirror.mirrored = new Map();
    await edit(k);
    start = performance.now();
    await mirror.poll();
    direct[full ? 'full' : 'changed'].push(performance.now() - start);
    if (!(await seen(k))) throw new Error('the edit was not mirrored');
  }
  for (const [kind, ms] of Object.entries(direct))
    out({
      n: o.n,
      figure: `re-read after one edit (mirror.poll), ${kind === 'full' ? 'every row validated and upserted' : 'only the changed row written'}`,
      median_ms: Math.round(median(ms)),
      all_ms: ms.map(Math.round),
    });

  for (const trigger of [false, true]) {
    if (trigger) await app.migrate({ djangoTrigger: true });
    const beat = app.beat({ name: `diag-django-mirror-${trigger}` });
    await beat.start();
    const lat = [];
    for (let k = 100; k < 100 + o.edits; k++) {
      start = performance.now();
      await edit(k);
      while (!(await seen(k))) await new Promise((r) => setTimeout(r, 5));
      lat.push(performance.now() - start);
    }
    await beat.stop();
    out({
      n: o.n,
      figure: `edit → in beat's table, running beat, ${trigger ? 'NOTIFY trigger' : 'polling last_update every 1 s'}`,
      median_ms: Math.round(median(lat)),
      all_ms: lat.map(Math.round),
    });
  }

  if (o.python) {
    const code = `
import sys, time
sys.argv = ['djproject']
sys.path.insert(0, '.')
import djproject
from django_celery_beat.schedulers import DatabaseScheduler
times = []
for _ in range(3):
    t = time.time()
    n = len(DatabaseScheduler(app=djproject.app, lazy=True).all_as_schedule())
    times.append(time.time() - t)
print(n, sorted(times)[1])`;
    const [rows, seconds] = python([], code).split('\n').pop().split(' ');
    out({
      n: o.n,
      figure: "Python beat's re-read (DatabaseScheduler.all_as_schedule)",
      rows: Number(rows),
      median_ms: Math.round(Number(seconds) * 1000),
    });
  }
}

runOnScratchSchema(SCHEMA, measure, {
  app: { brokerUrl: 'redis://127.0.0.1:6379/1', keyPrefix: 'diag:django-mirror:', tables: 'django' },
  beforeMigrate: makeDjangoTables,
});
