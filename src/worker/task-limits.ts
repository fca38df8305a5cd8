import type { RateLimit } from '../plugin/rate-limit';
import type { RegisteredTask } from '../plugin/registry';
import type { Job } from './pool';
import { TokenBucket } from './rate-limit';

/** Limits for tasks that set none: the worker's flags first, then the app's task* defaults. */
export interface DefaultLimits {
  rate?: RateLimit;
  soft?: number;
  hard?: number;
}

/**
 * A task's rate and time limits come from its options unless remote control overrode them
 * (Celery's control rate_limit / time_limit). Overrides bind this worker only and last until it
 * stops, so they are kept here, beside the token buckets a rate override resets, and never written
 * into the registry that every worker in the process shares. Below the task's own option come the
 * defaults (Celery: "as a default, for a specific worker or individually").
 */
export class TaskLimits {
  constructor(private readonly defaults: DefaultLimits = {}) {}

  private readonly buckets = new Map<string, TokenBucket>();
  private readonly rateOverrides = new Map<string, RateLimit | null>();
  private readonly timeOverrides = new Map<string, { soft: number | null; hard: number | null }>();

  /** Takes a rate-limit token for one run of `task` and returns 0, or how many ms until one is free. */
  rateWaitMs(task: RegisteredTask): number {
    const limit = this.rateOverrides.has(task.name)
      ? this.rateOverrides.get(task.name)
      : (task.options.rateLimit ?? this.defaults.rate);
    if (!limit) return 0;
    let bucket = this.buckets.get(task.name);
    if (!bucket) this.buckets.set(task.name, (bucket = new TokenBucket(limit.tokens, limit.perMs)));
    return bucket.take();
  }

  /** The limits for this run: the message's own, this worker's override, the task's option, then the defaults. */
  applyTimeLimits(job: Job): void {
    const { msg } = job;
    const override = this.timeOverrides.get(msg.task);
    job.softTimeLimit =
      msg.softTimeLimit ?? override?.soft ?? job.task.options.softTimeLimit ?? this.defaults.soft ?? null;
    job.timeLimit = msg.timeLimit ?? override?.hard ?? job.task.options.timeLimit ?? this.defaults.hard ?? null;
  }

  /** null removes the limit for this task on this worker (it does not restore the task's own). */
  overrideRate(taskName: string, limit: RateLimit | null): void {
    this.rateOverrides.set(taskName, limit);
    this.buckets.delete(taskName);
  }

  overrideTime(taskName: string, soft: number | null, hard: number | null): void {
    this.timeOverrides.set(taskName, { soft, hard });
  }
}
