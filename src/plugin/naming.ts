import { existsSync } from 'node:fs';
import { dirname, join, relative, sep } from 'node:path';

/**
 * Celery names a task after its module path and function name (`proj.tasks.add`). We take the
 * file's path from its package root, drop the extension and a leading build folder (src, dist, …)
 * so the name is the same whether the app runs from .ts sources or compiled .js:
 * `<pkg>/src/reports/tasks.ts` → `reports.tasks`.
 */
export function moduleName(file: string): string {
  const root = packageRoot(dirname(file));
  const parts = relative(root, file)
    .replace(/\.(c|m)?(t|j)sx?$/, '')
    .split(sep);
  while (parts.length > 1 && ['src', 'dist', 'lib', 'build', 'out'].includes(parts[0])) parts.shift();
  return parts.join('.');
}

const roots = new Map<string, string>();

function packageRoot(dir: string): string {
  const cached = roots.get(dir);
  if (cached) return cached;
  let d = dir;
  while (!existsSync(join(d, 'package.json')) && dirname(d) !== d) d = dirname(d);
  const root = existsSync(join(d, 'package.json')) ? d : dir;
  roots.set(dir, root);
  return root;
}

/** The file that called into the task API: the first stack frame outside Celeriac's plugin folder. */
export function callerFile(): string {
  const stack = new Error().stack?.split('\n').slice(1) ?? [];
  for (const line of stack) {
    const m = /\(?((?:[A-Za-z]:)?[^():]+\.(?:c|m)?(?:t|j)sx?):\d+:\d+\)?\s*$/.exec(line);
    if (!m) continue;
    const file = m[1].replace(/^file:\/\//, '').trim();
    if (file.startsWith(__dirname + sep)) continue;
    if (file.includes(`${sep}node_modules${sep}`) && !file.includes(`${sep}node_modules${sep}celeriac${sep}`)) continue;
    return file;
  }
  return '<unknown>';
}
