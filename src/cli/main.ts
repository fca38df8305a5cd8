import { CeleriacError } from '../errors';
import { intFlag, parseArgs, stringFlag } from './args';
import { loadApp } from './load-app';
import { remoteCommand, remoteUsage } from './inspect';
import { parseAutoscale } from '../worker/autoscale';

const usage = `Usage: celeriac <command> --app <module> [options]

Commands:
  migrate                       apply Celeriac's database migrations (safe to repeat)
  worker [-Q q1,q2] [-c N] [--pool async|threads] [-n name] [--prefetch-multiplier N]
                                consume and run tasks
         [--autoscale max,min] [--autoscale-keepalive-ms N]
         [--max-tasks-per-child N] [--max-memory-per-child KiB] (threads pool)
  beat [--name id]              send scheduled tasks from the database schedules (run several for HA)
${remoteUsage}

  --app, -A <module>            the module exporting your Celeriac instance (as Celery's -A)`;

const aliases: Record<string, string> = {
  '-A': 'app',
  '-Q': 'queues',
  '-c': 'concurrency',
  '-n': 'hostname',
  '-P': 'pool',
  '-h': 'help',
};

export async function main(argv: string[]): Promise<void> {
  const { command, flags } = parseArgs(argv, aliases);
  if (!command || flags.has('help')) {
    console.log(usage);
    process.exitCode = command ? 0 : 2;
    return;
  }
  try {
    switch (command) {
      case 'migrate':
        return await migrateCommand(flags);
      case 'worker':
        return await workerCommand(flags);
      case 'beat':
        return await beatCommand(flags);
      case 'inspect':
      case 'control':
        return await remoteCommand(argv);
      default:
        throw new CeleriacError(`Unknown command '${command}'.\n${usage}`);
    }
  } catch (err) {
    console.error(`celeriac ${command}: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  }
}

async function migrateCommand(flags: Map<string, string | true>): Promise<void> {
  const { app } = loadApp(stringFlag(flags, 'app'));
  const applied = await app.migrate();
  console.log(
    applied.length ? `Applied: ${applied.join(', ')}` : 'No migrations to apply: the database is up to date.',
  );
  await app.close();
}

async function workerCommand(flags: Map<string, string | true>): Promise<void> {
  const { app, file } = loadApp(stringFlag(flags, 'app'));
  const pool = stringFlag(flags, 'pool');
  if (pool !== undefined && pool !== 'async' && pool !== 'threads')
    throw new CeleriacError(`--pool '${pool}': use async or threads`);
  const worker = app.worker({
    appModule: file,
    queues: stringFlag(flags, 'queues')?.split(',').filter(Boolean),
    concurrency: intFlag(flags, 'concurrency'),
    pool,
    name: stringFlag(flags, 'hostname'),
    prefetchMultiplier: intFlag(flags, 'prefetch-multiplier'),
    shutdownGraceMs: intFlag(flags, 'grace-ms'),
    autoscale: autoscaleFlag(flags),
    maxTasksPerChild: intFlag(flags, 'max-tasks-per-child'),
    maxMemoryPerChild: intFlag(flags, 'max-memory-per-child'),
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
