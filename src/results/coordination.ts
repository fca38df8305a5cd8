import type { Database } from '../db/database';
import type { Coordination } from '../broker/amqp/coordination';

/**
 * The RabbitMQ transport's shared state in Postgres (tables from migration 0004). Each method is
 * one statement or one short transaction: a chord join is an insert that ignores repeats followed
 * by a count, and a fire-once marker is an insert whose row lock makes a concurrent second caller
 * wait until the first commits or rolls back.
 */
export class PostgresCoordination implements Coordination {
  constructor(
    private readonly db: Database,
    private readonly schema: string,
  ) {}

  private t(table: string): string {
    return `"${this.schema}".${table}`;
  }

  async chordJoin(groupId: string, memberId: string, failed: boolean): Promise<{ finished: number; failed: number }> {
    // Serialised per chord: two members finishing at once in separate statements would each count
    // before seeing the other's insert, and neither would fire. The lock lasts one short transaction.
    return this.db.transaction(async (q) => {
      await q(`SELECT pg_advisory_xact_lock(hashtext('celeriac_chord:' || $1))`, [groupId]);
      await q(
        `INSERT INTO ${this.t('celeriac_chord_member')} (group_id, member_id, failed) VALUES ($1, $2, $3)
         ON CONFLICT (group_id, member_id) DO NOTHING`,
        [groupId, memberId, failed],
      );
      const rows: { finished: number; failed: number }[] = await q(
        `SELECT count(*)::int AS finished, (count(*) FILTER (WHERE failed))::int AS failed
           FROM ${this.t('celeriac_chord_member')} WHERE group_id = $1`,
        [groupId],
      );
      return rows[0];
    });
  }

  async once(marker: string, ttlMs: number, send: () => Promise<void>): Promise<boolean> {
    return this.db.transaction(async (q) => {
      // An expired marker is free again (a TTL, as the Redis SET NX PX marker has).
      await q(`DELETE FROM ${this.t('celeriac_once_marker')} WHERE marker = $1 AND expires_at < now()`, [marker]);
      const rows: unknown[] = await q(
        `INSERT INTO ${this.t('celeriac_once_marker')} (marker, expires_at)
         VALUES ($1, now() + make_interval(secs => $2::double precision / 1000))
         ON CONFLICT (marker) DO NOTHING RETURNING marker`,
        [marker, ttlMs],
      );
      if (rows.length === 0) return false;
      await send();
      return true;
    });
  }

  async addRevoked(ids: string[], untilMs: number): Promise<void> {
    if (ids.length === 0) return;
    await this.db.execute(
      `INSERT INTO ${this.t('celeriac_revoked')} (task_id, until)
       SELECT unnest($1::text[]), to_timestamp($2::double precision / 1000)
       ON CONFLICT (task_id) DO UPDATE SET until = GREATEST(${this.t('celeriac_revoked')}.until, EXCLUDED.until)`,
      [ids, untilMs],
    );
    await this.db.execute(`DELETE FROM ${this.t('celeriac_revoked')} WHERE until < now()`);
  }

  async listRevoked(nowMs: number): Promise<string[]> {
    const { rows } = await this.db.execute<{ task_id: string }>(
      `SELECT task_id FROM ${this.t('celeriac_revoked')} WHERE until >= to_timestamp($1::double precision / 1000)`,
      [nowMs],
    );
    return rows.map((r) => r.task_id);
  }

  async putWorker(name: string, info: string): Promise<void> {
    await this.db.execute(
      `INSERT INTO ${this.t('celeriac_worker')} (name, info, heartbeat_at) VALUES ($1, $2::jsonb, now())
       ON CONFLICT (name) DO UPDATE SET info = EXCLUDED.info, heartbeat_at = EXCLUDED.heartbeat_at`,
      [name, info],
    );
  }

  async removeWorker(name: string): Promise<void> {
    await this.db.execute(`DELETE FROM ${this.t('celeriac_worker')} WHERE name = $1`, [name]);
  }

  async listWorkers(): Promise<Record<string, string>> {
    const { rows } = await this.db.execute<{ name: string; info: unknown }>(
      `SELECT name, info FROM ${this.t('celeriac_worker')}`,
    );
    return Object.fromEntries(rows.map((r) => [r.name, JSON.stringify(r.info)]));
  }
}
