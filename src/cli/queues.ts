import { createInterface } from 'node:readline/promises';
import type { Celeriac } from '../celeriac';
import { CeleriacError } from '../errors';
import { stringFlag } from './args';

/** The queues a command acts on: -Q a,b, else the app's own (default, declared, routed, per task). */
function queuesOf(app: Celeriac, flags: Map<string, string | true>): string[] {
  const given = stringFlag(flags, 'queues');
  if (given !== undefined) {
    const list = given
      .split(',')
      .map((q) => q.trim())
      .filter(Boolean);
    if (list.length === 0) throw new CeleriacError('-Q expects queue names, e.g. -Q celery,reports');
    return list;
  }
  const names = new Set([app.config.defaultQueue, ...(app.config.queues ?? [])]);
  for (const r of Object.values(app.config.routes)) if (r.queue) names.add(r.queue);
  for (const t of app.registry.all()) if (t.options.queue) names.add(t.options.queue);
  return [...names];
}

/**
 * `celeriac purge [-Q q1,q2] [-f]`: Celery's purge — delete every ready message of the app's
 * queues (or of -Q). Messages workers hold and delayed (eta/countdown) ones stay, as in Celery.
 * Asks first unless -f; with no terminal to ask, it refuses rather than guess.
 */
export async function purgeCommand(app: Celeriac, flags: Map<string, string | true>): Promise<void> {
  const queues = queuesOf(app, flags);
  if (!flags.has('force')) {
    const question = `WARNING: This will remove all tasks from ${queues.length === 1 ? 'queue' : 'queues'}: ${queues.join(', ')}.
         There is no undo for this operation!

    (to skip this prompt use the -f option)

Are you sure you want to delete all tasks (yes/NO)? `;
    if (!process.stdin.isTTY)
      throw new CeleriacError(
        `purge deletes the ready messages of ${queues.join(', ')} with no undo: pass -f to confirm (no terminal to ask).`,
      );
    const rl = createInterface({ input: process.stdin, output: process.stdout });
    const answer = (await rl.question(question)).trim().toLowerCase();
    rl.close();
    if (answer !== 'yes' && answer !== 'y') {
      console.log('Nothing purged.');
      return;
    }
  }
  const broker = await app.broker();
  let total = 0;
  for (const q of queues) total += await broker.queueAdmin.purge(q);
  console.log(
    total === 0
      ? 'No messages purged from ' + `${queues.length} known task ${queues.length === 1 ? 'queue' : 'queues'}.`
      : `Purged ${total} ${total === 1 ? 'message' : 'messages'} from ${queues.length} known task ${queues.length === 1 ? 'queue' : 'queues'}.`,
  );
}

/** `celeriac inspect queues [-Q …] [--json]`: each queue's counts from the broker (no worker needs to answer). */
export async function queueLengths(app: Celeriac, flags: Map<string, string | true>, json: boolean): Promise<void> {
  const broker = await app.broker();
  const counts = await broker.queueAdmin.counts(queuesOf(app, flags));
  if (json) {
    console.log(JSON.stringify(counts));
    return;
  }
  const show = (v: number | null) => (v === null ? '-' : String(v));
  const rows = [
    ['queue', 'ready', 'unacked', 'delayed', 'dead-lettered', 'consumers'],
    ...counts.queues.map((q) => [
      q.queue,
      String(q.ready),
      show(q.unacked),
      show(q.delayed),
      String(q.deadLettered),
      show(q.consumers),
    ]),
  ];
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  for (const r of rows)
    console.log(r.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  '));
  console.log(`\n${broker.kind}: delayed in all ${show(counts.delayed)}, dead-lettered in all ${counts.deadLettered}.`);
}
