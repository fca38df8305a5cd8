import { abortListenerThrewMessage, guardAbortListeners, type AbortListenerReport } from './abort-listeners';

/**
 * A task's abort signal, made only when the body first reads `ctx.signal`. Most task bodies never
 * do, and one AbortController per task was ~3 % of the worker's CPU in the W1 drain. Aborting
 * before the signal exists is remembered, so a body that reads it late finds it aborted.
 *
 * The listeners a task adds to it cannot end the process by throwing (abort-listeners.ts): what
 * they throw goes to `report`, with the task's name and id.
 */
export class LazyAbort {
  private controller: AbortController | undefined;
  private aborted = false;
  private reason: unknown;

  constructor(
    private readonly task: { task: string; id: string } = UNNAMED,
    private readonly report: AbortListenerReport = toStderr,
  ) {}

  get signal(): AbortSignal {
    if (!this.controller) {
      this.controller = new AbortController();
      guardAbortListeners(this.controller.signal, (err) => this.report(this.task.task, this.task.id, err));
      if (this.aborted) this.controller.abort(this.reason);
    }
    return this.controller.signal;
  }

  abort(reason: unknown): void {
    if (this.aborted) return;
    this.aborted = true;
    this.reason = reason;
    this.controller?.abort(reason);
  }
}

const UNNAMED = { task: '(unnamed)', id: '?' };

/** For a LazyAbort made without a report (tests of the context alone): the line goes to stderr. */
function toStderr(taskName: string, taskId: string, err: unknown): void {
  process.stderr.write(`[celeriac] ${abortListenerThrewMessage(taskName, taskId)}: ${String(err)}\n`);
}
