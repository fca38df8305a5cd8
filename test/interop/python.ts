import { spawn, type ChildProcess } from 'node:child_process';
import { eventually, REDIS_URL } from '../helpers';

/**
 * Real Celery 5.2.6 (kombu 5.2.4, Debian's /usr/bin/python3) for interop tests: send_tasks.py
 * runs one request and prints JSON; a `celery worker` runs celery_app.py's tasks. Both share the
 * test app's Redis keys through kombu's `global_keyprefix` (= the app's keyPrefix). Every process
 * started here is killed when the test process exits, even if afterAll never runs.
 */
export const PYTHON = '/usr/bin/python3'; // the pyenv python3 on PATH has no celery

export class PythonSide {
  private readonly children = new Set<ChildProcess>();
  private readonly killAll = () => this.children.forEach((c) => c.kill('SIGKILL'));

  constructor(
    private readonly dir: string,
    private readonly prefix: string,
    private readonly recordKey: string,
  ) {
    process.once('exit', this.killAll);
  }

  env(): NodeJS.ProcessEnv {
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      PYTHONDONTWRITEBYTECODE: '1',
      INTEROP_BROKER_URL: REDIS_URL,
      INTEROP_KEY_PREFIX: this.prefix,
      INTEROP_RECORD_KEY: this.recordKey,
    };
    delete env.PYTHONPATH;
    delete env.PYTHONHOME;
    return env;
  }

  /** Runs send_tasks.py with one JSON request; resolves its JSON reply. Killed after timeoutMs. */
  sendTasks(request: unknown, timeoutMs = 15_000): Promise<any> {
    return new Promise((resolve, reject) => {
      const child = this.track(
        spawn(PYTHON, ['send_tasks.py', JSON.stringify(request)], {
          cwd: this.dir,
          env: this.env(),
          stdio: ['ignore', 'pipe', 'pipe'],
        }),
      );
      let stdout = '';
      let stderr = '';
      child.stdout!.on('data', (d) => (stdout += d));
      child.stderr!.on('data', (d) => (stderr += d));
      const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
      child.on('error', reject);
      child.on('close', (code, signal) => {
        clearTimeout(timer);
        if (code !== 0) return reject(new Error(`send_tasks.py exited with ${code ?? signal}:\n${stderr}`));
        try {
          resolve(JSON.parse(stdout.trim().split('\n').pop()!));
        } catch {
          reject(new Error(`send_tasks.py printed no JSON:\n${stdout}\n${stderr}`));
        }
      });
    });
  }

  /** `celery -A celery_app worker --pool solo -Q <queue>`, ready to take tasks. */
  async startWorker(queue: string, lifetimeMs = 55_000): Promise<PythonWorker> {
    const child = this.track(
      spawn(
        PYTHON,
        [
          '-m',
          'celery',
          '-A',
          'celery_app',
          'worker',
          '--pool',
          'solo',
          '-Q',
          queue,
          '-n',
          'py-interop@%h',
          '--without-mingle',
          '--without-gossip',
          '--without-heartbeat',
          '--loglevel',
          'INFO',
        ],
        { cwd: this.dir, env: this.env(), stdio: ['ignore', 'pipe', 'pipe'] },
      ),
    );
    // A worker the test forgot (or a hung one) never outlives the test file's budget.
    setTimeout(() => child.kill('SIGKILL'), lifetimeMs).unref();
    const worker = new PythonWorker(child);
    await worker.waitForLog(/py-interop@\S+ ready\./, 20_000);
    return worker;
  }

  close(): void {
    this.killAll();
    process.removeListener('exit', this.killAll);
  }

  private track(child: ChildProcess): ChildProcess {
    this.children.add(child);
    child.on('exit', () => this.children.delete(child));
    return child;
  }
}

/** A running Celery worker, with its log kept for assertions. */
export class PythonWorker {
  log = '';
  private exited = false;
  constructor(readonly child: ChildProcess) {
    child.stdout!.on('data', (d) => (this.log += d));
    child.stderr!.on('data', (d) => (this.log += d));
    child.on('exit', () => (this.exited = true));
  }

  async waitForLog(pattern: RegExp | string, timeoutMs = 10_000): Promise<void> {
    await eventually(
      () => {
        if (this.exited) throw new Error(`the Celery worker exited early:\n${this.log}`);
        const found = typeof pattern === 'string' ? this.log.includes(pattern) : pattern.test(this.log);
        if (!found)
          throw new Error(`the Celery worker's log does not show ${pattern} within ${timeoutMs} ms:\n${this.log}`);
      },
      timeoutMs,
      50,
    );
  }

  /** Warm shutdown (SIGTERM), then SIGKILL if it takes more than 5 s. */
  async stop(): Promise<void> {
    if (this.exited) return;
    const exited = new Promise<void>((r) => this.child.once('exit', () => r()));
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(timer);
  }
}
