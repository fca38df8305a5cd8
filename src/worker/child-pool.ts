import { CeleriacError, TimeLimitExceededError, WorkerLostError } from '../errors';
import { serializeError, type Outcome } from './outcome';
import type { Job, Pool, PoolHooks } from './pool';

/** Messages between a pool and one of its children, thread or process (see child-runner.ts). */
export type ToChild = { type: 'run'; raw: string } | { type: 'soft-limit'; id: string; seconds: number };
export type FromChild =
  | { type: 'ready' }
  | {
      type: 'done';
      id: string;
      outcome: Outcome;
      /** what max-memory-per-child reads after the task, bytes: a thread's V8 heap, a process's resident set */
      memory?: number;
    }
  | { type: 'state'; id: string; state: string; meta?: Record<string, unknown> }
  /** The task's own abort listener threw in the child (a soft time limit): reported by the worker, the child goes on. */
  | { type: 'abort-listener-threw'; id: string; task: string; error: string }
  | { type: 'fatal'; message: string };

/** A thread or a child process, as the pool drives it. */
export interface Child {
  send(m: ToChild): void;
  /** End it now, whatever it is running. */
  kill(): void;
  /** Resolves once it has exited (for close()). */
  readonly exited: Promise<void>;
}

/** What a pool kind wires to its children's events. */
export interface ChildEvents {
  message(m: FromChild): void;
  /** It ended on its own (a crash, an abort, process.exit) or because it was killed; `how` says which, for the error. */
  exit(how: string): void;
}

interface Slot {
  child: Child;
  ready: Promise<void>;
  job: Job | undefined;
  settle: ((o: Outcome) => void) | undefined;
  timers: NodeJS.Timeout[];
  /** Tasks this child has finished (max-tasks-per-child). */
  tasksRun: number;
  /** Shrunk away while busy: removed, not replaced, when its task ends. */
  retiring: boolean;
  /** Restarted (pool_restart) while busy: replaced when its task ends. */
  stale: boolean;
}

export interface ChildLimits {
  /** Replace a child after this many tasks. */
  maxTasksPerChild?: number;
  /** Replace a child whose memory exceeds this many KiB after a task. */
  maxMemoryPerChild?: number;
}

/**
 * The slots of a pool whose tasks run in children, threads or processes, each of which loads the
 * app module (--app) and so has the same tasks, one task at a time. A task past its hard time
 * limit, or revoked with terminate, has its child ended and replaced: the only way to stop
 * synchronous JavaScript. A child past maxTasksPerChild or maxMemoryPerChild (a leak in a task or
 * a library) is replaced as its task ends, never during one, like Celery's prefork children;
 * shrinking ends idle children at once and busy ones when their task ends. A child that dies
 * under a task fails that task with WorkerLostError and is replaced; the others run on.
 */
export abstract class ChildPool implements Pool {
  private readonly slots: Slot[] = [];
  private closed = false;
  /** 'thread' or 'child process', for messages. */
  private readonly childNoun: string;

  constructor(
    readonly kind: 'threads' | 'processes',
    protected readonly appModule: string | undefined,
    size: number,
    protected readonly hooks: PoolHooks,
    private readonly limits: ChildLimits,
  ) {
    if (!appModule) {
      throw new CeleriacError(
        `The ${kind} pool needs the app module to load in each child: run \`celeriac worker --app <module> --pool ${kind}\`, or pass appModule.`,
      );
    }
    this.childNoun = kind === 'threads' ? 'thread' : 'child process';
    for (let i = 0; i < size; i++) this.slots.push(this.spawn());
  }

  /** Start one child that loads `appModule`, wired to `events`. */
  protected abstract launch(events: ChildEvents): Child;

  private spawn(): Slot {
    const slot: Slot = {
      child: undefined as unknown as Child,
      ready: Promise.resolve(),
      job: undefined,
      settle: undefined,
      timers: [],
      tasksRun: 0,
      retiring: false,
      stale: false,
    };
    slot.ready = new Promise<void>((resolveReady, reject) => {
      slot.child = this.launch({
        message: (m) => {
          if (m.type === 'ready') resolveReady();
          else if (m.type === 'fatal')
            reject(new CeleriacError(`A worker ${this.childNoun} could not load ${this.appModule}: ${m.message}`));
          else if (m.type === 'done' && slot.job?.msg.id === m.id) {
            slot.settle?.(m.outcome);
            slot.tasksRun++;
            // Synchronously, before the worker hands this slot its next task.
            if (slot.retiring || slot.stale || this.overLimit(slot, m.memory)) this.recycle(slot);
          } else if (m.type === 'state' && slot.job?.msg.id === m.id)
            this.hooks.updateState(slot.job, m.state, m.meta).catch(() => {}); // the child checked it; a lost PROGRESS is not worth a crash
          else if (m.type === 'abort-listener-threw') this.hooks.abortListenerThrew(m.task, m.id, m.error);
        },
        exit: (how) => {
          const lost = new WorkerLostError(`The worker ${this.childNoun} running the task exited (${how}).`);
          reject(lost);
          slot.settle?.({ kind: 'failure', exc: serializeError(lost), runtimeMs: 0 });
          if (!this.closed && this.slots.includes(slot)) this.replace(slot);
        },
      });
    });
    slot.ready.catch(() => {});
    return slot;
  }

  private replace(slot: Slot): void {
    const i = this.slots.indexOf(slot);
    if (i < 0) return;
    if (slot.retiring || this.closed) this.slots.splice(i, 1);
    else this.slots[i] = this.spawn();
  }

  private overLimit(slot: Slot, memory: number | undefined): boolean {
    const { maxTasksPerChild, maxMemoryPerChild } = this.limits;
    if (maxTasksPerChild && slot.tasksRun >= maxTasksPerChild) return true;
    return !!maxMemoryPerChild && memory !== undefined && memory / 1024 > maxMemoryPerChild;
  }

  /** Take an idle child out (its exit then finds it gone) and put a fresh one in its place unless it was retiring. */
  private recycle(slot: Slot): void {
    this.replace(slot);
    slot.child.kill();
  }

  resize(size: number): void {
    if (this.closed) return;
    let active = this.slots.filter((s) => !s.retiring);
    for (const s of this.slots) {
      if (active.length >= size) break;
      if (s.retiring) {
        s.retiring = false;
        active = [...active, s];
      }
    }
    while (active.length < size) {
      const slot = this.spawn();
      this.slots.push(slot);
      active.push(slot);
    }
    // Idle children go first and at once; busy ones finish their task.
    const surplus = [...active.filter((s) => !s.job), ...active.filter((s) => s.job)].slice(
      0,
      Math.max(0, active.length - size),
    );
    for (const s of surplus) {
      s.retiring = true;
      if (!s.job) this.recycle(s);
    }
  }

  restart(): void {
    if (this.closed) return;
    for (const s of [...this.slots]) {
      if (s.retiring) continue;
      if (s.job) s.stale = true;
      else this.recycle(s);
    }
  }

  /** Children in the pool, busy ones that are on their way out included. */
  get size(): number {
    return this.slots.filter((s) => !s.retiring).length;
  }

  async run(job: Job): Promise<Outcome> {
    const slot = this.slots.find((s) => !s.job && !s.retiring);
    if (!slot)
      throw new CeleriacError(`No free ${this.childNoun}: the worker dispatched more tasks than the pool has slots.`);
    slot.job = job;
    const started = performance.now();
    try {
      await slot.ready;
    } catch (err) {
      // Its child never loaded the app (or died loading it): this task is not its fault, and the
      // slot is already being replaced; the error says why.
      slot.job = undefined;
      throw err;
    }
    return new Promise<Outcome>((resolveOutcome) => {
      const { msg, task } = job;
      slot.settle = (outcome) => {
        for (const t of slot.timers) clearTimeout(t);
        slot.timers = [];
        slot.job = undefined;
        slot.settle = undefined;
        resolveOutcome(outcome);
      };
      const soft = job.softTimeLimit ?? msg.softTimeLimit ?? task.options.softTimeLimit;
      const hard = job.timeLimit ?? msg.timeLimit ?? task.options.timeLimit;
      if (soft)
        slot.timers.push(
          setTimeout(() => slot.child.send({ type: 'soft-limit', id: msg.id, seconds: soft }), soft * 1000),
        );
      if (hard) {
        slot.timers.push(
          setTimeout(
            () =>
              this.kill(slot, {
                kind: 'failure',
                exc: serializeError(new TimeLimitExceededError(hard)),
                runtimeMs: performance.now() - started,
              }),
            hard * 1000,
          ),
        );
      }
      slot.child.send({ type: 'run', raw: msg.raw });
    });
  }

  /**
   * Settle, and put a fresh child in the slot before ending this one: the worker may hand the slot
   * its next task before the dying child's exit arrives, and that task must not go to it.
   */
  private kill(slot: Slot, outcome: Outcome): void {
    slot.settle?.(outcome);
    this.recycle(slot);
  }

  abort(job: Job, outcome: Outcome): void {
    const slot = this.slots.find((s) => s.job === job);
    if (slot) this.kill(slot, outcome);
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const s of this.slots) s.child.kill();
    await Promise.all(this.slots.map((s) => s.child.exited));
  }
}
