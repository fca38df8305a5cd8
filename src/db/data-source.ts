import 'reflect-metadata';
import { DataSource } from 'typeorm';
import { ConfigError } from '../errors';
import { redactUrl, type ResolvedConfig } from '../config';
import { celeriacMigrations } from '../../migrations';
import { celeriacEntities } from './entities';
import { endWithin } from './database';

/**
 * Celeriac's own DataSource on DATABASE_URL, or the host app's when it passes one (then the host
 * lists `celeriacEntities` and `celeriacMigrations` in it).
 */
export function createDataSource(config: ResolvedConfig): DataSource {
  if (config.dataSource) return config.dataSource;
  if (!config.databaseUrl) {
    throw new ConfigError(
      'databaseUrl',
      'results and schedules live in Postgres: set DATABASE_URL (postgres://user:pass@host:5432/db), pass databaseUrl, or pass a TypeORM dataSource',
    );
  }
  return new DataSource({
    type: 'postgres',
    url: config.databaseUrl,
    schema: config.schema,
    entities: celeriacEntities,
    migrations: celeriacMigrations,
    migrationsTableName: 'celeriac_migrations',
    poolSize: 10,
    // A query waits at most this long for a free connection or a new one (pg's default is forever),
    // so a Postgres that is away or a pool that is exhausted fails the call instead of hanging it.
    connectTimeoutMS: 10_000,
    applicationName: `celeriac:${config.schema}`,
  });
}

export async function initialize(ds: DataSource, config: ResolvedConfig): Promise<DataSource> {
  if (ds.isInitialized) return ds;
  try {
    return await ds.initialize();
  } catch (err) {
    const where = config.databaseUrl ? redactUrl(config.databaseUrl) : 'the given dataSource';
    throw new ConfigError('databaseUrl', `cannot connect to Postgres at ${where}: ${(err as Error).message}`);
  }
}

/** Applies pending migrations; a second run finds none and changes nothing. */
export async function migrate(ds: DataSource): Promise<string[]> {
  const schema = (ds.options as { schema?: string }).schema;
  if (schema && schema !== 'public') await ds.query(`CREATE SCHEMA IF NOT EXISTS "${schema}"`);
  const applied = await ds.runMigrations({ transaction: 'each' });
  return applied.map((m) => m.name);
}

/** Ends the DataSource's pool within `ms` (see endWithin); false when connections were cut. */
export function destroyWithin(ds: DataSource, ms: number): Promise<boolean> {
  return endWithin((ds.driver as { master?: unknown }).master, ds.destroy(), ms);
}
