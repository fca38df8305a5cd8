import {
  Check,
  Column,
  type ColumnOptions,
  Entity,
  Index,
  JoinColumn,
  ManyToOne,
  PrimaryColumn,
  PrimaryGeneratedColumn,
  Unique,
} from 'typeorm';
import { PERIODIC_TASK_FIELDS, PERIODIC_TASK_STATE, type PeriodicTaskState, type PeriodicTaskValues } from './fields';

/**
 * django-celery-beat's models as TypeORM entities, for CRUD (PeriodicTaskService, the admin).
 * The beat itself reads and claims with the SQL in ./sql; migrations/0002-beat.ts is the
 * source of truth for the schema, including the triggers these entities cannot express.
 */

@Entity({ name: 'celeriac_interval_schedule' })
@Check('celeriac_interval_every_positive', `"every" >= 1`)
@Check('celeriac_interval_period_known', `"period" IN ('days', 'hours', 'minutes', 'seconds', 'microseconds')`)
export class IntervalScheduleEntity {
  @PrimaryGeneratedColumn() id!: number;
  @Column({ type: 'integer' }) every!: number;
  @Column({ type: 'varchar', length: 24 }) period!: string;
}

@Entity({ name: 'celeriac_crontab_schedule' })
export class CrontabScheduleEntity {
  @PrimaryGeneratedColumn() id!: number;
  @Column({ type: 'varchar', length: 240, default: '*' }) minute!: string;
  @Column({ type: 'varchar', length: 96, default: '*' }) hour!: string;
  @Column({ name: 'day_of_week', type: 'varchar', length: 64, default: '*' }) dayOfWeek!: string;
  @Column({ name: 'day_of_month', type: 'varchar', length: 124, default: '*' }) dayOfMonth!: string;
  @Column({ name: 'month_of_year', type: 'varchar', length: 64, default: '*' }) monthOfYear!: string;
  @Column({ type: 'varchar', length: 63, default: 'UTC' }) timezone!: string;
}

/** numeric(9,6) arrives from pg as a string; the entity hands out numbers. */
const decimal = { to: (v: number | null) => v, from: (v: string | null) => (v === null ? null : Number(v)) };

@Entity({ name: 'celeriac_solar_schedule' })
@Unique('celeriac_solar_schedule_unique', ['event', 'latitude', 'longitude'])
@Check(
  'celeriac_solar_event_known',
  `event IN ('dawn_astronomical', 'dawn_civil', 'dawn_nautical', 'dusk_astronomical', 'dusk_civil', 'dusk_nautical', 'solar_noon', 'sunrise', 'sunset')`,
)
@Check('celeriac_solar_latitude_range', `latitude BETWEEN -90 AND 90`)
@Check('celeriac_solar_longitude_range', `longitude BETWEEN -180 AND 180`)
export class SolarScheduleEntity {
  @PrimaryGeneratedColumn() id!: number;
  @Column({ type: 'varchar', length: 24 }) event!: string;
  @Column({ type: 'numeric', precision: 9, scale: 6, transformer: decimal }) latitude!: number;
  @Column({ type: 'numeric', precision: 9, scale: 6, transformer: decimal }) longitude!: number;
}

@Entity({ name: 'celeriac_clocked_schedule' })
export class ClockedScheduleEntity {
  @PrimaryGeneratedColumn() id!: number;
  @Column({ name: 'clocked_time', type: 'timestamptz' }) clockedTime!: Date;
}

@Entity({ name: 'celeriac_periodic_task' })
@Check('celeriac_periodic_task_one_schedule', `num_nonnulls(interval_id, crontab_id, solar_id, clocked_id) = 1`)
@Check('celeriac_periodic_task_one_expiry', `expires IS NULL OR expire_seconds IS NULL`)
@Check('celeriac_periodic_task_priority_range', `priority BETWEEN 0 AND 255`)
@Check('celeriac_periodic_task_expire_seconds_positive', `expire_seconds >= 1`)
@Check('celeriac_periodic_task_catch_up_known', `catch_up IN ('once', 'skip')`)
@Check('celeriac_periodic_task_source_known', `source IN ('db', 'code')`)
@Check('celeriac_periodic_task_args_array', `jsonb_typeof(args) = 'array'`)
@Check('celeriac_periodic_task_kwargs_object', `jsonb_typeof(kwargs) = 'object'`)
@Check('celeriac_periodic_task_headers_object', `jsonb_typeof(headers) = 'object'`)
@Index('celeriac_periodic_task_due_idx', ['nextRunAt'], { where: 'enabled' })
@Index('celeriac_periodic_task_stale_idx', ['id'], { where: 'next_run_stale' })
@Index('celeriac_periodic_task_interval_id_idx', ['intervalId'], { where: 'interval_id IS NOT NULL' })
@Index('celeriac_periodic_task_crontab_id_idx', ['crontabId'], { where: 'crontab_id IS NOT NULL' })
@Index('celeriac_periodic_task_solar_id_idx', ['solarId'], { where: 'solar_id IS NOT NULL' })
@Index('celeriac_periodic_task_clocked_id_idx', ['clockedId'], { where: 'clocked_id IS NOT NULL' })
// eslint-disable-next-line @typescript-eslint/no-unsafe-declaration-merging -- the interface below types the columns the field table adds
export class PeriodicTaskEntity {
  @PrimaryGeneratedColumn() id!: number;

  @Column({ name: 'interval_id', type: 'integer', nullable: true }) intervalId!: number | null;
  @Column({ name: 'crontab_id', type: 'integer', nullable: true }) crontabId!: number | null;
  @Column({ name: 'solar_id', type: 'integer', nullable: true }) solarId!: number | null;
  @Column({ name: 'clocked_id', type: 'integer', nullable: true }) clockedId!: number | null;
  @ManyToOne(() => IntervalScheduleEntity, { nullable: true, onDelete: 'CASCADE' })
  @JoinColumn({ name: 'interval_id', foreignKeyConstraintName: 'celeriac_periodic_task_interval_id_fkey' })
  interval?: IntervalScheduleEntity | null;
  @ManyToOne(() => CrontabScheduleEntity, { nullable: true, onDelete: 'CASCADE' })
  @JoinColumn({ name: 'crontab_id', foreignKeyConstraintName: 'celeriac_periodic_task_crontab_id_fkey' })
  crontab?: CrontabScheduleEntity | null;
  @ManyToOne(() => SolarScheduleEntity, { nullable: true, onDelete: 'CASCADE' })
  @JoinColumn({ name: 'solar_id', foreignKeyConstraintName: 'celeriac_periodic_task_solar_id_fkey' })
  solar?: SolarScheduleEntity | null;
  @ManyToOne(() => ClockedScheduleEntity, { nullable: true, onDelete: 'CASCADE' })
  @JoinColumn({ name: 'clocked_id', foreignKeyConstraintName: 'celeriac_periodic_task_clocked_id_fkey' })
  clocked?: ClockedScheduleEntity | null;

  // The person-set fields and beat's record (source … date_changed) come from ./fields.ts below.
  // Beat's own bookkeeping, never shown: written by beats and triggers.
  @Column({ name: 'next_run_stale', type: 'boolean', default: true }) nextRunStale!: boolean;
  @Column({ name: 'last_slot_at', type: 'timestamptz', nullable: true }) lastSlotAt!: Date | null;
  @Column({ type: 'bigint', default: 1 }) revision!: string;
}

/** The columns of the field table, typed from it (declaration merging with the class above). */
// eslint-disable-next-line @typescript-eslint/no-unsafe-declaration-merging -- see the class above
export interface PeriodicTaskEntity extends PeriodicTaskValues, PeriodicTaskState {}

// Column decorators applied from the tables: TypeORM reads them when a DataSource initialises.
for (const table of [PERIODIC_TASK_FIELDS, PERIODIC_TASK_STATE] as Record<
  string,
  { column: string; entity: ColumnOptions }
>[])
  for (const [property, spec] of Object.entries(table))
    Column({ name: spec.column, ...spec.entity })(PeriodicTaskEntity.prototype, property);

@Entity({ name: 'celeriac_beat_outbox' })
export class BeatOutboxEntity {
  @PrimaryColumn({ name: 'batch_id', type: 'uuid' }) batchId!: string;
  @Column({ name: 'claimed_by', type: 'varchar', length: 255 }) claimedBy!: string;
  @Index('celeriac_beat_outbox_claimed_idx')
  @Column({ name: 'claimed_at', type: 'timestamptz' })
  claimedAt!: Date;
  @Column({ name: 'first_claimed_at', type: 'timestamptz' }) firstClaimedAt!: Date;
  @Column({ type: 'integer', default: 1 }) attempts!: number;
  @Column({ name: 'run_count', type: 'integer' }) runCount!: number;
  /** JSON text of the batch's runs. */
  @Column({ type: 'text' }) runs!: string;
}

@Entity({ name: 'celeriac_beat_instance' })
export class BeatInstanceEntity {
  @PrimaryColumn({ name: 'beat_id', type: 'varchar', length: 255 }) beatId!: string;
  @Column({ type: 'varchar', length: 255 }) hostname!: string;
  @Column({ type: 'integer' }) pid!: number;
  @Column({ name: 'started_at', type: 'timestamptz' }) startedAt!: Date;
  @Column({ name: 'last_seen_at', type: 'timestamptz' }) lastSeenAt!: Date;
  @Column({ type: 'boolean' }) listening!: boolean;
}

export const beatEntities = [
  IntervalScheduleEntity,
  CrontabScheduleEntity,
  SolarScheduleEntity,
  ClockedScheduleEntity,
  PeriodicTaskEntity,
  BeatOutboxEntity,
  BeatInstanceEntity,
];
