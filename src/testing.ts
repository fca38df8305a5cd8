/**
 * Helpers for an app's own test suite (jest, node:test, vitest): `import { eagerApp } from 'celeriac/testing'`.
 * The Node equivalent of Celery's `task_always_eager` test set-up; see docs/testing.md.
 */
import { Celeriac } from './celeriac';
import type { CeleriacOptions } from './config';

/**
 * An app whose delay(), applyAsync(), sendTask() and work-flows run in the calling process at
 * once and resolve to finished EagerResults, with the task's own error thrown on failure
 * (eagerPropagates; pass `eagerPropagates: false` to get FAILURE results instead). It connects
 * to no broker and no database. Create it before the code under test sends tasks (it becomes the
 * current app), and `await app.close()` after the suite.
 */
export function eagerApp(options: CeleriacOptions = {}): Celeriac {
  return new Celeriac({
    brokerUrl: 'memory://',
    logLevel: 'warn',
    ...options,
    alwaysEager: true,
    eagerPropagates: options.eagerPropagates ?? true,
  });
}

export { EagerResult } from './eager/eager-result';
