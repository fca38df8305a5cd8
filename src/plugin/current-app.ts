import { CeleriacError } from '../errors';

/**
 * Process-wide state, on purpose: the app this process created last (Celery's current_app).
 * Task definitions, signatures and result handles are made in modules that import no app
 * (`task()` at module load, `GroupResult.restore(id)`), so when they send or read they go
 * through this. The Celeriac constructor sets it; tests that build several apps get the last one.
 *
 * Untyped here so that this module imports nothing: each caller names what it uses of the app
 * (`currentApp<Runtime>()`, or `currentApp<{ resultBackend: ResultBackend }>()` in the results
 * layer), and no caller's types lead back to it.
 */
let current: object | undefined;

export function setCurrentApp(app: object | undefined): void {
  current = app;
}

export function currentApp<T extends object>(): T {
  if (!current) {
    throw new CeleriacError(
      'No Celeriac app in this process: create one with new Celeriac({ ... }) before calling .delay() or .applyAsync().',
    );
  }
  return current as T;
}
