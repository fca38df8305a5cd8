/**
 * The second half of a graceful stop (SIGTERM), once fetching has stopped: give back what has not
 * started, let running tasks finish within the grace period, give back the ones that did not,
 * commit results before acks, announce worker-offline, then close what start() built.
 */
import type { LogLevel } from '../log';
import type { WorkerStats } from './control-surface';
import type { Job } from './pool';
import type { Running } from './running';
import type { WaitingJobs } from './waiting';
import type { HeldJobs } from './held';

export interface Draining {
  run: Running;
  consumer: string;
  waiting: WaitingJobs;
  /** Started tasks by id; emptied here as they finish or are aborted. */
  running: Map<string, Job>;
  held: HeldJobs;
  graceMs: number;
  info(): WorkerStats;
  log(level: LogLevel, message: string): void;
  fail(message: string, err: unknown): void;
}

export async function drainAndClose(w: Draining): Promise<void> {
  const { broker, pool, store, acker, events, states } = w.run;
  // Waiting jobs go back to the queue: none of them may be written RECEIVED by this worker after.
  states.stop();
  const notStarted = w.waiting.drain().filter((j) => !j.acked);
  await broker
    .requeue(
      w.consumer,
      notStarted.map((j) => j.msg.raw),
    )
    .catch((e) => w.fail('requeue at shutdown failed; the lease will give them back', e));
  for (const j of notStarted) w.held.release(j);
  const deadline = Date.now() + w.graceMs;
  while (w.running.size > 0 && Date.now() < deadline) await sleep(Math.min(50, deadline - Date.now()));
  const unfinished = [...w.running.values()];
  for (const job of unfinished) {
    w.running.delete(job.msg.id);
    pool.abort(job, { kind: 'revoked', reason: 'shutdown', runtimeMs: 0 });
  }
  await broker
    .requeue(
      w.consumer,
      unfinished.filter((j) => !j.acked).map((j) => j.msg.raw),
    )
    .catch(() => {});
  for (const j of unfinished) j.acked = true;
  // Results first, then acks: a task whose result is not committed by now is not acked, so its
  // message goes back to the queue with the others below and runs again (at-least-once).
  const flushed = await store.flush(Math.max(5000, deadline - Date.now()));
  if (!flushed)
    w.log(
      'warn',
      `stopping with ${store.backlog} task states not yet written (Postgres unavailable); their messages are given back`,
    );
  await acker.drain();
  await events.flush();
  await events.worker('worker-offline', w.info());
  // Subscriptions, the registry entry, the consumer and the pool: what start() built, last first.
  await w.run.close();
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
