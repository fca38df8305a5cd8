import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { ConfigError } from '../../src';
import type { Celeriac } from '../../src';
import { DEFAULT_SEMI_SPACE_MIB, semiSpaceMiB } from '../../src/worker/young-generation';
import { DATABASE_URL, cleanup, fixtureEnv, makeApp } from '../helpers';
import {
  DEFAULT_HEAP_GROWING_PERCENT,
  DEFAULT_SEMI_SPACE_GROWTH_FACTOR,
  heapGrowingFlag,
  semiSpaceGrowthFlag,
  workerHeapFlags,
} from '../../src/worker/heap-flags';

const root = join(__dirname, '..', '..');

test('the worker sets --heap-growing-percent=50 unless the env or node command line says otherwise', () => {
  expect(DEFAULT_HEAP_GROWING_PERCENT).toBe(50);
  expect(heapGrowingFlag({}, [])).toBe('--heap-growing-percent=50');
  expect(heapGrowingFlag({ CELERIAC_HEAP_GROWING_PERCENT: '' }, [])).toBe('--heap-growing-percent=50');
  expect(heapGrowingFlag({ CELERIAC_HEAP_GROWING_PERCENT: '20' }, [])).toBe('--heap-growing-percent=20');
  // 0 is V8's own flag default: its dynamic sizing, nothing set.
  expect(heapGrowingFlag({ CELERIAC_HEAP_GROWING_PERCENT: '0' }, [])).toBeUndefined();
  // A flag on node's command line wins over the default and the env, in either spelling.
  expect(heapGrowingFlag({}, ['--heap-growing-percent=80'])).toBeUndefined();
  expect(heapGrowingFlag({ CELERIAC_HEAP_GROWING_PERCENT: '20' }, ['--heap_growing_percent=80'])).toBeUndefined();
  expect(heapGrowingFlag({}, ['--heap-growing-percent-x=1'])).toBe('--heap-growing-percent=50');
  for (const bad of ['-5', '1.5', 'half', '50%'])
    expect(() => heapGrowingFlag({ CELERIAC_HEAP_GROWING_PERCENT: bad }, [])).toThrow(ConfigError);
});

test('the worker sets --semi-space-growth-factor=1 unless the env, node command line or NODE_OPTIONS says otherwise', () => {
  expect(DEFAULT_SEMI_SPACE_GROWTH_FACTOR).toBe(1);
  expect(semiSpaceGrowthFlag({}, [])).toBe('--semi-space-growth-factor=1');
  expect(semiSpaceGrowthFlag({ CELERIAC_SEMI_SPACE_GROWTH_FACTOR: ' ' }, [])).toBe('--semi-space-growth-factor=1');
  expect(semiSpaceGrowthFlag({ CELERIAC_SEMI_SPACE_GROWTH_FACTOR: '2' }, [])).toBe('--semi-space-growth-factor=2');
  // 0 means V8's own sizing: never handed to V8, where a factor of 0 crashes node.
  expect(semiSpaceGrowthFlag({ CELERIAC_SEMI_SPACE_GROWTH_FACTOR: '0' }, [])).toBeUndefined();
  // Any young-generation flag the user gave wins: a factor of 1 would undo a larger max size.
  for (const flag of ['--max-semi-space-size=4', '--min_semi_space_size=2', '--semi-space-growth-factor=4']) {
    expect(semiSpaceGrowthFlag({}, [flag])).toBeUndefined();
    expect(semiSpaceGrowthFlag({ NODE_OPTIONS: `--enable-source-maps  ${flag}` }, [])).toBeUndefined();
  }
  expect(semiSpaceGrowthFlag({ NODE_OPTIONS: '--max-old-space-size=100' }, [])).toBe('--semi-space-growth-factor=1');
  for (const bad of ['-1', '1.5', 'off', '2x'])
    expect(() => semiSpaceGrowthFlag({ CELERIAC_SEMI_SPACE_GROWTH_FACTOR: bad }, [])).toThrow(ConfigError);
  // NODE_OPTIONS counts for the old generation's flag too.
  expect(workerHeapFlags({ NODE_OPTIONS: '--heap-growing-percent=30' }, [])).toEqual(['--semi-space-growth-factor=1']);
  expect(workerHeapFlags({}, [])).toEqual(['--heap-growing-percent=50', '--semi-space-growth-factor=1']);
});

/** `celeriac worker` on an app that reports the young generation's size (at load, or its largest while busy). */
function workerReport(env: Record<string, string>, app = 'app.js', args: string[] = []) {
  const res = spawnSync(
    process.execPath,
    [join(root, 'bin/celeriac.js'), 'worker', '--app', join(root, 'test/fixtures/heap-report', app), ...args],
    { cwd: root, env: { ...process.env, NODE_OPTIONS: '', ...env }, encoding: 'utf8' },
  );
  const line = res.stdout.split('\n').find((l) => l.startsWith('HEAP_REPORT '));
  if (res.status !== 0 || !line) throw new Error(`no heap report (exit ${res.status}):\n${res.stdout}${res.stderr}`);
  return JSON.parse(line.slice('HEAP_REPORT '.length)) as { newSpaceBytes: number };
}

test('celeriac worker sets the young generation before the package loads: it stays at 1 MiB semi-spaces', () => {
  const MiB = 1024 * 1024;
  expect(workerReport({}).newSpaceBytes).toBeLessThanOrEqual(2 * MiB);
  // V8's own sizing: loading the package doubles the semi-spaces at least once.
  expect(workerReport({ CELERIAC_SEMI_SPACE_GROWTH_FACTOR: '0' }).newSpaceBytes).toBeGreaterThan(2 * MiB);
});

test('celeriac worker applies them before loading the app: a bad value stops the command', () => {
  for (const key of ['CELERIAC_HEAP_GROWING_PERCENT', 'CELERIAC_SEMI_SPACE_GROWTH_FACTOR', 'CELERIAC_SEMI_SPACE_MIB']) {
    const res = spawnSync(process.execPath, [join(root, 'bin/celeriac.js'), 'worker', '--app', 'no-such-app.js'], {
      env: { ...process.env, [key]: 'half' },
      encoding: 'utf8',
    });
    expect(res.status).toBe(1);
    expect(res.stderr).toContain(`Invalid Celeriac config '${key}'`);
  }
});

test('CELERIAC_SEMI_SPACE_MIB: 1 unless set; only a size V8 can grow a semi-space to', () => {
  expect(DEFAULT_SEMI_SPACE_MIB).toBe(1);
  expect(semiSpaceMiB({})).toBe(1);
  expect(semiSpaceMiB({ CELERIAC_SEMI_SPACE_MIB: ' ' })).toBe(1);
  for (const ok of [1, 2, 4, 8, 16]) expect(semiSpaceMiB({ CELERIAC_SEMI_SPACE_MIB: String(ok) })).toBe(ok);
  for (const bad of ['0', '3', '32', '1.5', 'two', '-2'])
    expect(() => semiSpaceMiB({ CELERIAC_SEMI_SPACE_MIB: bad })).toThrow(ConfigError);
});

describe('once the app has loaded, a busy worker', () => {
  const MiB = 1024 * 1024;
  let app: Celeriac;
  let env: Record<string, string>;
  beforeAll(async () => {
    app = await makeApp('worker_heap');
    env = { ...fixtureEnv(app), TEST_DATABASE_URL: DATABASE_URL };
  });
  afterAll(() => cleanup(app));
  // new_space is both semi-spaces: 2 × the semi-space size.
  const busy = (extra: Record<string, string> = {}, args: string[] = []) =>
    workerReport({ ...env, ...extra }, 'grow-app.js', args).newSpaceBytes;

  test('keeps its young generation at 1 MiB semi-spaces by default', () => {
    expect(busy()).toBe(2 * 1 * MiB);
  });

  test('grows it to CELERIAC_SEMI_SPACE_MIB and no further: 2, 4', () => {
    expect(busy({ CELERIAC_SEMI_SPACE_MIB: '2' })).toBe(2 * 2 * MiB);
    expect(busy({ CELERIAC_SEMI_SPACE_MIB: '4' })).toBe(2 * 4 * MiB);
  });

  test("keeps 1 MiB semi-spaces with a processes pool (V8's flags are process-wide)", () => {
    expect(busy({ CELERIAC_SEMI_SPACE_MIB: '2' }, ['--pool', 'processes', '-c', '1'])).toBe(2 * 1 * MiB);
  });

  test("leaves V8's own sizing alone (CELERIAC_SEMI_SPACE_GROWTH_FACTOR=0): no cap", () => {
    expect(busy({ CELERIAC_SEMI_SPACE_GROWTH_FACTOR: '0' })).toBeGreaterThan(2 * 2 * MiB);
  });
});
