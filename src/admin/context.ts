import type { Request } from 'express';
import type { Runtime } from '../runtime/runtime';
import type { Sql } from '../db/sql';
import type { ResultStore } from '../results/store';
import { resultRelation } from '../results/table-mode';
import type { EventHub } from './events';
import { unavailable } from './http';
import { passes, type ResolvedAdminOptions } from './options';

/** What every admin route needs: the app, the resolved options, and cheap access to SQL. */
export class AdminContext {
  private sqlPromise: Promise<Sql> | undefined;

  constructor(
    readonly app: Runtime,
    readonly options: ResolvedAdminOptions,
    readonly hub: EventHub,
  ) {}

  get schema(): string {
    return this.app.config.schema;
  }

  /** The relation task results are read from (Django's table in `tables: 'django'` mode). */
  get results(): string {
    return resultRelation(this.app.config.tables, this.app.config.schema);
  }

  /**
   * Runs a statement on the app's pool; `name` makes it a prepared statement. Bounded by
   * readTimeoutMs: past that the request answers 503 and the connection is replaced, so a
   * wedged database (a held lock, a full pool) never holds an admin request open for good.
   */
  async query<T = Record<string, any>>(name: string | undefined, text: string, params: unknown[] = []): Promise<T[]> {
    this.sqlPromise ??= this.app.database().catch((err) => {
      this.sqlPromise = undefined;
      throw err;
    });
    const sql = await this.bounded('a database connection', this.sqlPromise);
    const prepared = name ? `celeriac_admin_${name}_${this.schema}` : undefined;
    return this.bounded('Postgres', sql.query<T>(prepared, text, params, this.options.readTimeoutMs));
  }

  /**
   * The result store, with this process's own writes committed (queued or in flight), so a task
   * just sent from here never reads as unknown. Costs nothing when nothing is pending. When they
   * are not committed within readTimeoutMs (Postgres away, or a write it keeps refusing), 503:
   * reading without them could call a task just sent "unknown".
   */
  async store(): Promise<ResultStore> {
    const store = await this.bounded('the result store', this.app.results());
    if (!(await store.flush(this.options.readTimeoutMs))) {
      throw unavailable(
        'result_store_unavailable',
        `The result store has ${store.backlog} task state(s) from this process not yet written to Postgres after ` +
          `${this.options.readTimeoutMs} ms (is Postgres reachable?); try again shortly, the server log has the write errors.`,
      );
    }
    return store;
  }

  /** `work`, or a 503 naming `what` when it takes longer than readTimeoutMs (it goes on, unawaited). */
  bounded<T>(what: string, work: Promise<T>): Promise<T> {
    const ms = this.options.readTimeoutMs;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () =>
          reject(
            unavailable('read_timeout', `${what} did not answer within ${ms} ms (readTimeoutMs); try again shortly.`),
          ),
        ms,
      );
    });
    // A late failure of the abandoned work is nobody's to report.
    work.catch(() => {});
    return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
  }

  /** The action log: every state change made through the admin, with who made it (options.actor). */
  audit(req: Request, action: string, fields: Record<string, unknown>): void {
    this.app.logger.log('info', `admin: ${action}`, { user: this.options.actor(req), action, ...fields });
  }

  canSeeStack(req: Request): Promise<boolean> {
    return passes(this.options.showTracebacks, req, (err) =>
      this.app.logger.log('error', 'admin showTracebacks() threw; stacks were hidden', {
        error: err instanceof Error ? err.message : String(err),
      }),
    );
  }

  /** Queue names worth showing: the default, routed, per-task, and every queue a live worker consumes. */
  knownQueues(workerQueues: string[] = []): string[] {
    const names = new Set<string>([this.app.config.defaultQueue]);
    for (const r of Object.values(this.app.config.routes)) if (r.queue) names.add(r.queue);
    for (const t of this.app.registry.all()) if (t.options.queue) names.add(t.options.queue);
    for (const q of this.app.config.queues ?? []) names.add(q);
    for (const q of workerQueues) names.add(q);
    return [...names].sort();
  }
}
