import { Router } from 'express';
import type { AdminContext } from '../context';
import { fieldErrors, queryInt, queryString, validationFailed } from '../http';

/**
 * Flower's per-task charts: for each task name (the busiest first), succeeded and failed per
 * minute and the runtime percentiles (p50/p95/p99, ms) of the tasks finished in each minute.
 * Read through the date_done index over a bounded window; the busiest TOP_TASKS names only.
 */
const TOP_TASKS = 8;

export function taskStatsSql(results: string): string {
  return `WITH win AS (
            SELECT task_name, status, date_trunc('minute', date_done) AS minute,
                   extract(epoch FROM date_done - date_started) * 1000 AS ms
              FROM ${results}
             WHERE date_done >= $1 AND date_done < $2 AND status IN ('SUCCESS', 'FAILURE')
               AND ($3::text IS NULL OR task_name = $3)
          ), top AS (
            SELECT task_name FROM win GROUP BY task_name ORDER BY count(*) DESC, task_name LIMIT ${TOP_TASKS}
          )
          SELECT w.task_name, w.minute,
                 count(*) FILTER (WHERE w.status = 'SUCCESS')::int AS succeeded,
                 count(*) FILTER (WHERE w.status = 'FAILURE')::int AS failed,
                 percentile_cont(0.5) WITHIN GROUP (ORDER BY w.ms) AS p50,
                 percentile_cont(0.95) WITHIN GROUP (ORDER BY w.ms) AS p95,
                 percentile_cont(0.99) WITHIN GROUP (ORDER BY w.ms) AS p99
            FROM win w JOIN top USING (task_name)
           GROUP BY w.task_name, w.minute
           ORDER BY w.task_name, w.minute`;
}

export interface TaskStatsJson {
  windowMinutes: number;
  /** Minutes of the window, oldest first (ISO 8601, UTC). */
  minutes: string[];
  tasks: {
    name: string;
    succeeded: number[];
    failed: number[];
    /** Runtime percentiles in ms per minute; null where nothing finished that minute. */
    p50: (number | null)[];
    p95: (number | null)[];
    p99: (number | null)[];
  }[];
}

export async function loadTaskStats(ctx: AdminContext, windowMinutes: number, task?: string): Promise<TaskStatsJson> {
  const end = Math.floor(Date.now() / 60_000) * 60_000 + 60_000;
  const start = end - windowMinutes * 60_000;
  await ctx.store();
  const rows = await ctx.query<{
    task_name: string | null;
    minute: Date | string;
    succeeded: number;
    failed: number;
    p50: number | null;
    p95: number | null;
    p99: number | null;
  }>('task_stats', taskStatsSql(ctx.results), [
    new Date(start).toISOString(),
    new Date(end).toISOString(),
    task ?? null,
  ]);
  const minutes: string[] = [];
  for (let t = start; t < end; t += 60_000) minutes.push(new Date(t).toISOString());
  const byName = new Map<string, TaskStatsJson['tasks'][number]>();
  const round = (v: number | null) => (v === null || v === undefined ? null : Math.round(Number(v) * 10) / 10);
  for (const r of rows) {
    const name = r.task_name ?? '(unnamed)';
    let t = byName.get(name);
    if (!t) {
      const zeros = () => minutes.map(() => 0);
      const nulls = () => minutes.map(() => null);
      byName.set(name, (t = { name, succeeded: zeros(), failed: zeros(), p50: nulls(), p95: nulls(), p99: nulls() }));
    }
    const i = Math.round((new Date(r.minute).getTime() - start) / 60_000);
    if (i < 0 || i >= minutes.length) continue;
    t.succeeded[i] = Number(r.succeeded);
    t.failed[i] = Number(r.failed);
    t.p50[i] = round(r.p50);
    t.p95[i] = round(r.p95);
    t.p99[i] = round(r.p99);
  }
  const total = (t: TaskStatsJson['tasks'][number]) => t.succeeded.concat(t.failed).reduce((a, b) => a + b, 0);
  return { windowMinutes, minutes, tasks: [...byName.values()].sort((a, b) => total(b) - total(a)) };
}

export function taskStatsRoutes(ctx: AdminContext): Router {
  const router = Router();
  router.get('/api/stats/tasks', async (req, res) => {
    const errors = fieldErrors();
    const minutes = queryInt(req, 'minutes', errors, 5, 1440, 60);
    const task = queryString(req, 'task', errors);
    if (task !== undefined && task.length > 255) errors.task = 'at most 255 characters';
    if (Object.keys(errors).length) throw validationFailed(errors);
    res.set('Cache-Control', 'no-store').json(await loadTaskStats(ctx, minutes, task));
  });
  return router;
}
