import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import type { Celeriac } from '../../src';
import { DATABASE_URL, fixtureEnv, REDIS_URL } from '../helpers';

const root = join(__dirname, '../..');

/** A real worker process running the fixture app through the CLI, as a user would start it. */
export function spawnWorker(
  app: Celeriac,
  args: string[] = [],
  env: Record<string, string> = {},
  appModule = join(root, 'test/fixtures/worker-app/app.ts'),
): ChildProcess & { output: () => string } {
  const child = spawn(process.execPath, [join(root, 'bin/celeriac.js'), 'worker', '--app', appModule, ...args], {
    cwd: root,
    env: {
      ...process.env,
      NODE_OPTIONS: '',
      CELERIAC_FROM_SOURCE: '1',
      DATABASE_URL,
      CELERIAC_BROKER_URL: REDIS_URL,
      ...fixtureEnv(app),
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  return Object.assign(child, { output: () => out });
}

export function exited(child: ChildProcess): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  if (child.exitCode !== null || child.signalCode !== null)
    return Promise.resolve({ code: child.exitCode, signal: child.signalCode });
  return new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
}

/** Resolves once the worker logged that it consumes (its queues are being read), or fails with its output. */
export async function ready(child: ChildProcess & { output: () => string }, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!child.output().includes('worker ready')) {
    if (child.exitCode !== null || child.signalCode !== null || Date.now() > deadline) {
      throw new Error(`worker did not become ready:\n${child.output()}`);
    }
    await new Promise((r) => setTimeout(r, 20));
  }
}
