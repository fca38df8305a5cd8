import { Client } from 'pg';
import { DataSource } from 'typeorm';
import { Celeriac, celeriacEntities, celeriacMigrations, task } from '../../src';
import { silentLogger } from '../../src/log';
import { DATABASE_URL, REDIS_URL, cleanup, isolation } from '../helpers';

/**
 * A host app that passes its own TypeORM DataSource: the worker and the sender run their SQL on
 * that DataSource's pool (Celeriac opens no pool of its own on DATABASE_URL), and closing the app
 * leaves the host's DataSource open, as it is the host's to close.
 */
const iso = isolation('host_ds');
const hostApplicationName = `host-app-${iso.schema}`.slice(0, 63);
let ds: DataSource;
let app: Celeriac;

beforeAll(async () => {
  ds = new DataSource({
    type: 'postgres',
    url: DATABASE_URL,
    schema: iso.schema,
    entities: celeriacEntities,
    migrations: celeriacMigrations,
    migrationsTableName: 'celeriac_migrations',
    applicationName: hostApplicationName,
  });
  await ds.initialize();
  app = new Celeriac({ dataSource: ds, brokerUrl: REDIS_URL, logger: silentLogger, ...iso });
  await app.migrate();
});

afterAll(async () => {
  await cleanup(app);
  if (ds.isInitialized) await ds.destroy();
});

test("a worker and a sender on the host app's DataSource use its pool and leave it open", async () => {
  task('host_ds.add', (_ctx, a: number, b: number) => a + b);
  const worker = app.worker({ concurrency: 2 });
  await worker.start();
  const result = await app.sendTask<number>('host_ds.add', [2, 3]);
  expect(await result.get({ timeout: 10_000 })).toBe(5);
  expect((await app.asyncResult(result.id).info())?.status).toBe('SUCCESS');

  const pg = new Client({ connectionString: DATABASE_URL });
  await pg.connect();
  try {
    const { rows } = await pg.query<{ application_name: string }>(
      `SELECT application_name FROM pg_stat_activity WHERE application_name IN ($1, $2)`,
      [hostApplicationName, `celeriac:${iso.schema}`],
    );
    const names = new Set(rows.map((r) => r.application_name));
    expect(names).toContain(hostApplicationName);
    expect(names).not.toContain(`celeriac:${iso.schema}`);
  } finally {
    await pg.end();
  }

  await worker.stop();
  await app.close();
  expect(ds.isInitialized).toBe(true);
  expect(await ds.query('SELECT 1 AS one')).toEqual([{ one: 1 }]);
});
