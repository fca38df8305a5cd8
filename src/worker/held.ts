import type { Job } from './pool';

/**
 * The messages a worker holds, from the fetch until they are acked or handed on, and how many of
 * them have finished: the prefetch bound counts the unfinished ones, the finishing bound the rest
 * (worker.ts). The fetch loop waits here for room, and is woken as a job finishes or is let go.
 */
export class HeldJobs {
  private readonly jobs = new Set<Job>();
  private finishedCount = 0;
  private roomWaiter: (() => void) | undefined;

  get size(): number {
    return this.jobs.size;
  }

  /** Held and not yet finished: waiting for a slot, a rate token, or running. */
  get unfinished(): number {
    return this.jobs.size - this.finishedCount;
  }

  add(job: Job): void {
    this.jobs.add(job);
  }

  /** The job has its outcome: it holds no prefetch slot from now on, so the fetch may go on. */
  finished(job: Job): void {
    if (!job.finished && this.jobs.has(job)) this.finishedCount++;
    job.finished = true;
    this.wake();
  }

  /** The message is acked, handed on or given back: the worker no longer holds it. */
  release(job: Job): void {
    if (this.jobs.delete(job) && job.finished) this.finishedCount--;
    this.wake();
  }

  /** The raw messages held, as the broker lists them (the stray-message check). */
  raws(): Set<string> {
    return new Set([...this.jobs].map((j) => j.msg.raw));
  }

  /** Resolves at the next finish or release, or wake(). */
  room(): Promise<void> {
    return new Promise<void>((resolve) => (this.roomWaiter = resolve));
  }

  wake(): void {
    const wake = this.roomWaiter;
    this.roomWaiter = undefined;
    wake?.();
  }
}
