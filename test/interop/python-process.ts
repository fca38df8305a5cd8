import { spawn, type ChildProcess } from 'node:child_process';
import { eventually } from '../helpers';

import { PYTHON } from './python';

/**
 * Python processes that print JSON lines (amqp_tool.py) and Celery workers, for the RabbitMQ
 * interop suite, whose Python side takes a vhost URL rather than python.ts's Redis key prefix.
 */

/** Every Python process a test file started, killed should jest exit without running afterAll. */
const children = new Set<ChildProcess>();
export const killChildren = () => children.forEach((c) => c.kill('SIGKILL'));
process.once('exit', killChildren);

export function pythonEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, PYTHONDONTWRITEBYTECODE: '1', ...extra };
  delete env.PYTHONPATH;
  delete env.PYTHONHOME;
  return env;
}

/** A Python process whose stdout JSON lines can be awaited one by one. */
export class PythonProcess {
  log = '';
  readonly lines: any[] = [];
  exitCode: number | null | undefined = undefined;

  constructor(
    readonly child: ChildProcess,
    lifetimeMs: number,
  ) {
    children.add(child);
    let partial = '';
    child.stdout!.on('data', (d) => {
      this.log += d;
      partial += d;
      const parts = partial.split('\n');
      partial = parts.pop()!;
      for (const line of parts) {
        try {
          this.lines.push(JSON.parse(line));
        } catch {
          // a log line, not a result
        }
      }
    });
    child.stderr!.on('data', (d) => (this.log += d));
    child.on('exit', (code) => {
      this.exitCode = code;
      children.delete(child);
    });
    // A process the test forgot (or a hung one) never outlives the test file's budget.
    setTimeout(() => child.kill('SIGKILL'), lifetimeMs).unref();
  }

  static start(args: string[], cwd: string, env: NodeJS.ProcessEnv, lifetimeMs = 60_000): PythonProcess {
    return new PythonProcess(spawn(PYTHON, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] }), lifetimeMs);
  }

  /** The first JSON line matching `pick`, waiting up to timeoutMs. */
  async line<T = any>(pick: (line: any) => boolean, timeoutMs = 20_000): Promise<T> {
    return eventually(
      () => {
        const found = this.lines.find(pick);
        if (found !== undefined) return found as T;
        if (this.exitCode !== undefined) throw new Error(`python exited (${this.exitCode}) without it:\n${this.log}`);
        throw new Error(`no such line from python within ${timeoutMs} ms:\n${this.log}`);
      },
      timeoutMs,
      25,
    );
  }

  async waitForLog(pattern: RegExp | string, timeoutMs = 10_000): Promise<void> {
    await eventually(
      () => {
        if (this.exitCode !== undefined) throw new Error(`python exited early:\n${this.log}`);
        const found = typeof pattern === 'string' ? this.log.includes(pattern) : pattern.test(this.log);
        if (!found) throw new Error(`python's log does not show ${pattern} within ${timeoutMs} ms:\n${this.log}`);
      },
      timeoutMs,
      50,
    );
  }

  /** Warm shutdown (SIGTERM), then SIGKILL after 5 s. */
  async stop(): Promise<void> {
    if (this.exitCode !== undefined) return;
    const exited = new Promise<void>((r) => this.child.once('exit', () => r()));
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(timer);
  }
}
