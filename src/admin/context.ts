import type { Request } from 'express';
import type { Celeriac } from '../celeriac';
import { sqlFor, type Sql } from '../db/sql';
import type { ResultStore } from '../results/store';
import type { EventHub } from './events';
import { passes, type ResolvedAdminOptions } from './options';

/** What every admin route needs: the app, the resolved options, and cheap access to SQL. */
export class AdminContext {
  private sqlPromise: Promise<Sql> | undefined;

  constructor(
    readonly app: Celeriac,
    readonly options: ResolvedAdminOptions,
    readonly hub: EventHub,
  ) {}

  get schema(): string {
    return this.app.config.schema;
  }

  /** Runs a statement on the app's pool; `name` makes it a prepared statement where the driver allows. */
  async query<T = Record<string, any>>(name: string | undefined, text: string, params: unknown[] = []): Promise<T[]> {
    if (!name) return (await this.app.dataSource()).query(text, params);
    this.sqlPromise ??= this.app.dataSource().then(sqlFor);
    return (await this.sqlPromise).query<T>(`celeriac_admin_${name}_${this.schema}`, text, params);
  }

  /**
   * The result store, with this process's own writes committed (queued or in flight), so a task
   * just sent from here never reads as unknown. Costs nothing when nothing is pending.
   */
  async store(): Promise<ResultStore> {
    const store = await this.app.results();
    await store.flush();
    return store;
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
    for (const q of workerQueues) names.add(q);
    return [...names].sort();
  }
}
