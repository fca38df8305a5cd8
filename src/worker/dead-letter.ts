import type { StateUpdate } from '../results/store';
import type { WorkerParts } from './parts';
import { excResult } from './state-writer';

/**
 * Records on a task's row why it will not run (its final state, a celeriac exception of `excType`
 * carrying `reason`), then dead-letters its message, so a get() learns the reason instead of
 * waiting out its own timeout. The intake's refusals and the finisher's second give-back both end
 * a task this way. Resolves true once dead-lettered; false when the store closed before the row
 * was written: the message then stays held, and is refused again when it is redelivered.
 */
export async function recordThenDeadLetter(
  parts: Pick<WorkerParts, 'broker' | 'consumer' | 'states' | 'workerName'>,
  row: Omit<StateUpdate, 'status'>,
  raw: string,
  reason: string,
  excType: string,
  state: 'REJECTED' | 'FAILURE',
): Promise<boolean> {
  const written = await parts.states.store.write({
    ...row,
    worker: parts.workerName,
    status: state,
    result: excResult({ exc_type: excType, exc_message: [reason], exc_module: 'celeriac', traceback: null }),
    meta: { reason },
    dateDone: new Date(),
  });
  if (written.stored === 'abandoned') return false;
  await parts.broker.deadLetter(parts.consumer, raw, reason);
  return true;
}
