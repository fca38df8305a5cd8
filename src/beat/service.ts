import type { DataSource, EntityManager } from 'typeorm';
import type { Celeriac } from '../celeriac';
import { systemClock, type Clock } from './clock';
import { BeatInstanceEntity, PeriodicTaskEntity } from './entities';
import { PeriodicTaskNotFoundError, PeriodicTaskValidationError } from './errors';
import { firstRun } from './plan';
import { describeSchedule, nextRuns, type FieldError, type ScheduleSpec } from './schedule';
import { normalizeSchedule, type ScheduleInput } from './schedule-input';
import { specOf, type ScheduledRow } from './row';
import { findOrCreateSchedule } from './sync';
import { validatePeriodicTask, type CatchUp, type PeriodicTaskInput, type ValidPeriodicTask } from './validation';

/** A periodic task as the admin shows it: the validated fields plus its id, state and history. */
export interface PeriodicTaskView extends Omit<ValidPeriodicTask, 'schedule'> {
  id: number;
  /** null when the stored schedule is invalid (see lastError). */
  schedule: ScheduleSpec | null;
  /** "every 5 minutes", "at 02:30 every day (Europe/Berlin)", … */
  scheduleText: string;
  lastRunAt: Date | null;
  totalRunCount: number;
  dateChanged: Date;
  /** 'code': declared in beatSchedule; edits last until the next beat start (see sync.ts). */
  source: 'db' | 'code';
  /** The next run beat will send; null while a beat has not planned it yet, or when there is none. */
  nextRunAt: Date | null;
  /** Why beat is not running this row (bad schedule, unknown task, schedule ended), or null. */
  lastError: string | null;
}

export interface PeriodicTaskListOptions {
  enabled?: boolean;
  source?: 'db' | 'code';
  task?: string;
  /** Case-insensitive match on name, task or description. */
  search?: string;
  orderBy?: 'name' | 'nextRunAt' | 'lastRunAt';
  limit?: number;
  offset?: number;
}

export interface BeatInstanceView {
  beatId: string;
  hostname: string;
  pid: number;
  startedAt: Date;
  lastSeenAt: Date;
  listening: boolean;
}

export interface PeriodicTaskServiceOptions {
  clock?: Clock;
  /** Refuse tasks this app neither registers nor routes (default true), as beat would park them. */
  requireKnownTask?: boolean;
}

type Ref = number | string;

/**
 * Create, change and inspect periodic tasks: what the admin's routes call. Every write is
 * validated first (all problems at once, per field, in a PeriodicTaskValidationError) and then
 * left to the triggers to announce: a running beat re-plans the changed row within a second.
 * Schedules are never edited in place (another task may share the row): a changed schedule
 * points the task at an identical existing schedule row, or a new one.
 */
export class PeriodicTaskService {
  private readonly clock: Clock;
  private readonly requireKnownTask: boolean;

  constructor(
    private readonly app: Celeriac,
    options: PeriodicTaskServiceOptions = {},
  ) {
    this.clock = options.clock ?? systemClock;
    this.requireKnownTask = options.requireKnownTask ?? true;
  }

  /** Every problem with `input`, each with its field ('name', 'schedule.minute', …); [] when valid. */
  validate(input: unknown): FieldError[] {
    return validatePeriodicTask(input, this.validationOptions()).errors;
  }

  async create(input: PeriodicTaskInput): Promise<PeriodicTaskView> {
    const value = this.check(input);
    const ds = await this.ds();
    const id = await this.write(ds, value, null);
    return this.get(id);
  }

  /** Changes the given fields; the others keep their values. */
  async update(ref: Ref, patch: Partial<PeriodicTaskInput>): Promise<PeriodicTaskView> {
    const current = await this.get(ref);
    if (!current.schedule) {
      if (patch.schedule === undefined)
        throw new PeriodicTaskValidationError([
          {
            field: 'schedule',
            message: `the stored schedule is invalid (${current.lastError ?? 'unknown'}): give a new one`,
          },
        ]);
    }
    const merged: PeriodicTaskInput = { ...toInput(current), ...patch } as PeriodicTaskInput;
    // Clocked rows are one-off by nature; moving one to a repeating schedule should repeat.
    if (current.schedule?.kind === 'clocked' && patch.schedule !== undefined && patch.oneOff === undefined)
      merged.oneOff = false;
    const value = this.check(merged);
    await this.write(await this.ds(), value, current.id);
    return this.get(current.id);
  }

  /**
   * Replaces every field (the admin's PUT): `input` is validated alone, so a missing name, task
   * or schedule is reported with every other problem, and a field it leaves out gets its default.
   */
  async replace(ref: Ref, input: PeriodicTaskInput): Promise<PeriodicTaskView> {
    const current = await this.get(ref);
    const value = this.check(input);
    await this.write(await this.ds(), value, current.id);
    return this.get(current.id);
  }

  async delete(ref: Ref): Promise<void> {
    const current = await this.get(ref);
    await (await this.ds()).getRepository(PeriodicTaskEntity).delete({ id: current.id });
  }

  enable(ref: Ref): Promise<PeriodicTaskView> {
    return this.setEnabled(ref, true);
  }

  disable(ref: Ref): Promise<PeriodicTaskView> {
    return this.setEnabled(ref, false);
  }

  /**
   * Sends the task now, outside its schedule (django-celery-beat's "run selected tasks"), with
   * all of the row's options, which django-celery-beat's admin drops. A fresh task id: it is
   * not one of the scheduled runs, and does not count in total_run_count.
   */
  async runNow(ref: Ref): Promise<string> {
    const t = await this.get(ref);
    const result = await this.app.sendTask(t.task, t.args, t.kwargs, {
      queue: t.queue ?? t.routingKey ?? undefined,
      priority: t.priority ?? undefined,
      headers: t.headers,
      expires: t.expires ?? t.expireSeconds ?? undefined,
      periodicTaskName: t.name,
    });
    return result.id;
  }

  /**
   * The next `n` runs: of a stored task (from its planned next run), or of a schedule typed
   * into a form and not saved yet.
   */
  async preview(what: Ref | { schedule: ScheduleInput; startTime?: Date | null }, n = 5): Promise<Date[]> {
    const now = this.clock.now();
    let spec: ScheduleSpec;
    let first: number | null;
    if (typeof what === 'object') {
      const s = normalizeSchedule(what.schedule, this.app.config.timezone);
      if (!s.spec)
        throw new PeriodicTaskValidationError(
          s.errors.map((e) => ({ field: `schedule.${e.field}`, message: e.message })),
        );
      spec = s.spec;
      first = firstRun({ enabled: true, start_time: what.startTime ?? null, last_slot_at: null }, spec, now).nextMs;
    } else {
      const t = await this.get(what);
      if (!t.schedule) return [];
      spec = t.schedule;
      first =
        t.nextRunAt?.getTime() ??
        firstRun({ enabled: true, start_time: t.startTime, last_slot_at: null }, spec, now).nextMs;
      if (t.oneOff) n = Math.min(n, 1);
    }
    if (first === null || n <= 0) return [];
    return [new Date(first), ...nextRuns(spec, new Date(first), n - 1)];
  }

  async get(ref: Ref): Promise<PeriodicTaskView> {
    const repo = (await this.ds()).getRepository(PeriodicTaskEntity);
    const found = await repo.findOne({
      where: typeof ref === 'number' ? { id: ref } : { name: ref },
      relations: { interval: true, crontab: true, solar: true, clocked: true },
    });
    if (!found) throw new PeriodicTaskNotFoundError(ref);
    return toView(found);
  }

  async list(options: PeriodicTaskListOptions = {}): Promise<{ items: PeriodicTaskView[]; total: number }> {
    const qb = (await this.ds())
      .getRepository(PeriodicTaskEntity)
      .createQueryBuilder('pt')
      .leftJoinAndSelect('pt.interval', 'interval')
      .leftJoinAndSelect('pt.crontab', 'crontab')
      .leftJoinAndSelect('pt.solar', 'solar')
      .leftJoinAndSelect('pt.clocked', 'clocked');
    if (options.enabled !== undefined) qb.andWhere('pt.enabled = :enabled', { enabled: options.enabled });
    if (options.source) qb.andWhere('pt.source = :source', { source: options.source });
    if (options.task) qb.andWhere('pt.task = :task', { task: options.task });
    if (options.search) {
      qb.andWhere('(pt.name ILIKE :q OR pt.task ILIKE :q OR pt.description ILIKE :q)', {
        q: `%${options.search.replace(/[\\%_]/g, '\\$&')}%`,
      });
    }
    const order = { name: 'pt.name', nextRunAt: 'pt.next_run_at', lastRunAt: 'pt.last_run_at' }[
      options.orderBy ?? 'name'
    ];
    qb.orderBy(order, 'ASC', 'NULLS LAST').addOrderBy('pt.id', 'ASC');
    qb.take(Math.min(Math.max(options.limit ?? 50, 1), 1000)).skip(Math.max(options.offset ?? 0, 0));
    const [rows, total] = await qb.getManyAndCount();
    return { items: rows.map(toView), total };
  }

  /** Beats that wrote a heartbeat recently (the admin's "is beat running?"). */
  async beats(withinMs = 30_000): Promise<BeatInstanceView[]> {
    const rows = await (await this.ds()).getRepository(BeatInstanceEntity).find({ order: { startedAt: 'ASC' } });
    const since = this.clock.now() - withinMs;
    return rows
      .filter((r) => r.lastSeenAt.getTime() >= since)
      .map((r) => ({
        beatId: r.beatId,
        hostname: r.hostname,
        pid: r.pid,
        startedAt: r.startedAt,
        lastSeenAt: r.lastSeenAt,
        listening: r.listening,
      }));
  }

  private async setEnabled(ref: Ref, enabled: boolean): Promise<PeriodicTaskView> {
    const current = await this.get(ref);
    await (await this.ds()).getRepository(PeriodicTaskEntity).update({ id: current.id }, { enabled });
    return this.get(current.id);
  }

  private check(input: unknown): ValidPeriodicTask {
    const { value, errors } = validatePeriodicTask(input, this.validationOptions());
    if (!value) throw new PeriodicTaskValidationError(errors);
    return value;
  }

  private validationOptions() {
    return {
      defaultTimezone: this.app.config.timezone,
      isKnownTask: this.requireKnownTask
        ? (name: string) => !!this.app.registry.get(name) || !!this.app.route(name)
        : undefined,
      knownTaskNames: () => this.app.registry.names(),
    };
  }

  /** Inserts (id null) or updates one row and points it at its schedule, in one transaction. */
  private async write(ds: DataSource, v: ValidPeriodicTask, id: number | null): Promise<number> {
    try {
      return await ds.transaction(async (m: EntityManager) => {
        const fk = await findOrCreateSchedule(
          (text, values) => m.query(text, values),
          this.app.config.schema,
          v.schedule,
        );
        const columns = {
          name: v.name,
          task: v.task,
          intervalId: fk.interval_id,
          crontabId: fk.crontab_id,
          solarId: fk.solar_id,
          clockedId: fk.clocked_id,
          args: v.args,
          kwargs: v.kwargs,
          queue: v.queue,
          exchange: v.exchange,
          routingKey: v.routingKey,
          headers: v.headers,
          priority: v.priority,
          expires: v.expires,
          expireSeconds: v.expireSeconds,
          oneOff: v.oneOff,
          startTime: v.startTime,
          enabled: v.enabled,
          description: v.description,
          catchUp: v.catchUp,
        };
        const repo = m.getRepository(PeriodicTaskEntity);
        // jsonb columns hold unknown JSON, which TypeORM's deep-partial type cannot express.
        const values = columns as Parameters<typeof repo.update>[1];
        if (id !== null) {
          await repo.update({ id }, values);
          return id;
        }
        const inserted = await repo.insert(values);
        return inserted.identifiers[0].id as number;
      });
    } catch (err) {
      if ((err as { code?: string }).code === '23505' && /name/.test((err as { detail?: string }).detail ?? '')) {
        throw new PeriodicTaskValidationError([
          {
            field: 'name',
            message: `a periodic task named '${v.name}' already exists: pick another name or edit that one`,
          },
        ]);
      }
      throw err;
    }
  }

  private ds(): Promise<DataSource> {
    return this.app.dataSource();
  }
}

function toView(e: PeriodicTaskEntity): PeriodicTaskView {
  const { spec, errors } = specOf(entityRow(e));
  let scheduleText: string;
  try {
    scheduleText = spec
      ? describeSchedule(spec)
      : `invalid schedule: ${errors.map((x) => `${x.field}: ${x.message}`).join('; ')}`;
  } catch (err) {
    scheduleText = `invalid schedule: ${(err as Error).message}`;
  }
  return {
    id: e.id,
    name: e.name,
    task: e.task,
    schedule: spec,
    scheduleText,
    args: e.args,
    kwargs: e.kwargs,
    queue: e.queue,
    exchange: e.exchange,
    routingKey: e.routingKey,
    headers: e.headers,
    priority: e.priority,
    expires: e.expires,
    expireSeconds: e.expireSeconds,
    oneOff: e.oneOff,
    startTime: e.startTime,
    enabled: e.enabled,
    lastRunAt: e.lastRunAt,
    totalRunCount: e.totalRunCount,
    dateChanged: e.dateChanged,
    description: e.description,
    catchUp: e.catchUp as CatchUp,
    source: e.source as 'db' | 'code',
    nextRunAt: e.nextRunAt,
    lastError: e.lastError,
  };
}

/** The entity in the row shape the schedule checks take. */
function entityRow(e: PeriodicTaskEntity): ScheduledRow {
  return {
    interval_id: e.intervalId,
    crontab_id: e.crontabId,
    solar_id: e.solarId,
    clocked_id: e.clockedId,
    every: e.interval?.every ?? null,
    period: e.interval?.period ?? null,
    minute: e.crontab?.minute ?? null,
    hour: e.crontab?.hour ?? null,
    day_of_week: e.crontab?.dayOfWeek ?? null,
    day_of_month: e.crontab?.dayOfMonth ?? null,
    month_of_year: e.crontab?.monthOfYear ?? null,
    timezone: e.crontab?.timezone ?? null,
    event: e.solar?.event ?? null,
    latitude: e.solar?.latitude ?? null,
    longitude: e.solar?.longitude ?? null,
    clocked_time: e.clocked?.clockedTime ?? null,
  } as ScheduledRow;
}

function toInput(v: PeriodicTaskView): PeriodicTaskInput {
  return {
    name: v.name,
    task: v.task,
    schedule: v.schedule as ScheduleInput,
    args: v.args,
    kwargs: v.kwargs,
    queue: v.queue,
    exchange: v.exchange,
    routingKey: v.routingKey,
    headers: v.headers,
    priority: v.priority,
    expires: v.expires,
    expireSeconds: v.expireSeconds,
    oneOff: v.oneOff,
    startTime: v.startTime,
    enabled: v.enabled,
    description: v.description,
    catchUp: v.catchUp,
  };
}
