import { resolve } from 'node:path';
import type { Celeriac } from '../celeriac';
import { CeleriacError } from '../errors';

/**
 * Celery's `-A proj`: import the module and take the Celeriac instance it exports (default,
 * `celeriac`, `app`, or the only one among its exports). Duck-typed, because the app may import
 * another copy of the package than the CLI runs from.
 */
export function loadApp(modulePath: string | undefined): { app: Celeriac; file: string } {
  if (!modulePath)
    throw new CeleriacError(
      'Missing --app <module>: the module that exports your Celeriac instance, e.g. --app src/celeriac.ts',
    );
  const file = resolve(modulePath);
  let mod: Record<string, unknown>;
  try {
    mod = require(file);
  } catch (err) {
    throw new CeleriacError(`Could not load the app module ${file}: ${(err as Error).message}`, { cause: err });
  }
  const isApp = (v: unknown): v is Celeriac =>
    !!v && typeof v === 'object' && typeof (v as any).sendTask === 'function' && 'registry' in (v as object);
  const preferred = [mod.default, mod.celeriac, mod.app].find(isApp);
  const found = preferred ?? Object.values(mod).filter(isApp)[0];
  if (!found)
    throw new CeleriacError(
      `${file} exports no Celeriac instance: add \`export const celeriac = new Celeriac({ ... })\`.`,
    );
  return { app: found, file };
}
