import type { Broker } from '../broker';
import type { PreparedMessage, Runtime } from '../runtime/runtime';
import type { ResultStore, StateUpdate, TaskResultRow } from '../results/store';

/** Chord bookkeeping in Redis outlives any plausible chord: a day, as results do. */
const CHORD_TTL_MS = 24 * 3600 * 1000;

/**
 * What continuing a work-flow needs from the outside world: group rows, results, final states for
 * tasks that will never run, and the chord join and fire-once steps. Workers give it Postgres and
 * Redis; eager runs give it memory, so both run the same follow-up code (followups.ts).
 */
export interface CanvasBackend {
  /** Idempotent: a redelivered task saves the same rows again. */
  saveGroups(groups: { groupId: string; taskIds: string[]; chordSize?: number }[]): Promise<void>;
  groupTaskIds(groupId: string): Promise<string[] | null>;
  getMany(taskIds: string[]): Promise<TaskResultRow[]>;
  /** Resolves once committed: a chord may read these rows right after. */
  writeFinal(updates: StateUpdate[]): Promise<void>;
  /**
   * Counts a member in. With `memberIds` (django mode's chord counter) the chord is complete when
   * `finished` reaches their number, and `failed` is not counted: the members' rows say it.
   */
  chordJoin(
    groupId: string,
    memberId: string,
    failed: boolean,
  ): Promise<{ finished: number; failed: number; memberIds?: string[] }>;
  /** Sends `messages` and marks the chord fired, in one step, unless it had fired; true if this call fired it. */
  chordFire(groupId: string, messages: PreparedMessage[]): Promise<boolean>;
}

export function workerCanvasBackend(app: Runtime, broker: Broker, store: ResultStore): CanvasBackend {
  return {
    async saveGroups(groups) {
      for (const g of groups) await store.saveGroup(g.groupId, g.taskIds, g.chordSize);
    },
    groupTaskIds: (groupId) => store.groupTaskIds(groupId),
    getMany: (ids) => store.getMany(ids),
    async writeFinal(updates) {
      await Promise.all(updates.map((u) => store.write(u)));
    },
    // Django's chord counter when the chord has one (django mode), so Python members count in the same join.
    chordJoin: async (groupId, memberId, failed) => {
      const counted = await store.chordCounterJoin(groupId, memberId, failed);
      if (counted) return { ...counted, failed: 0 };
      return broker.chordJoin(groupId, memberId, failed, CHORD_TTL_MS);
    },
    async chordFire(groupId, messages) {
      const fired = await broker.chordFire(
        groupId,
        messages.map((m) => m.outgoing),
        CHORD_TTL_MS,
      );
      if (fired) app.recordPending(messages);
      return fired;
    },
  };
}
