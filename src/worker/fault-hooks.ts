import type { CanvasBackend } from '../canvas/backend';

/**
 * @internal Fault injection for crash tests: the points where a worker dying matters to a chord.
 *
 * Not part of the public API: src/index.ts does not export it and WorkerOptions has no key for
 * it, so an application cannot reach it by accident. Tests import it from here and attach hooks
 * to one worker before it starts (as beat's src/beat/fault-hooks.ts):
 *
 *   injectWorkerFaults(app.worker({ name: 'victim' }), { afterChordJoin: () => new Promise(() => {}) });
 *
 * A hook that never settles stands for a process frozen there, to be SIGKILLed
 * (test/hardening/fixtures/chord-crash-worker.ts): the member's state is committed, its message
 * is still held, so it is redelivered to another worker, which joins and fires again.
 */
export interface WorkerFaultHooks {
  /** A chord member's join is counted in the broker; the chord has not fired, the member's message is not acked. */
  afterChordJoin?: (point: ChordPoint) => void | Promise<void>;
  /** The chord's body is sent (or was already) and the chord marked fired; the member's message is not acked. */
  afterChordFire?: (point: ChordPoint & { fired: boolean }) => void | Promise<void>;
  /**
   * The task ran and the worker starts finishing it, before its state goes to the store: a throw
   * here stands for the finish path failing before the commit (Finisher.finish's backstop).
   */
  beforeCommit?: (taskId: string) => void;
}

export interface ChordPoint {
  groupId: string;
  memberId: string;
  /** Distinct members counted in so far, this one included. */
  finished: number;
  failed: number;
}

const hooksOf = new WeakMap<object, WorkerFaultHooks>();

/** @internal Attaches `hooks` to `worker`, replacing any it had; returns the worker. */
export function injectWorkerFaults<W extends object>(worker: W, hooks: WorkerFaultHooks): W {
  hooksOf.set(worker, hooks);
  return worker;
}

/** @internal `owner`'s hooks, read once where a part is built (none: undefined, nothing to check a task). */
export function faultHooksOf(owner: object): WorkerFaultHooks | undefined {
  return hooksOf.get(owner);
}

/**
 * `backend` with `owner`'s hooks run at their points; `backend` itself when it has none, so a
 * finished task pays one WeakMap lookup.
 */
export function withFaultPoints(owner: object, backend: CanvasBackend): CanvasBackend {
  const hooks = hooksOf.get(owner);
  if (!hooks) return backend;
  let last: ChordPoint | undefined;
  return {
    ...backend,
    async chordJoin(groupId, memberId, failed) {
      const counts = await backend.chordJoin(groupId, memberId, failed);
      last = { groupId, memberId, ...counts };
      await hooks.afterChordJoin?.(last);
      return counts;
    },
    async chordFire(groupId, messages) {
      const fired = await backend.chordFire(groupId, messages);
      const point = last?.groupId === groupId ? last : { groupId, memberId: '', finished: 0, failed: 0 };
      await hooks.afterChordFire?.({ ...point, fired });
      return fired;
    },
  };
}
