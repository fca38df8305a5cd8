import { CeleriacError } from '../errors';
import type { Replies } from '../plugin/inspect';
import { parseArgs, rejectUnknownFlags, stringFlag } from './args';
import { loadApp } from './load-app';
import { purgeCommand, queueLengths } from './queues';

export const remoteUsage = `  inspect <action> [-d w1,w2] [-t seconds] [--json]
                                ask workers: ping | active | reserved | scheduled | registered |
                                revoked | stats | active-queues | conf | query-task ID... | clock
  inspect queues [-Q q1,q2] [--json]
                                each queue's ready, unacked, delayed and dead-lettered messages
  purge [-Q q1,q2] [-f]         delete every ready message of the app's queues (asks unless -f)
  control <action> [args] [-d w1,w2] [-t seconds] [--json]
                                tell workers: shutdown | pool-grow [N] | pool-shrink [N] |
                                autoscale MAX MIN | add-consumer QUEUE | cancel-consumer QUEUE |
                                rate-limit TASK RATE | time-limit TASK SOFT [HARD] | pool-restart |
                                revoke ID...`;

/** Action → [Celery method, arguments from the positional words]. */
type Compile = (words: string[]) => Record<string, unknown>;

const inspectActions: Record<string, Compile> = {
  ping: none,
  active: none,
  reserved: none,
  scheduled: none,
  registered: none,
  revoked: none,
  stats: none,
  active_queues: none,
  conf: none,
  clock: none,
  query_task: (w) => ({ ids: need(w, 1, 'query-task ID [ID...]') }),
};

const controlActions: Record<string, Compile> = {
  shutdown: none,
  pool_restart: none,
  pool_grow: (w) => ({ n: w[0] === undefined ? 1 : int(w[0], 'N') }),
  pool_shrink: (w) => ({ n: w[0] === undefined ? 1 : int(w[0], 'N') }),
  autoscale: (w) => {
    const [max, min] = need(w, 2, 'autoscale MAX MIN');
    return { max: int(max, 'MAX'), min: int(min, 'MIN') };
  },
  add_consumer: (w) => ({ queue: need(w, 1, 'add-consumer QUEUE')[0] }),
  cancel_consumer: (w) => ({ queue: need(w, 1, 'cancel-consumer QUEUE')[0] }),
  rate_limit: (w) => {
    const [task, rate] = need(w, 2, 'rate-limit TASK RATE (e.g. 10/s, 100/m; 0 lifts it)');
    return { task_name: task, rate_limit: rate };
  },
  time_limit: (w) => {
    const [task, soft, hard] = need(w, 2, 'time-limit TASK SOFT [HARD] (seconds)');
    return { task_name: task, soft: seconds(soft, 'SOFT'), hard: hard === undefined ? null : seconds(hard, 'HARD') };
  },
  revoke: (w) => ({ task_id: need(w, 1, 'revoke ID [ID...]'), terminate: false }),
};

const aliases: Record<string, string> = {
  '-A': 'app',
  '-d': 'destination',
  '-t': 'timeout',
  '-h': 'help',
  '-Q': 'queues',
};

/** Celery's exit code when no node replied (EX_UNAVAILABLE). */
const EX_UNAVAILABLE = 69;

/** `celeriac inspect …` and `celeriac control …`: broadcast, collect the replies, print them as Celery does (or as JSON). */
export async function remoteCommand(argv: string[]): Promise<void> {
  // --json takes no value; take it out before parseArgs, which would swallow the next word as one.
  const valueless = ['--json', '-j', '--force', '-f'];
  const json = argv.some((a) => a === '--json' || a === '-j');
  const { command, positional, flags } = parseArgs(
    argv.filter((a) => !valueless.includes(a)),
    aliases,
  );
  if (argv.some((a) => a === '--force' || a === '-f')) flags.set('force', true);
  const kind = command as 'inspect' | 'control' | 'purge';
  const queueCommand = kind === 'purge' || (kind === 'inspect' && positional[0] === 'queues');
  rejectUnknownFlags(
    queueCommand ? `${kind}${kind === 'inspect' ? ' queues' : ''}` : kind,
    flags,
    queueCommand ? ['app', 'queues', ...(kind === 'purge' ? ['force'] : [])] : ['app', 'destination', 'timeout'],
  );
  if (queueCommand) {
    const { app } = loadApp(stringFlag(flags, 'app'));
    try {
      await (kind === 'purge' ? purgeCommand(app, flags) : queueLengths(app, flags, json));
    } finally {
      await app.close();
    }
    return;
  }
  const table = kind === 'inspect' ? inspectActions : controlActions;
  const [actionWord, ...words] = positional;
  const action = actionWord?.replace(/-/g, '_');
  if (!action || !Object.prototype.hasOwnProperty.call(table, action)) {
    const known = Object.keys(table)
      .map((a) => a.replace(/_/g, '-'))
      .join(', ');
    throw new CeleriacError(
      `${actionWord ? `Unknown ${kind} action '${actionWord}'` : `Missing the ${kind} action`}: use one of ${known}.`,
    );
  }
  const args = table[action](words);
  const timeoutText = stringFlag(flags, 'timeout');
  const timeoutSeconds = timeoutText === undefined ? 1 : Number(timeoutText);
  if (!Number.isFinite(timeoutSeconds) || timeoutSeconds <= 0)
    throw new CeleriacError(`--timeout expects seconds > 0, got '${timeoutText}'`);
  const destination = stringFlag(flags, 'destination')
    ?.split(',')
    .map((s) => s.trim())
    .filter(Boolean);

  const { app } = loadApp(stringFlag(flags, 'app'));
  let replies: Replies;
  try {
    replies = await app.control.broadcast(action, args, { destination, timeoutMs: timeoutSeconds * 1000 });
  } finally {
    await app.close();
  }
  const nodes = Object.keys(replies);
  if (nodes.length === 0) {
    console.error('Error: No nodes replied within time constraint');
    process.exitCode = EX_UNAVAILABLE;
    return;
  }
  if (json) {
    console.log(JSON.stringify(replies));
    return;
  }
  for (const node of nodes) {
    const [status, body] = pretty(replies[node]);
    console.log(`->  ${node}: ${status}`);
    console.log(indent(body, 8));
  }
  if (kind === 'inspect') console.log(`\n${nodes.length} ${nodes.length === 1 ? 'node' : 'nodes'} online.`);
}

/** celery/bin/base.py `pretty`: lists as bullets, {ok}/{error} unwrapped, other objects as indented JSON. */
function pretty(value: unknown): ['OK' | 'ERROR', string] {
  if (Array.isArray(value)) {
    if (value.length === 0) return ['OK', '- empty -'];
    return [
      'OK',
      value
        .map((v) => `* ${typeof v === 'string' ? v : indent(JSON.stringify(sortKeys(v), null, 4), 2).trimStart()}`)
        .join('\n'),
    ];
  }
  if (value && typeof value === 'object') {
    const o = value as Record<string, unknown>;
    if ('ok' in o) return ['OK', pretty(o.ok)[1]];
    if ('error' in o) return ['ERROR', pretty(o.error)[1]];
    return ['OK', JSON.stringify(sortKeys(value), null, 4)];
  }
  return ['OK', typeof value === 'string' ? value : JSON.stringify(value)];
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value && typeof value === 'object')
    return Object.fromEntries(
      Object.keys(value)
        .sort()
        .map((k) => [k, sortKeys((value as Record<string, unknown>)[k])]),
    );
  return value;
}

function indent(text: string, n: number): string {
  return text
    .split('\n')
    .map((line) => ' '.repeat(n) + line)
    .join('\n');
}

function none(): Record<string, unknown> {
  return {};
}

function need(words: string[], n: number, usage: string): string[] {
  if (words.length < n) throw new CeleriacError(`Usage: ${usage}`);
  return words;
}

function int(text: string, name: string): number {
  const n = Number(text);
  if (!Number.isInteger(n)) throw new CeleriacError(`${name} must be an integer, got '${text}'`);
  return n;
}

function seconds(text: string, name: string): number {
  const n = Number(text);
  if (!Number.isFinite(n) || n < 0) throw new CeleriacError(`${name} must be seconds >= 0, got '${text}'`);
  return n;
}
