import type { Broker } from '../broker';
import { ResultUnavailableError } from '../errors';
import { MAX_TIMER_MS } from '../time-limit';
import { READY_STATES } from './states';
import type { ResultStore, StateUpdate, TaskResultRow } from './store';

/** What a worker publishes per finished task; small results ride along so waiters skip a read. */
export interface FinishedNotice {
  id: string;
  status: string;
  /** Present when the result and traceback were small enough to publish. */
  final?: { result: unknown; traceback: string | null };
}

const INLINE_RESULT_LIMIT = 8 * 1024;
/**
 * How long get() goes on waiting while every read of the result table fails: a Postgres restart
 * is waited out (a notice carrying the result still ends the wait), one that stays away is not.
 */
export const READ_FAILURE_LIMIT_MS = 30_000;
/** Ids sent by this process while it listened, remembered until their notice is used; oldest forgotten first. */
const EXPECTED_LIMIT = 2000;

/**
 * Wakes AsyncResult.get() when a worker commits a finished state: workers publish finished ids on
 * one channel, so a waiting client costs one subscription, not one poll loop per task. A slow
 * poll backs the channel up, since pub/sub drops messages while a connection is down.
 */
export class ResultWaiter {
  private readonly waiting = new Map<string, Set<(notice: FinishedNotice) => void>>();
  private unsubscribe: Promise<() => Promise<void>> | undefined;
  private listening = false;
  /**
   * Tasks this process sent after its subscription was in place, with their notice once it came:
   * for these a notice cannot be missed (barring a dropped connection, which the poll covers), so
   * get() skips its first read of the table, and one called after the task finished needs none.
   * Measured in W2, that read cost a Postgres round trip per call and found nothing 293 times in 300.
   */
  private readonly expected = new Map<string, FinishedNotice | null>();

  constructor(
    private readonly broker: () => Promise<Broker>,
    private readonly store: () => Promise<ResultStore>,
    private readonly pollMs = 1000,
    private readonly readFailureLimitMs = READ_FAILURE_LIMIT_MS,
  ) {}

  /** Called just before this process sends `taskId`; a no-op until the first wait() subscribed. */
  expect(taskId: string): void {
    if (!this.listening) return;
    this.expected.set(taskId, null);
    if (this.expected.size > EXPECTED_LIMIT) this.expected.delete(this.expected.keys().next().value!);
  }

  /** AsyncResult.forget(): a notice kept for it must not answer a later get(). */
  forget(taskId: string): void {
    this.expected.delete(taskId);
  }

  async wait(taskId: string, timeoutMs: number): Promise<TaskResultRow | null> {
    await this.listen();
    const store = await this.store();
    const deadline = Date.now() + timeoutMs;
    const early = this.expected.get(taskId);
    // Skip the first read only while no notice came: one without the result (too big to publish) means read now.
    let skipRead = early === null;
    this.expected.delete(taskId);
    if (early?.final && READY_STATES.has(early.status)) return fromNotice(early, null);
    let row: TaskResultRow | null = null;
    let failingSince: number | undefined;
    for (;;) {
      // Subscribe before reading, so a result committed between the read and the wait still wakes us.
      let wake!: (notice: FinishedNotice) => void;
      const woken = new Promise<FinishedNotice>((resolve) => (wake = resolve));
      this.add(taskId, wake);
      try {
        if (!skipRead) {
          const read = await readBy(store, taskId, deadline);
          if (read.timedOut) return row;
          if ('error' in read) {
            failingSince ??= Date.now();
            if (Date.now() - failingSince >= this.readFailureLimitMs)
              throw new ResultUnavailableError(
                `Could not read task ${taskId}'s state for ${Math.round((Date.now() - failingSince) / 1000)} s: ${read.error.message}. The task itself is unaffected: call get() again once Postgres answers.`,
                { cause: read.error },
              );
          } else {
            failingSince = undefined;
            row = read.row;
          }
        }
        skipRead = false;
        if (row && READY_STATES.has(row.status)) return row;
        const left = deadline - Date.now();
        if (left <= 0) return row;
        let timer: NodeJS.Timeout | undefined;
        const notice = await Promise.race([
          woken,
          new Promise<undefined>((r) => (timer = setTimeout(() => r(undefined), Math.min(left, this.pollMs)))),
        ]);
        clearTimeout(timer);
        if (notice?.final && READY_STATES.has(notice.status)) return fromNotice(notice, row);
      } finally {
        this.remove(taskId, wake);
      }
    }
  }

  private add(id: string, fn: (notice: FinishedNotice) => void): void {
    let set = this.waiting.get(id);
    if (!set) this.waiting.set(id, (set = new Set()));
    set.add(fn);
  }

  private remove(id: string, fn: (notice: FinishedNotice) => void): void {
    const set = this.waiting.get(id);
    set?.delete(fn);
    if (set?.size === 0) this.waiting.delete(id);
  }

  private listen(): Promise<unknown> {
    if (this.unsubscribe) return this.unsubscribe;
    const subscribing: Promise<() => Promise<void>> = this.broker()
      .then((b) =>
        b.subscribe(b.channels.resultsChannel, (message) => {
          for (const notice of JSON.parse(message) as FinishedNotice[]) {
            if (this.expected.has(notice.id)) this.expected.set(notice.id, notice);
            this.waiting.get(notice.id)?.forEach((fn) => fn(notice));
          }
        }),
      )
      .then(
        (unsub) => {
          this.listening = true;
          return unsub;
        },
        (err) => {
          // Redis was away: the next get() subscribes again, rather than failing on this for good.
          if (this.unsubscribe === subscribing) this.unsubscribe = undefined;
          throw err;
        },
      );
    this.unsubscribe = subscribing;
    return subscribing;
  }

  async close(): Promise<void> {
    const unsub = this.unsubscribe;
    this.unsubscribe = undefined;
    this.listening = false;
    this.expected.clear();
    // A subscription that never came about has nothing to undo, and must not fail the app's close().
    if (unsub) await unsub.then((fn) => fn()).catch(() => {});
  }
}

/**
 * One read of the task's row, given up at `deadline` (a read blocked behind a lock must not hold
 * a get() past its timeout) and turned into a value when it fails, so the waiter decides.
 */
async function readBy(
  store: ResultStore,
  taskId: string,
  deadline: number,
): Promise<{ timedOut: true } | { timedOut: false; row: TaskResultRow | null } | { timedOut: false; error: Error }> {
  const read = store.get(taskId).then(
    (row) => ({ timedOut: false as const, row }),
    (err: unknown) => ({ timedOut: false as const, error: err instanceof Error ? err : new Error(String(err)) }),
  );
  if (deadline === Infinity) return read;
  let timer: NodeJS.Timeout | undefined;
  // Capped at setTimeout's ceiling: a get({ timeout }) of 25 days or more otherwise timed out
  // at once (Node fires a longer delay after 1 ms). The read's own query_timeout ends it long before.
  const timedOut = new Promise<{ timedOut: true }>(
    (r) =>
      (timer = setTimeout(() => r({ timedOut: true }), Math.min(Math.max(0, deadline - Date.now()), MAX_TIMER_MS))),
  );
  try {
    return await Promise.race([read, timedOut]);
  } finally {
    clearTimeout(timer);
  }
}

/** Workers call this after a batch commits: one PUBLISH per batch, only for states someone may wait on. */
export function finishedNotices(updates: StateUpdate[]): FinishedNotice[] {
  const notices: FinishedNotice[] = [];
  for (const u of updates) {
    if (!READY_STATES.has(u.status)) continue;
    const final = { result: u.result ?? null, traceback: u.traceback ?? null };
    const small =
      (u.traceback?.length ?? 0) < INLINE_RESULT_LIMIT &&
      (JSON.stringify(final.result)?.length ?? 0) < INLINE_RESULT_LIMIT;
    notices.push(small ? { id: u.taskId, status: u.status, final } : { id: u.taskId, status: u.status });
  }
  return notices;
}

/** The committed final state as published; the rest of the row as last read. */
function fromNotice(notice: FinishedNotice, row: TaskResultRow | null): TaskResultRow {
  const now = new Date();
  return {
    taskId: notice.id,
    taskName: row?.taskName ?? null,
    periodicTaskName: row?.periodicTaskName ?? null,
    args: row?.args ?? null,
    kwargs: row?.kwargs ?? null,
    meta: row?.meta ?? null,
    worker: row?.worker ?? null,
    queue: row?.queue ?? null,
    retries: row?.retries ?? 0,
    parentId: row?.parentId ?? null,
    rootId: row?.rootId ?? null,
    groupId: row?.groupId ?? null,
    dateCreated: row?.dateCreated ?? now,
    dateStarted: row?.dateStarted ?? null,
    dateChanged: now,
    dateDone: now,
    status: notice.status as TaskResultRow['status'],
    result: notice.final!.result,
    traceback: notice.final!.traceback,
  };
}
