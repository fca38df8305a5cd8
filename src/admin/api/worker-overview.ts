import { Inspect } from '../../plugin/inspect';
import type { AdminContext } from '../context';

/** Everything a worker's page shows, asked of the worker in one round of pidbox inspect calls. */
export interface WorkerOverviewJson {
  worker: string;
  active: unknown[];
  reserved: unknown[];
  scheduled: unknown[];
  revoked: string[];
  /** Each task the worker runs, with its options as this app declares them (null: a task this app does not know, e.g. Python's). */
  registered: { name: string; options: Record<string, unknown> | null }[];
  stats: Record<string, unknown> | null;
  conf: Record<string, unknown> | null;
  queues: string[];
}

/**
 * Asks the worker everything at once (one reply queue per question, in parallel); a question it
 * did not answer in time comes back empty. Null when it answered none: the caller decides
 * between 404 (no such worker) and 504 (registered but silent).
 */
export async function loadWorkerOverview(ctx: AdminContext, name: string): Promise<WorkerOverviewJson | null> {
  const inspect = new Inspect(ctx.app.control, {
    destination: [name],
    timeoutMs: ctx.options.controlTimeoutMs,
    limit: 1,
  });
  const calls = [
    inspect.active(),
    inspect.reserved(),
    inspect.scheduled(),
    inspect.revoked(),
    inspect.registered(),
    inspect.stats(),
    inspect.conf(),
    inspect.activeQueues(),
  ] as const;
  const replies = await Promise.all(calls);
  if (replies.every((r) => !Object.hasOwn(r, name))) return null;
  const [active, reserved, scheduled, revoked, registered, stats, conf, queues] = replies.map((r) => r[name]);
  const list = <T>(v: unknown): T[] => (Array.isArray(v) ? (v as T[]) : []);
  return {
    worker: name,
    active: list(active),
    reserved: list(reserved),
    scheduled: list(scheduled),
    revoked: list<string>(revoked).map(String),
    registered: list<string>(registered).map((task) => ({
      name: String(task),
      options: taskOptions(ctx, String(task)),
    })),
    stats: stats && typeof stats === 'object' ? (stats as Record<string, unknown>) : null,
    conf: conf && typeof conf === 'object' && !('error' in conf) ? (conf as Record<string, unknown>) : null,
    queues: list<{ name?: unknown }>(queues).map((q) => String(q?.name ?? '')),
  };
}

/** The options worth showing: the ones set, in JSON (error classes by name). */
function taskOptions(ctx: AdminContext, name: string): Record<string, unknown> | null {
  const task = ctx.app.registry.all().find((t) => t.name === name);
  if (!task) return null;
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(task.options)) {
    if (value === undefined || value === null) continue;
    if (Array.isArray(value)) {
      if (value.length) out[key] = value.map((v) => (typeof v === 'function' ? v.name : String(v)));
    } else if (typeof value !== 'function' && typeof value !== 'object') out[key] = value;
    else if (value instanceof Date) out[key] = value.toISOString();
  }
  return out;
}
