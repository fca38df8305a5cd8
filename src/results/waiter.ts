import type { Broker } from '../broker';
import { READY_STATES } from './states';
import type { ResultStore, TaskResultRow } from './store';

/**
 * Wakes AsyncResult.get() when a worker commits a finished state: workers publish finished ids on
 * one channel, so a waiting client costs one subscription, not one poll loop per task. A slow
 * poll backs the channel up, since pub/sub drops messages while a connection is down.
 */
export class ResultWaiter {
  private readonly waiting = new Map<string, Set<() => void>>();
  private unsubscribe: Promise<() => Promise<void>> | undefined;

  constructor(
    private readonly broker: () => Promise<Broker>,
    private readonly store: () => Promise<ResultStore>,
    private readonly pollMs = 1000,
  ) {}

  async wait(taskId: string, timeoutMs: number): Promise<TaskResultRow | null> {
    await this.listen();
    const store = await this.store();
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      // Subscribe before reading, so a result committed between the read and the wait still wakes us.
      let wake!: () => void;
      const woken = new Promise<void>((resolve) => (wake = resolve));
      this.add(taskId, wake);
      try {
        const row = await store.get(taskId);
        if (row && READY_STATES.has(row.status)) return row;
        const left = deadline - Date.now();
        if (left <= 0) return row;
        let timer: NodeJS.Timeout | undefined;
        await Promise.race([woken, new Promise<void>((r) => (timer = setTimeout(r, Math.min(left, this.pollMs))))]);
        clearTimeout(timer);
      } finally {
        this.remove(taskId, wake);
      }
    }
  }

  private add(id: string, fn: () => void): void {
    let set = this.waiting.get(id);
    if (!set) this.waiting.set(id, (set = new Set()));
    set.add(fn);
  }

  private remove(id: string, fn: () => void): void {
    const set = this.waiting.get(id);
    set?.delete(fn);
    if (set?.size === 0) this.waiting.delete(id);
  }

  private listen(): Promise<unknown> {
    this.unsubscribe ??= this.broker().then((b) =>
      b.subscribe(b.keys.resultsChannel, (message) => {
        for (const id of JSON.parse(message) as string[]) this.waiting.get(id)?.forEach((fn) => fn());
      }),
    );
    return this.unsubscribe;
  }

  async close(): Promise<void> {
    const unsub = this.unsubscribe;
    this.unsubscribe = undefined;
    if (unsub) await (await unsub)().catch(() => {});
  }
}

/** Workers call this after a batch commits: one PUBLISH per batch, only for states someone may wait on. */
export function finishedIds(updates: { taskId: string; status: string }[]): string[] {
  return updates.filter((u) => READY_STATES.has(u.status)).map((u) => u.taskId);
}
