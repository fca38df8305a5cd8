import { Celeriac, ConfigError } from '../../src';
import { silentLogger } from '../../src/log';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { exited } from '../worker/child';
import { resolveTaskOptions } from '../../src/plugin/options';

/** The options added for Celery parity are checked once, naming the key and what would be right. */
const make = (options: Record<string, unknown>) => () =>
  new Celeriac({ brokerUrl: 'memory://', logger: silentLogger, ...options });

test.each([
  [{ taskTimeLimit: -1 }, /'taskTimeLimit'.*seconds > 0/],
  [{ taskSoftTimeLimit: 'soon' }, /'taskSoftTimeLimit'.*seconds > 0/],
  // A worker arms limits with setTimeout, which fires at once past 2^31-1 ms.
  [{ taskTimeLimit: 30 * 86_400 }, /'taskTimeLimit'.*at most 2147483 \(about 24 days\)/],
  [{ taskDefaultRateLimit: '5/x' }, /'taskDefaultRateLimit'.*'10\/s'/],
  [{ alwaysEager: 'yes' }, /'alwaysEager'.*true or false/],
  [{ eagerPropagates: 1 }, /'eagerPropagates'.*true or false/],
  [{ taskSendSentEvent: null }, /'taskSendSentEvent'.*true or false/],
  [{ alwaysEagr: true }, /did you mean 'alwaysEager'/],
])('%j is refused', (options, message) => {
  expect(make(options)).toThrow(ConfigError);
  expect(make(options)).toThrow(message);
});

test('the defaults resolve as given', () => {
  const app = make({ taskTimeLimit: 30, taskSoftTimeLimit: 25.5, taskDefaultRateLimit: '100/m' })();
  expect(app.config).toMatchObject({
    taskTimeLimit: 30,
    taskSoftTimeLimit: 25.5,
    taskDefaultRateLimit: { tokens: 100, perMs: 60_000 },
    alwaysEager: false,
    eagerPropagates: false,
    taskSendSentEvent: false,
  });
  expect(() => app.worker({ timeLimit: 0 })).toThrow(/'timeLimit'.*seconds > 0/);
  expect(() => app.worker({ softTimeLimit: Number.NaN })).toThrow(/'softTimeLimit'/);
  expect(() => app.worker({ timeLimit: 2_147_484 })).toThrow(/'timeLimit'.*at most 2147483/);
  expect(() => app.worker({ shutdownGraceMs: Infinity })).toThrow(/'shutdownGraceMs'.*whole number from 0/);
  expect(() => app.worker({ prefetchMultiplier: -1 })).toThrow(/'prefetchMultiplier'.*whole number from 0/);
  expect(() => app.worker({ blockMs: '1000' as never })).toThrow(/'blockMs'.*got "1000"/);
  expect(() => app.worker({ maxRedeliveries: 0 })).toThrow(/'maxRedeliveries'.*whole number from 1/);
  return app.close();
});

test('a task time limit that setTimeout cannot arm is refused', () => {
  for (const timeLimit of [Infinity, 2_147_484])
    expect(() => resolveTaskOptions('t', { timeLimit })).toThrow(/task 't' option timeLimit.*at most 2147483/);
  expect(() => resolveTaskOptions('t', { softTimeLimit: 0 })).toThrow(/option softTimeLimit.*seconds > 0/);
  expect(() => resolveTaskOptions('t', { defaultRetryDelay: Infinity })).toThrow(/option defaultRetryDelay/);
  expect(resolveTaskOptions('t', { timeLimit: 2_147_483 }).timeLimit).toBe(2_147_483);
});

test('celeriac worker --time-limit with no number says what it expects', async () => {
  const root = join(__dirname, '../..');
  const child = spawn(
    process.execPath,
    [join(root, 'bin/celeriac.js'), 'worker', '--app', 'test/fixtures/parity-app/app.ts', '--time-limit', 'soon'],
    {
      cwd: root,
      env: { ...process.env, NODE_OPTIONS: '', CELERIAC_FROM_SOURCE: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  const { code } = await exited(child);
  expect({ code, out }).toEqual({
    code: 1,
    out: expect.stringMatching(/--time-limit 'soon': use a number of seconds > 0/),
  });
});
