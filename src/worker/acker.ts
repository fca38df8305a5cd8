import type { Broker } from '../broker';
import { callContained } from '../contain';
import { BrokerUnavailableError } from '../errors';
import type { Job } from './pool';

const RETRY_FIRST_MS = 100;
const RETRY_MAX_MS = 2000;

/**
 * Acks go out in one pipeline per event-loop turn: at 10,000 tasks/s that is a few hundred
 * round trips a second instead of ten thousand.
 *
 * An ack that fails because Redis is away is sent again once it is back, and the job stays held
 * meanwhile: letting go of it left its message held in Redis with no job for it, where
 * the stray check gave it back and it ran a second time (a Redis restart under load ran every
 * task that finished during the outage twice). An ack is an HDEL of the delivery tag, so sending it twice is harmless.
 */
export class Acker {
  private queue: { job: Job; done: () => void }[] = [];
  private scheduled = false;
  /** Batches sent and not yet answered (or waiting to be sent again): acks of one turn never wait on another's. */
  private readonly outstanding = new Set<Promise<void>>();
  private stopped = false;

  constructor(
    private readonly broker: Broker,
    private readonly consumer: string,
    private readonly release: (job: Job) => void,
    /** Told what failed: an ack (its task may run again) or a callback waiting on one. */
    private readonly onError: (message: string, err: unknown) => void,
  ) {}

  /** Resolves once the ack is sent (or failed for good), when the job has been let go. */
  ack(job: Job): Promise<void> {
    return new Promise((done) => this.ackThen(job, done));
  }

  /** ack() with a callback, called once as ack() would resolve: no promise per finished task. */
  ackThen(job: Job, done: () => void): void {
    if (job.acked) {
      this.release(job);
      return done();
    }
    job.acked = true;
    this.queue.push({ job, done });
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      const sent = this.send(this.queue.splice(0));
      this.outstanding.add(sent);
      void sent.finally(() => this.outstanding.delete(sent));
    });
  }

  private async send(batch: { job: Job; done: () => void }[]): Promise<void> {
    for (let retryMs = RETRY_FIRST_MS; ; retryMs = Math.min(retryMs * 2, RETRY_MAX_MS)) {
      try {
        await this.broker.ack(
          this.consumer,
          batch.map(({ job: j }) => ({ raw: j.msg.raw, deliveryTag: j.msg.deliveryTag, redeliveries: j.redeliveries })),
        );
        break;
      } catch (err) {
        this.onError('ack failed; these tasks may run again', err);
        // Another failure: the results are committed; an un-acked message is redelivered and
        // its rerun overwrites the same row.
        if (!(err instanceof BrokerUnavailableError) || this.stopped) break;
      }
      await new Promise((r) => setTimeout(r, retryMs));
    }
    // Contained one by one (contain.ts): a done() that threw stopped this loop, so the rest of
    // the batch was never let go of, and rejected send(), a rejection nobody handled.
    for (const entry of batch) callContained(this.settleAck, entry, this.reportCallbackError);
  }

  private readonly settleAck = ({ job, done }: { job: Job; done: () => void }): void => {
    this.release(job);
    done();
  };

  private readonly reportCallbackError = (err: unknown): void =>
    this.onError('a callback waiting on an ack threw; ignored (the ack was sent)', err);

  /**
   * Resolves true when every ack asked for so far has been sent, or false after `timeoutMs`
   * (Redis away at shutdown): then it stops retrying, and the messages not acked stay held in
   * Redis and come back when the lease lapses, so their tasks run again (at-least-once).
   */
  async drain(timeoutMs = Infinity): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (this.scheduled || this.outstanding.size > 0) {
      const left = deadline - Date.now();
      if (left <= 0) {
        this.stopped = true;
        return false;
      }
      const pending = this.outstanding.size > 0 ? Promise.all(this.outstanding) : new Promise((r) => setImmediate(r));
      // No timer for an unbounded drain: setTimeout(Infinity) fires after 1 ms with a
      // TimeoutOverflowWarning, which turned the worker's stop into a 1 ms polling loop.
      if (left === Infinity) {
        await pending;
        continue;
      }
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([pending, new Promise((r) => (timer = setTimeout(r, left)))]);
      clearTimeout(timer);
    }
    return true;
  }
}
