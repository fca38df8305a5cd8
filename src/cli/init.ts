import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { CeleriacError } from '../errors';

/**
 * The app module `celeriac init` writes. README.md ("Use it in your app") shows the same text and
 * the consumer test (test/package) checks that the two agree.
 */
export const appModuleTemplate = `// The app's one Celeriac instance: the web app, \`celeriac worker\` and \`celeriac beat\` all load it.
import { Celeriac } from 'celeriac';

export const celeriac = new Celeriac({
  // Folders, relative to this file, whose tasks.ts (or compiled tasks.js) files are imported,
  // four levels deep: '.' finds every tasks module of the app.
  apps: ['.'],
  // Postgres and Redis come from DATABASE_URL and CELERIAC_BROKER_URL; README: Configuration.
});
`;

export interface InitResult {
  written: string[];
  skipped: string[];
  scripts: Record<string, string>;
}

/**
 * Django's startproject for Celeriac: the app module, plus npm scripts for migrate, worker and
 * beat (as manage.py's commands). Never overwrites a file or a script that exists.
 */
export function init(cwd: string, dir: string | undefined): InitResult {
  const pkgFile = join(cwd, 'package.json');
  if (!existsSync(pkgFile))
    throw new CeleriacError(`celeriac init: no package.json in ${cwd}. Run it in your app's folder (npm init first).`);
  const srcDir = resolve(cwd, dir ?? 'src');
  const appFile = join(srcDir, 'celeriac.ts');
  const rel = relative(cwd, appFile).split('\\').join('/');
  const result: InitResult = { written: [], skipped: [], scripts: {} };
  if (existsSync(appFile)) result.skipped.push(rel);
  else {
    mkdirSync(srcDir, { recursive: true });
    writeFileSync(appFile, appModuleTemplate);
    result.written.push(rel);
  }
  const text = readFileSync(pkgFile, 'utf8');
  const pkg = JSON.parse(text);
  pkg.scripts ??= {};
  const wanted: Record<string, string> = {
    migrate: `celeriac migrate --app ${rel}`,
    worker: `celeriac worker --app ${rel}`,
    beat: `celeriac beat --app ${rel}`,
  };
  for (const [name, command] of Object.entries(wanted)) {
    if (pkg.scripts[name] === undefined) {
      pkg.scripts[name] = command;
      result.scripts[name] = command;
    } else if (pkg.scripts[name] !== command)
      result.skipped.push(`npm script '${name}' (already "${pkg.scripts[name]}")`);
  }
  if (Object.keys(result.scripts).length > 0) {
    const indent = /^[ \t]+/m.exec(text)?.[0] ?? '  ';
    writeFileSync(pkgFile, JSON.stringify(pkg, null, indent) + '\n');
  }
  return result;
}
