'use strict';
/**
 * The "celeriac-dist" system (issue 21): Celeriac as an app installs it, the way the issue's
 * independent harness ran it. `npm run build`, then a copy of the package as npm lays it out
 * (package.json, bin/, dist/) in node_modules/celeriac of a scratch folder, and the benchmark's
 * app compiled to CommonJS beside it, importing 'celeriac'. The worker is that copy's
 * `bin/celeriac.js worker`, which runs dist/ (no src/ next to it) and loads no TypeScript compiler
 * (the app is JavaScript). The package's dependencies resolve from the repository's node_modules
 * (a symlink): dev dependencies are there too, but nothing loads them, and what loads is what counts.
 */
const { cpSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } = require('node:fs');
const { join } = require('node:path');
const { tmpdir } = require('node:os');
const { execFileSync } = require('node:child_process');

/** Builds and lays out the installed copy; returns the paths the adapter runs. */
function installDist(root, suffix) {
  execFileSync(process.execPath, [join(root, 'scripts', 'build.js')], { cwd: root, stdio: 'inherit' });
  const dir = join(tmpdir(), `celeriac-bench-dist${suffix}`);
  rmSync(dir, { recursive: true, force: true });
  const pkg = join(dir, 'node_modules', 'celeriac');
  mkdirSync(pkg, { recursive: true });
  for (const part of ['package.json', 'bin', 'dist']) cpSync(join(root, part), join(pkg, part), { recursive: true });
  symlinkSync(join(root, 'node_modules'), join(pkg, 'node_modules'), 'dir');
  // The app's own dependency (W4 and W3 records): an app would have it in its node_modules.
  symlinkSync(join(root, 'node_modules', 'ioredis'), join(dir, 'node_modules', 'ioredis'), 'dir');
  const ts = require(require.resolve('typescript', { paths: [root] }));
  const source = readFileSync(join(__dirname, 'app.ts'), 'utf8');
  const { outputText } = ts.transpileModule(source, {
    compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022, esModuleInterop: true },
  });
  const app = join(dir, 'app', 'app.js');
  mkdirSync(join(dir, 'app'));
  writeFileSync(
    app,
    outputText
      .replace(/require\("\.\.\/\.\.\/\.\.\/src"\)/g, 'require("celeriac")')
      .replace(/require\('\.\.\/ns\.js'\)/g, `require(${JSON.stringify(join(__dirname, '..', 'ns.js'))})`),
  );
  if (!/require\("celeriac"\)/.test(readFileSync(app, 'utf8')))
    throw new Error(`celeriac-dist: ${app} does not import 'celeriac': app.ts's import of the package changed`);
  return { dir, bin: join(pkg, 'bin', 'celeriac.js'), app };
}

module.exports = { installDist };
