import { Client } from 'pg';
import { ResultStore } from '../../src/results/store';
import { djangoResultTables } from '../../src/results/django-tables';
import { Celeriac } from '../../src';
import { silentLogger } from '../../src/log';
import { cleanup, DATABASE_URL, isolation, REDIS_URL } from '../helpers';
import { fc, propertyOptions } from '../property';
import { DjangoProject } from './django';

/**
 * Values that travel through Django's result table: any JSON a task returns (and any args and
 * kwargs) is written as JSON text and read back equal through Celeriac; a value Postgres cannot
 * hold as text (U+0000) is replaced by the store's unstorable path, never wedging the batch.
 */
let app: Celeriac;
let django: DjangoProject;
let store: ResultStore;

beforeAll(async () => {
  const iso = isolation('django_values');
  django = await DjangoProject.create(iso.schema, iso.keyPrefix);
  app = new Celeriac({
    databaseUrl: DATABASE_URL,
    brokerUrl: REDIS_URL,
    logger: silentLogger,
    ...iso,
    tables: 'django',
  });
  store = new ResultStore(await app.dataSource(), iso.schema, () => {}, djangoResultTables(iso.schema));
}, 120_000);

afterAll(async () => {
  await store?.close();
  if (app) await cleanup(app);
});

test("migrate in django mode on a schema without Django's tables says to run manage.py migrate", async () => {
  const other = new Celeriac({
    databaseUrl: DATABASE_URL,
    brokerUrl: REDIS_URL,
    logger: silentLogger,
    ...isolation('django_none'),
    tables: 'django',
  });
  await expect(other.migrate()).rejects.toThrow(/has no django_celery_results_taskresult.*manage\.py migrate/);
  await other.close();
});

const noNul = (v: unknown) => !JSON.stringify(v).includes('\\u0000');

test('any JSON result, args and kwargs read back equal from Django text columns', async () => {
  let n = 0;
  await fc.assert(
    fc.asyncProperty(
      fc.jsonValue(),
      fc.array(fc.jsonValue(), { maxLength: 4 }),
      fc.dictionary(fc.string(), fc.jsonValue(), { maxKeys: 4 }),
      async (result, args, kwargs) => {
        const taskId = `v-${n++}`;
        const written = await store.write({
          taskId,
          status: 'SUCCESS',
          retries: 0,
          taskName: 'js.values',
          result,
          args,
          kwargs,
          dateDone: new Date(),
        });
        if (!noNul([result, args, kwargs])) return void expect(written.stored).not.toBe('as-is');
        expect(written.stored).toBe('as-is');
        const row = await store.get(taskId);
        const same = (v: unknown) => JSON.parse(JSON.stringify(v));
        expect(row).toMatchObject({ status: 'SUCCESS', result: same(result) ?? null });
        expect(row!.args).toEqual(same(args));
        expect(row!.kwargs).toEqual(same(kwargs));
      },
    ),
    propertyOptions(150),
  );
  // Django reads the same rows (one sample through the ORM).
  const pg = new Client({ connectionString: DATABASE_URL });
  await pg.connect();
  const { rows } = await pg.query(
    `SELECT count(*)::int AS n FROM "${django.schema}".django_celery_results_taskresult WHERE content_type = 'application/json'`,
  );
  await pg.end();
  expect(rows[0].n).toBeGreaterThan(0);
}, 120_000);
