'use strict';
/**
 * `npm run build` (also run by `prepare`, so `npm pack`, `npm publish` and installs from a git URL
 * all ship a fresh dist/): compiles src/ and migrations/ with tsc, then copies the files tsc does
 * not emit (Lua scripts, the admin's static files) next to the JavaScript that reads them.
 * Plain Node instead of `cp -r`, so a git install builds on Windows too.
 */
const { cpSync, readdirSync, rmSync } = require('node:fs');
const { join, relative } = require('node:path');
const { execFileSync } = require('node:child_process');

const root = join(__dirname, '..');
const dist = join(root, 'dist');

let tsc;
try {
  tsc = require.resolve('typescript/bin/tsc', { paths: [root] });
} catch {
  console.error(
    'celeriac build: typescript is not installed here. Run `npm ci` (or npm install) in this folder first.',
  );
  process.exit(1);
}
// A file deleted from src/ must not live on in an old dist/ and be packed.
rmSync(dist, { recursive: true, force: true });
execFileSync(process.execPath, [tsc, '-p', join(root, 'tsconfig.build.json')], {
  cwd: root,
  stdio: 'inherit',
});
for (const file of assets(join(root, 'src'))) cpSync(file, join(dist, relative(root, file)));

/** Every file under `dir` that tsc does not emit and the code reads at run time (Lua, static files). */
function assets(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name);
    if (e.isDirectory()) return assets(path);
    return /\.(ts|md)$/.test(e.name) ? [] : [path];
  });
}
