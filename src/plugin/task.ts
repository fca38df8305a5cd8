import { CeleriacError, DuplicateTaskError } from '../errors';
import type { AsyncResult } from '../results/async-result';
import type { Runtime } from '../runtime/runtime';
import type { EagerResult } from '../eager/eager-result';
import type { TaskContext } from './context';
import { callerFile, moduleName } from './naming';
import { resolveTaskOptions, type ApplyOptions, type ResolvedTaskOptions, type TaskOptions } from './options';

export type { ApplyOptions } from './options';
import { registry } from './registry';
import type { BulkOptions, TaskCall, TaskCallOf } from './bulk';
import { currentApp } from './current-app';
import { Signature } from '../canvas/signature';

/**
 * Every tail of a parameter list: what `.s()` accepts as partial arguments. A list of unknown
 * length (rest parameters) is taken as a whole, after its fixed leading parameters.
 */
export type Tails<A extends unknown[]> = number extends A['length']
  ? A extends [unknown, ...infer Rest]
    ? A | Tails<Rest>
    : A
  : A extends []
    ? []
    : A extends [unknown?, ...infer Rest]
      ? A | Tails<Rest>
      : A;

/**
 * The parameters left before the partial arguments `P`: what `.delay()` of the signature still
 * needs. Counted by length (P is inferred from literals); with optional or rest parameters the
 * split is ambiguous, and delay() is left unchecked.
 */
export type Before<A extends unknown[], P extends unknown[], Acc extends unknown[] = []> = number extends A['length']
  ? unknown[]
  : A['length'] extends P['length']
    ? Acc
    : A extends [infer H, ...infer R]
      ? Before<R, P, [...Acc, H]>
      : unknown[];

export type TaskFn<A extends unknown[], R> = (ctx: TaskContext, ...args: A) => R | Promise<R>;

/** A task as the app sees it: call `.delay()` to run it on a worker, or call `.run()` to run it here. */
export class Task<A extends unknown[] = unknown[], R = unknown> {
  readonly options: ResolvedTaskOptions;
  /** Set for decorated methods: the class whose method this is, and whether it is static. */
  owner: { cls: (new () => unknown) | undefined; isStatic: boolean } | undefined;
  private instance: unknown;

  constructor(
    readonly name: string,
    readonly fn: TaskFn<A, R>,
    options: TaskOptions,
    readonly file: string,
  ) {
    this.options = resolveTaskOptions(name, options);
  }

  delay(...args: A): Promise<AsyncResult<R>> {
    return this.applyAsync(args);
  }

  applyAsync(args: A, kwargs: Record<string, unknown> = {}, options: ApplyOptions = {}): Promise<AsyncResult<R>> {
    return currentApp<Runtime>().sendTask<R>(this.name, args, kwargs, options);
  }

  /**
   * Run the task in this process now and return its EagerResult (Celery's `apply()`): a real
   * context (ctx.id, ctx.retries, updateState, the app's task middleware), retries run at once,
   * and what it sets off (link callbacks) runs too. The result is recorded in memory, not
   * Postgres, so no broker or database is needed. `throw: true` (default: the app's
   * eagerPropagates) throws the task's own error instead of recording FAILURE only.
   */
  apply(
    args: A,
    kwargs: Record<string, unknown> = {},
    options: ApplyOptions & { throw?: boolean } = {},
  ): Promise<EagerResult<R>> {
    return currentApp<Runtime>().applyEager<R>(this.name, args, kwargs, options);
  }

  /**
   * Send this task once per item, in bulk (see Celeriac.sendMany): an item is the call's
   * arguments, or `{ args, kwargs?, options? }`; `options` here apply to every call.
   */
  async applyAsyncMany(
    calls: readonly (A | TaskCallOf<A>)[],
    options: ApplyOptions & BulkOptions = {},
  ): Promise<AsyncResult<R>[]> {
    const { chunkSize, ...shared } = options;
    if (shared.taskId !== undefined)
      throw new CeleriacError(
        `${this.name}.applyAsyncMany(): a taskId in the shared options would give every task one id; set it per item ({ args, options: { taskId } }).`,
      );
    const items = Array.isArray(calls) ? calls.map((c) => this.bulkItem(c, shared)) : calls;
    return currentApp<Runtime>().sendMany<R>(items as TaskCall[], { chunkSize });
  }

  private bulkItem(call: A | TaskCallOf<A>, shared: ApplyOptions): unknown {
    if (Array.isArray(call)) return { name: this.name, args: call, options: shared };
    // Anything else goes through as it is, for sendMany to name as a bad item.
    if (call === null || typeof call !== 'object') return call;
    const c = call as TaskCallOf<A>;
    return { ...c, name: this.name, options: { ...shared, ...c.options } };
  }

  /**
   * A signature with partial arguments (Celery's `add.s(2)`): the last parameters, checked against
   * the task's; the ones before them come when it is applied (in a chain, the previous result first).
   */
  s<P extends Tails<A>>(...args: P): Signature<R, Before<A, P>> {
    return new Signature<R, Before<A, P>>(this.name, args);
  }

  /** An immutable signature (Celery's `.si()`): every argument now; it ignores the previous result in a chain. */
  si(...args: A): Signature<R, []> {
    return new Signature<R, []>(this.name, args, {}, {}, true);
  }

  /** Run the task body in this process with a given context: what the worker does. */
  run(ctx: TaskContext, args: unknown[], kwargs: Record<string, unknown>): Promise<R> | R {
    const callArgs = hasKeys(kwargs) ? [...args, kwargs] : args;
    return this.fn.call(this.receiver(), ctx, ...(callArgs as A));
  }

  private receiver(): unknown {
    if (!this.owner) return undefined;
    if (!this.owner.cls) {
      throw new CeleriacError(
        `Task '${this.name}' is a method of a class Celeriac could not find: export the class from ${this.file} so the worker can create it.`,
      );
    }
    if (this.owner.isStatic) return this.owner.cls;
    if (this.instance === undefined) {
      try {
        this.instance = new this.owner.cls();
      } catch (err) {
        throw new CeleriacError(
          `Task '${this.name}' is a method of ${this.owner.cls.name}, which the worker could not create with no arguments (${(err as Error).message}). ` +
            `Give its constructor defaults, or make the method static.`,
          { cause: err },
        );
      }
    }
    return this.instance;
  }
}

/** Define a task from a function. Its first parameter is the TaskContext; the rest are its arguments. */
export function task<A extends unknown[], R>(
  name: string,
  fn: TaskFn<A, R>,
  options?: Omit<TaskOptions, 'name'>,
): Task<A, Awaited<R>>;
/** Define a task named after its module and function (`reports.tasks.build`). */
export function task<A extends unknown[], R>(fn: TaskFn<A, R>, options?: TaskOptions): Task<A, Awaited<R>>;
/** Decorate a method (static or not) of a class exported from a tasks module. */
export function task(options?: TaskOptions): TaskDecorator;
export function task(a?: unknown, b?: unknown, c?: unknown): any {
  const file = callerFile();
  if (typeof a === 'string') return define(a, b as TaskFn<any, any>, (c ?? {}) as TaskOptions, file);
  if (typeof a === 'function') {
    const fn = a as TaskFn<any, any>;
    const opts = (b ?? {}) as TaskOptions;
    if (!opts.name && !fn.name)
      throw new CeleriacError(`A task defined in ${file} has no name: use task('app.name', fn) or a named function.`);
    return define(opts.name ?? `${moduleName(file)}.${fn.name}`, fn, opts, file);
  }
  return decorator((a ?? {}) as TaskOptions, file);
}

function define(
  name: string,
  fn: TaskFn<any, any>,
  options: TaskOptions,
  file: string,
  owner?: Task['owner'],
): Task<any, any> {
  if (typeof fn !== 'function')
    throw new CeleriacError(`task('${name}', fn): fn must be a function, got ${typeof fn}.`);
  const { name: _ignored, ...rest } = options;
  const t = new Task(name, fn, rest, file);
  // Before registering: the registry tells a module loaded twice from two classes by the owner.
  t.owner = owner;
  registry.add(t);
  return t;
}

const TASK = Symbol.for('celeriac.task');
const META = Symbol.for('celeriac.tasks');
// TC39 decorators on Node 20 need Symbol.metadata to exist before the decorated class is defined.
(Symbol as any).metadata ??= Symbol.for('Symbol.metadata');

export interface TaskDecorator {
  (target: object, key: string | symbol, descriptor: PropertyDescriptor): void;
  (value: Function, context: ClassMethodDecoratorContext): void;
}

/**
 * Works under both decorator modes: `experimentalDecorators` (what TypeORM apps compile with)
 * calls (target, key, descriptor); standard decorators call (value, context). Standard method
 * decorators never see the class, so the class is found later through Symbol.metadata on the
 * module's exports (see bindOwners).
 */
function decorator(options: TaskOptions, file: string): TaskDecorator {
  return function (this: unknown, a: any, b: any, c?: any): void {
    if (b && typeof b === 'object' && 'kind' in b) {
      const context = b as ClassMethodDecoratorContext;
      if (context.kind !== 'method')
        throw new CeleriacError(`@task() decorates methods, not a ${context.kind} (in ${file}).`);
      const t = define(options.name ?? `${moduleName(file)}.${String(context.name)}`, a, options, file, {
        cls: undefined,
        isStatic: context.static,
      });
      (a as any)[TASK] = t;
      // Own property only: a subclass's metadata inherits its parent's, whose list is the parent's.
      const meta = context.metadata as Record<symbol, Task[]> | undefined;
      if (meta) {
        if (!Object.hasOwn(meta, META)) meta[META] = [];
        meta[META].push(t);
      }
      if (context.static)
        context.addInitializer(function (this: unknown) {
          t.owner!.cls = this as new () => unknown;
        });
      return;
    }
    const descriptor = c as PropertyDescriptor;
    const isStatic = typeof a === 'function';
    const cls = (isStatic ? a : a.constructor) as new () => unknown;
    const t = define(options.name ?? `${moduleName(file)}.${String(b)}`, descriptor.value, options, file, {
      cls,
      isStatic,
    });
    descriptor.value[TASK] = t;
  } as TaskDecorator;
}

/**
 * Give standard-decorated instance methods their class: called with each discovered module's
 * exports. Standard decorators never see the class, so this is also where two classes of one
 * module with a same-named task method are caught (legacy decorators are caught at definition).
 */
export function bindOwners(moduleExports: Record<string, unknown>): void {
  const owners = new Map<string, string>();
  for (const value of Object.values(moduleExports ?? {})) {
    if (typeof value !== 'function') continue;
    const meta = (value as any)[(Symbol as any).metadata] as Record<symbol, Task[]> | undefined;
    const tasks = meta && Object.hasOwn(meta, META) ? meta[META] : [];
    for (const t of tasks) {
      const other = owners.get(t.name);
      if (other !== undefined && other !== value.name)
        throw new DuplicateTaskError(t.name, t.file, t.file, [other, value.name]);
      owners.set(t.name, value.name);
      if (t.owner && !t.owner.cls) t.owner.cls = value as new () => unknown;
    }
  }
}

/** The typed task behind a decorated method: `taskOf(Reports.prototype.build).delay(42)`. */
export function taskOf<F extends (ctx: TaskContext, ...args: any[]) => any>(
  method: F,
): F extends (ctx: TaskContext, ...args: infer A) => infer R ? Task<A, Awaited<R>> : never {
  const t = (method as any)?.[TASK];
  if (!t) throw new CeleriacError(`taskOf(): ${(method as Function)?.name ?? method} is not decorated with @task().`);
  return t;
}

/** Whether an object has an own enumerable key: Object.keys(kwargs) made an array for every task run (issue 21). */
function hasKeys(obj: Record<string, unknown>): boolean {
  for (const k in obj) if (Object.prototype.hasOwnProperty.call(obj, k)) return true;
  return false;
}
