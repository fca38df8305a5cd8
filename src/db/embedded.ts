import type { DataSource } from 'typeorm';
import { CeleriacError } from '../errors';

/**
 * An in-process Postgres (PGlite, Postgres compiled to WebAssembly) for the demo and for trying
 * Celeriac with no servers. One session only: fine for one process, wrong for several workers or
 * beats (no real row locks, no advisory locks), so production always uses DATABASE_URL.
 * The packages are optional: `npm i @electric-sql/pglite typeorm-pglite`.
 */
export function createEmbeddedDataSource(options: { dataDir?: string } = {}): DataSource {
  let PGliteDriver: new (o?: object) => { driver: unknown };
  let pgcrypto: unknown;
  try {
    ({ PGliteDriver } = require('typeorm-pglite'));
    ({ pgcrypto } = require('@electric-sql/pglite/contrib/pgcrypto'));
  } catch (err) {
    throw new CeleriacError(
      'The embedded database needs two optional packages: npm i @electric-sql/pglite typeorm-pglite',
      { cause: err },
    );
  }
  // TypeORM and the entities load here, not with the package: a worker never needs them.
  const { DataSource } = require('typeorm') as typeof import('typeorm');
  const { celeriacEntities } = require('./entities') as typeof import('./entities');
  const { celeriacMigrations } = require('../../migrations') as typeof import('../../migrations');
  return new DataSource({
    type: 'postgres',
    driver: new PGliteDriver({ dataDir: options.dataDir, extensions: { pgcrypto } }).driver,
    entities: celeriacEntities,
    migrations: celeriacMigrations,
    migrationsTableName: 'celeriac_migrations',
  } as any);
}
