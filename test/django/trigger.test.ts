import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { Client } from 'pg';
import { Celeriac } from '../../src';
import type { Beat } from '../../src/beat';
import type { LogLevel } from '../../src/log';
import { cleanEnv, ROOT } from '../package/consumer';
import { cleanup, DATABASE_URL, eventually } from '../helpers';
import { djangoApp, type DjangoProject } from './django';

/**
 * Issue 22, the change signal. By default Celeriac puts nothing on Django's tables and beat reads
 * django_celery_beat_periodictasks.last_update every second; `celeriac migrate --django-trigger`
 * (consent) installs a NOTIFY trigger on that one table, and a listening beat then mirrors a
 * change made with Django's ORM at once, with no poll timer. Both paths are shown with beats that
 * would otherwise not tick for ten minutes (maxSleepMs), so only the signal under test can bring
 * the change in.
 */
let app: Celeriac;
let django: DjangoProject;
let pg: Client;
const logs: string[] = [];

beforeAll(async () => {
  ({ app, django } = await djangoApp('django_trigger', {
    logger: { log: (_level: LogLevel, message: string) => void logs.push(message) },
  }));
  pg = new Client({ connectionString: DATABASE_URL });
  await pg.connect();
}, 180_000);

afterAll(async () => {
  await pg?.end();
  if (app) await cleanup(app);
}, 60_000);

/** Triggers a user made on Django's tables (not the foreign keys' internal ones). */
async function djangoTriggers(): Promise<string[]> {
  const { rows } = await pg.query(
    `SELECT t.tgname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = $1 AND c.relname LIKE 'django%' AND NOT t.tgisinternal`,
    [django.schema],
  );
  return rows.map((r) => r.tgname);
}

function migrateCli(...flags: string[]) {
  const r = spawnSync(
    process.execPath,
    [join(ROOT, 'bin', 'celeriac.js'), 'migrate', '--app', join(__dirname, 'fixtures/cli/celeriac.ts'), ...flags],
    {
      env: cleanEnv({
        DATABASE_URL,
        CELERIAC_BROKER_URL: 'memory://',
        CELERIAC_SCHEMA: django.schema,
        CELERIAC_TABLES: 'django',
      }),
      encoding: 'utf8',
      timeout: 120_000,
    },
  );
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

const mirroredEvery = async (name: string) => {
  const { rows } = await pg.query(
    `SELECT i.every FROM "${django.schema}".celeriac_periodic_task pt
       JOIN "${django.schema}".celeriac_interval_schedule i ON i.id = pt.interval_id WHERE pt.name = $1`,
    [name],
  );
  return rows[0]?.every ?? null;
};

async function startBeat(): Promise<Beat> {
  const beat = app.beat({ name: `trigger-beat-${Date.now()}`, maxSleepMs: 600_000 });
  await beat.start();
  return beat;
}

test('by default nothing is put on Django’s tables and beat polls last_update: an ORM edit is mirrored', async () => {
  expect(await djangoTriggers()).toEqual([]);
  await django.run('schedule', [
    JSON.stringify({ name: 'hourly', task: 'js.add', interval: { every: 1, period: 'hours' }, args: [1, 1] }),
  ]);
  const beat = await startBeat();
  try {
    expect(logs).toContain("beat reads Django's periodic_tasks.last_update every 1000 ms");
    await eventually(async () => expect(await mirroredEvery('hourly')).toBe(1), 30_000, 100);
    await django.run('edit', ['hourly', JSON.stringify({ description: 'touched' })]);
    await django.run('schedule', [
      JSON.stringify({ name: 'two-hourly', task: 'js.add', interval: { every: 2, period: 'hours' } }),
    ]);
    await eventually(async () => expect(await mirroredEvery('two-hourly')).toBe(2), 60_000, 100);
  } finally {
    await beat.stop();
  }
}, 120_000);

test('celeriac migrate --django-trigger installs the NOTIFY trigger (and --django-trigger off removes it); beat then hears ORM edits with no poll', async () => {
  const bad = migrateCli('--django-trigger', 'maybe');
  expect(bad.code).toBe(1);
  expect(bad.stderr).toMatch(/--django-trigger 'maybe': give no value \(or 'on'\) to install it, 'off' to remove it/);

  const on = migrateCli('--django-trigger');
  expect(on.stderr).toBe('');
  expect(on.stdout).toContain('Django change trigger installed');
  expect(await djangoTriggers()).toEqual(['celeriac_django_beat_notify']);

  logs.length = 0;
  const beat = await startBeat();
  try {
    expect(logs).toContain("beat hears of changes in Django's tables by their NOTIFY trigger");
    await django.run('schedule', [
      JSON.stringify({ name: 'three-hourly', task: 'js.add', interval: { every: 3, period: 'hours' } }),
    ]);
    // No poll timer and no tick due for ten minutes: only the NOTIFY can wake the beat.
    await eventually(async () => expect(await mirroredEvery('three-hourly')).toBe(3), 60_000, 100);
  } finally {
    await beat.stop();
  }

  const off = migrateCli('--django-trigger', 'off');
  expect(off.stdout).toContain('Django change trigger removed');
  expect(await djangoTriggers()).toEqual([]);
}, 240_000);

test('djangoTrigger on an app not in django mode is refused, naming the mode', async () => {
  const plain = new Celeriac({ databaseUrl: DATABASE_URL, brokerUrl: 'memory://', schema: django.schema });
  try {
    await expect(plain.migrate({ djangoTrigger: true })).rejects.toThrow(
      /djangoTrigger.*is for tables: 'django'.*this app has tables: 'celeriac'/,
    );
  } finally {
    await plain.close();
  }
});
