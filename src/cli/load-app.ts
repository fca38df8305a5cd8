import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Celeriac } from '../celeriac';
import { CeleriacError } from '../errors';
import { tsLoader } from '../package-files';

/** The module named by --app (or `celeriac run`) could not be loaded; the message says why and what to do. */
export class AppModuleError extends CeleriacError {}

/**
 * Celery's `-A proj`: import the module and take the Celeriac instance it exports (default,
 * `celeriac`, `app`, or the only one among its exports). Duck-typed, because the app may import
 * another copy of the package than the CLI runs from.
 */
export function loadApp(modulePath: string | undefined): { app: Celeriac; file: string } {
  if (!modulePath)
    throw new AppModuleError(
      'Missing --app <module>: the module that exports your Celeriac instance, e.g. --app src/celeriac.ts',
    );
  const { file, exports: mod } = requireUserModule(modulePath, '--app');
  const isApp = (v: unknown): v is Celeriac =>
    !!v && typeof v === 'object' && typeof (v as any).sendTask === 'function' && 'registry' in (v as object);
  const preferred = [mod.default, mod.celeriac, mod.app].find(isApp);
  const found = preferred ?? Object.values(mod).filter(isApp)[0];
  if (!found)
    throw new AppModuleError(
      `${file} exports no Celeriac instance: add \`export const celeriac = new Celeriac({ ... })\`.`,
    );
  return { app: found, file };
}

/**
 * require() an app's file, compiled JavaScript (CommonJS or ESM: Node ≥ 20.19 requires ES modules)
 * or TypeScript (through bin/register-ts.js, which the celeriac command installs first), turning
 * Node's errors into what happened and what to do.
 */
export function requireUserModule(modulePath: string, what: string): { file: string; exports: Record<string, any> } {
  const file = resolve(modulePath);
  if (!existsSync(file))
    throw new AppModuleError(
      `${what} ${modulePath}: no such file (${file}). Give the path from the current folder, e.g. src/celeriac.ts, or dist/celeriac.js after a build.`,
    );
  if (/\.[cm]?ts$/.test(file) && !require.extensions['.ts']) {
    throw new AppModuleError(tsLoader().missingCompilerMessage(file));
  }
  try {
    return { file, exports: require(file) ?? {} };
  } catch (err) {
    if (err instanceof AppModuleError) throw err;
    throw new AppModuleError(`Could not load ${file}: ${explainLoadError(err as Error & { code?: string })}`, {
      cause: err,
    });
  }
}

function explainLoadError(err: Error & { code?: string }): string {
  const where = firstUserFrame(err);
  if (err.code === 'ERR_REQUIRE_CYCLE_MODULE')
    return (
      `${err.message}. An ES module imported while autodiscovery imports tasks modules points back at a module ` +
      `still loading, usually a tasks module importing the app module. Tasks modules need no app: import task ` +
      `from 'celeriac' only, and send through the task (add.delay(…)) or req.celeriac.`
    );
  if (err.code === 'ERR_REQUIRE_ASYNC_MODULE')
    return `${err.message}. The app module (or a module it imports) uses top-level await, which require() cannot load: move the await into a function.`;
  if (/(__dirname|__filename|require|exports|module) is not defined in ES module scope/.test(err.message))
    return (
      `${err.message}${where}. The module is an ES module ("type": "module" or .mjs): use import.meta.dirname instead ` +
      `of __dirname, and give apps as paths relative to the app module (apps: ['./reports']).`
    );
  if (err.code === 'MODULE_NOT_FOUND' || err.code === 'ERR_MODULE_NOT_FOUND')
    return `${err.message.split('\n')[0]}${where}. Install the missing package in the app, or fix the import path.`;
  if (err instanceof CeleriacError) return err.message;
  return `${err.name}: ${err.message}${where}`;
}

/** " (at src/x.ts:3:7)": where in the user's code a load error was thrown, when the stack says. */
function firstUserFrame(err: Error): string {
  for (const line of (err.stack ?? '').split('\n').slice(1)) {
    const m = /\(?((?:file:\/\/)?\/[^()]+:\d+:\d+)\)?\s*$/.exec(line.trim());
    if (m && !m[1].includes('node_modules') && !m[1].startsWith('node:')) return ` (at ${m[1]})`;
  }
  return '';
}
