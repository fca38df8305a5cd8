import type { MigrationInterface, QueryRunner } from 'typeorm';
import { schemaOf } from './schema';

/**
 * State that the Redis transport keeps in Redis and RabbitMQ cannot hold: AMQP has queues, not
 * shared atomic state. With `amqp://` brokers, chord joins, fire-once markers (a chord's callback,
 * a beat batch), revoked ids and the worker registry live here, in the database every worker
 * already writes its results to. Unused (and empty) on Redis.
 */
export class CeleriacBrokerCoordination1790000000004 implements MigrationInterface {
  name = 'CeleriacBrokerCoordination1790000000004';

  async up(q: QueryRunner): Promise<void> {
    const s = schemaOf(q);
    await q.query(`CREATE TABLE IF NOT EXISTS "${s}".celeriac_chord_member (
      group_id varchar(255) NOT NULL,
      member_id varchar(255) NOT NULL,
      failed boolean NOT NULL,
      date_done timestamptz NOT NULL DEFAULT now(),
      PRIMARY KEY (group_id, member_id)
    )`);
    await q.query(`CREATE TABLE IF NOT EXISTS "${s}".celeriac_once_marker (
      marker varchar(255) PRIMARY KEY,
      expires_at timestamptz NOT NULL
    )`);
    await q.query(`CREATE TABLE IF NOT EXISTS "${s}".celeriac_revoked (
      task_id varchar(255) PRIMARY KEY,
      until timestamptz NOT NULL
    )`);
    await q.query(`CREATE TABLE IF NOT EXISTS "${s}".celeriac_worker (
      name varchar(255) PRIMARY KEY,
      info jsonb NOT NULL,
      heartbeat_at timestamptz NOT NULL
    )`);
  }

  async down(q: QueryRunner): Promise<void> {
    const s = schemaOf(q);
    for (const t of ['celeriac_worker', 'celeriac_revoked', 'celeriac_once_marker', 'celeriac_chord_member'])
      await q.query(`DROP TABLE IF EXISTS "${s}".${t}`);
  }
}
