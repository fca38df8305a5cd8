import type { Celeriac } from '../celeriac';
import { READY_STATES } from '../results/states';
import type { AsyncResult } from '../results/async-result';

/** The results of a group's members, in the order they were given (Celery's GroupResult). */
export class GroupResult<R = unknown> {
  constructor(
    readonly id: string,
    readonly results: AsyncResult<R>[],
    private readonly app: Celeriac,
  ) {}

  get ids(): string[] {
    return this.results.map((r) => r.id);
  }

  private async rows() {
    const store = await this.app.results();
    if (store.backlog > 0) await store.flush();
    const byId = new Map((await store.getMany(this.ids)).map((r) => [r.taskId, r]));
    return this.ids.map((id) => byId.get(id) ?? null);
  }

  /** True when every member has finished (SUCCESS, FAILURE or REVOKED). */
  async ready(): Promise<boolean> {
    return (await this.rows()).every((r) => r !== null && READY_STATES.has(r.status));
  }

  /** How many members succeeded. */
  async completedCount(): Promise<number> {
    return (await this.rows()).filter((r) => r?.status === 'SUCCESS').length;
  }

  async successful(): Promise<boolean> {
    return (await this.completedCount()) === this.results.length;
  }

  async failed(): Promise<boolean> {
    return (await this.rows()).some((r) => r?.status === 'FAILURE' || r?.status === 'REVOKED');
  }

  /** Every member's result, in order; throws the first failure met. `timeout` in seconds for the whole group. */
  async get(options: { timeout?: number } = {}): Promise<R[]> {
    const deadline = options.timeout === undefined ? Infinity : Date.now() + options.timeout * 1000;
    const out: R[] = [];
    for (const r of this.results) {
      const left = deadline === Infinity ? undefined : Math.max(0.001, (deadline - Date.now()) / 1000);
      out.push(await r.get({ timeout: left }));
    }
    return out;
  }
}
