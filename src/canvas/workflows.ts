import { randomUUID } from 'node:crypto';
import type { PreparedMessage } from '../celeriac';
import { CeleriacError } from '../errors';
import { currentApp } from '../plugin/current-app';
import type { Task } from '../plugin/task';
import type { AsyncResult } from '../results/async-result';
import { GroupResult } from './group-result';
import { Signature } from './signature';

/**
 * Celery's canvas, in Celery's wire form: a chain sends its first task with the rest reversed
 * in `embed.chain` (the worker pops from the end); a group's members share a group id and index;
 * a chord's members carry the callback in `embed.chord` and the worker that finishes the last
 * one sends it (src/canvas/followups.ts).
 */

export class Chain<R = unknown> {
  readonly tasks: Signature[];
  constructor(tasks: Signature[]) {
    if (tasks.length === 0)
      throw new CeleriacError('chain() needs at least one signature, e.g. chain(add.s(1, 2), add.s(3)).');
    this.tasks = tasks.map((t) => t.withId());
  }

  /** Sends the first task; resolves to the last task's result handle, known before anything runs. */
  async applyAsync(args: unknown[] = []): Promise<AsyncResult<R>> {
    const app = currentApp();
    const [first, ...rest] = this.tasks;
    const prepared = first.prepare(
      args,
      {},
      { rootId: first.id, embed: { chain: rest.reverse().map((s) => s.toJSON()) } },
    );
    await app.sendPrepared([prepared]);
    return app.asyncResult<R>(this.tasks[this.tasks.length - 1].id!);
  }

  delay(...args: unknown[]): Promise<AsyncResult<R>> {
    return this.applyAsync(args);
  }
}

export class Group<R = unknown> {
  readonly tasks: Signature[];
  constructor(tasks: Signature[]) {
    this.tasks = tasks.map((t) => t.withId());
  }

  /** @internal Members prepared under one group id (and, for a chord, carrying its callback). */
  prepareMembers(groupId: string, args: unknown[], chord: Signature | null): PreparedMessage[] {
    return this.tasks.map((t, i) =>
      t.prepare(
        args,
        {},
        { groupId, groupIndex: i, rootId: t.id, embed: chord ? { chord: chord.toJSON() as any } : undefined },
      ),
    );
  }

  async applyAsync(args: unknown[] = []): Promise<GroupResult<R>> {
    const app = currentApp();
    const groupId = randomUUID();
    const prepared = this.prepareMembers(groupId, args, null);
    await (
      await app.results()
    ).saveGroup(
      groupId,
      prepared.map((p) => p.id),
    );
    await sendInBatches(prepared);
    return new GroupResult<R>(
      groupId,
      prepared.map((p) => app.asyncResult<R>(p.id)),
      app,
    );
  }

  delay(...args: unknown[]): Promise<GroupResult<R>> {
    return this.applyAsync(args);
  }
}

export class Chord<R = unknown> {
  readonly header: Group;
  readonly body: Signature<R>;
  constructor(header: Group | Signature[], body: Signature<R>) {
    this.header = header instanceof Group ? header : new Group(header);
    this.body = body.withId();
  }

  /**
   * The callback runs exactly once, after every member finished, with their results in order.
   * If a member fails, the callback does not run: it is recorded as FAILURE with a ChordError
   * naming the failed member, once all members have finished.
   */
  async applyAsync(args: unknown[] = []): Promise<AsyncResult<R>> {
    const app = currentApp();
    const groupId = randomUUID();
    const size = this.header.tasks.length;
    if (size === 0) return this.body.applyAsync([[]]);
    const body = this.body.set({ headers: { ...this.body.options.headers, chord_size: size } });
    const prepared = this.header.prepareMembers(groupId, args, body);
    await (
      await app.results()
    ).saveGroup(
      groupId,
      prepared.map((p) => p.id),
    );
    await sendInBatches(prepared);
    return app.asyncResult<R>(this.body.id!);
  }

  delay(...args: unknown[]): Promise<AsyncResult<R>> {
    return this.applyAsync(args);
  }
}

/** Large groups go out in slices, so one pipeline never holds a whole 10,000-member group. */
async function sendInBatches(prepared: PreparedMessage[], size = 1000): Promise<void> {
  const app = currentApp();
  for (let i = 0; i < prepared.length; i += size) await app.sendPrepared(prepared.slice(i, i + size));
}

export function chain<R = unknown>(...tasks: Signature[]): Chain<R> {
  return new Chain<R>(tasks.flat());
}

export function group<R = unknown>(...tasks: (Signature | Signature[])[]): Group<R> {
  return new Group<R>(tasks.flat());
}

export function chord<R = unknown>(header: Group | Signature[], body: Signature<R>): Chord<R> {
  return new Chord<R>(header, body);
}

/** Celery's chunks: `items` split into groups of `n`, each run as one `celery.starmap` task. */
export function chunks<A extends unknown[]>(task: Task<A, any>, items: A[], n: number): Group<unknown[]> {
  if (!Number.isInteger(n) || n < 1) throw new CeleriacError(`chunks(): n must be a positive integer, got ${n}.`);
  const parts: Signature[] = [];
  for (let i = 0; i < items.length; i += n)
    parts.push(new Signature('celery.starmap', [task.name, items.slice(i, i + n)]));
  return new Group(parts);
}

/** Celery's map: one task that calls `task` with each item as its single argument. */
export function map<T>(task: Task<[T], any>, items: T[]): Signature<unknown[]> {
  return new Signature('celery.map', [task.name, items]);
}

/** Celery's starmap: one task that calls `task` with each item as its argument list. */
export function starmap<A extends unknown[]>(task: Task<A, any>, items: A[]): Signature<unknown[]> {
  return new Signature('celery.starmap', [task.name, items]);
}
