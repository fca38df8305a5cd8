import { CeleriacError } from '../errors';
import { hostnameFlag, intFlag, parseArgs, rejectUnknownFlags, stringFlag } from './args';
import { loadApp, requireUserModule } from './load-app';
import { init } from './init';
import { remoteCommand, remoteUsage } from './inspect';
import { parseAutoscale } from '../worker/autoscale';
import { packageFile } from '../package-files';
import { applyWorkerHeapFlags, appliedWorkerHeapFlags } from '../worker/heap-flags';
import { growYoungGenerationTo, semiSpaceMiB } from '../worker/young-generation';

const usage = `Usage: celeriac <command> --app <module> [options]

Commands:
  init [--dir src]              write the app module (<dir>/celeriac.ts) and npm scripts for migrate, worker, beat
  migrate                       apply Celeriac's database migrations (safe to repeat)
          [--django-trigger [off]]  tables: 'django': install (or remove) the NOTIFY trigger on Django's
                                django_celery_beat_periodictasks that wakes beat on a change (opt-in)
  worker [-Q q1,q2] [-c N] [--pool async|threads|processes] [-n name@%h] [--prefetch-multiplier N]
                                consume and run tasks
         [--autoscale max,min] [--autoscale-keepalive-ms N]
         [--max-tasks-per-child N] [--max-memory-per-child KiB] (threads, processes)
         [--time-limit S] [--soft-time-limit S]  limits for tasks that set none
         [--grace-ms N]         how long SIGTERM waits for running tasks (30000)
  beat [--name id]              send scheduled tasks from the database schedules (run several for HA)
${remoteUsage}
  run <file.ts|file.js>         run a script of the app (its web server) with TypeScript support

  --app, -A <module>            the module exporting your Celeriac instance (as Celery's -A):
                                TypeScript sources (compiled on load) or compiled CommonJS / ESM
  --help, -h                    this text;  --version: the package version`;

/** The flags each command takes (by their long names; aliases resolve to these). */
const commandFlags: Record<string, string[]> = {
  init: ['dir'],
  migrate: ['app', 'django-trigger'],
  worker: [
    'app',
    'queues',
    'concurrency',
    'pool',
    'hostname',
    'prefetch-multiplier',
    'grace-ms',
    'autoscale',
    'autoscale-keepalive-ms',
    'max-tasks-per-child',
    'max-memory-per-child',
    'time-limit',
    'soft-time-limit',
  ],
  beat: ['app', 'name'],
};

const aliases: Record<string, string> = {
  '-A': 'app',
  '-Q': 'queues',
  '-c': 'concurrency',
  '-n': 'hostname',
  '-P': 'pool',
  '-h': 'help',
};

export async function main(argv: string[]): Promise<void> {
  const { command, flags, positional } = parseArgs(argv, aliases);
  if (flags.has('version') || command === 'version') {
    console.log(require(packageFile('package.json')).version);
    return;
  }
  if (flags.has('help') || command === 'help') {
    console.log(usage);
    return;
  }
  if (!command) {
    // A usage error (as Celery's and most CLIs'), unlike an explicit --help.
    console.error(usage);
    process.exitCode = 2;
    return;
  }
  try {
    if (commandFlags[command]) rejectUnknownFlags(command, flags, commandFlags[command]);
    switch (command) {
      case 'init':
        return initCommand(flags);
      case 'run':
        return runCommand(positional, argv);
      case 'migrate':
        return await migrateCommand(flags);
      case 'worker':
        return await workerCommand(flags);
      case 'beat':
        return await beatCommand(flags);
      case 'inspect':
      case 'control':
      case 'purge':
        return await remoteCommand(argv);
      default:
        throw new CeleriacError(`Unknown command '${command}'.\n${usage}`);
    }
  } catch (err) {
    console.error(`celeriac ${command}: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  }
}

function initCommand(flags: Map<string, string | true>): void {
  const { written, skipped, scripts } = init(process.cwd(), stringFlag(flags, 'dir'));
  for (const f of written) console.log(`wrote ${f}`);
  for (const [name, command] of Object.entries(scripts)) console.log(`added npm script ${name}: ${command}`);
  for (const s of skipped) console.log(`kept ${s}`);
  console.log(
    '\nNext: define tasks in a tasks.ts next to your code, run `npm run migrate` once, then `npm run worker` and `npm run beat`.\n' +
      'Give your Express app `app.use(celeriac.middleware())`: README "Use it in your app".',
  );
}

/** `celeriac run src/server.ts [args…]`: manage.py runserver's habit, for any script of the app. */
function runCommand(positional: string[], argv: string[]): void {
  const file = positional[0];
  if (!file) throw new CeleriacError('Usage: celeriac run <file.ts|file.js> [args…], e.g. celeriac run src/server.ts');
  // The script sees its own arguments, as if run with node.
  process.argv = [process.argv[0], file, ...argv.slice(argv.indexOf(file) + 1)];
  requireUserModule(file, 'celeriac run');
}

async function migrateCommand(flags: Map<string, string | true>): Promise<void> {
  const { app } = loadApp(stringFlag(flags, 'app'));
  const trigger = flags.get('django-trigger');
  if (trigger !== undefined && trigger !== true && trigger !== 'on' && trigger !== 'off')
    throw new CeleriacError(`--django-trigger '${trigger}': give no value (or 'on') to install it, 'off' to remove it`);
  const applied = await app.migrate(trigger === undefined ? {} : { djangoTrigger: trigger !== 'off' });
  if (trigger !== undefined)
    console.log(
      `Django change trigger ${trigger === 'off' ? 'removed' : 'installed'} on django_celery_beat_periodictasks.`,
    );
  console.log(
    applied.length ? `Applied: ${applied.join(', ')}` : 'No migrations to apply: the database is up to date.',
  );
  await app.close();
}

async function workerCommand(flags: Map<string, string | true>): Promise<void> {
  // Before the app loads: loading the package is what would grow the young generation.
  applyWorkerHeapFlags();
  const youngMiB = semiSpaceMiB();
  const { app, file } = loadApp(stringFlag(flags, 'app'));
  const pool = stringFlag(flags, 'pool');
  if (pool !== undefined && pool !== 'async' && pool !== 'threads' && pool !== 'processes')
    throw new CeleriacError(`--pool '${pool}': use async, threads or processes`);
  // Loaded: the young generation may now grow to its cap, in this process's heap only (V8's
  // flags are process-wide: a factor of 2 would reach a threads pool's heaps too).
  if ((pool ?? 'async') === 'async' && appliedWorkerHeapFlags().includes('--semi-space-growth-factor=1'))
    growYoungGenerationTo(youngMiB);
  const worker = app.worker({
    appModule: file,
    queues: stringFlag(flags, 'queues')?.split(',').filter(Boolean),
    concurrency: intFlag(flags, 'concurrency'),
    pool,
    name: hostnameFlag(flags),
    prefetchMultiplier: intFlag(flags, 'prefetch-multiplier'),
    shutdownGraceMs: intFlag(flags, 'grace-ms'),
    autoscale: autoscaleFlag(flags),
    maxTasksPerChild: intFlag(flags, 'max-tasks-per-child'),
    maxMemoryPerChild: intFlag(flags, 'max-memory-per-child'),
    timeLimit: secondsFlag(flags, 'time-limit'),
    softTimeLimit: secondsFlag(flags, 'soft-time-limit'),
  });
  // Handlers first: a SIGTERM that lands while the worker is still starting (tasks may already
  // run) must wait for start-up and then stop gracefully, not kill the process outright.
  const started = worker.start();
  const shutdown = onShutdown(async () => {
    await started.catch(() => {});
    await worker.stop();
    await app.close();
  });
  worker.on('shutdown-requested', () => shutdown('remote control shutdown'));
  await started;
}

/** Seconds, as Celery's --time-limit takes them (fractions allowed). */
function secondsFlag(flags: Map<string, string | true>, name: string): number | undefined {
  const value = stringFlag(flags, name);
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0)
    throw new CeleriacError(`--${name} '${value}': use a number of seconds > 0, e.g. --${name} 300`);
  return n;
}

function autoscaleFlag(flags: Map<string, string | true>) {
  const value = stringFlag(flags, 'autoscale');
  if (value === undefined) return undefined;
  return { ...parseAutoscale(value), keepaliveMs: intFlag(flags, 'autoscale-keepalive-ms') };
}

async function beatCommand(flags: Map<string, string | true>): Promise<void> {
  const { app } = loadApp(stringFlag(flags, 'app'));
  const beat = app.beat({ name: stringFlag(flags, 'name') });
  const started = beat.start();
  onShutdown(async () => {
    await started.catch(() => {});
    await beat.stop();
    await app.close();
  });
  await started;
}

/**
 * SIGTERM/SIGINT: stop gracefully and exit 0; a second signal exits at once. Returns the same
 * graceful stop for other triggers (control shutdown).
 */
function onShutdown(stop: () => Promise<void>): (reason: string) => void {
  let stopping = false;
  const handler = (signal: string) => {
    if (stopping) {
      if (signal.startsWith('SIG')) process.exit(130);
      return;
    }
    stopping = true;
    console.error(`celeriac: ${signal} received, shutting down gracefully (send SIGTERM again to exit now)`);
    stop().then(
      () => process.exit(0),
      (err) => {
        console.error(`celeriac: shutdown failed: ${(err as Error).message}`);
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', handler);
  process.on('SIGINT', handler);
  return handler;
}
