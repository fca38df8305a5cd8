/**
 * @internal Fault injection for crash tests: the two points where a beat dying matters.
 *
 * Not part of the public API: src/index.ts does not export it and BeatOptions has no key for it,
 * so an application cannot reach it by accident. Tests import it from here and attach hooks to
 * one beat before its first tick:
 *
 *   const victim = injectBeatFaults(app.beat({ name: 'victim' }), { afterClaim: () => { throw new Crash() } });
 *
 * What a hook throws stands for the process dying at that point: beat marks it, and nothing on
 * the way up (a send's retry, the outbox sweep) treats it as an ordinary failure. A hook that
 * never settles stands for a process frozen there, to be SIGKILLed (test/beat/fixtures/beat-child.ts).
 */
export interface BeatFaultHooks {
  /** The batch is claimed and recorded in the outbox; nothing is in Redis yet. */
  afterClaim?: (batchId: string) => void | Promise<void>;
  /** Redis has the batch's messages; the outbox row is not deleted yet. */
  afterSend?: (batchId: string) => void | Promise<void>;
}

export type FaultPoint = keyof BeatFaultHooks;

const hooksOf = new WeakMap<object, BeatFaultHooks>();
const SIMULATED_CRASH = Symbol('celeriac.beat.simulatedCrash');

/** @internal Attaches `hooks` to `beat`, replacing any it had; returns the beat. */
export function injectBeatFaults<B extends object>(beat: B, hooks: BeatFaultHooks): B {
  hooksOf.set(beat, hooks);
  return beat;
}

/**
 * Runs `owner`'s hook for `point`, if it has one. Returns undefined at once when it has none, so
 * the hot path pays one WeakMap lookup per send group.
 */
export function reachFaultPoint(owner: object, point: FaultPoint, batchId: string): Promise<void> | undefined {
  const hook = hooksOf.get(owner)?.[point];
  if (!hook) return undefined;
  return (async () => {
    try {
      await hook(batchId);
    } catch (err) {
      const marked = typeof err === 'object' && err !== null ? err : new Error(String(err));
      throw Object.assign(marked, { [SIMULATED_CRASH]: true });
    }
  })();
}

/** True for what a fault hook threw: the "process" died there, so nobody may catch and carry on. */
export function isSimulatedCrash(err: unknown): boolean {
  return typeof err === 'object' && err !== null && SIMULATED_CRASH in err;
}
