import type { LogLevel } from '../log';

type Log = (level: LogLevel, message: string, fields?: Record<string, unknown>) => void;

/** A batch whose statement has not returned after this long is logged, and shown in the health, as stalled. */
export const STALL_WARN_MS = 5_000;

/**
 * A statement that neither commits nor fails (Postgres up, but a lock or an overload holds it)
 * looked like nothing at all until its query_timeout, 30 s later: say so after STALL_WARN_MS,
 * and say when it ends.
 */
export function watchStall(size: number, log: Log): { end(committed: boolean): void } {
  const since = Date.now();
  let warned = false;
  const timer = setTimeout(() => {
    warned = true;
    log(
      'warn',
      `result store stalled: a batch of ${size} task states has waited ${STALL_WARN_MS / 1000} s for Postgres, which neither committed nor refused it (a lock held on the result table, or an overloaded server?); their messages are not acked meanwhile`,
    );
  }, STALL_WARN_MS);
  timer.unref();
  return {
    end: (committed) => {
      clearTimeout(timer);
      if (warned)
        log(
          'warn',
          `result store stall ended after ${((Date.now() - since) / 1000).toFixed(1)} s: the batch ${committed ? 'committed' : 'failed and is retried'}`,
        );
    },
  };
}
