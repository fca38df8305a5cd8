import type { MigrationInterface, QueryRunner } from 'typeorm';
import { schemaOf } from './schema';

/**
 * The admin's time windows filter on date_created (its default date field); without this index a
 * "last hour" count on a 10M-row table was a parallel sequential scan (bench W6, diag/w6-indexes.js).
 */
export class CeleriacResultCreatedIndex1790000000003 implements MigrationInterface {
  name = 'CeleriacResultCreatedIndex1790000000003';

  async up(q: QueryRunner): Promise<void> {
    const s = schemaOf(q);
    await q.query(
      `CREATE INDEX IF NOT EXISTS celeriac_task_result_created_idx ON "${s}".celeriac_task_result (date_created)`,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX IF EXISTS "${schemaOf(q)}".celeriac_task_result_created_idx`);
  }
}
