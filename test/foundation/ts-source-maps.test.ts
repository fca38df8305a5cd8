import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * The TypeScript loader (bin/register-ts.js) hands Node a module's inline source map only when
 * something reads it (--enable-source-maps, a debugger asked for at start): V8 keeps a module's
 * code for its life, and a worker from source held ~3.3 MiB of maps nobody read.
 */
const register = join(__dirname, '..', '..', 'bin', 'register-ts.js');
let dir: string;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'celeriac-ts-maps-'));
  // Type-only lines first, so the compiled line of the throw differs from the source's (line 7).
  writeFileSync(
    join(dir, 'mod.ts'),
    [
      'interface Shape {',
      '  x: number;',
      '  y: number;',
      '}',
      'type Alias = Shape;',
      'export function boom(s?: Alias): never {',
      "  throw new Error('boom ' + String(s));",
      '}',
      '',
    ].join('\n'),
  );
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

/** Loads dir/mod.ts in a new process: whether the code Node compiled had the map, and the throw's line. */
function load(nodeArgs: string[]): { hasMap: boolean; line: number } {
  const out = execFileSync(
    process.execPath,
    [
      ...nodeArgs,
      '-e',
      `const Module = require('node:module');
       const compile = Module.prototype._compile;
       let hasMap;
       Module.prototype._compile = function (code, filename) {
         if (filename.endsWith('mod.ts')) hasMap = code.includes('//# sourceMappingURL=data:');
         return compile.call(this, code, filename);
       };
       require(${JSON.stringify(register)}).register();
       let line;
       try { require('./mod.ts').boom(); } catch (err) { line = Number(/mod\\.ts:(\\d+)/.exec(err.stack)[1]); }
       process.stdout.write(JSON.stringify({ hasMap, line }));`,
    ],
    { cwd: dir, env: { ...process.env, NODE_OPTIONS: '', CELERIAC_TS_CACHE: '0' }, encoding: 'utf8' },
  );
  return JSON.parse(out) as { hasMap: boolean; line: number };
}

test('without --enable-source-maps the compiled code reaches Node without its inline map', () => {
  expect(load([]).hasMap).toBe(false);
});

test('with --enable-source-maps the map is kept: stack traces point at the TypeScript line', () => {
  expect(load(['--enable-source-maps'])).toEqual({ hasMap: true, line: 7 });
});
