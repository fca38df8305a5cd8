import type { DataSource, EntityManager } from 'typeorm';
import type { Runtime } from '../runtime/runtime';
import { systemClock, type Clock } from './clock';
import type { TxQuery } from './db';
import { BeatInstanceEntity, PeriodicTaskEntity } from './entities';
import { PeriodicTaskNotFoundError, PeriodicTaskValidationError } from './errors';
import { fieldValues } from './fields';
import { scheduleKey } from './row';
import { nextRuns, type FieldError, type ScheduleSpec } from './schedule';
import { normalizeSchedule, type ScheduleInput } from './schedule-input';
import type { ScheduleFks } from './schedule-tables';
import { validatePeriodicTask, type PeriodicTaskInput, type ValidPeriodicTask } from './validation';
import { expectedNextRun, toView, type PeriodicTaskView } from './view';
import { findOrCreateScheduleRows, writePeriodicTasks } from './write';
import { writeToDjango, type DjangoChange } from './django-write';

export type { PeriodicTaskView } from './view';

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

/** One task a bulk write wrote: its id and name, and (upsertMany) whether it was new. */
export interface PeriodicTaskRef {
  id: number;
  name: string;
  created: boolean;
}

/**
 * Create, change and inspect periodic tasks: what the admin's routes call. Every write is
 * validated first (all problems at once, per field, in a PeriodicTaskValidationError) and then
 * left to the triggers to announce: a running beat re-plans the changed row within a second.
 * Schedules are never edited in place (another task may share the row): a changed schedule
 * points the task at an identical existing schedule row, or a new one. In django table mode every
 * write is also made to Django's tables in the same transaction (django-write.ts).
 */
export class PeriodicTaskService {
  private readonly clock: Clock;
  private readonly requireKnownTask: boolean;

  constructor(
    private readonly app: Runtime,
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
    const [{ id }] = await this.insert([value], (i, message) => ({ field: 'name', message }));
    return this.get(id);
  }

  /**
   * Creates many tasks in one transaction, validated as one: when any is invalid (or its name is
   * taken, or repeated in `inputs`), nothing is written and the PeriodicTaskValidationError names
   * every problem, fields prefixed with the item's index (`[3].schedule.minute`). Schedules are
   * found or created in one statement per kind and the tasks written in one.
   */
  async createMany(inputs: PeriodicTaskInput[]): Promise<PeriodicTaskRef[]> {
    const values = this.checkMany(inputs);
    return this.insert(values, (i, message) => ({ field: `[${i}].name`, message }));
  }

  /**
   * Creates or replaces many tasks by name, in one transaction, validated as one (as createMany).
   * A task that exists gets every field from its input (left out: the default), keeping its id,
   * history and source; an unchanged one is not re-planned.
   */
  async upsertMany(inputs: PeriodicTaskInput[]): Promise<PeriodicTaskRef[]> {
    const values = this.checkMany(inputs);
    return this.transaction(async (q) => {
      const fks = await findOrCreateScheduleRows(
        q,
        this.app.config.schema,
        values.map((v) => v.schedule),
      );
      const written = await writePeriodicTasks(q, this.app.config.schema, values, fks, 'upsert');
      await this.toDjango(q, { names: values.map((v) => v.name) });
      return written;
    });
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
    const merged = { ...fieldValues(current), schedule: current.schedule, ...patch } as PeriodicTaskInput;
    // Clocked rows are one-off by nature; moving one to a repeating schedule should repeat.
    if (current.schedule?.kind === 'clocked' && patch.schedule !== undefined && patch.oneOff === undefined)
      merged.oneOff = false;
    return this.rewrite(current, this.check(merged));
  }

  /**
   * Replaces every field (the admin's PUT): `input` is validated alone, so a missing name, task
   * or schedule is reported with every other problem, and a field it leaves out gets its default.
   */
  async replace(ref: Ref, input: PeriodicTaskInput): Promise<PeriodicTaskView> {
    const current = await this.get(ref);
    return this.rewrite(current, this.check(input));
  }

  async delete(ref: Ref): Promise<void> {
    const current = await this.get(ref);
    await this.transaction(async (q, m) => {
      await m.getRepository(PeriodicTaskEntity).delete({ id: current.id });
      await this.toDjango(q, { deleted: [current.name] });
    });
  }

  /**
   * Enables or disables many tasks in one statement, all or none: when an id matches nothing,
   * PeriodicTaskNotFoundError names every such id and nothing changes. Returns how many were
   * asked for (a task already in that state counts, and is not re-planned).
   */
  setEnabledMany(ids: number[], enabled: boolean): Promise<number> {
    return this.writeMany(
      ids,
      (table) => [`UPDATE ${table} SET enabled = $2 WHERE id = ANY($1::int[]) AND enabled <> $2`, [enabled]],
      (names) => ({ names }),
    );
  }

  /** Deletes many tasks in one statement, all or none (as setEnabledMany); results of past runs stay. */
  deleteMany(ids: number[]): Promise<number> {
    return this.writeMany(
      ids,
      (table) => [`DELETE FROM ${table} WHERE id = ANY($1::int[])`, []],
      (deleted) => ({ deleted }),
    );
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
      queue: t.queue || t.routingKey || undefined, // '' is none, as when beat sends it (planner.ts)
      priority: t.priority ?? undefined,
      headers: t.headers,
      expires: t.expires ?? t.expireSeconds ?? undefined,
      periodicTaskName: t.name,
    });
    return result.id;
  }

  /**
   * The next `n` runs: of a stored task (from its planned next run), or of a schedule typed
   * into a form and not saved yet. For a form editing a stored task, pass its id as `task`:
   * the preview then starts where the saved row will (its planned run when the schedule and
   * start time stay the same, else the first run a beat plans from the row's last run), so
   * the form and the list agree.
   */
  async preview(what: Ref | { schedule: ScheduleInput; startTime?: Date | null; task?: Ref }, n = 5): Promise<Date[]> {
    const now = this.clock.now();
    let spec: ScheduleSpec;
    let first: Date | null;
    if (typeof what === 'object') {
      const s = normalizeSchedule(what.schedule, this.app.config.timezone);
      if (!s.spec)
        throw new PeriodicTaskValidationError(
          s.errors.map((e) => ({ field: `schedule.${e.field}`, message: e.message })),
        );
      spec = s.spec;
      const startTime = what.startTime ?? null;
      const stored = what.task === undefined ? null : await this.get(what.task);
      const unchanged =
        stored?.schedule &&
        scheduleKey(stored.schedule) === scheduleKey(spec) &&
        (stored.startTime?.getTime() ?? null) === (startTime?.getTime() ?? null);
      first = expectedNextRun(
        {
          enabled: true,
          startTime,
          lastSlotAt: stored ? await this.lastSlotAt(stored.id) : null,
          nextRunAt: unchanged ? stored.nextRunAt : null,
        },
        spec,
        now,
      );
    } else {
      const t = await this.get(what);
      if (!t.schedule) return [];
      spec = t.schedule;
      first = expectedNextRun({ ...t, enabled: true, lastSlotAt: await this.lastSlotAt(t.id) }, spec, now);
      if (t.oneOff) n = Math.min(n, 1);
    }
    if (first === null || n <= 0) return [];
    return [first, ...nextRuns(spec, first, n - 1)];
  }

  async get(ref: Ref): Promise<PeriodicTaskView> {
    const repo = (await this.ds()).getRepository(PeriodicTaskEntity);
    const found = await repo.findOne({
      where: typeof ref === 'number' ? { id: ref } : { name: ref },
      relations: { interval: true, crontab: true, solar: true, clocked: true },
    });
    if (!found) throw new PeriodicTaskNotFoundError(ref);
    return toView(found, this.clock.now());
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
    const now = this.clock.now();
    return { items: rows.map((r) => toView(r, now)), total };
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
    await this.transaction(async (q, m) => {
      await m.getRepository(PeriodicTaskEntity).update({ id: current.id }, { enabled });
      await this.toDjango(q, { names: [current.name] });
    });
    return this.get(current.id);
  }

  private async lastSlotAt(id: number): Promise<Date | null> {
    const row = await (
      await this.ds()
    )
      .getRepository(PeriodicTaskEntity)
      .findOne({ where: { id }, select: { id: true, lastSlotAt: true } });
    return row?.lastSlotAt ?? null;
  }

  private check(input: unknown): ValidPeriodicTask {
    const { value, errors } = validatePeriodicTask(input, this.validationOptions());
    if (!value) throw new PeriodicTaskValidationError(errors);
    return value;
  }

  /** Validates every item, then names every problem at once, each field prefixed `[index].`. */
  private checkMany(inputs: unknown): ValidPeriodicTask[] {
    if (!Array.isArray(inputs))
      throw new PeriodicTaskValidationError([{ field: '', message: 'expected an array of periodic tasks' }]);
    const options = this.validationOptions();
    const errors: FieldError[] = [];
    const values: ValidPeriodicTask[] = [];
    const firstWithName = new Map<string, number>();
    inputs.forEach((input, i) => {
      const r = validatePeriodicTask(input, options);
      // An item that is not an object at all is named as the item, not as one of its fields.
      const whole = typeof input !== 'object' || input === null || Array.isArray(input);
      for (const e of r.errors) errors.push({ field: whole ? `[${i}]` : `[${i}].${e.field}`, message: e.message });
      if (r.value) values.push(r.value);
      // A repeated name is named even when the item has other problems: every problem at once.
      const name = r.value?.name ?? (input as { name?: unknown } | null)?.name;
      if (typeof name !== 'string' || r.errors.some((e) => e.field === 'name')) return;
      const earlier = firstWithName.get(name);
      if (earlier !== undefined)
        errors.push({ field: `[${i}].name`, message: `'${name}' is also the name of [${earlier}]: names are unique` });
      else firstWithName.set(name, i);
    });
    if (errors.length) throw new PeriodicTaskValidationError(errors);
    return values;
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

  /**
   * Inserts new tasks in one transaction; a name already taken is a field error (`nameError`
   * says which field), every one of them named, and nothing is written.
   */
  private insert(
    values: ValidPeriodicTask[],
    nameError: (index: number, message: string) => FieldError,
  ): Promise<PeriodicTaskRef[]> {
    const schema = this.app.config.schema;
    const taken = (name: string) =>
      `a periodic task named '${name}' already exists: pick another name or edit that one`;
    return this.transaction(async (q) => {
      // In django mode a name is also taken by a Django row the mirror could not run (so it has
      // no row here): the write-back's upsert by name would overwrite it.
      const existing: { name: string }[] = await q(
        `SELECT name FROM "${schema}".celeriac_periodic_task WHERE name = ANY($1::text[])${
          this.app.config.tables === 'django'
            ? ` UNION SELECT name FROM "${schema}".django_celery_beat_periodictask WHERE name = ANY($1::text[])`
            : ''
        }`,
        [values.map((v) => v.name)],
      );
      if (existing.length) {
        const names = new Set(existing.map((r) => r.name));
        throw new PeriodicTaskValidationError(
          values.flatMap((v, i) => (names.has(v.name) ? [nameError(i, taken(v.name))] : [])),
        );
      }
      const fks = await findOrCreateScheduleRows(
        q,
        schema,
        values.map((v) => v.schedule),
      );
      try {
        const written = await writePeriodicTasks(q, schema, values, fks, 'insert');
        await this.toDjango(q, { names: values.map((v) => v.name) });
        return written;
      } catch (err) {
        // Another writer took a name between the check and the insert.
        const name = duplicateName(err);
        const i = name === undefined ? -1 : values.findIndex((v) => v.name === name);
        if (i >= 0) throw new PeriodicTaskValidationError([nameError(i, taken(name!))]);
        throw err;
      }
    });
  }

  /**
   * Writes all fields of an existing row and points it at its schedule, in one transaction. The
   * row keeps its schedule row when the schedule is unchanged, so an edit of other fields does
   * not re-plan it (and the form's preview, which assumes so, stays true).
   */
  private async rewrite(current: PeriodicTaskView, v: ValidPeriodicTask): Promise<PeriodicTaskView> {
    const entity = await (await this.ds()).getRepository(PeriodicTaskEntity).findOneOrFail({
      where: { id: current.id },
      select: { id: true, intervalId: true, crontabId: true, solarId: true, clockedId: true },
    });
    const keep =
      current.schedule && scheduleKey(current.schedule) === scheduleKey(v.schedule)
        ? ({
            interval_id: entity.intervalId,
            crontab_id: entity.crontabId,
            solar_id: entity.solarId,
            clocked_id: entity.clockedId,
          } satisfies ScheduleFks)
        : null;
    await this.transaction(async (q, m) => {
      const [fk] = keep ? [keep] : await findOrCreateScheduleRows(q, this.app.config.schema, [v.schedule]);
      const repo = m.getRepository(PeriodicTaskEntity);
      const values = {
        ...fieldValues(v),
        intervalId: fk.interval_id,
        crontabId: fk.crontab_id,
        solarId: fk.solar_id,
        clockedId: fk.clocked_id,
      };
      try {
        // jsonb columns hold unknown JSON, which TypeORM's deep-partial type cannot express.
        await repo.update({ id: current.id }, values as Parameters<typeof repo.update>[1]);
        await this.toDjango(q, { names: [v.name], renamed: [[current.name, v.name]] });
      } catch (err) {
        if (duplicateName(err) !== undefined)
          throw new PeriodicTaskValidationError([
            {
              field: 'name',
              message: `a periodic task named '${v.name}' already exists: pick another name or edit that one`,
            },
          ]);
        throw err;
      }
    });
    return this.get(current.id);
  }

  /** Locks the rows, refuses the lot if any id is missing, then runs the one statement on them. */
  private writeMany(
    ids: number[],
    write: (table: string) => [string, unknown[]],
    django: (names: string[]) => DjangoChange,
  ): Promise<number> {
    const unique = [...new Set(ids)];
    const table = `"${this.app.config.schema}".celeriac_periodic_task`;
    return this.transaction(async (q) => {
      const found: { id: number; name: string }[] = await q(
        `SELECT id, name FROM ${table} WHERE id = ANY($1::int[]) FOR UPDATE`,
        [unique],
      );
      const have = new Set(found.map((r) => Number(r.id)));
      const missing = unique.filter((id) => !have.has(id));
      if (missing.length) throw new PeriodicTaskNotFoundError(missing);
      const [text, more] = write(table);
      await q(text, [unique, ...more]);
      await this.toDjango(q, django(found.map((r) => r.name)));
      return unique.length;
    });
  }

  /** In django table mode, the same change made to Django's tables, in the caller's transaction. */
  private async toDjango(q: TxQuery, change: DjangoChange): Promise<void> {
    if (this.app.config.tables === 'django') await writeToDjango(q, this.app.config.schema, change);
  }

  private async transaction<T>(fn: (q: TxQuery, m: EntityManager) => Promise<T>): Promise<T> {
    return (await this.ds()).transaction((m) => fn((text, values) => m.query(text, values), m));
  }

  private ds(): Promise<DataSource> {
    return this.app.dataSource();
  }
}

/** The name a unique violation on periodic_task.name complains of, or undefined for any other error. */
function duplicateName(err: unknown): string | undefined {
  const e = err as { code?: string; detail?: string; constraint?: string };
  if (e?.code !== '23505' || !/name/.test(e.constraint ?? e.detail ?? '')) return undefined;
  return /\(name\)=\((.*)\) already exists/.exec(e.detail ?? '')?.[1] ?? '';
}
