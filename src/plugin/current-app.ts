import { CeleriacError } from '../errors';
import type { Celeriac } from '../celeriac';

let current: Celeriac | undefined;

/** Tasks send through the app the process created (Celery's current_app), so task modules need no app import. */
export function setCurrentApp(app: Celeriac | undefined): void {
  current = app;
}

export function currentApp(): Celeriac {
  if (!current) {
    throw new CeleriacError(
      'No Celeriac app in this process: create one with new Celeriac({ ... }) before calling .delay() or .applyAsync().',
    );
  }
  return current;
}
