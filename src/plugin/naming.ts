import { existsSync } from 'node:fs';
import { dirname, join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

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

/**
 * The file that called into Celeriac: the first stack frame outside `skipDir` (by default the
 * plugin folder, for task()) and outside other packages. ES modules' frames are file:// URLs.
 */
export function callerFile(skipDir: string = __dirname): string {
  const stack = new Error().stack?.split('\n').slice(1) ?? [];
  for (const line of stack) {
    const file = frameFile(line);
    if (!file || file.startsWith(skipDir + sep)) continue;
    if (file.includes(`${sep}node_modules${sep}`) && !file.includes(`${sep}node_modules${sep}celeriac${sep}`)) continue;
    return file;
  }
  return '<unknown>';
}

function frameFile(line: string): string | undefined {
  const m = /(?:\(|at )((?:file:\/\/)?[^()]+?\.(?:c|m)?(?:t|j)sx?):\d+:\d+\)?\s*$/.exec(line);
  if (!m) return undefined;
  if (!m[1].startsWith('file://')) return m[1].trim();
  try {
    return fileURLToPath(m[1]);
  } catch {
    return undefined;
  }
}
