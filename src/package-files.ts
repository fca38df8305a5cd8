import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';

/**
 * A file shipped with this package outside the compiled tree (bin/…), found from src/… (sources)
 * and from dist/src/… (the build) alike by walking up to the folder that holds it.
 */
export function packageFile(relative: string): string {
  let dir = __dirname;
  while (!existsSync(join(dir, relative)) && dirname(dir) !== dir) dir = dirname(dir);
  return join(dir, relative);
}

/** bin/register-ts.js: the loader that lets require() compile TypeScript sources. */
export function tsLoader(): { register(): boolean; missingCompilerMessage(file?: string): string } {
  return require(packageFile('bin/register-ts.js'));
}
