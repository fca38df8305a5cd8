import { DuplicateTaskError, TaskNotRegisteredError } from '../errors';
import type { TaskContext } from './context';
import type { ResolvedTaskOptions } from './options';

/**
 * A task as the registry and the worker see it: a name, its options and a body to run. The Task
 * class (./task.ts) is one; this interface keeps the registry (and the runtime that holds it)
 * from depending on what a task does for its senders (.delay(), .s()).
 */
export interface RegisteredTask {
  readonly name: string;
  /** The module that defined it, to name both files when two definitions clash. */
  readonly file: string;
  readonly options: ResolvedTaskOptions;
  /** Set for decorated methods: the class whose method this is. */
  readonly owner?: { readonly cls: (new () => unknown) | undefined } | undefined;
  run(ctx: TaskContext, args: unknown[], kwargs: Record<string, unknown>): unknown;
}

/**
 * Every task defined in this process, as Celery's shared_task registry: tasks are defined in
 * modules that need no app object, and any Celeriac instance in the process can send or run them.
 */
export class TaskRegistry {
  private readonly tasks = new Map<string, RegisteredTask>();

  add(task: RegisteredTask): void {
    const existing = this.tasks.get(task.name);
    if (existing && existing !== task) {
      // The same definition loaded twice (a module required through two paths) is not a clash;
      // same-named methods of two classes of one module are (see also bindOwners for standard decorators).
      if (existing.file === task.file) {
        const [a, b] = [existing.owner?.cls?.name, task.owner?.cls?.name];
        if (a && b && a !== b) throw new DuplicateTaskError(task.name, task.file, task.file, [a, b]);
        this.tasks.set(task.name, task);
        return;
      }
      throw new DuplicateTaskError(task.name, existing.file, task.file);
    }
    this.tasks.set(task.name, task);
  }

  get(name: string): RegisteredTask | undefined {
    return this.tasks.get(name);
  }

  require(name: string): RegisteredTask {
    const task = this.tasks.get(name);
    if (!task) throw new TaskNotRegisteredError(name, this.tasks.keys());
    return task;
  }

  has(name: string): boolean {
    return this.tasks.has(name);
  }

  names(): string[] {
    return [...this.tasks.keys()].sort();
  }

  all(): RegisteredTask[] {
    return [...this.tasks.values()];
  }
}

const key = Symbol.for('celeriac.registry');
/** One registry per process even if two copies of the package are loaded. */
export const registry: TaskRegistry = ((globalThis as any)[key] ??= new TaskRegistry());
