/**
 * Tasks a worker has taken and not yet started: ready ones in arrival order, and ones held back
 * until their rate-limit token is due, each with the timer that hands it back. The timers are
 * cleared on revoke and on stop, or a minute-long wait ('1/m') would outlive the worker and
 * hold its process open.
 */
import type { Job } from './pool';

export class WaitingJobs {
  private readonly ready: Job[] = [];
  private readonly forRate = new Map<Job, NodeJS.Timeout>();

  constructor(
    /** How long `job` must wait for a rate-limit token (0: it may start now). */
    private readonly rateWaitMs: (job: Job) => number,
    /** A held-back job is ready again: the worker dispatches. */
    private readonly onDue: () => void,
  ) {}

  push(job: Job): void {
    this.ready.push(job);
  }

  /** The next job that may start now; those that must wait for a token are held back meanwhile. */
  next(): Job | undefined {
    for (let job = this.ready.shift(); job; job = this.ready.shift()) {
      const waitMs = this.rateWaitMs(job);
      if (waitMs <= 0) return job;
      const held = job;
      const timer = setTimeout(() => {
        if (!this.forRate.delete(held)) return;
        this.ready.unshift(held);
        this.onDue();
      }, waitMs);
      this.forRate.set(job, timer);
    }
    return undefined;
  }

  /** Takes out the waiting job with this task id, if there is one (a revoke). */
  remove(taskId: string): Job | undefined {
    const job = this.all().find((j) => j.msg.id === taskId);
    if (!job) return undefined;
    if (this.ready.includes(job)) this.ready.splice(this.ready.indexOf(job), 1);
    clearTimeout(this.forRate.get(job));
    this.forRate.delete(job);
    return job;
  }

  all(): Job[] {
    return [...this.ready, ...this.forRate.keys()];
  }

  /** Takes out every waiting job and clears their timers (shutdown). */
  drain(): Job[] {
    const jobs = this.all();
    this.ready.length = 0;
    for (const timer of this.forRate.values()) clearTimeout(timer);
    this.forRate.clear();
    return jobs;
  }
}
