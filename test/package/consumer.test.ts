/**
 * Celeriac as someone else's dependency (issue 17): `npm pack` (the prepare script builds dist/
 * from nothing), then for a fresh CommonJS app and a fresh ES-module app, each in a temp folder:
 * `npm install` the tarball (from npm's cache when it can: --prefer-offline; the second app from the
 * first one's lockfile), run `celeriac init` (CommonJS app), write the code blocks
 * of README's "Use it in your app", compile them (tsc, `strict`) and the type tests against the package,
 * `npm run migrate`, start web, worker and beat from the README's npm scripts, send a task from a
 * route and poll it to SUCCESS through the app's /tasks/:id, ask the admin for a page, and let beat
 * run a schedule created through the admin's API.
 *
 * Between them the two apps load --app in every shape: TypeScript sources in a CommonJS app and
 * in an ES-module app, compiled CommonJS and compiled ES modules. Timings are printed, never asserted.
 */
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, sep } from 'node:path';
import Redis from 'ioredis';
import { Client } from 'pg';
import { appModuleTemplate } from '../../src/cli/init';
import { DATABASE_URL, REDIS_URL, eventually, isolation } from '../helpers';
import { ROOT, Service, cleanEnv, freePort, readmeFiles, run } from './consumer';

const { parseJsonc } = require('../../bin/register-ts.js');
const rootPkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));
const MIN = 60_000;

interface Shape {
  /** The app's package.json "type". */
  type: 'commonjs' | 'module';
  web: string;
  worker: string;
  /** Extra flags for the worker script (npm run worker -- …). */
  workerArgs: string[];
  beat: string;
}

const shapes: Record<'cjs' | 'esm', Shape> = {
  // TypeScript sources for web and worker, compiled CommonJS for beat.
  // The worker runs the threads pool, whose threads load the app again from the installed package.
  cjs: {
    type: 'commonjs',
    web: 'web',
    worker: 'worker',
    workerArgs: ['--pool', 'threads', '-c', '2'],
    beat: 'start:beat',
  },
  // Compiled ES modules for web and worker, TypeScript sources (ESM style) for beat.
  esm: { type: 'module', web: 'start', worker: 'start:worker', workerArgs: [], beat: 'beat' },
};

const work = mkdtempSync(join(tmpdir(), 'celeriac-consumer-'));
const timings: Record<string, number> = {};
let tarball = '';

/** A JSON response body, loosely typed: the test checks its shape itself. */
async function body(res: Response): Promise<any> {
  return res.json();
}

async function timed<T>(label: string, fn: () => Promise<T>): Promise<T> {
  const t0 = performance.now();
  try {
    return await fn();
  } finally {
    timings[label] = Math.round(performance.now() - t0);
  }
}

beforeAll(async () => {
  const out = await timed('npm pack (build included)', () =>
    run('npm', ['pack', '--json', '--pack-destination', work], { cwd: ROOT, env: cleanEnv({}), timeoutMs: 3 * MIN }),
  );
  const [info] = JSON.parse(out.slice(out.indexOf('[')));
  tarball = join(work, info.filename);
  const files: string[] = info.files.map((f: { path: string }) => f.path);
  for (const needed of [
    'dist/src/index.js',
    'dist/src/index.d.ts',
    'dist/src/cli/main.js',
    'dist/migrations/index.js',
    'bin/celeriac.js',
    'bin/register-ts.js',
    'bin/register.js',
    // Every file of src/ that tsc does not emit (Lua scripts, the admin's static files).
    ...assetsOf(join(ROOT, 'src')).map((f) => 'dist/' + relative(ROOT, f).split(sep).join('/')),
  ])
    expect(files).toContain(needed);
  // Sources, tests and the repository's tooling stay out: an installed copy runs its build.
  expect(files.filter((f) => /^(src|test|bench|sample-app|scripts)\//.test(f))).toEqual([]);
}, 4 * MIN);

function assetsOf(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name);
    if (e.isDirectory()) return assetsOf(path);
    return /\.(ts|md)$/.test(e.name) ? [] : [path];
  });
}

afterAll(() => {
  rmSync(work, { recursive: true, force: true });
  console.log(
    'consumer test timings (ms):\n' +
      Object.entries(timings)
        .map(([k, v]) => `  ${k}: ${v}`)
        .join('\n'),
  );
});

describe.each(Object.entries(shapes))('a fresh %s app', (label, shape) => {
  const dir = join(work, label);
  const iso = isolation(`consumer_${label}`);
  const adminToken = `token-${iso.keyPrefix}`;
  const services: Service[] = [];
  let env: NodeJS.ProcessEnv;
  let base = '';

  beforeAll(async () => {
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    env = cleanEnv({
      DATABASE_URL,
      CELERIAC_BROKER_URL: REDIS_URL,
      CELERIAC_SCHEMA: iso.schema,
      CELERIAC_KEY_PREFIX: iso.keyPrefix,
      ADMIN_TOKEN: adminToken,
      PORT: String(port),
    });
  });

  afterAll(async () => {
    for (const s of services.splice(0)) await s.stop().catch(() => {});
    const pg = new Client({ connectionString: DATABASE_URL });
    await pg.connect();
    await pg.query(`DROP SCHEMA IF EXISTS "${iso.schema}" CASCADE`);
    await pg.end();
    const redis = new Redis(REDIS_URL);
    const keys = await redis.keys(`${iso.keyPrefix}*`);
    if (keys.length) await redis.del(...keys);
    await redis.quit();
  });

  test(
    'installs from the tarball and type-checks the README under strict',
    async () => {
      mkdirSync(dir, { recursive: true });
      writeFileSync(
        join(dir, 'package.json'),
        JSON.stringify({ name: `consumer-${label}`, private: true, type: shape.type }, null, 2),
      );
      const dev = rootPkg.devDependencies;
      const deps = [
        tarball,
        `express@${rootPkg.dependencies.express}`,
        `typescript@${dev.typescript}`,
        `@types/express@${dev['@types/express']}`,
        `@types/node@${dev['@types/node']}`,
      ];
      if (label === 'cjs') {
        await timed(`${label}: npm install`, () =>
          run('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', ...deps], {
            cwd: dir,
            env,
            timeoutMs: 4 * MIN,
          }),
        );
      } else {
        // The same dependencies resolve to the same tree whatever the app's module type, so the
        // second app starts from the first one's lockfile and node_modules, and npm only checks them
        // (a second full install would double the slowest step of this file for nothing new).
        const cjs = join(work, 'cjs');
        const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
        pkg.dependencies = JSON.parse(readFileSync(join(cjs, 'package.json'), 'utf8')).dependencies;
        writeFileSync(join(dir, 'package.json'), JSON.stringify(pkg, null, 2));
        cpSync(join(cjs, 'package-lock.json'), join(dir, 'package-lock.json'));
        cpSync(join(cjs, 'node_modules'), join(dir, 'node_modules'), { recursive: true, verbatimSymlinks: true });
        await timed(`${label}: npm install (from the first app's lockfile)`, () =>
          run('npm', ['install', '--offline', '--no-audit', '--no-fund'], { cwd: dir, env, timeoutMs: 4 * MIN }),
        );
      }
      const readme = readmeFiles();
      if (label === 'cjs') {
        // `celeriac init` writes what the README shows: the app module and three scripts.
        await run(join(dir, 'node_modules/.bin/celeriac'), ['init'], { cwd: dir, env, timeoutMs: MIN });
        expect(readFileSync(join(dir, 'src/celeriac.ts'), 'utf8')).toBe(readme.get('src/celeriac.ts'));
        expect(readme.get('src/celeriac.ts')).toBe(appModuleTemplate);
        const { scripts } = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
        const readmeScripts = JSON.parse(readme.get('package.json')!).scripts;
        for (const name of ['migrate', 'worker', 'beat']) expect(scripts[name]).toBe(readmeScripts[name]);
      }
      for (const [file, text] of readme) {
        const path = join(dir, file);
        mkdirSync(dirname(path), { recursive: true });
        if (file === 'package.json') {
          const pkg = JSON.parse(readFileSync(path, 'utf8'));
          pkg.scripts = { ...pkg.scripts, ...JSON.parse(text).scripts };
          writeFileSync(path, JSON.stringify(pkg, null, 2));
        } else if (file === 'tsconfig.json' && shape.type === 'module') {
          // What the README says changes for an ES-module app; standard decorators then.
          const config = parseJsonc(text);
          config.compilerOptions.module = 'nodenext';
          delete config.compilerOptions.experimentalDecorators;
          delete config.compilerOptions.emitDecoratorMetadata;
          writeFileSync(path, JSON.stringify(config, null, 2));
        } else writeFileSync(path, text);
      }
      expect([...readme.keys()].sort()).toEqual([
        'package.json',
        'src/celeriac.ts',
        'src/reports/tasks.ts',
        'src/server.ts',
        'tsconfig.json',
      ]);

      // The build compiles the README's code under its strict tsconfig (declaration files checked
      // too); then the type tests (test/package/types) against the installed package.
      await timed(`${label}: npm run build (tsc on the README's code)`, () =>
        run('npm', ['run', '--silent', 'build'], { cwd: dir, env, timeoutMs: 3 * MIN }),
      );
      mkdirSync(join(dir, 'typetests'));
      for (const f of ['api.ts', 'published.ts'])
        writeFileSync(join(dir, 'typetests', f), readFileSync(join(__dirname, 'types', f), 'utf8'));
      writeFileSync(
        join(dir, 'tsconfig.typetests.json'),
        JSON.stringify({
          extends: './tsconfig.json',
          compilerOptions: { noEmit: true, rootDir: '.', skipLibCheck: true },
          include: ['typetests'],
        }),
      );
      await timed(`${label}: tsc --noEmit (type tests)`, () =>
        run(join(dir, 'node_modules/.bin/tsc'), ['-p', 'tsconfig.typetests.json'], {
          cwd: dir,
          env,
          timeoutMs: 3 * MIN,
        }),
      );
      expect(existsSync(join(dir, 'dist/reports/tasks.js'))).toBe(true);
    },
    10 * MIN,
  );

  test(
    'migrates, runs web, worker and beat from npm scripts, and a polled task reaches SUCCESS',
    async () => {
      const migrated = await timed(`${label}: npm run migrate`, () =>
        run('npm', ['run', '--silent', 'migrate'], { cwd: dir, env, timeoutMs: 2 * MIN }),
      );
      expect(migrated).toMatch(/Applied: /);

      const started = performance.now();
      const web = new Service(`${label} web`, dir, shape.web, env);
      const worker = new Service(`${label} worker`, dir, shape.worker, env, shape.workerArgs);
      const beat = new Service(`${label} beat`, dir, shape.beat, env);
      services.push(web, worker, beat);
      await Promise.all([
        web.waitFor(/listening on http/, 2 * MIN),
        worker.waitFor(/worker ready/, 2 * MIN),
        beat.waitFor(/beat started/, 2 * MIN),
      ]);
      timings[`${label}: web + worker + beat ready`] = Math.round(performance.now() - started);
      expect(worker.output).toMatch(shape.workerArgs.includes('threads') ? /threads pool of 2/ : /async pool of 10/);

      // A route sends a typed task; the page's poll (the app's /tasks/:id) sees it through to SUCCESS.
      const sentAt = performance.now();
      const res = await fetch(`${base}/reports`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ title: 'Q3 <board>' }),
      });
      expect(res.status).toBe(202);
      const { taskId, statusUrl } = await body(res);
      const seen = new Set<string>();
      const final = await eventually(
        async () => {
          const s = await body(await fetch(base + statusUrl));
          seen.add(s.state);
          if (!s.ready) throw new Error(`still ${s.state}`);
          return s;
        },
        2 * MIN,
        100,
      );
      timings[`${label}: POST /reports → SUCCESS polled`] = Math.round(performance.now() - sentAt);
      expect(final).toMatchObject({ id: taskId, state: 'SUCCESS', result: { title: 'Q3 <board>', pages: 5 } });
      expect(seen.has('SUCCESS')).toBe(true);

      expect(await body(await fetch(`${base}/add?a=2&b=3`))).toEqual({ sum: 5 });
      expect((await fetch(`${base}/tasks/00000000-0000-4000-8000-000000000000`)).status).toBe(404);

      // The admin answers, behind the README's authorize.
      const auth = { authorization: `Bearer ${adminToken}` };
      expect((await fetch(`${base}/admin/celeriac/`)).status).toBe(401);
      const page = await fetch(`${base}/admin/celeriac/`, { headers: auth });
      expect(page.status).toBe(200);
      expect(await page.text()).toContain('Celeriac');
      const registered = await body(await fetch(`${base}/admin/celeriac/api/registered`, { headers: auth }));
      expect(registered.tasks.map((t: { name: string }) => t.name)).toEqual(
        expect.arrayContaining(['reports.add', 'reports.digest', 'reports.tasks.build']),
      );

      // A schedule made through the admin's API: beat (from its npm script) sends it, the worker runs
      // it, and the task knows its slot (ctx.scheduledAt).
      const created = await fetch(`${base}/admin/celeriac/api/periodic-tasks`, {
        method: 'POST',
        headers: { ...auth, 'content-type': 'application/json', origin: base },
        body: JSON.stringify({ name: 'digest every second', task: 'reports.digest', schedule: 1 }),
      });
      expect(created.status).toBe(201);
      const digest = await eventually(
        async () => {
          const list = await body(
            await fetch(`${base}/admin/celeriac/api/tasks?task=reports.digest&state=SUCCESS`, { headers: auth }),
          );
          if (list.items.length === 0) throw new Error('no digest run yet');
          return body(await fetch(`${base}/tasks/${list.items[0].id}`));
        },
        2 * MIN,
        200,
      );
      expect(digest.result.due).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);

      for (const s of services.splice(0)) await s.stop();
      expect(worker.output).toMatch(/worker stopped/);
      expect(beat.output).toMatch(/beat stopped/);
    },
    10 * MIN,
  );
});
