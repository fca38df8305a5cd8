import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';

export const ROOT = join(__dirname, '..', '..');

/**
 * The code blocks of README.md's "Use it in your app" section that name a file (```ts file=src/x.ts):
 * the consumer test writes exactly these into its apps, so the README cannot drift from what works.
 */
export function readmeFiles(): Map<string, string> {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const start = readme.indexOf('\n## Use it in your app\n');
  if (start < 0) throw new Error('README.md has no "## Use it in your app" section');
  const end = readme.indexOf('\n## ', start + 1);
  const section = readme.slice(start, end < 0 ? undefined : end);
  const files = new Map<string, string>();
  for (const m of section.matchAll(/^```\w*\s+file=(\S+)\n([\s\S]*?)^```$/gm)) files.set(m[1], m[2]);
  return files;
}

/** The environment of the consumer's processes: the machine's, without what npm and jest set for us. */
export function cleanEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    // npm_config_* would point the consumer's npm at this repository; JEST_WORKER_ID changes
    // how autodiscovery picks files; NODE_OPTIONS carries jest's VM-modules flag.
    if (k.startsWith('npm_') || k === 'NODE_OPTIONS' || k === 'JEST_WORKER_ID' || k === 'INIT_CWD') continue;
    env[k] = v;
  }
  return { ...env, ...extra };
}

/** A command run to completion; throws with its output when it fails or outlives `timeoutMs`. */
export function run(
  cmd: string,
  args: string[],
  opts: { cwd: string; env: NodeJS.ProcessEnv; timeoutMs: number },
): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd: opts.cwd, env: opts.env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    const timer = setTimeout(() => {
      killGroup(child, 'SIGKILL');
      reject(new Error(`${cmd} ${args.join(' ')} did not finish within ${opts.timeoutMs} ms:\n${out}`));
    }, opts.timeoutMs);
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      if (code === 0) resolve(out);
      else reject(new Error(`${cmd} ${args.join(' ')} exited with ${code}:\n${out}`));
    });
  });
}

/** A long-running process of the consumer app (web, worker, beat), started through npm. */
export class Service {
  readonly child: ChildProcess;
  output = '';
  private readonly exited: Promise<number | null>;

  constructor(
    readonly label: string,
    cwd: string,
    script: string,
    env: NodeJS.ProcessEnv,
    args: string[] = [],
  ) {
    // Its own process group: npm runs sh, which runs node; signals must reach the last one.
    this.child = spawn('npm', ['run', '--silent', script, ...(args.length ? ['--', ...args] : [])], {
      cwd,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    this.child.stdout!.on('data', (d) => (this.output += d));
    this.child.stderr!.on('data', (d) => (this.output += d));
    this.exited = new Promise((resolve) => this.child.on('exit', (code) => resolve(code)));
  }

  /** Resolves when the output matches; fails when the process exits first or `timeoutMs` passes. */
  async waitFor(pattern: RegExp, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let exitCode: number | null | undefined;
    void this.exited.then((c) => (exitCode = c));
    while (!pattern.test(this.output)) {
      if (exitCode !== undefined)
        throw new Error(`${this.label} exited (${exitCode}) before ${pattern}:\n${this.output}`);
      if (Date.now() > deadline)
        throw new Error(`${this.label}: no ${pattern} within ${timeoutMs} ms:\n${this.output}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /**
   * SIGTERM to the whole process group, as a terminal's Ctrl-C or a container stop sends it, then
   * waits until no process of the group is left (npm exits before the node it started, so npm's
   * exit says nothing; the service's own last log line does). SIGKILL after `timeoutMs`.
   */
  async stop(timeoutMs = 40_000): Promise<void> {
    killGroup(this.child, 'SIGTERM');
    const deadline = Date.now() + timeoutMs;
    while (groupAlive(this.child)) {
      if (Date.now() > deadline) {
        killGroup(this.child, 'SIGKILL');
        throw new Error(`${this.label} did not stop within ${timeoutMs} ms of SIGTERM:\n${this.output}`);
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    await this.exited;
  }
}

function groupAlive(child: ChildProcess): boolean {
  try {
    process.kill(-child.pid!, 0);
    return true;
  } catch {
    return false;
  }
}

function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  try {
    process.kill(-child.pid!, signal);
  } catch {
    // already gone
  }
}

/** A free port in this test's range (7600-7699), so consumer web apps never take another's port. */
export async function freePort(from = 7600, to = 7699): Promise<number> {
  const start = from + Math.floor(Math.random() * (to - from + 1));
  for (let i = 0; i <= to - from; i++) {
    const port = from + ((start - from + i) % (to - from + 1));
    const ok = await new Promise<boolean>((resolve) => {
      const server = createServer();
      server.once('error', () => resolve(false));
      server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
    });
    if (ok) return port;
  }
  throw new Error(`no free port in ${from}-${to}`);
}
