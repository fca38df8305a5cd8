'use strict';
/**
 * Child processes of the harness: every sender and worker runs in its own process group, so a
 * kill reaches a worker's pool children too (Celery prefork), and every one has a deadline after
 * which the whole group is SIGKILLed. Children talk back with lines `BENCH_<TAG> <payload>` on
 * stdout; everything else they print goes to a log file under bench/results/logs/.
 */
const { spawn } = require('node:child_process');
const { createWriteStream, mkdirSync, readFileSync, existsSync } = require('node:fs');
const { join } = require('node:path');

const live = new Set();
const LOG_DIR = join(__dirname, '..', 'results', 'logs');

function killAll() {
  for (const c of live) c.killGroup('SIGKILL');
}
process.on('exit', killAll);
// Ctrl-C / SIGTERM: children die at once; run.js then wipes what the run left (onInterrupt).
let interruptHook = async () => {};
function onInterrupt(fn) {
  interruptHook = fn;
}
for (const sig of ['SIGINT', 'SIGTERM']) {
  process.on(sig, () => {
    killAll();
    const timer = setTimeout(() => process.exit(130), 15_000);
    interruptHook().finally(() => {
      clearTimeout(timer);
      process.exit(130);
    });
  });
}

class Child {
  /**
   * @param {string} name used in errors and for the log file
   * @param {string} cmd
   * @param {string[]} args
   * @param {{cwd?: string, env?: object, timeoutMs: number}} opts
   */
  constructor(name, cmd, args, opts) {
    this.name = name;
    this.tail = [];
    this.waiters = [];
    this.messages = [];
    mkdirSync(LOG_DIR, { recursive: true });
    this.logPath = join(LOG_DIR, `${name.replace(/[^\w.-]+/g, '_')}.log`);
    this.log = createWriteStream(this.logPath);
    this.log.write(`$ ${cmd} ${args.join(' ')}\n`);
    // The "timed from spawn" origin (W1): what a user waits, module loading included.
    this.spawnedAt = Date.now();
    this.proc = spawn(cmd, args, {
      cwd: opts.cwd,
      env: { ...process.env, ...opts.env },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    this.pid = this.proc.pid;
    this.lastRssKb = 0;
    live.add(this);
    this.exited = new Promise((resolve) => {
      this.proc.on('exit', (code, signal) => {
        live.delete(this);
        clearTimeout(this.deadline);
        this.exitInfo = { code, signal };
        // Let buffered output arrive before failing the waiters.
        setImmediate(() => {
          for (const w of this.waiters.splice(0))
            w.reject(
              new Error(`${this.name} exited (code ${code}, signal ${signal}) before BENCH_${w.tag}${this.tailText()}`),
            );
          this.log.end();
          resolve(this.exitInfo);
        });
      });
    });
    this.proc.on('error', (err) => this.log.write(`spawn error: ${err.message}\n`));
    const onData = (stream) => {
      let buf = '';
      return (chunk) => {
        buf += chunk;
        let i;
        while ((i = buf.indexOf('\n')) >= 0) {
          const line = buf.slice(0, i);
          buf = buf.slice(i + 1);
          this.onLine(stream, line);
        }
      };
    };
    this.proc.stdout.setEncoding('utf8').on('data', onData('out'));
    this.proc.stderr.setEncoding('utf8').on('data', onData('err'));
    this.deadline = setTimeout(() => {
      this.timedOut = true;
      this.log.write(`[harness] deadline of ${opts.timeoutMs} ms reached: SIGKILL\n`);
      this.killGroup('SIGKILL');
    }, opts.timeoutMs);
    this.deadline.unref();
  }

  onLine(stream, line) {
    this.log.write(`${stream === 'err' ? '! ' : ''}${line}\n`);
    const m = /^BENCH_([A-Z0-9_]+)(?: (.*))?$/.exec(line);
    if (m) {
      const msg = { tag: m[1], payload: m[2] ?? '', at: Date.now() };
      this.messages.push(msg);
      for (const w of [...this.waiters]) {
        if (w.tag === msg.tag) {
          this.waiters.splice(this.waiters.indexOf(w), 1);
          w.resolve(msg);
        }
      }
      return;
    }
    this.tail.push(line);
    if (this.tail.length > 30) this.tail.shift();
  }

  tailText() {
    return this.tail.length
      ? `\n  last output of ${this.name} (${this.logPath}):\n    ${this.tail.slice(-12).join('\n    ')}`
      : '';
  }

  /** Resolves with the first `BENCH_<tag>` message (already received or coming). */
  waitFor(tag, timeoutMs) {
    const seen = this.messages.find((m) => m.tag === tag);
    if (seen) return Promise.resolve(seen);
    if (this.exitInfo)
      return Promise.reject(new Error(`${this.name} already exited before BENCH_${tag}${this.tailText()}`));
    return new Promise((resolve, reject) => {
      const w = { tag, resolve, reject };
      const timer = setTimeout(() => {
        this.waiters.splice(this.waiters.indexOf(w), 1);
        reject(new Error(`${this.name}: no BENCH_${tag} within ${timeoutMs} ms${this.tailText()}`));
      }, timeoutMs);
      w.resolve = (m) => (clearTimeout(timer), resolve(m));
      w.reject = (e) => (clearTimeout(timer), reject(e));
      this.waiters.push(w);
    });
  }

  /** Resolves with the JSON payload of BENCH_RESULT once the child has exited with code 0. */
  async result(timeoutMs) {
    const msg = await this.waitFor('RESULT', timeoutMs);
    const { code, signal } = await this.exited;
    if (code !== 0) throw new Error(`${this.name} exited with code ${code} (signal ${signal})${this.tailText()}`);
    return JSON.parse(msg.payload);
  }

  /** Peak resident memory (VmHWM) summed over the process and all its descendants, in KiB. */
  peakRssKb() {
    let total = 0;
    for (const pid of descendants(this.pid)) {
      try {
        const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
        if (m) total += Number(m[1]);
      } catch {
        /* gone */
      }
    }
    if (total > 0) this.lastRssKb = total;
    return this.lastRssKb;
  }

  /** pid → CPU ms so far, for the process and its live descendants (see cpu.js cpuDelta). */
  cpuSnapshot() {
    return require('./cpu').cpuByPid(descendants(this.pid));
  }

  killGroup(signal) {
    try {
      process.kill(-this.pid, signal);
    } catch {
      /* already gone */
    }
  }

  /** SIGTERM the group, then SIGKILL it if it has not exited within graceMs. */
  async stop(graceMs = 10_000) {
    if (this.exitInfo) return this.exitInfo;
    this.killGroup('SIGTERM');
    const timer = setTimeout(() => this.killGroup('SIGKILL'), graceMs);
    const info = await this.exited;
    clearTimeout(timer);
    // Pool children that outlived their parent (Celery prefork) go too.
    this.killGroup('SIGKILL');
    return info;
  }
}

function descendants(pid) {
  const out = [pid];
  for (let i = 0; i < out.length; i++) {
    const taskDir = `/proc/${out[i]}/task`;
    if (!existsSync(taskDir)) continue;
    try {
      for (const tid of require('node:fs').readdirSync(taskDir)) {
        const kids = readFileSync(`${taskDir}/${tid}/children`, 'utf8').trim();
        if (kids) out.push(...kids.split(/\s+/).map(Number));
      }
    } catch {
      /* raced with exit */
    }
  }
  return out;
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Polls fn() until it returns a truthy value or the deadline passes; returns the value or null. */
async function until(fn, { timeoutMs, stepMs = 20 }) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() >= deadline) return null;
    await sleep(stepMs);
  }
}

module.exports = { Child, sleep, until, onInterrupt, LOG_DIR };
