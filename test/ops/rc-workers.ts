import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import type { Celeriac } from '../../src';
import { DATABASE_URL, fixtureEnv } from '../helpers';
import { exited } from '../worker/child';

const root = join(__dirname, '../..');
export const RC_APP = join(root, 'test/fixtures/remote-control/app.ts');
export const RC_JOBS = join(root, 'test/fixtures/remote-control/jobs');

export type Child = ChildProcess & { output: () => string };

/** The environment a child process of the remote-control fixture app needs to share `app`'s broker, schema and key prefix. */
export function childEnv(app: Celeriac): NodeJS.ProcessEnv {
  return {
    ...process.env,
    NODE_OPTIONS: '',
    CELERIAC_FROM_SOURCE: '1',
    DATABASE_URL,
    CELERIAC_BROKER_URL: app.config.brokerUrl,
    ...fixtureEnv(app),
  };
}

/** `celeriac <args> --app test/fixtures/remote-control/app.ts` as a child process, its output kept. */
export function celeriac(app: Celeriac, args: string[]): Child {
  const child = spawn(process.execPath, [join(root, 'bin/celeriac.js'), ...args, '--app', RC_APP], {
    cwd: root,
    env: childEnv(app),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  return Object.assign(child, { output: () => out });
}

/** A real worker process, as `celeriac worker` starts it. */
export function spawnRcWorker(app: Celeriac, args: string[]): Child {
  return celeriac(app, ['worker', ...args]);
}

/** Runs a one-shot CLI command to its end. */
export async function runCli(
  app: Celeriac,
  args: string[],
): Promise<{ code: number | null; stdout: string; output: string }> {
  const child = celeriac(app, args);
  let stdout = '';
  child.stdout!.on('data', (d) => (stdout += d));
  // 'close', not 'exit': the output streams may still hold data when the process has exited.
  const code = await new Promise<number | null>((resolve) => child.once('close', (c) => resolve(c)));
  return { code, stdout, output: child.output() };
}

/** SIGTERM whatever is still running and wait for it, so no test leaves a worker behind. */
export async function stopAll(children: Iterable<Child>): Promise<void> {
  await Promise.all(
    [...children].map(async (c) => {
      if (c.exitCode !== null || c.signalCode !== null) return;
      c.kill('SIGTERM');
      const timer = setTimeout(() => c.kill('SIGKILL'), 10_000);
      await exited(c);
      clearTimeout(timer);
    }),
  );
}
