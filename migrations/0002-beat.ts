import type { MigrationInterface, QueryRunner } from 'typeorm';
import { schemaOf } from './schema';

/**
 * django-celery-beat's five models (interval, crontab, solar, clocked schedules and
 * periodic_task), plus what its database scheduler lacks:
 *
 * - `next_run_at` per row, indexed, so a tick reads only what is due instead of rebuilding
 *   every entry (django-celery-beat #675, #786);
 * - `revision` and `next_run_stale`, kept by triggers, so an edit (from the admin, the service
 *   or plain SQL) recomputes that row's next run and nothing else, and a beat holding an
 *   older copy of the row cannot claim it;
 * - NOTIFY on every edit, so sleeping beats hear of it at once instead of polling a
 *   change-tracker row every 5 s;
 * - `celeriac_beat_outbox`: runs claimed but not yet confirmed sent, so a beat that dies
 *   between claiming and sending loses nothing (see src/beat/README.md, "Exactly once").
 * - `celeriac_beat_instance`: one heartbeat row per running beat, for the admin.
 *
 * All instants are timestamptz. Nothing here calls now() on a path the scheduler decides
 * with: beats bind their clock as a parameter, so tests can drive time.
 */
export class CeleriacBeat1790000000002 implements MigrationInterface {
  name = 'CeleriacBeat1790000000002';

  async up(q: QueryRunner): Promise<void> {
    const s = schemaOf(q);
    await q.query(`CREATE SCHEMA IF NOT EXISTS "${s}"`);

    await q.query(`
      CREATE TABLE "${s}".celeriac_interval_schedule (
        id     serial      PRIMARY KEY,
        every  integer     NOT NULL CONSTRAINT celeriac_interval_every_positive CHECK (every >= 1),
        period varchar(24) NOT NULL CONSTRAINT celeriac_interval_period_known
                           CHECK (period IN ('days', 'hours', 'minutes', 'seconds', 'microseconds'))
      )`);
    await q.query(`
      CREATE TABLE "${s}".celeriac_crontab_schedule (
        id            serial       PRIMARY KEY,
        minute        varchar(240) NOT NULL DEFAULT '*',
        hour          varchar(96)  NOT NULL DEFAULT '*',
        day_of_week   varchar(64)  NOT NULL DEFAULT '*',
        day_of_month  varchar(124) NOT NULL DEFAULT '*',
        month_of_year varchar(64)  NOT NULL DEFAULT '*',
        timezone      varchar(63)  NOT NULL DEFAULT 'UTC'
      )`);
    await q.query(`
      CREATE TABLE "${s}".celeriac_solar_schedule (
        id        serial       PRIMARY KEY,
        event     varchar(24)  NOT NULL CONSTRAINT celeriac_solar_event_known CHECK (event IN (
                    'dawn_astronomical', 'dawn_civil', 'dawn_nautical', 'dusk_astronomical', 'dusk_civil',
                    'dusk_nautical', 'solar_noon', 'sunrise', 'sunset')),
        latitude  numeric(9,6) NOT NULL CONSTRAINT celeriac_solar_latitude_range CHECK (latitude BETWEEN -90 AND 90),
        longitude numeric(9,6) NOT NULL CONSTRAINT celeriac_solar_longitude_range CHECK (longitude BETWEEN -180 AND 180),
        CONSTRAINT celeriac_solar_schedule_unique UNIQUE (event, latitude, longitude)
      )`);
    await q.query(`
      CREATE TABLE "${s}".celeriac_clocked_schedule (
        id           serial      PRIMARY KEY,
        clocked_time timestamptz NOT NULL
      )`);

    await q.query(`
      CREATE TABLE "${s}".celeriac_periodic_task (
        id              serial       PRIMARY KEY,
        name            varchar(200) NOT NULL CONSTRAINT celeriac_periodic_task_name_unique UNIQUE,
        task            varchar(200) NOT NULL,
        interval_id     integer REFERENCES "${s}".celeriac_interval_schedule (id) ON DELETE CASCADE,
        crontab_id      integer REFERENCES "${s}".celeriac_crontab_schedule (id) ON DELETE CASCADE,
        solar_id        integer REFERENCES "${s}".celeriac_solar_schedule (id) ON DELETE CASCADE,
        clocked_id      integer REFERENCES "${s}".celeriac_clocked_schedule (id) ON DELETE CASCADE,
        args            jsonb        NOT NULL DEFAULT '[]',
        kwargs          jsonb        NOT NULL DEFAULT '{}',
        queue           varchar(200),
        exchange        varchar(200),
        routing_key     varchar(200),
        headers         jsonb        NOT NULL DEFAULT '{}',
        priority        integer CONSTRAINT celeriac_periodic_task_priority_range CHECK (priority BETWEEN 0 AND 255),
        expires         timestamptz,
        expire_seconds  integer CONSTRAINT celeriac_periodic_task_expire_seconds_positive CHECK (expire_seconds >= 1),
        one_off         boolean      NOT NULL DEFAULT false,
        start_time      timestamptz,
        enabled         boolean      NOT NULL DEFAULT true,
        last_run_at     timestamptz,
        total_run_count integer      NOT NULL DEFAULT 0,
        date_changed    timestamptz  NOT NULL DEFAULT now(),
        description     text         NOT NULL DEFAULT '',
        catch_up        varchar(8)   NOT NULL DEFAULT 'once'
                        CONSTRAINT celeriac_periodic_task_catch_up_known CHECK (catch_up IN ('once', 'skip')),
        source          varchar(8)   NOT NULL DEFAULT 'db'
                        CONSTRAINT celeriac_periodic_task_source_known CHECK (source IN ('db', 'code')),
        next_run_at     timestamptz,
        next_run_stale  boolean      NOT NULL DEFAULT true,
        last_slot_at    timestamptz,
        last_error      text,
        revision        bigint       NOT NULL DEFAULT 1,
        -- django-celery-beat checks this in validate_unique(), which raw SQL and bulk updates skip.
        CONSTRAINT celeriac_periodic_task_one_schedule CHECK (num_nonnulls(interval_id, crontab_id, solar_id, clocked_id) = 1),
        CONSTRAINT celeriac_periodic_task_one_expiry CHECK (expires IS NULL OR expire_seconds IS NULL),
        CONSTRAINT celeriac_periodic_task_args_array CHECK (jsonb_typeof(args) = 'array'),
        CONSTRAINT celeriac_periodic_task_kwargs_object CHECK (jsonb_typeof(kwargs) = 'object'),
        CONSTRAINT celeriac_periodic_task_headers_object CHECK (jsonb_typeof(headers) = 'object')
      )`);
    // The tick's only read of the whole table: "what is due", smallest next_run_at first.
    await q.query(
      `CREATE INDEX celeriac_periodic_task_due_idx ON "${s}".celeriac_periodic_task (next_run_at) WHERE enabled`,
    );
    // Rows an edit invalidated: a handful at a time, found without a scan.
    await q.query(
      `CREATE INDEX celeriac_periodic_task_stale_idx ON "${s}".celeriac_periodic_task (id) WHERE next_run_stale`,
    );
    // A schedule edit marks the tasks using it; deleting a schedule cascades to them.
    for (const fk of ['interval_id', 'crontab_id', 'solar_id', 'clocked_id']) {
      await q.query(
        `CREATE INDEX celeriac_periodic_task_${fk}_idx ON "${s}".celeriac_periodic_task (${fk}) WHERE ${fk} IS NOT NULL`,
      );
    }

    /*
     * Change tracking. A BEFORE UPDATE row trigger whose WHEN clause is evaluated without
     * calling PL/pgSQL, so the beat's own bookkeeping updates (next_run_at, last_run_at,
     * total_run_count) cost nothing extra. It fires when:
     *   - a column a person sets changed (anything but the bookkeeping columns), or
     *   - next_run_at changed and the session is not a beat: someone moved a run by hand.
     *     Beats connect with `-c celeriac.beat=on` (src/beat/db.ts).
     * It bumps revision (a beat claiming with an older copy of the row then finds nothing to
     * claim), marks the row stale when something that decides the next run changed, and
     * NOTIFYs. Identical notifications in one transaction are delivered once, so a bulk edit
     * wakes each beat once.
     */
    const userColumns = [
      'name',
      'task',
      'interval_id',
      'crontab_id',
      'solar_id',
      'clocked_id',
      'args',
      'kwargs',
      'queue',
      'exchange',
      'routing_key',
      'headers',
      'priority',
      'expires',
      'expire_seconds',
      'one_off',
      'start_time',
      'enabled',
      'description',
      'catch_up',
      'source',
    ];
    const row = (prefix: string, cols: string[]) => '(' + cols.map((c) => `${prefix}.${c}`).join(', ') + ')';
    const scheduleColumns = ['interval_id', 'crontab_id', 'solar_id', 'clocked_id', 'start_time', 'enabled'];
    await q.query(`
      CREATE FUNCTION "${s}".celeriac_periodic_task_changed() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        NEW.revision := OLD.revision + 1;
        IF ${row('OLD', userColumns)} IS DISTINCT FROM ${row('NEW', userColumns)} THEN
          NEW.date_changed := now();
        END IF;
        IF ${row('OLD', scheduleColumns)} IS DISTINCT FROM ${row('NEW', scheduleColumns)} THEN
          NEW.next_run_stale := true;
          NEW.next_run_at := NULL;
        END IF;
        PERFORM pg_notify('celeriac_beat', TG_TABLE_SCHEMA);
        RETURN NEW;
      END $$`);
    await q.query(`
      CREATE TRIGGER celeriac_periodic_task_changed BEFORE UPDATE ON "${s}".celeriac_periodic_task
      FOR EACH ROW WHEN (
        ${row('OLD', userColumns)} IS DISTINCT FROM ${row('NEW', userColumns)}
        OR (OLD.next_run_at IS DISTINCT FROM NEW.next_run_at AND current_setting('celeriac.beat', true) IS DISTINCT FROM 'on')
      ) EXECUTE FUNCTION "${s}".celeriac_periodic_task_changed()`);

    // A new row's next run is always computed by a beat, with the DST rules of src/beat/schedule.
    await q.query(`
      CREATE FUNCTION "${s}".celeriac_periodic_task_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        NEW.next_run_stale := true;
        NEW.next_run_at := NULL;
        RETURN NEW;
      END $$`);
    await q.query(`
      CREATE TRIGGER celeriac_periodic_task_inserted BEFORE INSERT ON "${s}".celeriac_periodic_task
      FOR EACH ROW EXECUTE FUNCTION "${s}".celeriac_periodic_task_inserted()`);

    await q.query(`
      CREATE FUNCTION "${s}".celeriac_beat_notify() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        PERFORM pg_notify('celeriac_beat', TG_TABLE_SCHEMA);
        RETURN NULL;
      END $$`);
    await q.query(`
      CREATE TRIGGER celeriac_periodic_task_added_or_removed AFTER INSERT OR DELETE ON "${s}".celeriac_periodic_task
      FOR EACH STATEMENT EXECUTE FUNCTION "${s}".celeriac_beat_notify()`);

    // Editing a schedule row re-plans exactly the tasks that use it.
    for (const [table, fk] of [
      ['celeriac_interval_schedule', 'interval_id'],
      ['celeriac_crontab_schedule', 'crontab_id'],
      ['celeriac_solar_schedule', 'solar_id'],
      ['celeriac_clocked_schedule', 'clocked_id'],
    ]) {
      await q.query(`
        CREATE FUNCTION "${s}".${table}_changed() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
          UPDATE "${s}".celeriac_periodic_task
             SET next_run_stale = true, next_run_at = NULL, revision = revision + 1, date_changed = now()
           WHERE ${fk} = NEW.id;
          PERFORM pg_notify('celeriac_beat', TG_TABLE_SCHEMA);
          RETURN NULL;
        END $$`);
      await q.query(`
        CREATE TRIGGER ${table}_changed AFTER UPDATE ON "${s}".${table}
        FOR EACH ROW WHEN (OLD.* IS DISTINCT FROM NEW.*) EXECUTE FUNCTION "${s}".${table}_changed()`);
    }

    /*
     * One row per claim batch whose messages are not yet confirmed sent. Written in the same
     * statement that advances the periodic tasks, deleted once the broker has the messages.
     * A batch left behind (its beat died, or the broker was down) is taken over after a lease
     * and re-sent under the same Redis marker, which makes the second send a no-op if the
     * first one happened (Broker.sendOnce; src/broker/lua/send-once-n.lua).
     */
    await q.query(`
      CREATE TABLE "${s}".celeriac_beat_outbox (
        batch_id         uuid         PRIMARY KEY,
        claimed_by       varchar(255) NOT NULL,
        claimed_at       timestamptz  NOT NULL,
        first_claimed_at timestamptz  NOT NULL,
        attempts         integer      NOT NULL DEFAULT 1,
        run_count        integer      NOT NULL,
        -- A JSON array of the batch's runs (see OutboxRun in src/beat/send-once.ts), kept as text
        -- and stored uncompressed: it is written once per claim and read back only after a crash,
        -- and parsing plus compressing ~1 MB of jsonb per 1,000-run batch was half the claim's time.
        runs             text         NOT NULL
      )`);
    await q.query(`ALTER TABLE "${s}".celeriac_beat_outbox ALTER COLUMN runs SET STORAGE EXTERNAL`);
    await q.query(`CREATE INDEX celeriac_beat_outbox_claimed_idx ON "${s}".celeriac_beat_outbox (claimed_at)`);

    await q.query(`
      CREATE TABLE "${s}".celeriac_beat_instance (
        beat_id      varchar(255) PRIMARY KEY,
        hostname     varchar(255) NOT NULL,
        pid          integer      NOT NULL,
        started_at   timestamptz  NOT NULL,
        last_seen_at timestamptz  NOT NULL,
        listening    boolean      NOT NULL
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    const s = schemaOf(q);
    await q.query(`DROP TABLE "${s}".celeriac_beat_instance`);
    await q.query(`DROP TABLE "${s}".celeriac_beat_outbox`);
    await q.query(`DROP TABLE "${s}".celeriac_periodic_task`);
    for (const table of [
      'celeriac_interval_schedule',
      'celeriac_crontab_schedule',
      'celeriac_solar_schedule',
      'celeriac_clocked_schedule',
    ]) {
      await q.query(`DROP TABLE "${s}".${table}`);
      await q.query(`DROP FUNCTION "${s}".${table}_changed()`);
    }
    await q.query(`DROP FUNCTION "${s}".celeriac_beat_notify()`);
    await q.query(`DROP FUNCTION "${s}".celeriac_periodic_task_inserted()`);
    await q.query(`DROP FUNCTION "${s}".celeriac_periodic_task_changed()`);
  }
}
