import { CanvasError, CeleriacError } from '../errors';
import type { Task } from '../plugin/task';
import type { AsyncResult } from '../results/async-result';
import type { GroupResult } from '../results/async-result';
import { Canvas, Signature, type AnyCanvas, type HandleOf, type ValueOf } from './signature';
import { makeChain, makeChord, makeGroup, type Wire } from './wire';

/**
 * Celery's canvas, in Celery's wire form (see wire.ts for the rules, apply.ts for how a node is
 * sent, followups.ts for how a worker carries it on). Steps nest to any depth: a chain of groups
 * and chords, a group of chains, a chord whose header holds chains, groups and chords.
 */

interface FlowOptions {
  link?: AnyCanvas[];
  linkError?: AnyCanvas[];
}

function withCallbacks(wire: Wire, o: FlowOptions): Wire {
  if (o.link?.length) wire.options.link = o.link.map((c) => c.toJSON());
  if (o.linkError?.length) wire.options.link_error = o.linkError.map((c) => c.toJSON());
  return wire;
}

/** Steps run one after another; each result is the next step's first argument. Resolves to the last step's result. */
export class Chain<H = AsyncResult> extends Canvas<H> {
  constructor(
    readonly tasks: AnyCanvas[],
    readonly options: FlowOptions = {},
  ) {
    super();
    if (tasks.length === 0)
      throw new CeleriacError('chain() needs at least one signature, e.g. chain(add.s(1, 2), add.s(3)).');
  }

  /** Called with the chain's final result when every step succeeded. */
  link(callback: AnyCanvas): Chain<H> {
    return new Chain<H>(this.tasks, { ...this.options, link: [...(this.options.link ?? []), callback] });
  }

  /** Called (with the failed task's id) by whichever step fails; the steps after it never run. */
  linkError(errback: AnyCanvas): Chain<H> {
    return new Chain<H>(this.tasks, { ...this.options, linkError: [...(this.options.linkError ?? []), errback] });
  }

  toJSON(): Wire {
    return withCallbacks(makeChain(this.tasks.map((t) => t.toJSON())), this.options);
  }
}

/** Members run in parallel; resolves to a GroupResult with their results in order (nested groups unrolled). */
export class Group<R = unknown> extends Canvas<GroupResult<R>> {
  constructor(
    readonly tasks: AnyCanvas[],
    readonly options: FlowOptions = {},
  ) {
    super();
  }

  /** A group has no single result to call back with: use chord(group, callback). */
  link(_callback: AnyCanvas): never {
    throw new CanvasError(
      'A group has no single result to pass to a callback: use chord(group, callback) to run it with every result.',
    );
  }

  /** Called (with the failed member's id) for each member that fails, as Celery's group.link_error. */
  linkError(errback: AnyCanvas): Group<R> {
    return new Group<R>(this.tasks, { ...this.options, linkError: [...(this.options.linkError ?? []), errback] });
  }

  toJSON(): Wire {
    return withCallbacks(makeGroup(this.tasks.map((t) => t.toJSON())), this.options);
  }
}

/**
 * The body runs once every header member finished, with their results in order, exactly once.
 * If a member fails, the body does not run: it is recorded as FAILURE (ChordError) and the
 * chord's errbacks fire, once. Resolves to the body's result.
 */
export class Chord<H = AsyncResult> extends Canvas<H> {
  readonly header: Group;
  constructor(
    header: Group | AnyCanvas[],
    readonly body: AnyCanvas,
    readonly options: FlowOptions = {},
  ) {
    super();
    this.header = header instanceof Group ? header : new Group(header);
  }

  /** Called with the body's result, as Celery's chord.link (a callback on the body). */
  link(callback: AnyCanvas): Chord<H> {
    return new Chord<H>(this.header, this.body, { ...this.options, link: [...(this.options.link ?? []), callback] });
  }

  /** Called once, with the chord's result id, when a member fails (the body never runs) or the body fails. */
  linkError(errback: AnyCanvas): Chord<H> {
    return new Chord<H>(this.header, this.body, {
      ...this.options,
      linkError: [...(this.options.linkError ?? []), errback],
    });
  }

  toJSON(): Wire {
    return withCallbacks(makeChord(this.header.toJSON(), this.body.toJSON()), this.options);
  }
}

type Last<T extends readonly unknown[]> = T extends readonly [...unknown[], infer L] ? L : T[number];

/** `chain(a.s(1), b.s(), group(...), c.s())` or `chain([…])`. */
export function chain<T extends AnyCanvas[]>(...tasks: T): Chain<HandleOf<Last<T>>>;
export function chain<T extends AnyCanvas[]>(tasks: T): Chain<HandleOf<Last<T>>>;
export function chain(...tasks: (AnyCanvas | AnyCanvas[])[]): Chain<any> {
  return new Chain(tasks.flat());
}

/** `group(a.s(1), b.s(2))` or `group(items.map((i) => a.s(i)))`. */
export function group<T extends AnyCanvas[]>(...tasks: T): Group<ValueOf<T[number]>>;
export function group<T extends AnyCanvas[]>(tasks: T): Group<ValueOf<T[number]>>;
export function group(...tasks: (AnyCanvas | AnyCanvas[])[]): Group<any> {
  return new Group(tasks.flat());
}

/** `chord(header, body)`: the header is a group or a list of steps. */
export function chord<B extends AnyCanvas>(header: Group<any> | AnyCanvas[], body: B): Chord<HandleOf<B>> {
  return new Chord<HandleOf<B>>(header, body);
}

/** Celery's chunks: `items` split into groups of `n`, each run as one `celery.starmap` task. */
export function chunks<A extends unknown[], R>(task: Task<A, R>, items: A[], n: number): Group<R[]> {
  if (!Number.isInteger(n) || n < 1) throw new CeleriacError(`chunks(): n must be a positive integer, got ${n}.`);
  const parts: Signature<R[]>[] = [];
  for (let i = 0; i < items.length; i += n)
    parts.push(new Signature('celery.starmap', [task.name, items.slice(i, i + n)]));
  return new Group(parts);
}

/** Celery's map: one task that calls `task` with each item as its single argument. */
export function map<T, R>(task: Task<[T], R>, items: T[]): Signature<R[], []> {
  return new Signature('celery.map', [task.name, items]);
}

/** Celery's starmap: one task that calls `task` with each item as its argument list. */
export function starmap<A extends unknown[], R>(task: Task<A, R>, items: A[]): Signature<R[], []> {
  return new Signature('celery.starmap', [task.name, items]);
}
