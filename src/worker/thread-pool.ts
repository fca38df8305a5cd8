import { extname, join, resolve } from 'node:path';
import { Worker as Thread } from 'node:worker_threads';
import { CeleriacError, TimeLimitExceededError } from '../errors';
import { serializeError, type Outcome } from './outcome';
import { packageFile } from '../package-files';
import type { Job, Pool, PoolHooks } from './pool';

/** Messages between the pool and a thread (see thread-entry.ts). */
export type ToThread = { type: 'run'; raw: string } | { type: 'soft-limit'; id: string; seconds: number };
export type FromThread =
  | { type: 'ready' }
  | {
      type: 'done';
      id: string;
      outcome: Outcome;
      /** the thread's V8 heap in use after the task, bytes */ heapUsed?: number;
    }
  | { type: 'progress'; id: string; done: number; total?: number; meta?: Record<string, unknown> }
  | { type: 'fatal'; message: string };

interface Slot {
  thread: Thread;
  ready: Promise<void>;
  job: Job | undefined;
  settle: ((o: Outcome) => void) | undefined;
  timers: NodeJS.Timeout[];
  /** Tasks this thread has finished (max-tasks-per-child). */
  tasksRun: number;
  /** Shrunk away while busy: removed, not replaced, when its task ends. */
  retiring: boolean;
}

export interface ThreadLimits {
  /** Replace a thread after this many tasks. */
  maxTasksPerChild?: number;
  /** Replace a thread whose heap exceeds this many KiB after a task. */
  maxMemoryPerChild?: number;
}

/**
 * CPU-bound tasks on worker threads, so the worker's event loop keeps renewing its lease and
 * fetching. Each thread imports the app module (--app) and so has the same tasks. A task past its
 * hard time limit, or revoked with terminate, has its thread ended and replaced: that is the only
 * way to stop synchronous JavaScript. A thread past maxTasksPerChild or maxMemoryPerChild (a leak
 * in a task or a library) is replaced as its task ends, never during one, like Celery's prefork
 * children; shrinking ends idle threads at once and busy ones when their task ends.
 */
export class ThreadPool implements Pool {
  readonly kind = 'threads';
  private readonly slots: Slot[] = [];
  private closed = false;

  constructor(
    private readonly appModule: string | undefined,
    size: number,
    private readonly hooks: PoolHooks,
    private readonly limits: ThreadLimits = {},
  ) {
    if (!appModule) {
      throw new CeleriacError(
        'The threads pool needs the app module to load in each thread: run `celeriac worker --app <module> --pool threads`, or pass appModule.',
      );
    }
    for (let i = 0; i < size; i++) this.slots.push(this.spawn());
  }

  private spawn(): Slot {
    const entry = join(__dirname, 'thread-entry' + extname(__filename));
    const registerTs = packageFile('bin/register-ts.js');
    const bootstrap = `require(${JSON.stringify(registerTs)}).register(); require(${JSON.stringify(entry)});`;
    const thread = new Thread(bootstrap, {
      eval: true,
      workerData: { appModule: resolve(this.appModule!), hostname: this.hooks.hostname },
    });
    const slot: Slot = {
      thread,
      ready: Promise.resolve(),
      job: undefined,
      settle: undefined,
      timers: [],
      tasksRun: 0,
      retiring: false,
    };
    slot.ready = new Promise<void>((resolveReady, reject) => {
      thread.on('message', (m: FromThread) => {
        if (m.type === 'ready') resolveReady();
        else if (m.type === 'fatal')
          reject(new CeleriacError(`A worker thread could not load ${this.appModule}: ${m.message}`));
        else if (m.type === 'done' && slot.job?.msg.id === m.id) {
          slot.settle?.(m.outcome);
          slot.tasksRun++;
          // Synchronously, before the worker hands this slot its next task.
          if (slot.retiring || this.overLimit(slot, m.heapUsed)) this.recycle(slot);
        } else if (m.type === 'progress' && slot.job?.msg.id === m.id)
          this.hooks.progress(slot.job, m.done, m.total, m.meta).catch(() => {}); // the thread checked meta; a lost PROGRESS is not worth a crash
      });
      thread.on('error', (err) => {
        reject(err);
        slot.settle?.({ kind: 'failure', exc: serializeError(err), runtimeMs: 0 });
      });
      thread.on('exit', () => {
        if (slot.settle)
          slot.settle({
            kind: 'failure',
            exc: serializeError(new Error('The worker thread exited while running the task.')),
            runtimeMs: 0,
          });
        if (!this.closed && this.slots.includes(slot)) this.replace(slot);
      });
    });
    slot.ready.catch(() => {});
    thread.unref();
    return slot;
  }

  private replace(slot: Slot): void {
    const i = this.slots.indexOf(slot);
    if (i < 0) return;
    if (slot.retiring) this.slots.splice(i, 1);
    else this.slots[i] = this.spawn();
  }

  private overLimit(slot: Slot, heapUsed: number | undefined): boolean {
    const { maxTasksPerChild, maxMemoryPerChild } = this.limits;
    if (maxTasksPerChild && slot.tasksRun >= maxTasksPerChild) return true;
    return !!maxMemoryPerChild && heapUsed !== undefined && heapUsed / 1024 > maxMemoryPerChild;
  }

  /** Take an idle thread out (its exit then finds it gone) and put a fresh one in its place unless it was retiring. */
  private recycle(slot: Slot): void {
    this.replace(slot);
    void slot.thread.terminate();
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
    // Idle threads go first and at once; busy ones finish their task.
    const surplus = [...active.filter((s) => !s.job), ...active.filter((s) => s.job)].slice(
      0,
      Math.max(0, active.length - size),
    );
    for (const s of surplus) {
      s.retiring = true;
      if (!s.job) this.recycle(s);
    }
  }

  /** Threads in the pool, busy ones that are on their way out included. */
  get size(): number {
    return this.slots.filter((s) => !s.retiring).length;
  }

  async run(job: Job): Promise<Outcome> {
    const slot = this.slots.find((s) => !s.job && !s.retiring);
    if (!slot) throw new CeleriacError('No free thread: the worker dispatched more tasks than the pool has threads.');
    slot.job = job;
    const started = performance.now();
    await slot.ready;
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
          setTimeout(
            () => slot.thread.postMessage({ type: 'soft-limit', id: msg.id, seconds: soft } satisfies ToThread),
            soft * 1000,
          ),
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
      slot.thread.postMessage({ type: 'run', raw: msg.raw } satisfies ToThread);
    });
  }

  /** Settle first, then end the thread: its exit handler then finds nothing to fail and only replaces it. */
  private kill(slot: Slot, outcome: Outcome): void {
    slot.settle?.(outcome);
    void slot.thread.terminate();
  }

  abort(taskId: string, outcome: Outcome): void {
    const slot = this.slots.find((s) => s.job?.msg.id === taskId);
    if (slot) this.kill(slot, outcome);
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.all(this.slots.map((s) => s.thread.terminate()));
  }
}
