import { AsyncResult } from '../results/async-result';

/**
 * Celery's EagerResult: the result of a task run in this process (`task.apply()`, or any send
 * with `alwaysEager`). The AsyncResult API, read from the run's memory instead of Postgres: the
 * task has finished when you hold it, so get() never waits.
 */
export class EagerResult<R = unknown> extends AsyncResult<R> {}
