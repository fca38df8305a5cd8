import { existsSync, readdirSync, statSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import type { TaskModules } from '../config';
import { CeleriacError } from '../errors';
import { bindOwners } from './task';

/**
 * Django's autodiscover_tasks for Express apps: import every tasks.ts / tasks.js under each app
 * folder. Importing is what registers the tasks (task() and @task() run at module load).
 * Relative folders are relative to `appFile`, the module that created the app, so the same
 * `apps: ['./reports']` works from sources, from compiled CommonJS and from ES modules (which
 * have no __dirname). When both the .ts source and its compiled .js sit side by side, the kind
 * `appFile` is wins, so a task is never registered twice from two files. `kind` 'ts' or 'js'
 * (the app's `taskModules`) says which instead, for a process `loadsTypeScript()` misjudges.
 */
export function autodiscover(apps: string[], appFile: string, kind: TaskModules = 'auto'): string[] {
  const known = appFile !== '<unknown>';
  const canLoadTs = kind === 'auto' ? loadsTypeScript() : kind === 'ts';
  const preferTs = canLoadTs && (kind === 'ts' || !known || /\.[cm]?ts$/.test(appFile));
  const base = known ? dirname(appFile) : process.cwd();
  const loaded: string[] = [];
  for (const app of apps) {
    const dir = resolve(base, app);
    if (!existsSync(dir) || !statSync(dir).isDirectory()) {
      throw new CeleriacError(
        `App folder '${app}' (resolved to ${dir}${isAbsolute(app) ? '' : `, relative to ${base}`}) does not exist: ` +
          `list folders that hold a tasks.ts, relative to the module that creates the app, e.g. apps: ['./reports'].`,
      );
    }
    for (const file of findTaskModules(dir, preferTs, canLoadTs)) {
      let exports: Record<string, unknown>;
      try {
        exports = require(file);
      } catch (err) {
        if (err instanceof CeleriacError) throw err;
        const cycle =
          (err as { code?: string }).code === 'ERR_REQUIRE_CYCLE_MODULE'
            ? ' (an ES module cycle: a tasks module imports a module still loading, usually the app module; tasks modules need no app, import task from "celeriac" only)'
            : '';
        throw new CeleriacError(`Importing ${file} failed while discovering tasks: ${(err as Error).message}${cycle}`, {
          cause: err,
        });
      }
      bindOwners(exports);
      loaded.push(file);
    }
  }
  return loaded;
}

function findTaskModules(dir: string, preferTs: boolean, canLoadTs: boolean, depth = 0): string[] {
  const out: string[] = [];
  const ts = join(dir, 'tasks.ts');
  const js = join(dir, 'tasks.js');
  const pick = preferTs ? [ts, js] : [js, ts];
  const found = pick.find((f) => existsSync(f));
  if (found && (canLoadTs || found.endsWith('.js'))) out.push(found);
  if (depth >= 4) return out;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (!entry.isDirectory() || entry.name.startsWith('.') || entry.name === 'node_modules') continue;
    out.push(...findTaskModules(join(dir, entry.name), preferTs, canLoadTs, depth + 1));
  }
  return out;
}

/**
 * Whether this process's require() loads TypeScript, for `taskModules: 'auto'`: a loader that
 * registers the .ts extension (ts-node, @swc/register, celeriac/register), a loader flag, or a
 * Jest worker. Jest is the one recognised by name: its require() transforms .ts without touching
 * require.extensions, so nothing but its JEST_WORKER_ID shows it, and docs/testing.md promises
 * that an app created in a Jest test discovers its tasks.ts with no setting. Any other runner that
 * loads TypeScript unseen is named by the app instead (`taskModules: 'ts'` or
 * CELERIAC_TASK_MODULES=ts).
 */
function loadsTypeScript(): boolean {
  if ('.ts' in require.extensions) return true;
  if (process.execArgv.some((a) => /ts-node|swc|tsx/.test(a))) return true;
  return process.env.JEST_WORKER_ID !== undefined;
}
