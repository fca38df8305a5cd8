import { join } from 'node:path';
import { Celeriac, DuplicateTaskError, taskOf } from '../../src';
import { silentLogger } from '../../src/log';
import { registry } from '../../src/plugin/registry';
import { Tc39Tasks } from '../fixtures/tc39/tasks';
import { MailTasks } from '../fixtures/apps/mail/tasks';

const fixtures = join(__dirname, '../fixtures');
const app = new Celeriac({
  brokerUrl: 'memory://tasks-test',
  logger: silentLogger,
  apps: [join(fixtures, 'apps'), join(fixtures, 'nested')],
});
afterAll(() => app.close());

const ctx = {} as any;

test('autodiscovery imports every tasks module under the app folders, nested ones too', () => {
  expect(app.discovered.map((f) => f.slice(fixtures.length))).toEqual([
    '/apps/mail/tasks.ts',
    '/apps/math/tasks.ts',
    '/nested/shop/orders/tasks.ts',
  ]);
  expect(registry.names()).toEqual(
    expect.arrayContaining(['math.add', 'math.echo', 'mail.ping', 'test.fixtures.apps.mail.tasks.send']),
  );
});

test('default names follow Celery: module path plus function name', () => {
  expect(registry.has('test.fixtures.apps.math.tasks.multiply')).toBe(true);
  expect(registry.has('test.fixtures.nested.shop.orders.tasks.settle')).toBe(true);
});

test('legacy (experimentalDecorators) methods: instance state and static methods', async () => {
  const send = taskOf(MailTasks.prototype.send);
  expect(send.name).toBe('test.fixtures.apps.mail.tasks.send');
  expect(send.options.queue).toBe('mail');
  expect(send.options.maxRetries).toBe(5);
  expect(await send.run(ctx, ['x@y.z', 's'], {})).toEqual({ to: 'x@y.z', subject: 's', count: 1 });
  expect(await send.run(ctx, ['x@y.z', 's'], {})).toMatchObject({ count: 2 });
  expect(await taskOf(MailTasks.ping).run(ctx, [], {})).toBe('pong');
});

test('standard (TC39) decorators: the same API', async () => {
  // Loaded through autodiscovery-like binding: the class is found through Symbol.metadata.
  require('../../src/plugin/task').bindOwners({ Tc39Tasks });
  const scale = taskOf(Tc39Tasks.prototype.scale);
  expect(scale.name).toBe('tc39.scale');
  expect(await scale.run(ctx, [4], {})).toBe(40);
  const greet = taskOf(Tc39Tasks.greet);
  expect(greet.name).toBe('test.fixtures.tc39.tasks.greet');
  expect(await greet.run(ctx, ['ada'], {})).toBe('hello ada');
});

test('kwargs arrive as one trailing object', async () => {
  expect(await registry.require('math.echo').run(ctx, [1, 2], { k: 'v' })).toEqual([1, 2, { k: 'v' }]);
  expect(await registry.require('math.echo').run(ctx, [1, 2], {})).toEqual([1, 2]);
});

test('two tasks with one name is an error naming both files', () => {
  expect(() => new Celeriac({ brokerUrl: 'memory://', logger: silentLogger, apps: [join(fixtures, 'dup')] })).toThrow(
    DuplicateTaskError,
  );
  try {
    new Celeriac({ brokerUrl: 'memory://', logger: silentLogger, apps: [join(fixtures, 'dup')] });
  } catch (err) {
    expect((err as Error).message).toMatch(/'dup.same'.*dup\/a\/tasks\.ts.*dup\/b\/tasks\.ts/);
  }
});

test('a missing app folder is named', () => {
  expect(() => new Celeriac({ brokerUrl: 'memory://', logger: silentLogger, apps: [join(fixtures, 'nope')] })).toThrow(
    /App folder .*nope.* does not exist/,
  );
});

test('bad task options are refused at definition', () => {
  const { task } = require('../../src');
  expect(() => task('bad.rate', () => 1, { rateLimit: '10 per second' })).toThrow(
    /'10 per second' is not a rate: use '10\/s'/,
  );
  expect(() => task('bad.prio', () => 1, { priority: 42 })).toThrow(/priority/);
  expect(() => task('bad.opt', () => 1, { retrys: 3 })).toThrow(/retrys.*unknown option/);
});

describe('taskModules: which task modules autodiscovery imports', () => {
  const made = (options: Record<string, unknown>) =>
    new Celeriac({ brokerUrl: 'memory://', logger: silentLogger, apps: [join(fixtures, 'apps')], ...options });
  const withEnv = <T>(value: string, fn: () => T): T => {
    process.env.CELERIAC_TASK_MODULES = value;
    try {
      return fn();
    } finally {
      delete process.env.CELERIAC_TASK_MODULES;
    }
  };

  test("'auto' under Jest imports the tasks.ts sources; 'ts' says so outright", async () => {
    for (const taskModules of ['auto', 'ts']) {
      const a = made({ taskModules });
      expect(a.discovered.map((f) => f.slice(fixtures.length))).toEqual(['/apps/mail/tasks.ts', '/apps/math/tasks.ts']);
      await a.close();
    }
  });

  test("'js', as option or CELERIAC_TASK_MODULES, imports compiled tasks.js only (none here)", async () => {
    for (const a of [made({ taskModules: 'js' }), withEnv('js', () => made({}))]) {
      expect(a.discovered).toEqual([]);
      await a.close();
    }
  });

  test('a bad value is named with the ones that would be right', () => {
    expect(() => made({ taskModules: 'typescript' })).toThrow(
      /taskModules.*'typescript': use 'ts' .*, 'js' .* or 'auto'/,
    );
    expect(() => withEnv('TS', () => made({}))).toThrow(/CELERIAC_TASK_MODULES.*'TS': use 'ts'/);
  });
});
