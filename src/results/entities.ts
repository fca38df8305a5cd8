import { Column, Entity, PrimaryGeneratedColumn } from 'typeorm';

/** django-celery-results' TaskResult, for the admin's reads; the worker writes with batched SQL (./sql.ts). */
@Entity({ name: 'celeriac_task_result' })
export class TaskResultEntity {
  @PrimaryGeneratedColumn({ type: 'bigint' }) id!: string;
  @Column({ name: 'task_id', type: 'varchar', length: 255, unique: true }) taskId!: string;
  @Column({ name: 'task_name', type: 'varchar', length: 255, nullable: true }) taskName!: string | null;
  @Column({ name: 'periodic_task_name', type: 'varchar', length: 255, nullable: true }) periodicTaskName!:
    string | null;
  @Column({ type: 'varchar', length: 50, default: 'PENDING' }) status!: string;
  @Column({ type: 'integer', default: 0 }) seq!: number;
  @Column({ type: 'jsonb', nullable: true }) args!: unknown[] | null;
  @Column({ type: 'jsonb', nullable: true }) kwargs!: Record<string, unknown> | null;
  @Column({ type: 'jsonb', nullable: true }) result!: unknown;
  @Column({ type: 'text', nullable: true }) traceback!: string | null;
  @Column({ type: 'jsonb', nullable: true }) meta!: Record<string, unknown> | null;
  @Column({ type: 'varchar', length: 100, nullable: true }) worker!: string | null;
  @Column({ type: 'varchar', length: 200, nullable: true }) queue!: string | null;
  @Column({ type: 'integer', default: 0 }) retries!: number;
  @Column({ name: 'parent_id', type: 'varchar', length: 255, nullable: true }) parentId!: string | null;
  @Column({ name: 'root_id', type: 'varchar', length: 255, nullable: true }) rootId!: string | null;
  @Column({ name: 'group_id', type: 'varchar', length: 255, nullable: true }) groupId!: string | null;
  @Column({ name: 'date_created', type: 'timestamptz', default: () => 'now()' }) dateCreated!: Date;
  @Column({ name: 'date_started', type: 'timestamptz', nullable: true }) dateStarted!: Date | null;
  @Column({ name: 'date_done', type: 'timestamptz', nullable: true }) dateDone!: Date | null;
  @Column({ name: 'date_changed', type: 'timestamptz', default: () => 'now()' }) dateChanged!: Date;
}

@Entity({ name: 'celeriac_group_result' })
export class GroupResultEntity {
  @PrimaryGeneratedColumn({ type: 'bigint' }) id!: string;
  @Column({ name: 'group_id', type: 'varchar', length: 255, unique: true }) groupId!: string;
  @Column({ name: 'task_ids', type: 'jsonb' }) taskIds!: string[];
  @Column({ name: 'date_created', type: 'timestamptz', default: () => 'now()' }) dateCreated!: Date;
  @Column({ name: 'date_done', type: 'timestamptz', nullable: true }) dateDone!: Date | null;
}

export const resultEntities = [TaskResultEntity, GroupResultEntity];
