import type { MigrationInterface, QueryRunner } from 'typeorm';
import { schemaOf } from './schema';

/**
 * django-celery-results' TaskResult and GroupResult, with what its users asked for: real jsonb
 * args/kwargs/result (not repr strings), date_started, the retry count, the work-flow ids, and a
 * `seq` ordering guard so a late PENDING insert can never overwrite a SUCCESS.
 */
export class CeleriacTaskResults1790000000001 implements MigrationInterface {
  name = 'CeleriacTaskResults1790000000001';

  async up(q: QueryRunner): Promise<void> {
    const s = schemaOf(q);
    await q.query(`CREATE SCHEMA IF NOT EXISTS "${s}"`);
    await q.query(`
      CREATE TABLE "${s}".celeriac_task_result (
        id                 bigserial PRIMARY KEY,
        task_id            varchar(255) NOT NULL UNIQUE,
        task_name          varchar(255),
        periodic_task_name varchar(255),
        status             varchar(50)  NOT NULL DEFAULT 'PENDING',
        seq                integer      NOT NULL DEFAULT 0,
        args               jsonb,
        kwargs             jsonb,
        result             jsonb,
        traceback          text,
        meta               jsonb,
        worker             varchar(100),
        queue              varchar(200),
        retries            integer      NOT NULL DEFAULT 0,
        parent_id          varchar(255),
        root_id            varchar(255),
        group_id           varchar(255),
        date_created       timestamptz  NOT NULL DEFAULT now(),
        date_started       timestamptz,
        date_done          timestamptz,
        date_changed       timestamptz  NOT NULL DEFAULT now()
      )`);
    // The admin's lists filter on one of these and sort newest first; cleanup scans date_done.
    await q.query(
      `CREATE INDEX celeriac_task_result_status_idx ON "${s}".celeriac_task_result (status, date_changed DESC)`,
    );
    await q.query(
      `CREATE INDEX celeriac_task_result_name_idx ON "${s}".celeriac_task_result (task_name, date_changed DESC)`,
    );
    await q.query(`CREATE INDEX celeriac_task_result_changed_idx ON "${s}".celeriac_task_result (date_changed DESC)`);
    await q.query(`CREATE INDEX celeriac_task_result_done_idx ON "${s}".celeriac_task_result (date_done)`);
    await q.query(
      `CREATE INDEX celeriac_task_result_periodic_idx ON "${s}".celeriac_task_result (periodic_task_name, date_changed DESC) WHERE periodic_task_name IS NOT NULL`,
    );
    await q.query(
      `CREATE INDEX celeriac_task_result_group_idx ON "${s}".celeriac_task_result (group_id) WHERE group_id IS NOT NULL`,
    );
    await q.query(
      `CREATE INDEX celeriac_task_result_parent_idx ON "${s}".celeriac_task_result (parent_id) WHERE parent_id IS NOT NULL`,
    );
    await q.query(`
      CREATE TABLE "${s}".celeriac_group_result (
        id           bigserial PRIMARY KEY,
        group_id     varchar(255) NOT NULL UNIQUE,
        task_ids     jsonb        NOT NULL,
        date_created timestamptz  NOT NULL DEFAULT now(),
        date_done    timestamptz
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    const s = schemaOf(q);
    await q.query(`DROP TABLE "${s}".celeriac_group_result`);
    await q.query(`DROP TABLE "${s}".celeriac_task_result`);
  }
}
