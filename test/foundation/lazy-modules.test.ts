import { execFileSync } from 'node:child_process';
import { join } from 'node:path';

/**
 * A worker or beat loads the package's entry point but never builds the admin, and an app on
 * Redis never opens RabbitMQ: Express (with every admin route and page) and amqplib are required
 * only when celeriac.admin() or an amqp:// broker asks for them (bench/ANALYSIS.md, "second
 * wave": 791 → 611 modules at a worker's start). A static import of either from the worker's
 * path would load them again; this is where that shows. Likewise the TypeScript loader's compiler,
 * and TypeORM, luxon and cron-parser (issue 21: 603 → 211 modules in a built worker): the worker
 * and the sender run their SQL on a pg pool, and only migrations, beat and the admin's schedule
 * CRUD load TypeORM.
 */
const root = join(__dirname, '..', '..');

function loadedPackages(body: string, env: Record<string, string> = {}): string[] {
  const out = execFileSync(
    process.execPath,
    [
      '-e',
      `require('./bin/register-ts').register();
       ${body}
       const names = new Set();
       for (const f of Object.keys(require.cache)) {
         const m = /node_modules[\\\\/]((?:@[^\\\\/]+[\\\\/])?[^\\\\/]+)/.exec(f);
         if (m) names.add(m[1].replace(/\\\\/g, '/'));
       }
       process.stdout.write(JSON.stringify([...names]));`,
    ],
    { cwd: root, env: { ...process.env, NODE_OPTIONS: '', ...env }, encoding: 'utf8' },
  );
  return JSON.parse(out) as string[];
}

describe('modules a worker loads', () => {
  test('the package entry and a Redis app load neither Express, amqplib, msgpack, TypeORM, luxon nor cron-parser', () => {
    const loaded = loadedPackages(
      `const { Celeriac, task } = require('./src');
       const app = new Celeriac({
         brokerUrl: 'redis://127.0.0.1:6379/0',
         databaseUrl: 'postgres://postgres@127.0.0.1:5432/test',
         logger: { log() {} },
       });
       task('lazy.noop', () => null);
       app.worker({ concurrency: 2 });`,
    );
    expect(loaded).toContain('ioredis');
    expect(loaded).toContain('pg');
    for (const name of ['typeorm', 'reflect-metadata', 'luxon', 'cron-parser']) expect(loaded).not.toContain(name);
    expect(loaded).not.toContain('express');
    expect(loaded).not.toContain('amqplib');
    // JSON is the default serializer: msgpack loads with the first msgpack body (test/serial).
    expect(loaded).not.toContain('@msgpack/msgpack');
  });

  test('a worker on the async pool loads neither node:zlib, node:child_process nor node:worker_threads', () => {
    // Each is required where it is used (compressed bodies, the processes and threads pools):
    // 16 internal modules, ~4 ms of CPU at every start otherwise (bench/ANALYSIS.md, Fifth round).
    const out = execFileSync(
      process.execPath,
      [
        '-e',
        `require('./bin/register-ts').register();
         const { Celeriac, task } = require('./src');
         const app = new Celeriac({
           brokerUrl: 'redis://127.0.0.1:6379/0',
           databaseUrl: 'postgres://postgres@127.0.0.1:5432/test',
           logger: { log() {} },
         });
         task('lazy.noop', () => null);
         app.worker({ concurrency: 2 });
         const builtins = process.moduleLoadList.filter((m) => /^NativeModule (zlib|child_process|worker_threads)$/.test(m));
         process.stdout.write(JSON.stringify(builtins));`,
      ],
      { cwd: root, env: { ...process.env, NODE_OPTIONS: '' }, encoding: 'utf8' },
    );
    expect(JSON.parse(out)).toEqual([]);
  });

  test('admin() and an amqp:// broker still load what they need', () => {
    const loaded = loadedPackages(
      `const { Celeriac } = require('./src');
       const app = new Celeriac({ brokerUrl: 'amqp://guest:guest@127.0.0.1:5672', logger: { log() {} } });
       app.admin({ authorize: () => true });
       void app.broker();
       app.close();`,
    );
    expect(loaded).toContain('express');
    expect(loaded).toContain('amqplib');
  });

  test('beat(), a beatSchedule, migrations and the public Beat still load TypeORM and the schedule libraries', () => {
    const app = `const { Celeriac } = require('./src');
       const app = new Celeriac({ brokerUrl: 'redis://127.0.0.1:6379/0', logger: { log() {} } });`;
    expect(loadedPackages(`${app} app.beat();`)).toEqual(expect.arrayContaining(['typeorm', 'luxon', 'cron-parser']));
    expect(loadedPackages(`require('./src').Beat;`)).toEqual(expect.arrayContaining(['typeorm', 'luxon']));
    expect(loadedPackages(`require('./src').celeriacEntities;`)).toContain('typeorm');
    expect(
      loadedPackages(
        `new (require('./src').Celeriac)({ logger: { log() {} }, beatSchedule: { t: { task: 'x', schedule: 5 } } });`,
      ),
    ).toContain('luxon');
    expect(loadedPackages(`${app} app.dataSource().catch(() => {});`)).toContain('typeorm');
  });

  test("loading pg does not load Node's fetch implementation (undici), and fetch still works after", () => {
    // pg's lib/stream.js reads the global Response on load where there is no `navigator` (Node 20),
    // and that read loads undici (~45 ms of CPU at a worker's start; src/db/pg.ts).
    const out = execFileSync(
      process.execPath,
      [
        '-e',
        `require('./bin/register-ts').register();
         require('./src/db/database');
         const undici = () => process.moduleLoadList.some((m) => m.includes('undici'));
         const before = undici();
         const ok = new Response('x') instanceof Response;
         process.stdout.write(JSON.stringify({ before, ok, after: undici() }));`,
      ],
      { cwd: root, env: { ...process.env, NODE_OPTIONS: '' }, encoding: 'utf8' },
    );
    expect(JSON.parse(out)).toEqual({ before: false, ok: true, after: true });
  });

  test('the TypeScript loader loads its compiler only for the first .ts file', () => {
    // A worker on compiled JavaScript registers the loader (bin/celeriac.js always does) and never
    // needs @swc/core's native binding.
    expect(loadedPackages('')).not.toContain('@swc/core');
    // Without the compile cache (test/foundation/ts-cache.test.ts), which may hold src/log.ts.
    expect(loadedPackages(`require('./src/log.ts');`, { CELERIAC_TS_CACHE: '0' })).toContain('@swc/core');
  });
});
