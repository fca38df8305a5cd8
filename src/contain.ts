import type { Logger } from './log';

/**
 * Containing app code that runs inside Celeriac's own loops: a logger, an 'error' or
 * 'task-finished' listener, a signal handler. The finish path calls these from loops over a
 * batch (the result store's waiters, the acker's): a throw that escaped one stopped the loop,
 * so the rest of the batch never settled (held until the worker stopped), and it reached the
 * code that sent the batch, which took it for a failed write and settled rows a second time.
 */

/** Calls `fn(arg)`; a throw goes to `report` (and, should that throw too, to stderr), never to the caller. */
export function callContained<A>(fn: (arg: A) => void, arg: A, report: (err: unknown) => void): void {
  try {
    fn(arg);
  } catch (err) {
    reportContained(report, err);
  }
}

/** `report(err)`, with stderr as the last resort when the reporting itself throws. */
export function reportContained(report: (err: unknown) => void, err: unknown): void {
  try {
    report(err);
  } catch (again) {
    lastResort('an error could not be reported', err, again);
  }
}

/** The log field for what was thrown. */
export function thrownField(err: unknown): { error: string } {
  return { error: err instanceof Error ? err.message : String(err) };
}

/**
 * The app's logger, made unable to throw: a logger is called from every loop of the worker, and
 * one that throws (a full disk, a closed transport, a bug) must cost its line, not a task.
 * The line goes to stderr with what the logger threw.
 */
export function containedLogger(logger: Logger): Logger {
  return {
    log(level, message, fields) {
      try {
        logger.log(level, message, fields);
      } catch (err) {
        lastResort(`the app's logger threw on this ${level} line: ${message}`, fields, err);
      }
    },
    // Asked each time: a logger whose level changes (pino's logger.level = ...) is followed.
    isLevelEnabled(level) {
      const enabled = logger.isLevelEnabled;
      if (typeof enabled !== 'function') return true; // one that does not say gets every line
      try {
        return enabled.call(logger, level) !== false;
      } catch {
        return true; // its log() then decides, and a throw there is reported as above
      }
    },
  };
}

function lastResort(what: string, detail: unknown, err: unknown): void {
  try {
    process.stderr.write(`[celeriac] ${what} (${describe(detail)}); it threw ${describe(err)}\n`);
  } catch {
    // stderr itself is gone: nothing is left to tell.
  }
}

function describe(value: unknown): string {
  if (value instanceof Error) return `${value.name}: ${value.message}`;
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}
