import { Router, type Request } from 'express';
import { reservedQueueProblem } from '../../broker/keys';
import { textProblem } from '../../db/limits';
import type { AdminContext } from '../context';
import { queryInt, validationFailed, fieldErrors } from '../http';
import { countsByState, throughputPerMinute } from '../sql';
import type { QueueJson, StatsJson, WorkerJson } from '../types';

/**
 * A worker is online while its heartbeat is younger than its lease: past that, the broker has
 * already handed its messages to another worker, so calling it online would mislead.
 */
export async function listWorkers(ctx: AdminContext, now = Date.now()): Promise<WorkerJson[]> {
  const raw = await ctx.bounded(
    'the worker registry (Redis)',
    ctx.app.broker().then((b) => b.listWorkerInfo()),
  );
  const staleAfterMs = ctx.app.config.leaseMs + 1000;
  const workers: WorkerJson[] = [];
  for (const [name, text] of Object.entries(raw)) {
    let info: Record<string, any> = {};
    try {
      info = JSON.parse(text);
    } catch {
      // A registry entry we cannot read still names a worker: show it, offline.
    }
    const heartbeatAt = typeof info.heartbeatAt === 'number' ? info.heartbeatAt : null;
    const age = heartbeatAt === null ? null : Math.max(0, now - heartbeatAt);
    const num = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) ? v : 0);
    workers.push({
      name,
      hostname: typeof info.hostname === 'string' ? info.hostname : null,
      pid: typeof info.pid === 'number' ? info.pid : null,
      status: age !== null && age < staleAfterMs ? 'online' : 'offline',
      queues: Array.isArray(info.queues) ? info.queues.map(String) : [],
      concurrency: typeof info.concurrency === 'number' ? info.concurrency : null,
      pool: typeof info.pool === 'string' ? info.pool : null,
      active: num(info.active),
      held: num(info.held),
      processed: num(info.processed),
      succeeded: num(info.succeeded),
      failed: num(info.failed),
      retried: num(info.retried),
      startedAt: typeof info.startedAt === 'number' ? new Date(info.startedAt).toISOString() : null,
      heartbeatAt: heartbeatAt === null ? null : new Date(heartbeatAt).toISOString(),
      heartbeatAgeMs: age,
    });
  }
  workers.sort((a, b) => (a.status === b.status ? a.name.localeCompare(b.name) : a.status === 'online' ? -1 : 1));
  return workers;
}

export async function listQueues(
  ctx: AdminContext,
  workers: WorkerJson[],
  asked: string[] = [],
): Promise<{ queues: QueueJson[]; delayed: number | null; deadLettered: number }> {
  const names = ctx.knownQueues([...workers.filter((w) => w.status === 'online').flatMap((w) => w.queues), ...asked]);
  const counts = await ctx.bounded(
    'the broker',
    ctx.app.broker().then((broker) => broker.queueAdmin.counts(names)),
  );
  const queues = counts.queues.map(({ queue, ...c }) => ({ name: queue, length: c.ready, ...c }));
  return { queues, delayed: counts.delayed, deadLettered: counts.deadLettered };
}

export async function loadStats(ctx: AdminContext, windowMinutes: number, now = new Date()): Promise<StatsJson> {
  const end = new Date(Math.floor(now.getTime() / 60_000) * 60_000 + 60_000);
  const start = new Date(end.getTime() - windowMinutes * 60_000);
  await ctx.store();
  const [countRows, buckets, workers] = await Promise.all([
    ctx.query<{ status: string; n: number }>('counts', countsByState(ctx.results), [start.toISOString()]),
    ctx.query<{ minute: string | Date; succeeded: number; failed: number; total: number }>(
      'throughput',
      throughputPerMinute(ctx.results),
      [start.toISOString(), end.toISOString()],
    ),
    listWorkers(ctx, now.getTime()),
  ]);
  const { queues, delayed, deadLettered } = await listQueues(ctx, workers);
  const counts: Record<string, number> = {};
  for (const r of countRows) counts[r.status] = Number(r.n);
  const byMinute = new Map(buckets.map((b) => [new Date(b.minute).getTime(), b]));
  const throughput: StatsJson['throughput'] = [];
  for (let t = start.getTime(); t < end.getTime(); t += 60_000) {
    const b = byMinute.get(t);
    throughput.push({
      minute: new Date(t).toISOString(),
      succeeded: Number(b?.succeeded ?? 0),
      failed: Number(b?.failed ?? 0),
      total: Number(b?.total ?? 0),
    });
  }
  return {
    counts,
    windowMinutes,
    throughput,
    workersOnline: workers.filter((w) => w.status === 'online').length,
    workersOffline: workers.filter((w) => w.status === 'offline').length,
    queues,
    delayed,
    deadLettered,
  };
}

export function monitorRoutes(ctx: AdminContext): Router {
  const router = Router();

  router.get('/api/workers', async (_req, res) => {
    res.set('Cache-Control', 'no-store').json({ workers: await listWorkers(ctx) });
  });

  router.get('/api/queues', async (req, res) => {
    const asked = askedQueues(req);
    const workers = await listWorkers(ctx);
    res.set('Cache-Control', 'no-store').json(await listQueues(ctx, workers, asked));
  });

  router.get('/api/stats', async (req, res) => {
    const errors = fieldErrors();
    const minutes = queryInt(req, 'minutes', errors, 5, 1440, 60);
    if (Object.keys(errors).length) throw validationFailed(errors);
    res.set('Cache-Control', 'no-store').json(await loadStats(ctx, minutes));
  });

  router.get('/api/events', async (_req, res) => {
    if (ctx.hub.size >= ctx.hub.maxClients) {
      return void res
        .status(503)
        .set('Retry-After', '10')
        .json({
          error: 'too_many_streams',
          message: `The admin already serves ${ctx.hub.maxClients} event streams (maxSseClients).`,
        });
    }
    await ctx.hub.attach(res);
  });

  return router;
}

/** `?queue=a&queue=b`: queues to count though no worker consumes them (RabbitMQ cannot list queues without its management plugin). */
export function askedQueues(req: Request): string[] {
  const raw = req.query.queue;
  const list = raw === undefined ? [] : Array.isArray(raw) ? raw : [raw];
  const errors = fieldErrors();
  if (list.length > 20) errors.queue = 'ask for at most 20 queues at once';
  const names = list.map(String).filter((q) => q !== '');
  for (const q of names) {
    const problem =
      q.length > 255 ? 'a queue name is at most 255 characters' : (textProblem(q) ?? reservedQueueProblem(q));
    if (problem) errors.queue = problem;
  }
  if (Object.keys(errors).length) throw validationFailed(errors);
  return names;
}
