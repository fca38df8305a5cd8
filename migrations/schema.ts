import type { QueryRunner } from 'typeorm';

/** Migrations follow the DataSource's schema option, so one database can hold several installs (and test files). */
export function schemaOf(q: QueryRunner): string {
  return ((q.connection.options as { schema?: string }).schema ?? 'public').replace(/"/g, '');
}
