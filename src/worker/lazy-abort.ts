/**
 * A task's abort signal, made only when the body first reads `ctx.signal`. Most task bodies never
 * do, and one AbortController per task was ~3 % of the worker's CPU in the W1 drain. Aborting
 * before the signal exists is remembered, so a body that reads it late finds it aborted.
 */
export class LazyAbort {
  private controller: AbortController | undefined;
  private aborted = false;
  private reason: unknown;

  get signal(): AbortSignal {
    if (!this.controller) {
      this.controller = new AbortController();
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
