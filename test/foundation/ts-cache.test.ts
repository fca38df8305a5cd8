import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * The TypeScript loader's compile cache (bin/register-ts.js): a process started again from
 * unchanged sources neither loads the compiler nor compiles, and any change to a source compiles
 * it again (an entry is found by a hash of the source, never by a date).
 */
const register = join(__dirname, '..', '..', 'bin', 'register-ts.js');
let dir: string;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'celeriac-ts-cache-'));
  mkdirSync(join(dir, 'node_modules'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

/** Requires dir/mod.ts in a new process run in dir: its value and whether swc was loaded. */
function load(env: Record<string, string> = {}): { value: unknown; swc: boolean } {
  const out = execFileSync(
    process.execPath,
    [
      '-e',
      `require(${JSON.stringify(register)}).register();
       const value = require('./mod.ts').value;
       const swc = Object.keys(require.cache).some((f) => /[\\\\/]@swc[\\\\/]/.test(f));
       process.stdout.write(JSON.stringify({ value, swc }));`,
    ],
    { cwd: dir, env: { ...process.env, NODE_OPTIONS: '', ...env }, encoding: 'utf8' },
  );
  return JSON.parse(out) as { value: unknown; swc: boolean };
}

const entries = () => readdirSync(join(dir, 'node_modules', '.cache', 'celeriac-ts'));

test('a second start from unchanged sources reuses the compiled file without loading the compiler', () => {
  writeFileSync(join(dir, 'mod.ts'), 'export const value: number = 1;\n');
  expect(load()).toEqual({ value: 1, swc: true });
  expect(entries()).toHaveLength(1);
  expect(load()).toEqual({ value: 1, swc: false });
  expect(entries()).toHaveLength(1);
});

test('an edited source compiles again, whatever its timestamp', () => {
  writeFileSync(join(dir, 'mod.ts'), 'export const value: number = 1;\n');
  expect(load().value).toBe(1);
  // Same length and (within a second) the same mtime: only the content tells them apart.
  writeFileSync(join(dir, 'mod.ts'), 'export const value: number = 2;\n');
  expect(load()).toEqual({ value: 2, swc: true });
  expect(entries().filter((f) => f.endsWith('.js'))).toHaveLength(2);
});

test('a tsconfig.json decorator change compiles again', () => {
  const source = 'function d(_t: unknown, _k?: unknown) {}\n@d class C { @d m() {} }\nexport const value = typeof C;\n';
  writeFileSync(join(dir, 'mod.ts'), source);
  writeFileSync(join(dir, 'tsconfig.json'), '{ "compilerOptions": { "experimentalDecorators": true } }');
  expect(load()).toEqual({ value: 'function', swc: true });
  writeFileSync(join(dir, 'tsconfig.json'), '{ "compilerOptions": {} }');
  expect(load().swc).toBe(true);
  expect(entries()).toHaveLength(2);
});

test('CELERIAC_TS_CACHE=0 compiles every time and writes nothing', () => {
  writeFileSync(join(dir, 'mod.ts'), 'export const value: number = 3;\n');
  expect(load({ CELERIAC_TS_CACHE: '0' })).toEqual({ value: 3, swc: true });
  expect(load({ CELERIAC_TS_CACHE: '0' })).toEqual({ value: 3, swc: true });
  expect(() => entries()).toThrow(/ENOENT/);
});
