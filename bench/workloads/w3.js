'use strict';
/**
 * W3 beat — NOT RUN YET. Celeriac's scheduler now exists (src/beat/: `celeriac.beat()`,
 * `PeriodicTaskService`, `celeriac beat --app …`); fill in the TODO(beat) hooks below and the
 * `beat` block of each adapter in systems/index.js to run it.
 *
 * Design (issue 8):
 *   shapes   burst-1k    1,000 crontab schedules all due at the same minute
 *            burst-10k   10,000 crontab schedules all due at the same minute
 *            spread-100k 100,000 interval schedules of 60 s, start times spread over the minute
 *   run      several minutes per shape (3 in full mode, 1 in --quick with 100 schedules), one beat
 *            process and one worker process per system, both children of the harness
 *   records  the beat records each send (schedule id, due instant, send instant) to Redis DB 4
 *            list `bench:exec:<system>:sent`; the task records its actual start the same way
 *            (`…:start`, with its schedule id and due instant taken from its args)
 *   figures  send lateness p50/p99 (sent − due), start lateness p50/p99 (start − due), missed
 *            (due slots with no start), duplicates (slots started twice), beat CPU per minute
 *            (utime+stime from /proc/<pid>/stat, sampled each minute), beat start-up time
 *            (BENCH_T0 → BENCH_READY)
 *   targets  burst-1k start lateness p99 ≤ ¼ of the best peer's; burst-10k all sent within 1 s;
 *            spread-100k send lateness p99 ≤ 100 ms, zero missed, zero duplicates, idle CPU < 5 %
 *
 * Each adapter then gains:
 *   beat: {
 *     setup(env, shape, dueAtMs)  create the schedules: Celeriac through PeriodicTaskService.create
 *                                 (TODO(beat): or bulk SQL rows for 100,000); BullMQ
 *                                 `queue.upsertJobScheduler` (pattern or every); graphile-worker
 *                                 a crontab (minute resolution; no interval schedules: spread
 *                                 shape not applicable); Celery django-celery-beat rows
 *                                 (python3-django-celery-beat) with DatabaseScheduler
 *     start(env, tag) → Child     the beat process (Celeriac: `celeriac beat --app …`; BullMQ:
 *                                 none, schedulers run inside the worker; graphile-worker: inside
 *                                 the runner; Celery: `celery -A benchapp beat -S django`)
 *   }
 */

async function run(sys) {
  // TODO(beat): drop this guard once the adapters in systems/index.js have a `beat` block.
  if (!sys.beat) return { skipped: 'W3 is designed but not implemented yet (bench/workloads/w3.js)' };
  throw new Error('W3 is designed but not implemented: see the TODO(beat) notes in bench/workloads/w3.js');
}

module.exports = { name: 'w3', run };
