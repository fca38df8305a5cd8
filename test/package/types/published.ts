/**
 * Type tests that hold only for the published types (dist/*.d.ts, built with stripInternal), so
 * only test/package/consumer.test.ts compiles this file; the repository's typecheck skips it.
 */
import { Celeriac, type Worker } from 'celeriac';

export function internals(app: Celeriac): void {
  // @ts-expect-error internal: stripped from the published types
  void app.prepare;
  // @ts-expect-error internal: stripped from the published types
  void app.sendPrepared;
  // @ts-expect-error Worker is exported as a type: workers are built by celeriac.worker()
  void new Worker(app);
}
