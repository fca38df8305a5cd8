import { existsSync, readdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { CeleriacError } from '../errors';
import { bindOwners } from './task';

/**
 * Django's autodiscover_tasks for Express apps: import every tasks.ts / tasks.js under each app
 * folder. Importing is what registers the tasks (task() and @task() run at module load).
 * When both the .ts source and its compiled .js sit side by side, the one this process can load
 * natively wins, so a task is never registered twice from two files.
 */
export function autodiscover(apps: string[]): string[] {
  const canLoadTs = '.ts' in require.extensions || process.execArgv.some((a) => /ts-node|swc|tsx/.test(a)) || isJest();
  const loaded: string[] = [];
  for (const app of apps) {
    const dir = resolve(app);
    if (!existsSync(dir) || !statSync(dir).isDirectory()) {
      throw new CeleriacError(
        `App folder '${app}' (resolved to ${dir}) does not exist: list folders that hold a tasks.ts, e.g. apps: [__dirname + '/reports'].`,
      );
    }
    for (const file of findTaskModules(dir, canLoadTs)) {
      let exports: Record<string, unknown>;
      try {
        exports = require(file);
      } catch (err) {
        if (err instanceof CeleriacError) throw err;
        throw new CeleriacError(`Importing ${file} failed while discovering tasks: ${(err as Error).message}`, {
          cause: err,
        });
      }
      bindOwners(exports);
      loaded.push(file);
    }
  }
  return loaded;
}

function findTaskModules(dir: string, preferTs: boolean, depth = 0): string[] {
  const out: string[] = [];
  const ts = join(dir, 'tasks.ts');
  const js = join(dir, 'tasks.js');
  const pick = preferTs ? [ts, js] : [js, ts];
  const found = pick.find((f) => existsSync(f));
  if (found && (preferTs || found.endsWith('.js'))) out.push(found);
  if (depth >= 4) return out;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (!entry.isDirectory() || entry.name.startsWith('.') || entry.name === 'node_modules') continue;
    out.push(...findTaskModules(join(dir, entry.name), preferTs, depth + 1));
  }
  return out;
}

function isJest(): boolean {
  return process.env.JEST_WORKER_ID !== undefined;
}
