/**
 * The celeriac command as an app's npm scripts run it: help and version, `init`, and `--app` /
 * `run` loading the app's module in each shape (TypeScript with either decorator mode, ESM-style
 * TypeScript, compiled ES modules), with errors that say what happened and what to do. The apps
 * are written into temp folders; they import Celeriac from this checkout's sources by path.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { appModuleTemplate } from '../../src/cli/init';
import { ROOT, cleanEnv } from './consumer';

const BIN = join(ROOT, 'bin', 'celeriac.js');
const SRC = join(ROOT, 'src', 'index.ts');
const work = mkdtempSync(join(tmpdir(), 'celeriac-cli-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

function celeriac(args: string[], cwd = work) {
  const r = spawnSync(process.execPath, [BIN, ...args], {
    cwd,
    env: cleanEnv({ CELERIAC_BROKER_URL: 'memory://' }),
    encoding: 'utf8',
    timeout: 60_000,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** An app folder: { 'path/in/app': text }. */
function app(name: string, files: Record<string, string>): string {
  const dir = join(work, name);
  for (const [file, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, file)), { recursive: true });
    writeFileSync(join(dir, file), text);
  }
  return dir;
}

test('--help exits 0, no command exits 2, --version prints the version', () => {
  const help = celeriac(['--help']);
  expect(help.code).toBe(0);
  expect(help.stdout).toMatch(/^Usage: celeriac <command>/);
  expect(help.stdout).toMatch(/init \[--dir src\]/);
  for (const usage of ['purge [-Q q1,q2] [-f]', 'inspect queues', '--pool async|threads|processes', '--time-limit S'])
    expect(help.stdout).toContain(usage);
  expect(help.stdout).toContain('--grace-ms N');
  expect(celeriac(['help']).code).toBe(0);
  expect(celeriac(['worker', '-h']).code).toBe(0);
  const none = celeriac([]);
  expect(none.code).toBe(2);
  expect(none.stderr).toMatch(/^Usage: celeriac/);
  const version = celeriac(['--version']);
  expect(version.stdout.trim()).toBe(JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).version);
});

test('a flag the command does not take is refused with the nearest one, before anything loads', () => {
  const typo = celeriac(['worker', '--app', 'src/nope.ts', '--concurency', '4']);
  expect(typo.code).toBe(1);
  expect(typo.stderr).toMatch(/celeriac worker: unknown flag '--concurency' \(did you mean '--concurrency'\?\)/);
  expect(celeriac(['beat', '-A', 'src/nope.ts', '--time-limit', '5']).stderr).toMatch(
    /celeriac beat: unknown flag '--time-limit'; beat takes --app, --name/,
  );
  expect(celeriac(['inspect', 'ping', '-A', 'src/nope.ts', '--destinaton', 'w@h']).stderr).toMatch(
    /unknown flag '--destinaton' \(did you mean '--destination'\?\)/,
  );
  expect(celeriac(['inspect', 'queues', '-A', 'src/nope.ts', '-f']).stderr).toMatch(
    /celeriac inspect: unknown flag '--force'; inspect queues takes --app, --queues/,
  );
});

test('a missing or wrong --app says what to pass', () => {
  const missing = celeriac(['migrate']);
  expect(missing.code).toBe(1);
  expect(missing.stderr).toMatch(/celeriac migrate: Missing --app <module>.*e\.g\. --app src\/celeriac\.ts/);
  const wrong = celeriac(['migrate', '--app', 'src/nope.ts']);
  expect(wrong.stderr).toMatch(/--app src\/nope\.ts: no such file \(.*src\/nope\.ts\)\. Give the path/);
  const noInstance = app('no-instance', { 'm.ts': 'export const x = 1;\n' });
  expect(celeriac(['migrate', '--app', 'm.ts'], noInstance).stderr).toMatch(
    /m\.ts exports no Celeriac instance: add `export const celeriac = new Celeriac/,
  );
});

test('TypeScript with legacy decorators: compiled with the metadata TypeORM needs, per the app tsconfig', () => {
  const dir = app('ts-legacy', {
    'package.json': '{ "name": "ts-legacy", "private": true }\n',
    'tsconfig.json': `{
      // comments and trailing commas, as tsc --init writes
      "compilerOptions": { "experimentalDecorators": true, "emitDecoratorMetadata": true, "strict": true, },
    }\n`,
    'src/celeriac.ts': `import { Celeriac } from ${JSON.stringify(SRC)};\nexport const celeriac = new Celeriac({ apps: ['.'] });\n`,
    'src/reports/tasks.ts': `import ${JSON.stringify(require.resolve('reflect-metadata'))};
import { task, type TaskContext } from ${JSON.stringify(SRC)};
export class Reports {
  @task()
  async build(_ctx: TaskContext, id: number, title: string) { return { id, title }; }
}
export const paramTypes = (Reflect as any).getMetadata('design:paramtypes', Reports.prototype, 'build').map((t: Function) => t.name);
`,
    'src/print.ts': `import { celeriac } from './celeriac';
import { paramTypes } from './reports/tasks';
console.log(JSON.stringify({ names: celeriac.registry.names(), paramTypes, argv: process.argv.slice(2) }));
`,
  });
  const r = celeriac(['run', 'src/print.ts', '--flag', 'x'], dir);
  expect(r.stderr).toBe('');
  const out = JSON.parse(r.stdout);
  expect(out.names).toContain('reports.tasks.build');
  expect(out.paramTypes).toEqual(['Object', 'Number', 'String']);
  expect(out.argv).toEqual(['--flag', 'x']);
});

test('ESM-style TypeScript: standard decorators, ./x.js imports of .ts files, import.meta', () => {
  const dir = app('ts-esm', {
    'package.json': '{ "name": "ts-esm", "private": true, "type": "module" }\n',
    'tsconfig.json': '{ "compilerOptions": { "module": "nodenext", "strict": true } }\n',
    'src/celeriac.ts': `import { Celeriac } from ${JSON.stringify(SRC)};
export const where = import.meta.dirname + ' ' + import.meta.url;
export const celeriac = new Celeriac({ apps: ['./reports'] });
`,
    'src/reports/tasks.ts': `import { task, type TaskContext } from ${JSON.stringify(SRC)};
export class Reports {
  private prefix = 'report ';
  @task()
  async build(_ctx: TaskContext, id: number) { return this.prefix + id; }
}
`,
    // Top-level await cannot compile to CommonJS: the await sits in a function.
    'src/print.ts': `import { taskOf } from ${JSON.stringify(SRC)};
import { celeriac, where } from './celeriac.js';
import { Reports } from './reports/tasks.js';
void (async () => {
  const result = await taskOf(Reports.prototype.build).run({} as never, [7], {});
  console.log(JSON.stringify({ names: celeriac.registry.names(), where, result }));
})();
`,
  });
  const r = celeriac(['run', 'src/print.ts'], dir);
  expect(r.stderr).toBe('');
  const out = JSON.parse(r.stdout);
  expect(out.names).toContain('reports.tasks.build');
  expect(out.where).toBe(`${join(dir, 'src')} file://${join(dir, 'src', 'celeriac.ts')}`);
  // An instance method runs on an instance of its class (standard decorators find it through the module's exports).
  expect(out.result).toBe('report 7');
});

test('compiled ES modules load as they are; their load errors say what to do', () => {
  const requireSrc = `import { createRequire } from 'node:module';\nconst require = createRequire(import.meta.url);\nconst { Celeriac, task } = require(${JSON.stringify(SRC)});\n`;
  const dir = app('esm-js', {
    'package.json': '{ "name": "esm-js", "private": true, "type": "module" }\n',
    'celeriac.js': `${requireSrc}export const celeriac = new Celeriac({ apps: ['./jobs'] });\n`,
    'jobs/tasks.js': `${requireSrc}export const ping = task('jobs.ping', () => 'pong');\n`,
    'print.js': `import { celeriac } from './celeriac.js';\nconsole.log(JSON.stringify(celeriac.registry.names()));\n`,
    'dirname.js': 'export const here = __dirname;\n',
    'cycle/celeriac.js': `${requireSrc}export const celeriac = new Celeriac({ apps: ['./jobs'] });\n`,
    'cycle/jobs/tasks.js': `import { celeriac } from '../celeriac.js';\nexport const app = () => celeriac;\n`,
    'await.js': 'await Promise.resolve();\nexport const celeriac = 1;\n',
  });
  const r = celeriac(['run', 'print.js'], dir);
  expect(r.stderr).toBe('');
  expect(JSON.parse(r.stdout)).toContain('jobs.ping');

  const dirname = celeriac(['migrate', '--app', 'dirname.js'], dir);
  expect(dirname.code).toBe(1);
  expect(dirname.stderr).toMatch(/__dirname is not defined in ES module scope/);
  expect(dirname.stderr).toMatch(/use import\.meta\.dirname .*apps: \['\.\/reports'\]/);
  expect(dirname.stderr).toContain('dirname.js:1');

  const cycle = celeriac(['migrate', '--app', 'cycle/celeriac.js'], dir);
  expect(cycle.code).toBe(1);
  expect(cycle.stderr).toMatch(/an ES module cycle: .* tasks modules need no app, import task from "celeriac" only/);

  const tla = celeriac(['migrate', '--app', 'await.js'], dir);
  expect(tla.code).toBe(1);
  expect(tla.stderr).toMatch(/top-level await/);
});

test('init writes the app module and the npm scripts, and never overwrites', () => {
  const dir = app('init', {
    'package.json': JSON.stringify({ name: 'init', scripts: { worker: 'my-own-worker' } }, null, 4) + '\n',
  });
  const first = celeriac(['init'], dir);
  expect(first.code).toBe(0);
  expect(readFileSync(join(dir, 'src/celeriac.ts'), 'utf8')).toBe(appModuleTemplate);
  const pkg = readFileSync(join(dir, 'package.json'), 'utf8');
  expect(JSON.parse(pkg).scripts).toEqual({
    worker: 'my-own-worker',
    migrate: 'celeriac migrate --app src/celeriac.ts',
    beat: 'celeriac beat --app src/celeriac.ts',
  });
  expect(pkg).toMatch(/^ {4}"name"/m); // the file's own indentation is kept
  expect(first.stdout).toMatch(/kept npm script 'worker' \(already "my-own-worker"\)/);

  writeFileSync(join(dir, 'src/celeriac.ts'), '// mine\n');
  const second = celeriac(['init'], dir);
  expect(second.stdout).toMatch(/kept src\/celeriac\.ts/);
  expect(readFileSync(join(dir, 'src/celeriac.ts'), 'utf8')).toBe('// mine\n');

  expect(celeriac(['init'], app('no-package', { 'x.txt': '' })).stderr).toMatch(/no package\.json in .*npm init first/);
});
