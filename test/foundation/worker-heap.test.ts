import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { ConfigError } from '../../src';
import { DEFAULT_HEAP_GROWING_PERCENT, heapGrowingFlag } from '../../src/cli/worker-heap';

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

test('celeriac worker applies it before loading the app: a bad value stops the command', () => {
  const root = join(__dirname, '..', '..');
  const res = spawnSync(process.execPath, [join(root, 'bin/celeriac.js'), 'worker', '--app', 'no-such-app.js'], {
    env: { ...process.env, CELERIAC_HEAP_GROWING_PERCENT: 'half' },
    encoding: 'utf8',
  });
  expect(res.status).toBe(1);
  expect(res.stderr).toContain("Invalid Celeriac config 'CELERIAC_HEAP_GROWING_PERCENT'");
});
