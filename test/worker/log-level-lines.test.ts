import { join } from 'node:path';
import type { Celeriac } from '../../src';
import type { LogLevel } from '../../src/log';
import { consoleLogger, silentLogger } from '../../src/log';
import { containedLogger } from '../../src/contain';
import type { Worker } from '../../src/worker/worker';
import { alwaysFlaky, quick } from '../fixtures/behave/tasks';
import { cleanup, makeApp } from '../helpers';

/**
 * A logger that says it writes no info lines (isLevelEnabled) is not handed the worker's per-task
 * info lines, which are then never built; its error lines and every other line still come, and a
 * logger that says nothing, or says info, gets the per-task lines word for word as before.
 */
let app: Celeriac;
let worker: Worker;
const lines: string[] = [];
let enabled: ((level: LogLevel) => boolean) | 'absent' = 'absent';

beforeAll(async () => {
  const logger = {
    log(level: LogLevel, message: string) {
      lines.push(`${level}: ${message}`);
    },
  } as { log(level: LogLevel, message: string): void; isLevelEnabled?: (level: LogLevel) => boolean };
  Object.defineProperty(logger, 'isLevelEnabled', {
    get: () => (enabled === 'absent' ? undefined : enabled),
  });
  app = await makeApp('log_level_lines', { apps: [join(__dirname, '../fixtures/behave')], logger });
  worker = app.worker({ name: 'lines@test', concurrency: 2 });
  await worker.start();
});
afterAll(async () => {
  await cleanup(app);
});

async function runOne(): Promise<string> {
  const r = await quick.delay(1);
  await r.get({ timeout: 10 });
  return r.id;
}

test.each([
  ['says nothing', 'absent' as const, true],
  ['says info is written', (level: LogLevel) => level !== 'debug', true],
  ['says info is not written', (level: LogLevel) => level === 'warn' || level === 'error', false],
])('a logger that %s: the per-task success line', async (_what, says, expected) => {
  enabled = says;
  lines.length = 0;
  const id = await runOne();
  const line = lines.find((l) => l.includes(id));
  if (expected) expect(line).toMatch(new RegExp(`^info: task behave\\.quick\\[${id}\\] succeeded in \\d+\\.\\d{3}s$`));
  else expect(line).toBeUndefined();
});

test('error lines still come to a logger that writes no info lines', async () => {
  enabled = (level) => level === 'error';
  lines.length = 0;
  const r = await alwaysFlaky.delay();
  await expect(r.get({ timeout: 20 })).rejects.toThrow();
  expect(lines.filter((l) => l.includes(r.id) && l.startsWith('error: ') && l.includes(' failed in '))).toHaveLength(1);
  expect(lines.filter((l) => l.startsWith('info: ') && l.includes(r.id))).toEqual([]);
});

test('isLevelEnabled: the console logger from its level, the silent one never, a contained one as the app logger says (yes when it says nothing)', () => {
  const warn = consoleLogger('text', 'warn');
  expect((['debug', 'info', 'warn', 'error'] as const).map((l) => warn.isLevelEnabled!(l))).toEqual([
    false,
    false,
    true,
    true,
  ]);
  expect(silentLogger.isLevelEnabled!('error')).toBe(false);
  expect(containedLogger({ log() {} }).isLevelEnabled!('debug')).toBe(true);
  // One that throws when asked is treated as writing the line: its log() decides.
  const throwing = containedLogger({
    log() {},
    isLevelEnabled() {
      throw new Error('no');
    },
  });
  expect(throwing.isLevelEnabled!('info')).toBe(true);
});
