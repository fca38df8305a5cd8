import { join } from 'node:path';
import { Client } from 'pg';
import { Celeriac, type CeleriacOptions } from '../../src';
import { silentLogger } from '../../src/log';
import { DATABASE_URL, isolation, REDIS_URL } from '../helpers';
import { PythonProcess, pythonEnv } from '../interop/python';

/**
 * The Django side of a django-mode test: djproject.py (Debian's Django 3.2, Celery 5.2.6,
 * django-celery-results and django-celery-beat 2.4) on the test's own Postgres schema, where
 * `manage.py migrate` created Django's tables exactly as a Django project has them.
 */
export class DjangoProject {
  constructor(
    readonly schema: string,
    private readonly keyPrefix: string,
  ) {}

  env(): NodeJS.ProcessEnv {
    const url = new URL(DATABASE_URL);
    return pythonEnv({
      DJ_SCHEMA: this.schema,
      DJ_DATABASE: url.pathname.slice(1),
      DJ_HOST: url.hostname,
      DJ_PORT: url.port || '5432',
      DJ_USER: decodeURIComponent(url.username || 'postgres'),
      DJ_BROKER_URL: REDIS_URL,
      DJ_KEY_PREFIX: this.keyPrefix,
    });
  }

  /** A fresh schema with Django's tables in it (`manage.py migrate`). */
  static async create(schema: string, keyPrefix: string): Promise<DjangoProject> {
    const pg = new Client({ connectionString: DATABASE_URL });
    await pg.connect();
    await pg.query(`CREATE SCHEMA "${schema}"`);
    await pg.end();
    const project = new DjangoProject(schema, keyPrefix);
    await project.run('migrate', [], 120_000);
    return project;
  }

  /** One djproject.py command; its JSON answer. */
  run(cmd: string, args: string[] = [], timeoutMs = 60_000): Promise<any> {
    return PythonProcess.start(['djproject.py', cmd, ...args], __dirname, this.env(), timeoutMs).result(timeoutMs);
  }

  /** A Celery worker (django-db results) on `queue`, ready when its log says so. */
  async worker(queue: string): Promise<PythonProcess> {
    const p = PythonProcess.start(['djproject.py', 'worker', queue], __dirname, this.env(), 0);
    await p.waitForLog(/ready\./, 60_000);
    return p;
  }

  async drop(): Promise<void> {
    const pg = new Client({ connectionString: DATABASE_URL });
    await pg.connect();
    await pg.query(`DROP SCHEMA IF EXISTS "${this.schema}" CASCADE`);
    await pg.end();
  }
}

export const DJTASKS = join(__dirname, 'fixtures/djtasks');

/**
 * A scratch Django project on a fresh schema (its own key prefix) and a Celeriac app in django mode
 * on it, with the djtasks fixture and `celeriac migrate` run; `options` as the app was made, for a
 * second app on the same tables.
 */
export async function djangoApp(label: string, extra: CeleriacOptions = {}) {
  const iso = isolation(label);
  const django = await DjangoProject.create(iso.schema, iso.keyPrefix);
  const options: CeleriacOptions = {
    databaseUrl: DATABASE_URL,
    brokerUrl: REDIS_URL,
    logger: silentLogger,
    ...iso,
    tables: 'django',
    apps: [DJTASKS],
    ...extra,
  };
  const app = new Celeriac(options);
  await app.migrate();
  return { app, django, options };
}
