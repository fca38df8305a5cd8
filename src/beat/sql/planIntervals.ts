import { MAX_DATE_MS } from '../../db/limits';
import { RESERVED_HEADERS } from '../row';
import { MAX_PERIOD_MS } from '../schedule/interval';
import { statement, type Statement } from './statement';

/**
 * The first stale id after `afterId` (one probe of the stale index, on id): where set-based
 * planning's next id range starts when the last one held no stale row. And whether at least
 * `limit` rows are stale there (`many`): a table just bulk-filled then gets analyzed before the
 * first range is written, since without statistics Postgres joins the range to the table by
 * scanning it whole, per row (5,000 rows of a 12,000-row table took 42 s).
 */
export function firstStaleAfter(
  schema: string,
): Statement<{ afterId: number; limit: number }, { id: number | null; many: boolean }> {
  const pt = `"${schema}".celeriac_periodic_task`;
  return statement(
    'stale_next',
    schema,
    `SELECT (SELECT min(id) FROM ${pt} WHERE next_run_stale AND id > $1) AS id,
            (SELECT count(*) FROM (SELECT 1 FROM ${pt} WHERE next_run_stale AND id > $1 LIMIT $2) s) >= $2 AS many`,
    (i) => [i.afterId, i.limit],
  );
}

/** What one round of set-based planning did. */
export interface IntervalRound {
  /** Stale rows in the range. */
  seen: number;
  planned: number;
  /** The smallest id in the range left stale for the row-by-row planner, or null. */
  left_id: number | null;
}

/**
 * Plans the first slot of stale rows in one id range in a single statement, with no row leaving
 * Postgres: the rows of an interval schedule (the same rule as plan.ts firstRun, in integer
 * milliseconds) and disabled rows of any kind (no next run; their note kept).
 *
 * Why: planning a million new rows row by row read each row with its schedule into the beat,
 * planned it in TypeScript and sent it back in an UPDATE … FROM unnest: two transfers of every
 * row, its JSON parsed and its parameters built in the beat, one UPDATE per 1,000 rows. Here the
 * only cost left is the UPDATE's own row version.
 *
 * Only rows the row-by-row planner would plan without a word are taken: a known task (`tasks`, the
 * names registered in the beat's app; a task only routed elsewhere is left to the planner, which
 * asks the app), a valid interval (what validateInterval accepts), no reserved header (args,
 * kwargs and headers shapes are table constraints), finite start and last-slot times and a first
 * slot a Date can hold. Everything else (crontab, solar, clocked, bad rows) stays stale for
 * ../planner.ts, which parks bad rows with their reason.
 *
 * Guarded as writePlannedRows is: the row's revision as read and the stale flag still set, so an
 * edit committed meanwhile (a new revision) is planned again rather than overwritten.
 * A millisecond instant becomes a timestamptz through to_timestamp(ms / 1000.0), exact to the
 * microsecond for any instant a Date can hold (53-bit doubles).
 */
export function planIntervals(
  schema: string,
): Statement<{ nowMs: number; afterId: number; uptoId: number; tasks: readonly string[] }, IntervalRound> {
  const pt = `"${schema}".celeriac_periodic_task`;
  const ms = (col: string) => `CASE WHEN isfinite(${col}) THEN floor(extract(epoch FROM ${col}) * 1000)::bigint END`;
  return statement(
    'plan_intervals',
    schema,
    `
    WITH plans AS (
      SELECT pt.id, pt.revision,
             coalesce(NOT pt.enabled
               OR (pt.task = ANY ($4::text[]) AND NOT pt.headers ?| $5::text[]
                   AND p.ms BETWEEN 1 AND ${MAX_PERIOD_MS}
                   AND (pt.start_time IS NULL OR t.start_ms IS NOT NULL)
                   AND (pt.last_slot_at IS NULL OR t.last_ms IS NOT NULL)), false) AS taken,
             CASE WHEN NOT pt.enabled THEN NULL
                  WHEN pt.start_time IS NOT NULL THEN
                    CASE WHEN t.start_ms >= $1::bigint THEN t.start_ms
                         ELSE t.start_ms + (($1 - t.start_ms + p.ms - 1) / p.ms) * p.ms END
                  WHEN pt.last_slot_at IS NOT NULL THEN
                    CASE WHEN t.last_ms + p.ms > $1 THEN t.last_ms + p.ms
                         ELSE t.last_ms + (($1 - t.last_ms) / p.ms + 1) * p.ms END
                  ELSE $1 + p.ms END AS next_ms
        FROM ${pt} pt
        LEFT JOIN LATERAL (SELECT every, period FROM "${schema}".celeriac_interval_schedule WHERE id = pt.interval_id OFFSET 0) i ON true
        CROSS JOIN LATERAL (
          SELECT CASE WHEN i.every >= 1 THEN
                   CASE i.period WHEN 'days' THEN i.every * 86400000::bigint
                                 WHEN 'hours' THEN i.every * 3600000::bigint
                                 WHEN 'minutes' THEN i.every * 60000::bigint
                                 WHEN 'seconds' THEN i.every * 1000::bigint
                                 WHEN 'microseconds' THEN CASE WHEN i.every % 1000 = 0 THEN i.every / 1000::bigint END
                   END
                 END AS ms
        ) p
        CROSS JOIN LATERAL (SELECT ${ms('pt.start_time')} AS start_ms, ${ms('pt.last_slot_at')} AS last_ms) t
       WHERE pt.next_run_stale AND pt.id > $2 AND pt.id <= $3
    ),
    planned AS (
      UPDATE ${pt} pt
         SET next_run_at = to_timestamp(p.next_ms / 1000.0), next_run_stale = false,
             last_error = CASE WHEN pt.enabled THEN NULL ELSE pt.last_error END
        FROM plans p
       WHERE p.taken AND pt.id = p.id AND pt.revision = p.revision AND pt.next_run_stale
         AND (p.next_ms IS NULL OR p.next_ms BETWEEN ${-MAX_DATE_MS} AND ${MAX_DATE_MS})
      RETURNING pt.id
    )
    SELECT (SELECT count(*) FROM plans)::int AS seen, (SELECT count(*) FROM planned)::int AS planned,
           (SELECT min(id) FROM plans WHERE NOT taken) AS left_id`,
    (i) => [i.nowMs, i.afterId, i.uptoId, i.tasks, [...RESERVED_HEADERS]],
  );
}
